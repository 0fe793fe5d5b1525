"""Desk: who gets a complaint, when it waits, when it escalates, when it moves."""

from __future__ import annotations

import datetime as dt

import pytest

from kintsugi.common.ids import derived_id
from services.router.domain.desk import Assigned, CallRequested, Desk, Escalated, Queued
from tests.unit.router.desk_fixtures import (
    NOW,
    complaint,
    message,
    resolution,
    team_of,
    warning,
    worker,
)


def handlers_of(decisions: list[object]) -> list[str]:
    return [d.handler_id for d in decisions if isinstance(d, Assigned)]


class TestAssignment:
    def test_the_person_with_most_spare_capacity_gets_the_complaint(self) -> None:
        desk = Desk(team_of(worker("ann", capacity=3), worker("bob", capacity=5)))

        [decision] = desk.classified(complaint(1), "e1", NOW)

        assert isinstance(decision, Assigned) and decision.handler_id == "bob"
        assert any("5 of 5 units free before, 4 after" in r.detail for r in decision.reasons)

    def test_ties_go_to_whoever_was_assigned_least_recently(self) -> None:
        desk = Desk(team_of(worker("ann"), worker("bob"), worker("cy")))

        picks = [handlers_of(desk.classified(complaint(i), f"e{i}", NOW))[0] for i in range(6)]

        assert picks == ["ann", "bob", "cy", "ann", "bob", "cy"]

    def test_capacity_is_weighted_by_severity(self) -> None:
        desk = Desk(team_of(worker("ann", capacity=3)))

        first = desk.classified(complaint(1, severity="critical"), "e1", NOW)
        second = desk.classified(complaint(2, severity="low"), "e2", NOW)

        assert handlers_of(first) == ["ann"]
        assert isinstance(second[0], Queued)  # a critical complaint takes all three units

    @pytest.mark.parametrize(
        ("skills", "request_changes", "missing"),
        [
            ({"vulnerability_trained": False}, {"vulnerable": True}, "vulnerable"),
            ({"max_severity": "medium"}, {"severity": "high"}, "severity"),
            ({"products": ("mortgage",)}, {"product": "credit_card"}, "product"),
            ({"regimes": ("uk-fca-disp",)}, {"regime": "au-asic-rg271"}, "regime"),
            ({"languages": ("en",)}, {"language": "fr"}, "language"),
        ],
    )
    def test_nobody_without_every_required_skill_is_chosen(
        self, skills: dict[str, object], request_changes: dict[str, object], missing: str
    ) -> None:
        ann = worker("ann", **skills)
        # Bob has every skill but is away, so only Ann could take it.
        bob = worker("bob", languages=("en", "fr"), vulnerability_trained=True, presence="away")
        desk = Desk(team_of(ann, bob))

        decisions = desk.classified(complaint(1, **request_changes), "e1", NOW)

        assert isinstance(decisions[0], Queued), missing

    def test_a_language_nobody_in_the_team_speaks_does_not_block_the_complaint(self) -> None:
        desk = Desk(team_of(worker("ann")))

        assert handlers_of(desk.classified(complaint(1, language="pl"), "e1", NOW)) == ["ann"]

    def test_a_repeat_contact_goes_to_the_customers_owner_even_when_others_have_more_room(
        self,
    ) -> None:
        desk = Desk(team_of(worker("ann", capacity=5), worker("bob", capacity=5)))
        desk.classified(complaint(1, customer_id="alice"), "e1", NOW)  # ann

        decisions = desk.classified(complaint(2, customer_id="alice"), "e2", NOW)

        assert handlers_of(decisions) == ["ann"]
        assert any(r.code == "handler.repeat_contact" for r in decisions[0].reasons)

    def test_an_away_owner_does_not_get_the_repeat_contact(self) -> None:
        desk = Desk(team_of(worker("ann", capacity=5), worker("bob", capacity=5)))
        desk.classified(complaint(1, customer_id="alice"), "e1", NOW)
        desk.presence_changed("ann", "away", None, "p1", NOW)

        assert handlers_of(desk.classified(complaint(2, customer_id="alice"), "e2", NOW)) == ["bob"]

    def test_a_complaint_seen_twice_is_decided_once(self) -> None:
        desk = Desk(team_of(worker("ann")))
        desk.classified(complaint(1), "e1", NOW)

        assert desk.classified(complaint(1), "e1", NOW) == []
        assert desk.load == {"ann": 1}


class TestQueue:
    def test_a_full_team_queues_the_complaint_with_its_position(self) -> None:
        desk = Desk(team_of(worker("ann", capacity=1)))
        desk.classified(complaint(1), "e1", NOW)

        [second] = desk.classified(complaint(2), "e2", NOW)
        [third] = desk.classified(complaint(3), "e3", NOW)

        assert isinstance(second, Queued) and second.position == 1
        assert isinstance(third, Queued) and third.position == 2
        assert "number 2 in the queue" in third.reasons[-1].detail

    def test_a_resolution_assigns_the_oldest_queued_complaint(self) -> None:
        desk = Desk(team_of(worker("ann", capacity=1)))
        for i in (1, 2, 3):
            desk.classified(complaint(i), f"e{i}", NOW)

        decisions = desk.activity(resolution("c1"), NOW)

        assert [(d.complaint_id, d.handler_id) for d in decisions if isinstance(d, Assigned)] == [
            ("c2", "ann")
        ]
        assert decisions[0].event_id == derived_id("resolved-c1", "c2", "assigned")
        assert [c.complaint_id for c in desk.queue("care")] == ["c3"]

    def test_someone_coming_online_drains_the_queue(self) -> None:
        desk = Desk(team_of(worker("ann", capacity=1), worker("bob", presence="away")))
        desk.classified(complaint(1), "e1", NOW)
        desk.classified(complaint(2), "e2", NOW)

        decisions = desk.presence_changed("bob", "online", None, "p1", NOW)

        assert handlers_of(decisions) == ["bob"]

    def test_more_capacity_drains_the_queue(self) -> None:
        desk = Desk(team_of(worker("ann", capacity=1)))
        desk.classified(complaint(1), "e1", NOW)
        desk.classified(complaint(2), "e2", NOW)

        assert handlers_of(desk.presence_changed("ann", "online", 2, "p1", NOW)) == ["ann"]


class TestEscalation:
    def test_a_warning_escalates_to_the_team_lead_saying_which_clock_and_how_long_is_left(
        self,
    ) -> None:
        desk = Desk(team_of(worker("ann")))
        desk.classified(complaint(1), "e1", NOW)

        [escalated] = desk.clock_alert(warning("c1"))

        assert isinstance(escalated, Escalated)
        assert (escalated.level, escalated.to_id, escalated.from_handler_id) == (1, "lead", "ann")
        assert "internal final_response clock at 80%: 2h 00m left" in [
            r.detail for r in escalated.reasons
        ]

    @pytest.mark.parametrize(
        ("threshold", "due_in", "reason"),
        [
            (75, dt.timedelta(seconds=15), "internal final_response clock at 75%: 15 s left"),
            (90, dt.timedelta(minutes=7, seconds=30), "at 90%: 7 min left"),
            (100, dt.timedelta(0), "internal final_response clock breached: no time left"),
            (100, -dt.timedelta(hours=1, minutes=5), "clock breached: 1h 05m ago"),
        ],
    )
    def test_the_reason_says_how_long_is_left_even_on_a_clock_of_seconds(
        self, threshold: int, due_in: dt.timedelta, reason: str
    ) -> None:
        desk = Desk(team_of(worker("ann")))
        desk.classified(complaint(1), "e1", NOW)

        [escalated] = desk.clock_alert(
            warning("c1", threshold_percent=threshold, due_at=NOW + due_in)
        )

        assert isinstance(escalated, Escalated)
        assert any(reason in r.detail for r in escalated.reasons)

    def test_each_further_alert_goes_one_level_up_and_stops_at_the_top(self) -> None:
        desk = Desk(team_of(worker("ann")))
        desk.classified(complaint(1), "e1", NOW)
        alerts = [
            warning("c1", event_id="w1", threshold_percent=50),
            warning("c1", event_id="w2", threshold_percent=80),
            warning("c1", event_id="b", threshold_percent=100, due_at=NOW),
            warning("c1", event_id="r", clock_id="resolution", threshold_percent=100, due_at=NOW),
        ]

        levels = [
            (d.level, d.to_id)
            for a in alerts
            for d in desk.clock_alert(a)
            if isinstance(d, Escalated)
        ]

        assert levels == [(1, "lead"), (2, "manager"), (3, "exec"), (3, "exec")]

    def test_a_repeated_alert_escalates_once(self) -> None:
        desk = Desk(team_of(worker("ann")))
        desk.classified(complaint(1), "e1", NOW)

        first = desk.clock_alert(warning("c1"))
        again = desk.clock_alert(warning("c1", event_id="a-duplicate-with-a-new-id"))

        assert len(first) == 1 and again == []

    def test_a_queued_complaint_is_escalated_too(self) -> None:
        desk = Desk(team_of(worker("ann", capacity=1)))
        desk.classified(complaint(1), "e1", NOW)
        desk.classified(complaint(2), "e2", NOW)

        [escalated] = desk.clock_alert(warning("c2"))

        assert isinstance(escalated, Escalated) and escalated.from_handler_id == ""
        assert any(r.code == "queue.waiting" for r in escalated.reasons)

    def test_a_regulatory_warning_moves_the_complaint_from_an_away_owner(self) -> None:
        desk = Desk(team_of(worker("ann"), worker("bob")))
        desk.classified(complaint(1), "e1", NOW)  # ann
        desk.presence_changed("ann", "away", None, "p1", NOW)

        decisions = desk.clock_alert(warning("c1", regulatory=True))

        moved = [d for d in decisions if isinstance(d, Assigned)]
        assert [(m.handler_id, m.kind, m.previous_handler_id) for m in moved] == [
            ("bob", "escalation", "ann")
        ]
        assert desk.load == {"ann": 0, "bob": 1}

    def test_an_internal_warning_never_moves_the_complaint(self) -> None:
        desk = Desk(team_of(worker("ann"), worker("bob")))
        desk.classified(complaint(1), "e1", NOW)
        desk.presence_changed("ann", "away", None, "p1", NOW)

        assert not [d for d in desk.clock_alert(warning("c1")) if isinstance(d, Assigned)]


class TestAbsence:
    def test_an_owner_offline_past_the_grace_in_working_hours_loses_their_complaints(
        self,
    ) -> None:
        desk = Desk(team_of(worker("ann"), worker("bob")))
        desk.classified(complaint(1), "e1", NOW)  # ann
        desk.presence_changed("ann", "offline", None, "p1", NOW)

        assert desk.sweep(NOW + dt.timedelta(minutes=29), "t1") == []
        [moved] = desk.sweep(NOW + dt.timedelta(minutes=31), "t2")

        assert isinstance(moved, Assigned)
        assert (moved.handler_id, moved.kind, moved.previous_handler_id) == (
            "bob",
            "absence",
            "ann",
        )

    @pytest.mark.parametrize(
        ("offline_since", "swept_at", "moved"),
        [
            # Friday evening to Monday 09:10: ten minutes of working time missed.
            ("2026-03-06T17:30", "2026-03-09T09:10", False),
            ("2026-03-06T17:30", "2026-03-09T09:31", True),
            ("2026-03-07T10:00", "2026-03-07T12:00", False),  # Saturday
            ("2026-03-04T16:00", "2026-03-04T18:00", False),  # after hours
            ("2026-07-01T08:00", "2026-07-01T09:29", True),  # 08:29 UTC is 09:29 BST
        ],
    )
    def test_only_working_time_counts_towards_absence(
        self, offline_since: str, swept_at: str, moved: bool
    ) -> None:
        desk = Desk(team_of(worker("ann"), worker("bob")))
        desk.classified(complaint(1), "e1", NOW)
        since = dt.datetime.fromisoformat(offline_since).replace(tzinfo=dt.UTC)
        desk.presence_changed("ann", "offline", None, "p1", since)

        decisions = desk.sweep(dt.datetime.fromisoformat(swept_at).replace(tzinfo=dt.UTC), "t")

        assert bool(decisions) is moved

    def test_a_returning_owner_gets_back_only_what_nobody_touched(self) -> None:
        desk = Desk(team_of(worker("ann"), worker("bob")))
        desk.classified(complaint(1), "e1", NOW)  # ann
        desk.classified(complaint(2), "e2", NOW)  # bob
        desk.classified(complaint(3), "e3", NOW)  # ann
        desk.presence_changed("ann", "away", None, "p1", NOW)
        desk.sweep(NOW + dt.timedelta(hours=1), "t1")
        desk.activity(message("c3", 1), NOW)  # bob works on c3

        decisions = desk.presence_changed("ann", "online", None, "p2", NOW + dt.timedelta(hours=2))

        assert [
            (d.complaint_id, d.handler_id, d.kind) for d in decisions if isinstance(d, Assigned)
        ] == [("c1", "ann", "reroute")]


class TestRuleOfThree:
    def test_three_electronic_exchanges_ask_the_owner_to_phone_once(self) -> None:
        desk = Desk(team_of(worker("ann")))
        desk.classified(complaint(1), "e1", NOW)

        decisions = [d for n in range(1, 6) for d in desk.activity(message("c1", n), NOW)]

        assert len(decisions) == 1 and isinstance(decisions[0], CallRequested)
        assert decisions[0].handler_id == "ann"
        assert decisions[0].event_id == derived_id("msg-c1-3", "call_requested")

    def test_a_phone_call_resets_the_count(self) -> None:
        desk = Desk(team_of(worker("ann")))
        desk.classified(complaint(1), "e1", NOW)
        for n in (1, 2):
            desk.activity(message("c1", n), NOW)
        desk.activity(message("c1", 3, channel="phone"), NOW)

        after_call = [d for n in (4, 5) for d in desk.activity(message("c1", n), NOW)]
        third = desk.activity(message("c1", 6), NOW)

        assert after_call == [] and len(third) == 1

    def test_a_redelivered_message_is_not_counted_twice(self) -> None:
        desk = Desk(team_of(worker("ann")))
        desk.classified(complaint(1), "e1", NOW)

        for _ in range(3):
            assert desk.activity(message("c1", 1), NOW) == []
        assert desk.cases["c1"].exchanges == 1
