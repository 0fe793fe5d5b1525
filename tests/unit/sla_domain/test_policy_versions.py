"""Policies over time: a clock keeps the policy version it started under until an operator
migrates it; a new version applies to new complaints; date-only deadlines say their date."""

from __future__ import annotations

import datetime as dt
import shutil
import textwrap
from pathlib import Path

import pytest

from services.sla.domain import (
    ClockBreached,
    ClockStarted,
    ComplaintClocks,
    ComplaintFacts,
    PolicyError,
    PolicySet,
    StateError,
)
from services.sla.domain.policy import DEFAULT_POLICY_DIRECTORY, HISTORY_DIRECTORY

from .support import POLICIES, complaint, london, new_york, of_type, sydney

RECEIVED = sydney(2026, 6, 1, 20, 0)
THIRTY_DAYS = sydney(2026, 7, 2, 0, 0)
FORTY_FIVE_DAYS = sydney(2026, 7, 17, 0, 0)
TRUSTEE = "traditional_trustee_services"


@pytest.fixture(scope="module")
def before_version_2(tmp_path_factory: pytest.TempPathFactory) -> PolicySet:
    """The shipped policies as they were before au-asic-rg271 version 2."""
    directory = tmp_path_factory.mktemp("policies-v1")
    for file in DEFAULT_POLICY_DIRECTORY.glob("*.yaml"):
        shutil.copy(file, directory / file.name)
    shutil.copy(
        DEFAULT_POLICY_DIRECTORY / HISTORY_DIRECTORY / "au-asic-rg271.v1.yaml",
        directory / "au-asic-rg271.yaml",
    )
    return PolicySet.load(directory)


def asic(category: str, complaint_id: str = "C-1") -> ComplaintFacts:
    return complaint(
        RECEIVED,
        regime="au-asic-rg271",
        jurisdiction="AU-NSW",
        category=category,
        complaint_id=complaint_id,
    )


def final_response(clocks: ComplaintClocks, policies: PolicySet) -> dict[str, object]:
    (explained,) = [
        e.to_dict()
        for e in clocks.explain(sydney(2026, 6, 2), policies)
        if e.policy_id == "au-asic-rg271"
        and e.clock_kind == "final_response"
        and e.state == "running"
    ]
    return explained


@pytest.mark.parametrize(
    ("category", "started_under", "clock_id", "version", "due"),
    [
        (TRUSTEE, "v1", "asic-final-30d", 1, THIRTY_DAYS),
        (TRUSTEE, "v2", "asic-final-45d", 2, FORTY_FIVE_DAYS),
        ("fees", "v1", "asic-final-30d", 1, THIRTY_DAYS),
        ("fees", "v2", "asic-final-30d", 2, THIRTY_DAYS),
        ("superannuation", "v1", "asic-final-45d", 1, FORTY_FIVE_DAYS),
    ],
)
def test_a_clock_keeps_the_version_it_started_under_after_an_upgrade(
    before_version_2: PolicySet,
    category: str,
    started_under: str,
    clock_id: str,
    version: int,
    due: dt.datetime,
) -> None:
    policies = before_version_2 if started_under == "v1" else POLICIES
    clocks, _ = ComplaintClocks.start(asic(category), policies)

    # The worker restarts with version 2 loaded (version 1 in history/).
    running = ComplaintClocks.from_bytes(clocks.to_bytes(), POLICIES)
    explained = final_response(running, POLICIES)
    (breached,) = [
        e for e in of_type(running.tick(due, POLICIES), ClockBreached) if e.clock_id == clock_id
    ]

    assert (explained["clock_id"], explained["policy_version"]) == (clock_id, version)
    assert explained["due_at"] == due.isoformat()
    assert (breached.clock_id, breached.policy_version, breached.due_at) == (
        clock_id,
        version,
        due,
    )


def test_a_new_complaint_starts_under_the_current_version() -> None:
    _, events = ComplaintClocks.start(asic(TRUSTEE), POLICIES)

    assert {e.clock_id: e.policy_version for e in of_type(events, ClockStarted)} == {
        "asic-ack": 2,
        "asic-final-45d": 2,
        "int-ack": 1,
        "int-first-medium": 1,
        "int-progress-medium": 1,
        "int-resolution-medium": 1,
    }


def test_a_version_no_longer_loaded_is_named_when_its_clock_is_used(
    before_version_2: PolicySet, tmp_path: Path
) -> None:
    for file in DEFAULT_POLICY_DIRECTORY.glob("*.yaml"):
        shutil.copy(file, tmp_path / file.name)  # version 2, without history/
    clocks, _ = ComplaintClocks.start(asic(TRUSTEE), before_version_2)

    with pytest.raises(StateError, match=r"'asic-\S+' of policy version 1 is not loaded"):
        ComplaintClocks.from_bytes(clocks.to_bytes(), PolicySet.load(tmp_path))


@pytest.mark.parametrize(
    ("category", "moved", "events", "due_after"),
    [
        # Version 2 gives the category another clock: superseded, and the new one starts
        # from the same receipt.
        (
            TRUSTEE,
            [("asic-final-30d", "asic-final-45d", 1, 2)],
            [("asic-final-30d", "stopped"), ("asic-final-45d", "started")],
            FORTY_FIVE_DAYS,
        ),
        # Same clock in both versions: re-planned in place, silently.
        ("fees", [("asic-final-30d", "asic-final-30d", 1, 2)], [], THIRTY_DAYS),
    ],
)
def test_a_migration_moves_running_clocks_to_the_new_version(
    before_version_2: PolicySet,
    category: str,
    moved: list[tuple[str, str, int, int]],
    events: list[tuple[str, str]],
    due_after: dt.datetime,
) -> None:
    started, _ = ComplaintClocks.start(asic(category), before_version_2)
    clocks = ComplaintClocks.from_bytes(started.to_bytes(), POLICIES)

    replanned, emitted = clocks.migrate("au-asic-rg271", 2, sydney(2026, 6, 10), POLICIES)

    asic_final = [r for r in replanned if r.clock_id.startswith("asic-final")]
    assert [(r.clock_id, r.to_clock_id, r.from_version, r.to_version) for r in asic_final] == moved
    assert [(e.clock_id, e.transition) for e in emitted if "final" in e.clock_id] == events
    assert final_response(clocks, POLICIES)["due_at"] == due_after.isoformat()
    # Running it again changes nothing: every clock of the policy is on version 2.
    assert clocks.migrate("au-asic-rg271", 2, sydney(2026, 6, 11), POLICIES) == ([], [])


def test_a_migration_leaves_finished_clocks_as_they_ended(before_version_2: PolicySet) -> None:
    started, _ = ComplaintClocks.start(asic(TRUSTEE), before_version_2)
    clocks = ComplaintClocks.from_bytes(started.to_bytes(), POLICIES)
    clocks.tick(THIRTY_DAYS, POLICIES)  # breached under version 1

    replanned, emitted = clocks.migrate("au-asic-rg271", 2, THIRTY_DAYS, POLICIES)

    assert [r.clock_id for r in replanned] == []
    assert emitted == []
    assert ComplaintClocks.from_bytes(clocks.to_bytes(), POLICIES).clocks == clocks.clocks


def test_a_superseding_migration_repeats_its_event_ids_on_a_replay(
    before_version_2: PolicySet,
) -> None:
    started, _ = ComplaintClocks.start(asic(TRUSTEE), before_version_2)
    runs = []
    for _ in range(2):
        clocks = ComplaintClocks.from_bytes(started.to_bytes(), POLICIES)
        runs.append(clocks.migrate("au-asic-rg271", 2, sydney(2026, 6, 10), POLICIES))

    assert runs[0] == runs[1]


# --- date-only deadlines --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "clock_id", "local_date", "reading"),
    [
        (
            complaint(new_york(2026, 11, 20, 14), regime="us-cfpb", jurisdiction="US"),
            "cfpb-15d",
            dt.date(2026, 12, 5),
            "end of 2026-12-05 (America/New_York)",
        ),
        (
            complaint(new_york(2026, 11, 20, 14), regime="us-cfpb", jurisdiction="US"),
            "cfpb-60d",
            dt.date(2027, 1, 19),
            "end of 2027-01-19 (America/New_York)",
        ),
        (
            complaint(london(2026, 6, 5, 10)),
            "fca-final-8wk",
            None,
            "2026-07-31T10:00:00+01:00 (Europe/London)",
        ),
    ],
    ids=["cfpb 15 days", "cfpb 60 days", "fca 8 weeks is a time of day"],
)
def test_a_date_only_deadline_is_reported_as_the_end_of_its_local_date(
    facts: ComplaintFacts, clock_id: str, local_date: dt.date | None, reading: str
) -> None:
    clocks, events = ComplaintClocks.start(facts, POLICIES)

    (explained,) = [
        e for e in clocks.explain(london(2026, 6, 6), POLICIES) if e.clock_id == clock_id
    ]
    (started,) = [e for e in of_type(events, ClockStarted) if e.clock_id == clock_id]

    assert (explained.due_local_date, explained.due_reading) == (local_date, reading)
    assert started.due_local_date == local_date
    if local_date is not None:  # "end of 5 December" is the instant 6 December begins
        next_day = local_date + dt.timedelta(days=1)
        assert started.due_at == new_york(next_day.year, next_day.month, next_day.day)


# --- loading versions -----------------------------------------------------------------------

CALENDARS = """
calendars:
  - id: GB-ENG
    title: England and Wales
    time_zone: Europe/London
    working_hours:
      mon: ["09:00-17:00"]
"""


def a_policy(policy_id: str, clock_id: str, version: int | None, hours: int = 2) -> str:
    header = f"id: {policy_id}\n" + ("" if version is None else f"version: {version}\n")
    return header + textwrap.dedent(
        f"""\
        title: Test
        regime: any
        regulatory: false
        clocks:
          - id: {clock_id}
            kind: acknowledgement
            title: Ack
            due: {{amount: {hours}, unit: hours}}
        """
    )


def test_a_policy_file_without_a_version_is_version_1(tmp_path: Path) -> None:
    (tmp_path / "calendars.yaml").write_text(CALENDARS)
    (tmp_path / "p.yaml").write_text(a_policy("p", "p-ack", None))

    policies = PolicySet.load(tmp_path)

    assert policies.policy("p").version == 1
    assert policies.clock("p-ack").policy_version == 1


@pytest.mark.parametrize(
    ("history", "path", "rule"),
    [
        (a_policy("gone", "gone-ack", 1), "id", "no current policy 'gone'"),
        (a_policy("p", "p-ack", 3), "version", "below the current one (3)"),
        (a_policy("p", "q-ack", 1), "clocks[0].id", "belongs to policy 'q'"),
    ],
    ids=["unknown policy", "not older", "another policy's clock"],
)
def test_a_bad_earlier_version_is_refused_at_load(
    tmp_path: Path, history: str, path: str, rule: str
) -> None:
    (tmp_path / "calendars.yaml").write_text(CALENDARS)
    (tmp_path / "p.yaml").write_text(a_policy("p", "p-ack", 3))
    (tmp_path / "q.yaml").write_text(a_policy("q", "q-ack", None))
    (tmp_path / HISTORY_DIRECTORY).mkdir()
    (tmp_path / HISTORY_DIRECTORY / "old.yaml").write_text(history)

    with pytest.raises(PolicyError) as raised:
        PolicySet.load(tmp_path)

    (issue,) = raised.value.issues
    assert (issue.file.name, issue.path) == ("old.yaml", path)
    assert rule in issue.rule


def test_an_edited_rule_moves_only_the_clocks_started_after_it(tmp_path: Path) -> None:
    received = london(2026, 6, 1, 9)
    (tmp_path / "calendars.yaml").write_text(CALENDARS)
    (tmp_path / "p.yaml").write_text(a_policy("p", "p-ack", None, hours=2))
    before = PolicySet.load(tmp_path)
    old, _ = ComplaintClocks.start(complaint(received, regime="none"), before)
    (tmp_path / HISTORY_DIRECTORY).mkdir()
    (tmp_path / "p.yaml").rename(tmp_path / HISTORY_DIRECTORY / "p.v1.yaml")
    (tmp_path / "p.yaml").write_text(a_policy("p", "p-ack", 2, hours=4))
    after = PolicySet.load(tmp_path)

    running = ComplaintClocks.from_bytes(old.to_bytes(), after)
    new, _ = ComplaintClocks.start(complaint(received, regime="none", complaint_id="C-2"), after)

    assert due(running) == london(2026, 6, 1, 11)  # still two hours
    assert due(new) == london(2026, 6, 1, 13)  # four hours
    running.migrate("p", 2, london(2026, 6, 1, 10), after)
    assert due(running) == london(2026, 6, 1, 13)
    assert running.clocks[0].policy_version == 2


def due(clocks: ComplaintClocks) -> dt.datetime:
    (record,) = clocks.clocks
    return dt.datetime.fromtimestamp(record.due_at, dt.UTC)
