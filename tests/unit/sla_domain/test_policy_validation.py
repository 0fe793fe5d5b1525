"""Malformed policy and calendar files fail at load, naming file, path and rule."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from services.sla.domain import PolicyError, PolicyIssue, PolicySet
from services.sla.domain.policy import DEFAULT_POLICY_DIRECTORY

CALENDARS = """
calendars:
  - id: GB-ENG
    title: England and Wales
    time_zone: Europe/London
    holidays: {country: GB, subdivision: ENG}
    working_hours:
      mon: ["09:00-17:00"]
      fri: ["09:00-17:00"]
"""

VALID_CLOCKS = """
- id: ok-ack
  kind: acknowledgement
  title: Ack
  due: {amount: 1, unit: business_days, cutoff: close_of_business}
- id: ok-final
  kind: final_response
  title: Final
  due: {amount: 56, unit: calendar_days, cutoff: exact_time}
"""


def policy(clocks: str, *, regulatory: str = "true", regime: str = "uk-fca-disp") -> str:
    """A policy file around `clocks`, a YAML list written at column zero."""
    indented = textwrap.indent(textwrap.dedent(clocks).strip(), "  ")
    return (
        f"id: test-policy\ntitle: Test policy\nregime: {regime}\nregulatory: {regulatory}\n"
        f"clocks:\n{indented}\n"
    )


def load_issues(directory: Path, files: dict[str, str]) -> list[PolicyIssue]:
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text))
    with pytest.raises(PolicyError) as raised:
        PolicySet.load(directory)
    assert str(raised.value)  # the message lists every issue
    return list(raised.value.issues)


def only_issue(directory: Path, files: dict[str, str]) -> PolicyIssue:
    issues = load_issues(directory, files)
    assert len(issues) == 1, issues
    return issues[0]


def test_the_shipped_policies_load() -> None:
    policies = PolicySet.load(DEFAULT_POLICY_DIRECTORY)

    assert {"uk-fca-disp", "uk-psd2-emoney", "us-cfpb", "au-asic-rg271"} == policies.regimes


def test_a_negative_amount_names_file_path_and_rule(tmp_path: Path) -> None:
    clocks = (
        VALID_CLOCKS
        + """
- id: bad
  kind: resolution
  title: Bad
  due: {amount: -5, unit: business_days, cutoff: close_of_business}
"""
    )
    issue = only_issue(tmp_path, {"calendars.yaml": CALENDARS, "bad.yaml": policy(clocks)})

    assert issue.file == tmp_path / "bad.yaml"
    assert issue.path == "clocks[2].due.amount"
    assert issue.rule == "Input should be greater than 0"
    assert (
        str(issue)
        == f"{tmp_path / 'bad.yaml'}: clocks[2].due.amount: Input should be greater than 0"
    )


def test_an_unknown_unit_lists_the_allowed_ones(tmp_path: Path) -> None:
    clocks = "- {id: x, kind: resolution, title: X, due: {amount: 2, unit: fortnights}}"

    issue = only_issue(tmp_path, {"calendars.yaml": CALENDARS, "p.yaml": policy(clocks)})

    assert issue.path == "clocks[0].due.unit"
    assert "'business_days'" in issue.rule and "'calendar_days'" in issue.rule


def test_a_regulatory_clock_may_not_pause(tmp_path: Path) -> None:
    clocks = "- {id: x, kind: resolution, title: X, pausable: true, due: {amount: 2, unit: hours}}"

    issue = only_issue(tmp_path, {"calendars.yaml": CALENDARS, "p.yaml": policy(clocks)})

    assert (issue.path, issue.rule) == (
        "clocks[0].pausable",
        "regulatory clocks never pause; set pausable: false",
    )


def test_day_units_must_say_where_the_deadline_lands(tmp_path: Path) -> None:
    clocks = """
- {id: x, kind: resolution, title: X, due: {amount: 3, unit: business_days}}
- {id: y, kind: final_response, title: Y, due: {amount: 3, unit: hours, cutoff: end_of_day}}
"""
    issues = load_issues(tmp_path, {"calendars.yaml": CALENDARS, "p.yaml": policy(clocks)})

    assert [(issue.path, issue.rule) for issue in issues] == [
        (
            "clocks[0].due.cutoff",
            "business_days must say where the deadline lands: close_of_business or end_of_day",
        ),
        ("clocks[1].due.cutoff", "cutoff end_of_day does not apply to hours; use exact_time"),
    ]


def test_misspelt_fields_and_missing_fields_are_reported(tmp_path: Path) -> None:
    clocks = "- {id: x, kind: resolution, titel: X, due: {amount: 2, unit: hours}}"

    issues = load_issues(tmp_path, {"calendars.yaml": CALENDARS, "p.yaml": policy(clocks)})

    assert {(issue.path, issue.rule) for issue in issues} == {
        ("clocks[0].title", "required field is missing"),
        ("clocks[0].titel", "unknown field (check the spelling)"),
    }


def test_warning_thresholds_must_increase(tmp_path: Path) -> None:
    clocks = """
- {id: x, kind: resolution, title: X, warnings: [50, 90, 75], due: {amount: 2, unit: hours}}
"""

    issue = only_issue(tmp_path, {"calendars.yaml": CALENDARS, "p.yaml": policy(clocks)})

    assert issue.path == "clocks[0].warnings[2]"
    assert "strictly increasing" in issue.rule


def test_an_unknown_severity_in_a_condition_is_named(tmp_path: Path) -> None:
    clocks = """
- {id: x, kind: resolution, title: X, when: {severities: [urgent]}, due: {amount: 2, unit: hours}}
"""

    issue = only_issue(
        tmp_path, {"calendars.yaml": CALENDARS, "p.yaml": policy(clocks, regulatory="false")}
    )

    assert issue.path == "clocks[0].when.severities[0]"
    assert issue.rule.startswith("'urgent' is not a known severity")


def test_overlapping_conditions_for_the_same_kind_are_refused(tmp_path: Path) -> None:
    clocks = """
- id: a
  kind: first_response
  title: A
  when: {severities: [high, critical]}
  due: {amount: 2, unit: business_hours}
- id: b
  kind: first_response
  title: B
  when: {severities: [critical]}
  due: {amount: 1, unit: business_hours}
"""
    issue = only_issue(
        tmp_path, {"calendars.yaml": CALENDARS, "p.yaml": policy(clocks, regulatory="false")}
    )

    assert issue.path == "clocks[1].when"
    assert "overlaps clocks[0]" in issue.rule and "severity=critical" in issue.rule


def test_broken_yaml_reports_line_and_column(tmp_path: Path) -> None:
    issue = only_issue(
        tmp_path, {"calendars.yaml": CALENDARS, "p.yaml": "id: x\nclocks: [\n  - oops: {\n"}
    )

    assert issue.file == tmp_path / "p.yaml"
    assert issue.path.startswith("(line ")
    assert issue.rule.startswith("invalid YAML")


def test_duplicate_keys_are_refused_rather_than_silently_overwritten(tmp_path: Path) -> None:
    text = policy("- {id: x, kind: resolution, title: X, due: {amount: 2, amount: 3, unit: hours}}")

    issue = only_issue(tmp_path, {"calendars.yaml": CALENDARS, "p.yaml": text})

    assert issue.rule == "invalid YAML: duplicate key 'amount'"


def test_clock_ids_must_be_unique_across_files(tmp_path: Path) -> None:
    second = policy(VALID_CLOCKS).replace("id: test-policy", "id: other-policy")

    issues = load_issues(
        tmp_path,
        {"calendars.yaml": CALENDARS, "a.yaml": policy(VALID_CLOCKS), "b.yaml": second},
    )

    assert [(issue.file, issue.path) for issue in issues] == [
        (tmp_path / "b.yaml", "clocks[0].id"),
        (tmp_path / "b.yaml", "clocks[1].id"),
    ]
    assert str(tmp_path / "a.yaml") in issues[0].rule


@pytest.mark.parametrize(
    ("broken", "path", "rule_start"),
    [
        ("time_zone: Europe/London", "calendars[0].time_zone", "'Europe/Lundon' is not an IANA"),
        ("subdivision: ENG", "calendars[0].holidays.subdivision", "holidays package:"),
        ('mon: ["09:00-17:00"]', "calendars[0].working_hours.mon[0]", "'9-17' is not a working"),
    ],
)
def test_calendar_errors_name_the_path(
    tmp_path: Path, broken: str, path: str, rule_start: str
) -> None:
    replacement = {
        "time_zone: Europe/London": "time_zone: Europe/Lundon",
        "subdivision: ENG": "subdivision: XYZ",
        'mon: ["09:00-17:00"]': 'mon: ["9-17"]',
    }[broken]
    calendars = CALENDARS.replace(broken, replacement)

    issue = only_issue(tmp_path, {"calendars.yaml": calendars, "p.yaml": policy(VALID_CLOCKS)})

    assert issue.file == tmp_path / "calendars.yaml"
    assert issue.path == path
    assert issue.rule.startswith(rule_start)


def test_a_missing_calendars_file_is_reported(tmp_path: Path) -> None:
    issue = only_issue(tmp_path, {"p.yaml": policy(VALID_CLOCKS)})

    assert (issue.file, issue.rule) == (tmp_path / "calendars.yaml", "calendars file not found")


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    shutil.copytree(DEFAULT_POLICY_DIRECTORY, tmp_path / "policies")
    directory = tmp_path / "policies"
    fca = directory / "uk-fca-disp-1.6.yaml"
    fca.write_text(fca.read_text().replace("amount: 56", "amount: 0"))
    cfpb = directory / "us-cfpb.yaml"
    cfpb.write_text(cfpb.read_text().replace("cutoff: end_of_day", "cutoff: close_of_business"))

    with pytest.raises(PolicyError) as raised:
        PolicySet.load(directory)

    found = {(issue.file.name if issue.file else "", issue.path) for issue in raised.value.issues}
    assert found == {
        ("uk-fca-disp-1.6.yaml", "clocks[1].due.amount"),
        ("us-cfpb.yaml", "clocks[0].due.cutoff"),
        ("us-cfpb.yaml", "clocks[1].due.cutoff"),
    }
