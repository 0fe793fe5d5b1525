"""Strict YAML configuration files, parsed into pydantic models, with errors that point.

Every service reads its rules (policies, classification rules, directories) through here,
so every bad file is reported the same way: one line per problem, ``file:line: path:
message``, all problems at once. Strict means: a key written twice is an error (plain
YAML silently keeps the last one, so a rule an operator thinks is active is not), and the
models decide which fields exist (``extra="forbid"``), so a misspelt field is an error too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Location = tuple[int | str, ...]
_Model = TypeVar("_Model", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One broken rule: where (file, line, path inside the document) and what is wanted."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}"


class ConfigFileError(ValueError):
    """A configuration file that cannot be used; lists every problem found in it."""

    def __init__(self, issues: Iterable[ConfigIssue]) -> None:
        self.issues = tuple(issues)
        count = len(self.issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"{count} configuration problem{'s' if count != 1 else ''}:\n{lines}")


class StrictLoader(yaml.SafeLoader):
    """Safe YAML loading that refuses duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return dict(loader.construct_pairs(node))


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


@dataclass(frozen=True, slots=True)
class YamlDocument:
    """A parsed YAML document and the line of every path in it, for error messages."""

    source: str
    data: Any
    lines: Mapping[Location, int]

    def line_of(self, location: Iterable[int | str]) -> int:
        """The line of ``location``, or of its nearest ancestor present in the file."""
        path = tuple(location)
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path, 1)

    def issue(self, location: Iterable[int | str], message: str) -> ConfigIssue:
        path = tuple(location)
        return ConfigIssue(self.source, self.line_of(path), format_location(path), message)


def read_yaml(text: str, source: str) -> YamlDocument:
    """Parse ``text`` strictly; raise ``ConfigFileError`` naming ``source`` and the line."""
    try:
        node = yaml.compose(text, Loader=StrictLoader)
    except yaml.YAMLError as error:
        raise ConfigFileError([_syntax_issue(error, source)]) from error
    if node is None:
        raise ConfigFileError([ConfigIssue(source, 1, "(document)", "the file is empty")])
    lines: dict[Location, int] = {}
    duplicates: list[ConfigIssue] = []
    _index(node, (), source, lines, duplicates)
    if duplicates:
        raise ConfigFileError(duplicates)
    try:
        data = yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as error:
        raise ConfigFileError([_syntax_issue(error, source)]) from error
    return YamlDocument(source, data, lines)


def parse_model(text: str, model: type[_Model], *, source: str) -> tuple[_Model, YamlDocument]:
    """``text`` validated as ``model``; every validation error becomes one located issue."""
    document = read_yaml(text, source)
    if not isinstance(document.data, dict):
        raise ConfigFileError([document.issue((), "the document must be a mapping")])
    try:
        return model.model_validate(document.data), document
    except ValidationError as error:
        raise ConfigFileError(
            document.issue(_yaml_path(detail["loc"]), format_rule(detail))
            for detail in error.errors()
        ) from error


def load_model(file: Path, model: type[_Model]) -> tuple[_Model, YamlDocument]:
    """Read ``file`` and validate it as ``model`` (see ``parse_model``)."""
    try:
        text = Path(file).read_text(encoding="utf-8")
    except OSError as error:
        reason = error.strerror or str(error)
        raise ConfigFileError([ConfigIssue(str(file), None, "(file)", reason)]) from error
    return parse_model(text, model, source=str(file))


def format_location(location: Iterable[int | str]) -> str:
    """``("rules", 2, "id")`` as ``rules[2].id``, the way an operator reads the file."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(document)"


def format_rule(detail: Mapping[str, Any]) -> str:
    """A pydantic error detail in words an operator editing YAML understands."""
    kind = detail.get("type")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling)"
    message = str(detail.get("msg", "invalid value"))
    return message.removeprefix("Value error, ")


def _yaml_path(location: Iterable[int | str]) -> Location:
    # Tagged unions and validators add their own names to pydantic's location; they are
    # not in the file, and an operator cannot look them up.
    return tuple(p for p in location if isinstance(p, int) or not p.startswith("function-"))


def _index(
    node: yaml.Node,
    path: Location,
    source: str,
    lines: dict[Location, int],
    duplicates: list[ConfigIssue],
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_seen:
                duplicates.append(
                    ConfigIssue(
                        source,
                        line,
                        format_location((*path, key)),
                        f"duplicate key (first written on line {first_seen[key]})",
                    )
                )
                continue
            first_seen[key] = line
            lines[(*path, key)] = line
            _index(value_node, (*path, key), source, lines, duplicates)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index(item, (*path, index), source, lines, duplicates)


def _syntax_issue(error: yaml.YAMLError, source: str) -> ConfigIssue:
    mark = getattr(error, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(error, "problem", None)
    text = str(problem) if problem else str(error).splitlines()[0]
    return ConfigIssue(source, line, "(document)", f"invalid YAML: {text}")
