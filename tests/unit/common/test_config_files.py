"""Configuration files fail at load with one `file:line: path: message` per problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, Field

from kintsugi.common.config_files import ConfigFileError, ConfigIssue, load_model, parse_model


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    weight: int = Field(ge=0)


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    rules: list[Rule]


def issues(text: str) -> list[str]:
    with pytest.raises(ConfigFileError) as raised:
        parse_model(textwrap.dedent(text).lstrip(), Rules, source="rules.yaml")
    return [str(issue) for issue in raised.value.issues]


def test_a_valid_file_parses_into_the_model() -> None:
    rules, _ = parse_model("name: x\nrules:\n  - {id: a, weight: 1}\n", Rules, source="r.yaml")

    assert rules == Rules(name="x", rules=[Rule(id="a", weight=1)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            """
            name: x
            rules:
              - id: a
                weight: -1
            """,
            ["rules.yaml:4: rules[0].weight: Input should be greater than or equal to 0"],
            id="value out of range, on the value's line",
        ),
        pytest.param(
            """
            name: x
            rules:
              - id: a
                wieght: 1
            """,
            [
                "rules.yaml:3: rules[0].weight: required field is missing",
                "rules.yaml:4: rules[0].wieght: unknown field (check the spelling)",
            ],
            id="misspelt field: both problems at once",
        ),
        pytest.param(
            """
            name: x
            name: y
            rules: []
            """,
            ["rules.yaml:2: name: duplicate key (first written on line 1)"],
            id="duplicate key",
        ),
        pytest.param(
            """
            name: x
            rules:
              - id: a
                weight: 1
                id: b
            """,
            ["rules.yaml:5: rules[0].id: duplicate key (first written on line 3)"],
            id="duplicate key in a nested mapping",
        ),
        pytest.param(
            """
            name: x
            rules: [
            """,
            None,
            id="syntax error",
        ),
        pytest.param("- a\n- b\n", ["rules.yaml:1: (document): the document must be a mapping"]),
        pytest.param("", ["rules.yaml:1: (document): the file is empty"]),
    ],
)
def test_every_problem_names_file_line_and_path(text: str, expected: list[str] | None) -> None:
    found = issues(text)

    if expected is None:
        assert len(found) == 1
        assert found[0].startswith("rules.yaml:")
        assert "invalid YAML" in found[0]
    else:
        assert found == expected


def test_the_error_message_lists_every_issue_on_its_own_line() -> None:
    error = ConfigFileError(
        [ConfigIssue("a.yaml", 3, "x", "bad"), ConfigIssue("a.yaml", None, "(file)", "gone")]
    )

    assert str(error) == "2 configuration problems:\n  a.yaml:3: x: bad\n  a.yaml: (file): gone"


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError) as raised:
        load_model(tmp_path / "absent.yaml", Rules)

    assert str(raised.value.issues[0]).startswith(f"{tmp_path / 'absent.yaml'}: (file): ")


def test_a_file_on_disk_is_reported_under_its_path(tmp_path: Path) -> None:
    file = tmp_path / "rules.yaml"
    file.write_text("name: x\nrules:\n  - {id: a, weight: x}\n")

    with pytest.raises(ConfigFileError) as raised:
        load_model(file, Rules)

    assert str(raised.value.issues[0]).startswith(f"{file}:3: rules[0].weight: ")
