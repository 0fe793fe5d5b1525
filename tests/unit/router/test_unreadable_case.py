"""The router rebuilds everyone's load past a case it cannot read, and counts it."""

from __future__ import annotations

from prometheus_client import REGISTRY

from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.state_store import CompactedStore
from services.router.adapters.kafka import StoredCases
from tests.fuzz.consumers import RecordingProducer


def unreadable_count() -> float:
    value = REGISTRY.get_sample_value("kintsugi_state_unreadable_total", {"store": "router_cases"})
    return value or 0


async def test_an_unreadable_case_is_skipped_and_counted() -> None:
    store = CompactedStore(RecordingProducer(), KafkaSettings(), "router-state")  # type: ignore[arg-type]
    await store.put("c-1", b'{"v": 1, "case": []}')
    before = unreadable_count()

    assert list(StoredCases(store).all()) == []
    assert unreadable_count() == before + 1
