"""A case the notifier cannot read (damaged, or a newer version's) stops only its own
complaint: the retry pass still finds everyone else's pending messages, and the
complaint's own events are dead-lettered at once, saying why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from prometheus_client import REGISTRY

from kintsugi.common.kafka import PermanentFailure
from kintsugi.common.kafka_settings import KafkaSettings
from kintsugi.common.state_store import CompactedStore
from services.notifier.adapters.kafka import StoredCases
from services.notifier.domain.case import Case, LedgerEntry
from tests.fuzz.consumers import RecordingProducer
from tests.unit.notifier.fakes import a_case

PENDING = LedgerEntry(
    purpose="acknowledgement",
    cause="assigned",
    channel="email",
    attempts=1,
    first_tried_at="2026-03-02T09:00:00+00:00",
    next_attempt_at="2026-03-02T09:01:00+00:00",
)


def stored(**changes: Any) -> bytes:
    """A real case's bytes with some of its fields (or its ledger entry's) changed."""
    body = json.loads(a_case(complaint_id="c-1", ledger={"n-1": PENDING}).to_bytes())
    for name, value in changes.items():
        if name in body["ledger"]["n-1"]:
            body["ledger"]["n-1"][name] = value
        else:
            body[name] = value
    return json.dumps(body).encode()


def test_a_real_case_still_reads() -> None:
    assert Case.from_bytes(stored()).next_retry_at() is not None


@pytest.mark.parametrize(
    "changes",
    [
        {"v": 2},  # a newer schema
        {"email": 1},
        {"resolved": "no"},
        {"ledger": []},
        {"deadlines": {"final_response": "soon"}},
        {"next_attempt_at": "2026-13-01T00:00:00+00:00"},
        {"next_attempt_at": "2026-03-02T09:01:00"},  # no offset: cannot be compared
        {"attempts": True},
        {"failed_channels": "email"},
        {"purpose": "a_purpose_of_a_newer_version"},
        {"status": "bounced"},
        {"a_newer_field": "x"},
    ],
    ids=repr,
)
def test_a_case_this_build_cannot_use_is_refused_when_read_not_halfway_through(
    changes: dict[str, Any],
) -> None:
    with pytest.raises((ValueError, TypeError)):
        Case.from_bytes(stored(**changes))


async def test_the_store_skips_an_unreadable_case_in_a_scan_and_refuses_it_by_id() -> None:
    store = CompactedStore(RecordingProducer(), KafkaSettings(), "notifier-state")  # type: ignore[arg-type]
    await store.put("c-1", stored())
    await store.put("c-2", b"\x80 not json")
    await store.put("c-3", stored(complaint_id="c-3"))
    cases = StoredCases(store)
    before = REGISTRY.get_sample_value(
        "kintsugi_state_unreadable_total", {"store": "notifier_cases"}
    )

    assert [case.complaint_id for case in cases.all()] == ["c-1", "c-3"]
    with pytest.raises(PermanentFailure, match="complaint c-2 is unreadable"):
        cases.get("c-2")
    assert (
        REGISTRY.get_sample_value("kintsugi_state_unreadable_total", {"store": "notifier_cases"})
        == (before or 0) + 2
    )


async def test_a_case_stored_under_another_complaint_is_refused() -> None:
    store = CompactedStore(RecordingProducer(), KafkaSettings(), "notifier-state")  # type: ignore[arg-type]
    await store.put("c-2", stored())  # the case of c-1

    with pytest.raises(PermanentFailure, match=r"complaint c-2 is unreadable.*another complaint"):
        StoredCases(store).get("c-2")
    assert list(StoredCases(store).all()) == []
