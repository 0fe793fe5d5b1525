"""Team choice and executive sampling, as the desk applies them."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from services.router.domain.desk import Assigned, Desk
from services.router.domain.directory import Directory
from services.router.domain.routing import RoutingRequest, choose_team
from tests.unit.router.fakes import SHIPPED_DIRECTORY, a_request, one_team, person

NOW = dt.datetime(2026, 3, 4, 10, 0, tzinfo=dt.UTC)
Decision = Assigned


def route(request: RoutingRequest, directory: Directory, *_: object, **__: object) -> Assigned:
    """The desk's first decision for ``request`` on an empty desk."""
    [decision] = Desk(directory).classified(request, f"classified-{request.complaint_id}", NOW)
    assert isinstance(decision, Assigned)
    return decision


@pytest.fixture(scope="module")
def shipped() -> Directory:
    return replace(Directory.load(SHIPPED_DIRECTORY), executive_sample_percent=0.0)


def codes(decision: Decision) -> list[str]:
    return [r.code for r in decision.reasons]


def detail(decision: Decision, code: str) -> str:
    return next(r.detail for r in decision.reasons if r.code == code)


class TestTeam:
    @pytest.mark.parametrize(
        ("category", "team_id"),
        [
            ("fraud", "fraud-response"),
            ("hardship", "financial-support"),
            ("default_notice", "financial-support"),
            ("superannuation", "financial-support"),
            ("fees", "customer-care"),
            ("service", "customer-care"),
        ],
    )
    def test_the_team_owning_the_category_gets_the_complaint(
        self, shipped: Directory, category: str, team_id: str
    ) -> None:
        team, reason = choose_team(a_request(category=category), shipped)

        assert team.id == team_id
        assert reason.code == "team.category"
        assert f"'{category}'" in reason.detail

    def test_a_category_no_team_owns_goes_to_the_default_team_saying_so(
        self, shipped: Directory
    ) -> None:
        team, reason = choose_team(a_request(category="pets"), shipped)

        assert team.id == "customer-care"
        assert (reason.code, reason.detail) == (
            "team.default",
            "no team owns 'pets': Customer Care",
        )

    @pytest.mark.parametrize("category", ["fraud", "general", "hardship"])
    def test_abuse_goes_to_the_conduct_team_whatever_the_category(
        self, shipped: Directory, category: str
    ) -> None:
        decision = route(a_request(category=category, abusive=True), shipped, {})

        assert decision.team_id == "conduct-review"
        assert decision.handler_id == "sam.taylor"
        assert detail(decision, "team.abuse") == "abusive content goes to Conduct Review"

    def test_abuse_without_a_conduct_team_still_reaches_the_category_team(self) -> None:
        directory = one_team(person("ann"))

        decision = route(a_request(abusive=True), directory, {})

        assert decision.handler_id == "ann"
        assert codes(decision)[0] == "team.category"


class TestExecutiveSampling:
    def test_sampling_is_decided_by_the_complaint_id_so_a_replay_agrees(
        self, shipped: Directory
    ) -> None:
        directory = replace(shipped, executive_sample_percent=50)
        ids = [f"complaint-{i}" for i in range(50)]

        first = [route(a_request(complaint_id=i), directory, {}).executive_review for i in ids]
        again = [route(a_request(complaint_id=i), directory, {}).executive_review for i in ids]

        assert first == again
        assert any(first) and not all(first)

    @pytest.mark.parametrize(("percent", "low", "high"), [(5, 0.04, 0.06), (50, 0.47, 0.53)])
    def test_roughly_the_configured_share_of_complaints_is_sampled(
        self, percent: float, low: float, high: float
    ) -> None:
        directory = one_team(person("ann"), sample_percent=percent)
        n = 4000

        sampled = sum(
            route(a_request(complaint_id=f"complaint-{i}"), directory, {}).executive_review
            for i in range(n)
        )

        assert low <= sampled / n <= high

    @pytest.mark.parametrize(("percent", "expected"), [(0, False), (100, True)])
    def test_zero_samples_nothing_and_a_hundred_samples_everything(
        self, percent: float, expected: bool
    ) -> None:
        directory = one_team(person("ann"), sample_percent=percent)

        assert {
            route(a_request(complaint_id=f"c-{i}"), directory, {}).executive_review
            for i in range(200)
        } == {expected}

    def test_a_sampled_complaint_says_it_goes_to_the_chief_executives_office(self) -> None:
        directory = one_team(person("ann"), sample_percent=100)

        decision = route(a_request(), directory, {})

        assert "chief executive" in detail(decision, "sample.executive")

    def test_a_repeat_contact_can_be_sampled_too(self) -> None:
        directory = one_team(person("ann"), sample_percent=100)

        desk = Desk(directory)
        desk.classified(a_request(complaint_id="first"), "e1", NOW)
        [decision] = desk.classified(a_request(complaint_id="second"), "e2", NOW)

        assert isinstance(decision, Assigned) and decision.handler_id == "ann"
        assert decision.executive_review is True
