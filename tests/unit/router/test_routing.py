"""route(): the most capable available person, and every decision says why."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.router.domain.directory import Directory
from services.router.domain.routing import Decision, choose_team, route
from tests.unit.router.fakes import SHIPPED_DIRECTORY, a_request, one_team, person


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
        assert decision.handler.id == "sam.taylor"
        assert detail(decision, "team.abuse") == "abusive content goes to Conduct Review"

    def test_abuse_without_a_conduct_team_still_reaches_the_category_team(self) -> None:
        directory = one_team(person("ann"))

        decision = route(a_request(abusive=True), directory, {})

        assert decision.handler.id == "ann"
        assert codes(decision)[0] == "team.category"


class TestPerson:
    def test_a_customer_is_matched_to_someone_who_speaks_their_language(
        self, shipped: Directory
    ) -> None:
        decision = route(a_request(language="cy"), shipped, {})

        assert decision.handler.id == "tom.hughes"
        assert detail(decision, "filter.language") == "speaks 'cy'"

    def test_a_regional_language_tag_matches_the_base_language(self, shipped: Directory) -> None:
        assert route(a_request(language="fr-CA"), shipped, {}).handler.id == "amara.okafor"
        assert route(a_request(language="IT"), shipped, {}).handler.id == "lucia.rossi"

    def test_when_nobody_speaks_the_language_the_rule_is_relaxed_saying_so(
        self, shipped: Directory
    ) -> None:
        decision = route(a_request(language="pl"), shipped, {})

        assert decision.team_id == "customer-care"
        assert detail(decision, "relaxed.language") == "nobody in Customer Care speaks 'pl'"

    def test_a_vulnerable_customer_gets_a_trained_handler(self, shipped: Directory) -> None:
        decision = route(a_request(category="fraud", vulnerable=True), shipped, {})

        assert decision.handler.id == "mei.chen"
        assert "filter.vulnerability" in codes(decision)

    def test_a_critical_complaint_goes_only_to_someone_cleared_for_it(self) -> None:
        directory = one_team(
            person("ann", max_severity="high"), person("bob", max_severity="critical")
        )

        decision = route(a_request(severity="critical"), directory, {"bob": 9})

        assert decision.handler.id == "bob"
        assert detail(decision, "filter.severity") == "cleared for critical severity"

    def test_full_handlers_are_passed_over_for_someone_with_room(self) -> None:
        directory = one_team(person("ann", capacity=2), person("bob", capacity=10))

        decision = route(a_request(), directory, {"ann": 2, "bob": 9})

        assert decision.handler.id == "bob"

    def test_the_least_loaded_by_share_of_capacity_wins(self) -> None:
        directory = one_team(person("ann", capacity=25), person("bob", capacity=10))

        # Ann has more room in absolute terms, but is 20% loaded against Bob's 10%.
        decision = route(a_request(), directory, {"ann": 5, "bob": 1})

        assert decision.handler.id == "bob"
        assert detail(decision, "handler.least_loaded") == "Bob has 1 of 10 open complaints"

    def test_equally_loaded_handlers_are_chosen_by_id_so_replays_agree(self) -> None:
        directory = one_team(person("zoe"), person("ann"), person("max"))

        assert route(a_request(), directory, {}).handler.id == "ann"

    def test_when_everyone_is_full_the_complaint_is_still_assigned_never_dropped(self) -> None:
        directory = one_team(person("ann", capacity=1), person("bob", capacity=2))

        decision = route(a_request(), directory, {"ann": 1, "bob": 2})

        assert decision.handler.id == "ann"  # 100% each; tie broken by id
        assert detail(decision, "relaxed.capacity") == "nobody in Care has spare capacity"

    def test_language_outranks_vulnerability_training_when_both_cannot_be_met(self) -> None:
        directory = one_team(
            person("ann", languages=("en",), trained=True), person("bob", languages=("fr",))
        )

        decision = route(a_request(language="fr", vulnerable=True), directory, {})

        assert decision.handler.id == "bob"
        assert "relaxed.vulnerability" in codes(decision)

    def test_every_decision_ends_with_why_this_person(self, shipped: Directory) -> None:
        decision = route(a_request(category="hardship", vulnerable=True), shipped, {})

        assert codes(decision)[0] == "team.category"
        assert codes(decision)[-1] == "handler.least_loaded"
        assert all(r.detail for r in decision.reasons)

    def test_the_same_inputs_give_the_same_person_and_reasons(self, shipped: Directory) -> None:
        request = a_request(category="fees", language="es", severity="high")
        load = {"lucia.rossi": 3, "amara.okafor": 1}

        assert route(request, shipped, load) == route(request, shipped, dict(load))

    def test_reasons_only_claim_filters_that_actually_narrowed_the_choice(
        self, shipped: Directory
    ) -> None:
        # A French speaker who is not vulnerable, about a low-severity complaint: only the
        # language filter did anything.
        decision = route(a_request(language="fr"), shipped, {})

        assert decision.handler.id == "amara.okafor"
        assert "filter.vulnerability" not in codes(decision)
        assert "filter.severity" not in codes(decision)


class TestRepeatContact:
    def test_a_repeat_contact_goes_to_the_customers_current_owner(self) -> None:
        directory = one_team(person("ann"), person("bob"))

        decision = route(a_request(), directory, {"ann": 0, "bob": 5}, current_owner_id="bob")

        assert decision.handler.id == "bob"
        assert detail(decision, "handler.repeat_contact") == "Bob already owns this customer's case"

    def test_an_owner_in_another_team_keeps_the_customer(self, shipped: Directory) -> None:
        # One owner, one story: the customer's fees complaint owner also hears about fraud.
        decision = route(a_request(category="fraud"), shipped, {}, current_owner_id="tom.hughes")

        assert (decision.team_id, decision.handler.id) == ("customer-care", "tom.hughes")

    def test_an_owner_without_room_is_not_given_more_and_routing_continues(self) -> None:
        directory = one_team(person("ann", capacity=3), person("bob"))

        decision = route(a_request(), directory, {"ann": 3}, current_owner_id="ann")

        assert decision.handler.id == "bob"
        assert "handler.repeat_contact" not in codes(decision)

    def test_an_owner_who_left_the_directory_is_ignored(self) -> None:
        directory = one_team(person("ann"))

        decision = route(a_request(), directory, {}, current_owner_id="departed")

        assert decision.handler.id == "ann"

    def test_abuse_from_a_repeat_customer_still_goes_to_the_conduct_team(
        self, shipped: Directory
    ) -> None:
        decision = route(a_request(abusive=True), shipped, {}, current_owner_id="tom.hughes")

        assert decision.team_id == "conduct-review"


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

        decision = route(a_request(), directory, {}, current_owner_id="ann")

        assert decision.executive_review is True
