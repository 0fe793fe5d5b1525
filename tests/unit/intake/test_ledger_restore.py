"""Restoring the ledger: a record that cannot be parsed is skipped and counted, and the
claims around it still decide what their references mean."""

from __future__ import annotations

from prometheus_client import REGISTRY

from kintsugi.common.kafka_settings import KafkaSettings
from services.intake.adapters.ledger_kafka import KafkaLedger, claim_record
from services.intake.ledger import Claim


def unreadable_count() -> float:
    value = REGISTRY.get_sample_value("kintsugi_state_unreadable_total", {"store": "intake_ledger"})
    return value or 0


async def test_a_damaged_record_is_skipped_and_counted_and_later_claims_still_apply() -> None:
    ledger = KafkaLedger(None, KafkaSettings(), "intake-submissions")  # type: ignore[arg-type]
    before = unreadable_count()
    claim = Claim("ref-1", b"fingerprint", b"response", ())

    ledger._apply(b"\x0a\xff", 0, 0)  # a key claiming 255 bytes, then nothing
    ledger._apply(claim_record(claim), 0, 1)

    entry = ledger.entry("ref-1")
    assert entry is not None and entry.position == (0, 1)
    assert unreadable_count() == before + 1
