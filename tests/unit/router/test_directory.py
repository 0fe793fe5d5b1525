"""Directory.load: the shipped file loads; a broken file is refused naming file, path and rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from kintsugi.common.config_files import ConfigFileError
from services.router.domain.directory import Directory
from tests.unit.router.fakes import SHIPPED_DIRECTORY

VALID = """\
default_team: care
executive_sample_percent: 10
teams:
  - id: care
    name: Care
    categories: [general, fees]
    members:
      - {id: ann, name: Ann Lee, languages: [en, fr], capacity: 5, vulnerability_trained: true}
      - {id: bob, name: Bob Ray, languages: [en], capacity: 3, max_severity: medium}
  - id: conduct
    name: Conduct
    handles_abuse: true
    members:
      - {id: cat, name: Cat Day, languages: [en], capacity: 40}
"""

MEMBER = "{id: x, name: X, languages: [en], capacity: 3}"


def written(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "directory.yaml"
    path.write_text(text)
    return path


def test_the_shipped_directory_loads_with_a_conduct_team_and_a_valid_default() -> None:
    directory = Directory.load(SHIPPED_DIRECTORY)

    assert directory.default_team_id in {t.id for t in directory.teams}
    assert any(t.handles_abuse for t in directory.teams)
    assert all(t.members for t in directory.teams)
    assert 0 <= directory.executive_sample_percent <= 100


def test_the_shipped_directory_has_a_team_for_every_category_intake_produces() -> None:
    from services.intake.domain.classification_rules import default_rules

    directory = Directory.load(SHIPPED_DIRECTORY)
    owned = {c for t in directory.teams for c in t.categories}

    rules = default_rules()
    assert {*rules.category_order, rules.default_category} <= owned


def test_a_valid_file_becomes_teams_of_handlers_with_their_skills(tmp_path: Path) -> None:
    directory = Directory.load(written(tmp_path, VALID))

    assert [t.id for t in directory.teams] == ["care", "conduct"]
    assert directory.default_team_id == "care"
    assert directory.executive_sample_percent == 10
    ann = directory.handler("ann")
    assert ann is not None
    assert (ann.team_id, ann.languages, ann.capacity) == ("care", ("en", "fr"), 5)
    assert ann.vulnerability_trained is True
    assert ann.max_severity == "critical"  # the default: cleared for everything
    bob = directory.handler("bob")
    assert bob is not None and bob.max_severity == "medium"
    assert bob.vulnerability_trained is False
    assert directory.team("conduct").handles_abuse is True


def test_an_unknown_handler_is_none_not_an_error(tmp_path: Path) -> None:
    assert Directory.load(written(tmp_path, VALID)).handler("nobody") is None


@pytest.mark.parametrize(
    ("text", "path_in_file", "rule"),
    [
        pytest.param(
            VALID.replace("capacity: 3", "capacity: 0"),
            "teams[0].members[1].capacity",
            "greater than 0",
            id="zero-capacity",
        ),
        pytest.param(
            VALID.replace("languages: [en], capacity: 3", "capacity: 3"),
            "teams[0].members[1].languages",
            "required field is missing",
            id="no-languages",
        ),
        pytest.param(
            VALID.replace("languages: [en], capacity: 3", "languages: [], capacity: 3"),
            "teams[0].members[1].languages",
            "at least 1 item",
            id="empty-languages",
        ),
        pytest.param(
            VALID.replace("max_severity: medium", "max_severity: urgent"),
            "teams[0].members[1].max_severity",
            "low|medium|high|critical",
            id="unknown-severity",
        ),
        pytest.param(
            VALID.replace("handles_abuse: true", "handles_abuse: true\n    colour: red"),
            "teams[1].colour",
            "unknown field",
            id="misspelt-key",
        ),
        pytest.param(
            VALID.replace("default_team: care", "default_team: nobody"),
            "(document)",
            "default_team 'nobody' is not one of the teams",
            id="default-team-missing",
        ),
        pytest.param(
            VALID.replace("executive_sample_percent: 10", "executive_sample_percent: 150"),
            "executive_sample_percent",
            "less than or equal to 100",
            id="sample-over-100-percent",
        ),
        pytest.param("default_team: care\nteams: []\n", "teams", "at least 1 item", id="no-teams"),
        pytest.param("", "(document)", "the file is empty", id="empty-file"),
    ],
)
def test_a_broken_directory_is_refused_naming_the_file_the_path_and_the_rule(
    tmp_path: Path, text: str, path_in_file: str, rule: str
) -> None:
    path = written(tmp_path, text)

    with pytest.raises(ConfigFileError) as refused:
        Directory.load(path)

    message = str(refused.value)
    assert f"{path}:" in message
    assert f"{path_in_file}: " in message
    assert rule in message


def test_unparseable_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = written(tmp_path, "teams: [\n")

    with pytest.raises(ConfigFileError, match="invalid YAML") as refused:
        Directory.load(path)

    assert f"{path}:" in str(refused.value)


def test_a_missing_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"

    with pytest.raises(ConfigFileError, match="No such file") as refused:
        Directory.load(path)

    assert f"{path}: (file)" in str(refused.value)


def test_one_bad_handler_is_reported_once_without_claiming_the_team_is_empty(
    tmp_path: Path,
) -> None:
    text = f"default_team: a\nteams:\n  - id: a\n    name: A\n    members:\n      - {MEMBER}\n"
    path = written(tmp_path, text.replace("capacity: 3", "capacity: 0"))

    with pytest.raises(ConfigFileError) as refused:
        Directory.load(path)

    assert str(refused.value) == (
        f"1 configuration problem:\n  {path}:6: teams[0].members[0].capacity: "
        "Input should be greater than 0"
    )


def test_a_person_listed_twice_is_refused_by_id(tmp_path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(
        "default_team: care\n"
        "teams:\n"
        "  - id: care\n    name: Care\n    members:\n"
        "      - {id: ann, name: Ann, languages: [en], capacity: 5}\n"
        "  - id: fraud\n    name: Fraud\n    members:\n"
        "      - {id: ann, name: Ann, languages: [en], capacity: 5}\n"
    )
    with pytest.raises(ConfigFileError, match="handler ids must be unique; repeated: ann"):
        Directory.load(path)


FULL = """\
default_team: care
absence_grace_minutes: 20
severity_weights: {low: 1, medium: 2, high: 3, critical: 5}
calendars:
  london:
    time_zone: Europe/London
    days: [mon, tue, wed, thu, fri]
    start: "09:00"
    end: "17:00"
    holidays: GB-ENG
escalation_contacts:
  - {id: mo, name: Mo Manager, role: complaints manager}
teams:
  - id: care
    name: Care
    categories: [general]
    calendar: london
    escalation_chain: [ann, mo]
    members:
      - id: ann
        name: Ann Lee
        languages: [en]
        capacity: 5
        products: [card]
        regimes: [uk-fca-disp]
        presence: away
"""


def test_skills_presence_hours_weights_and_the_chain_are_loaded(tmp_path: Path) -> None:
    import datetime as dt

    directory = Directory.load(written(tmp_path, FULL))

    [team] = directory.teams
    [ann] = team.members
    assert (ann.products, ann.regimes, ann.presence) == (("card",), ("uk-fca-disp",), "away")
    assert ann.working_hours.time_zone == "Europe/London"
    assert ann.working_hours.holiday_country == "GB"
    assert [(c.id, c.name, c.role) for c in team.escalation_chain] == [
        ("ann", "Ann Lee", "team lead"),
        ("mo", "Mo Manager", "complaints manager"),
    ]
    assert directory.weight("critical") == 5
    assert directory.absence_grace == dt.timedelta(minutes=20)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("escalation_chain: [ann, mo]", "escalation_chain: [ann, zed]"),
            "teams.0.escalation_chain: not a handler or escalation contact: zed",
        ),
        (
            ("calendar: london\n    escalation", "calendar: paris\n    escalation"),
            "teams.0.calendar: calendar 'paris' is not defined in calendars",
        ),
        (
            ("time_zone: Europe/London", "time_zone: Europe/Londres"),
            "calendars.london: time_zone 'Europe/Londres' is not an IANA time zone",
        ),
        (
            ('start: "09:00"', 'start: "18:00"'),
            "calendars.london: start must be before end",
        ),
        (("days: [mon, tue", "days: [monday, tue"), "calendars.london.days[0]: "),
        (("presence: away", "presence: gone"), "teams[0].members[0].presence: "),
        (("critical: 5}", "}"), "severity_weights needs a positive weight for each of"),
    ],
)
def test_a_broken_reference_or_calendar_is_refused_naming_where(
    tmp_path: Path, change: tuple[str, str], expected: str
) -> None:
    path = written(tmp_path, FULL.replace(*change))

    with pytest.raises(ConfigFileError) as refused:
        Directory.load(path)

    assert f"{path}:" in str(refused.value)
    assert expected in str(refused.value)
