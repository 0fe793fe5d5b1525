"""The due-time index hands a tick exactly the keys due, whatever the order of updates."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from services.sla.domain.due_index import DueIndex


def test_a_tick_gets_only_the_keys_due_earliest_first() -> None:
    index = DueIndex([(b"late", 300), (b"early", 100), (b"none", None), (b"mid", 200)])
    assert len(index) == 3
    assert index.pop_due(250) == [b"early", b"mid"]
    assert index.pop_due(250) == []
    assert index.next_at() == 300


def test_rescheduling_moves_a_key_and_clearing_forgets_it() -> None:
    index = DueIndex([(b"a", 100), (b"b", 100)])
    index.schedule(b"a", 500)
    index.schedule(b"b", None)
    assert index.pop_due(400) == []
    assert index.pop_due(500) == [b"a"]


def test_deadlines_clustered_on_one_instant_all_fire_in_chunks() -> None:
    month_end = 1_800_000_000
    index = DueIndex((f"C-{n}".encode(), month_end) for n in range(10_000))
    fired: list[bytes] = []
    while chunk := index.pop_due(month_end, limit=512):
        assert len(chunk) <= 512
        fired.extend(chunk)
    assert sorted(fired) == sorted(f"C-{n}".encode() for n in range(10_000))
    assert len(index) == 0


def test_dead_entries_do_not_pile_up() -> None:
    index: DueIndex[str] = DueIndex()
    for at in range(10_000):
        index.schedule("the-one-key", at)
    assert len(index._heap) <= 2 * len(index) + 64


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["schedule", "clear", "pop"]),
        st.integers(min_value=0, max_value=20),
        st.integers(min_value=0, max_value=100),
    ),
    max_size=200,
)


@settings(max_examples=200, deadline=None)
@given(operations=OPERATIONS)
def test_the_index_agrees_with_a_full_scan(operations: list[tuple[str, int, int]]) -> None:
    index: DueIndex[int] = DueIndex()
    model: dict[int, int] = {}
    for operation, key, at in operations:
        if operation == "schedule":
            index.schedule(key, at)
            model[key] = at
        elif operation == "clear":
            index.schedule(key, None)
            model.pop(key, None)
        else:
            due = index.pop_due(at)
            expected = sorted((when, k) for k, when in model.items() if when <= at)
            assert [(model[k], k) for k in due] == expected
            for k in due:
                del model[k]
        assert len(index) == len(model)
