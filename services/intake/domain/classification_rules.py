"""The classification rules file: its schema, its checks, and its compiled form.

The rules are data an operator can read and change (``services/intake/classification.yaml``
ships with the service). A bad file stops intake at start-up with one line per problem,
``file:line: path: message``, rather than misclassifying complaints at run time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kintsugi.common.config_files import (
    ConfigFileError,
    ConfigIssue,
    YamlDocument,
    load_model,
    parse_model,
)
from kintsugi.common.names import CHANNELS, SEVERITIES
from services.intake.domain.text_matching import CueMatcher, Negation, phrase_regex
from services.intake.domain.word_model import WordModel

DEFAULT_RULES_FILE = Path(__file__).resolve().parent.parent / "classification.yaml"
Severity = Literal["low", "medium", "high", "critical"]
_ID = r"^[a-z0-9][a-z0-9_.-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CueSpec(_Strict):
    """Words that show something; ``phrases`` use the cue language, ``regex`` is raw."""

    id: str = Field(pattern=_ID)
    phrases: list[str] = Field(default_factory=list)
    regex: list[str] = Field(default_factory=list)
    weight: float = Field(default=1.0, gt=0)
    negatable: bool = True

    @field_validator("phrases")
    @classmethod
    def _phrases_compile(cls, phrases: list[str]) -> list[str]:
        for phrase in phrases:
            phrase_regex(phrase)  # raises ValueError naming the phrase
        return phrases

    @field_validator("regex")
    @classmethod
    def _regex_compiles(cls, expressions: list[str]) -> list[str]:
        for expression in expressions:
            try:
                compiled = re.compile(expression)
            except re.error as error:
                raise ValueError(f"regex {expression!r} does not compile: {error}") from error
            if compiled.groups:
                raise ValueError(f"regex {expression!r}: use (?:...) instead of groups")
        return expressions

    def expressions(self) -> list[str]:
        return [phrase_regex(p) for p in self.phrases] + list(self.regex)


class SeverityCueSpec(CueSpec):
    raise_by: int = Field(default=0, ge=0, le=3)
    at_least: Severity | None = None


class CategorySpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    severity: Severity
    description: str = ""
    cues: list[CueSpec] = Field(min_length=1)


class NegationSpec(_Strict):
    words: list[str] = Field(min_length=1)
    window_words: int = Field(default=3, ge=0, le=10)
    not_before: list[str] = Field(default_factory=list)
    before_phrases: list[str] = Field(default_factory=list)
    after_phrases: list[str] = Field(default_factory=list)

    @field_validator("before_phrases", "after_phrases")
    @classmethod
    def _phrases_compile(cls, phrases: list[str]) -> list[str]:
        for phrase in phrases:
            phrase_regex(phrase)
        return phrases


class VulnerabilitySpec(_Strict):
    raises_severity_by: int = Field(default=1, ge=0, le=3)
    cues: list[CueSpec] = Field(min_length=1)


class ProductSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    names: list[str] = Field(default_factory=list)
    payment_service: bool = False


class RegimesSpec(_Strict):
    by_country: dict[str, str]
    payment_services: dict[str, str] = Field(default_factory=dict)


class WordModelSpec(_Strict):
    """The learned second opinion (``word_model.py``) and when it is asked."""

    file: str = Field(min_length=1, description="parameters, relative to the rules file")
    # The rules decide when their winning category scores at least this; below it (or when
    # no category cue matched) the model does.
    # Even an unsure model (its probability is in the reason) beat the default category on
    # complaints written without the rules in mind, so there is no confidence floor.
    decides_below_rule_score: float = Field(default=3.0, ge=0)
    # The model's probability from which a customer counts as vulnerable even when no
    # vulnerability cue matched. Low on purpose: a vulnerable customer missed costs most.
    vulnerable_from: float = Field(default=0.4, gt=0, lt=1)


class RulesSpec(_Strict):
    version: Literal[1]
    default_category: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    default_severity: Severity = "low"
    negation: NegationSpec
    categories: list[CategorySpec] = Field(min_length=1)
    vulnerability: VulnerabilitySpec
    severity_cues: list[SeverityCueSpec] = Field(default_factory=list)
    abuse_cues: list[CueSpec] = Field(default_factory=list)
    public_channels: list[str] = Field(default_factory=list)
    products: list[ProductSpec] = Field(default_factory=list)
    regimes: RegimesSpec
    word_model: WordModelSpec | None = None

    @field_validator("public_channels")
    @classmethod
    def _channels_exist(cls, channels: list[str]) -> list[str]:
        unknown = sorted(set(channels) - set(CHANNELS))
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}; known: {', '.join(CHANNELS)}")
        return channels


@dataclass(frozen=True, slots=True)
class SeverityCue:
    raise_by: int
    at_least: int | None


@dataclass(frozen=True, slots=True)
class ClassificationRules:
    """The rules compiled once: one matcher per kind of cue, lookups for the rest."""

    source: str
    negation: Negation
    category_order: tuple[str, ...]
    category_of_cue: dict[str, str]
    cue_weight: dict[str, float]
    category_severity: dict[str, int]
    default_category: str
    default_severity: int
    categories: CueMatcher
    vulnerability: CueMatcher
    vulnerability_raise: int
    severity: CueMatcher
    severity_cues: dict[str, SeverityCue]
    abuse: CueMatcher
    public_channels: frozenset[str]
    product_by_name: dict[str, tuple[str, bool]]
    regime_by_country: dict[str, str]
    payment_service_regime: dict[str, str]
    word_model: WordModel | None = None
    model_decides_below: float = 0.0
    model_vulnerable_from: float = 1.0


def parse_rules(text: str, source: str) -> ClassificationRules:
    """Rules from YAML ``text``; ``ConfigFileError`` lists every problem with its line."""
    spec, document = parse_model(text, RulesSpec, source=source)
    return _compile(spec, document)


def load_rules(file: Path) -> ClassificationRules:
    spec, document = load_model(file, RulesSpec)
    return _compile(spec, document)


@functools.cache
def default_rules() -> ClassificationRules:
    """The rules shipped with intake (read and compiled once per process)."""
    return load_rules(DEFAULT_RULES_FILE)


def _compile(spec: RulesSpec, document: YamlDocument) -> ClassificationRules:
    issues = list(_cross_issues(spec, document))
    word_model = _word_model(spec, document, issues)
    if issues:
        raise ConfigFileError(issues)
    level = {name: index for index, name in enumerate(SEVERITIES)}
    category_cues = [(cue, c.id) for c in spec.categories for cue in c.cues]
    product_by_name: dict[str, tuple[str, bool]] = {}
    for product in spec.products:
        for name in (product.id, *product.names):
            product_by_name[normalise_product(name)] = (product.id, product.payment_service)
    return ClassificationRules(
        source=document.source,
        negation=Negation.build(
            spec.negation.words,
            spec.negation.window_words,
            spec.negation.not_before,
            spec.negation.before_phrases,
            spec.negation.after_phrases,
        ),
        category_order=tuple(c.id for c in spec.categories),
        category_of_cue={cue.id: category for cue, category in category_cues},
        cue_weight={cue.id: cue.weight for cue, _ in category_cues},
        category_severity={c.id: level[c.severity] for c in spec.categories},
        default_category=spec.default_category,
        default_severity=level[spec.default_severity],
        categories=_matcher(cue for cue, _ in category_cues),
        vulnerability=_matcher(spec.vulnerability.cues),
        vulnerability_raise=spec.vulnerability.raises_severity_by,
        severity=_matcher(spec.severity_cues),
        severity_cues={
            cue.id: SeverityCue(cue.raise_by, level[cue.at_least] if cue.at_least else None)
            for cue in spec.severity_cues
        },
        abuse=_matcher(spec.abuse_cues),
        public_channels=frozenset(spec.public_channels),
        product_by_name=product_by_name,
        regime_by_country=dict(spec.regimes.by_country),
        payment_service_regime=dict(spec.regimes.payment_services),
        word_model=word_model,
        model_decides_below=spec.word_model.decides_below_rule_score if spec.word_model else 0.0,
        model_vulnerable_from=spec.word_model.vulnerable_from if spec.word_model else 1.0,
    )


def _word_model(
    spec: RulesSpec, document: YamlDocument, issues: list[ConfigIssue]
) -> WordModel | None:
    """The model the rules name, found beside the rules file; a problem becomes an issue."""
    if spec.word_model is None:
        return None
    file = Path(document.source).parent / spec.word_model.file
    try:
        model = WordModel.load(file)
    except (OSError, ValueError, KeyError, TypeError) as error:
        issues.append(document.issue(("word_model", "file"), f"cannot load {file}: {error}"))
        return None
    categories = {c.id for c in spec.categories} | {spec.default_category}
    unknown = sorted(set(model.classes) - categories)
    if unknown:
        issues.append(
            document.issue(
                ("word_model", "file"), f"the model knows categories the rules do not: {unknown}"
            )
        )
    return model


def normalise_product(name: str) -> str:
    """'Current account', 'current-account' and 'CURRENT_ACCOUNT' name one product."""
    return "_".join(name.strip().lower().replace("-", " ").replace("_", " ").split())


def _matcher(cues: Iterator[CueSpec] | list[CueSpec] | list[SeverityCueSpec]) -> CueMatcher:
    return CueMatcher([(cue.id, cue.expressions(), cue.negatable) for cue in cues])


def _cross_issues(spec: RulesSpec, document: YamlDocument) -> Iterator[ConfigIssue]:
    """What one field cannot know alone: unique ids, empty cues, known names."""
    seen: dict[str, str] = {}

    def located_cues() -> Iterator[tuple[tuple[int | str, ...], CueSpec]]:
        for ci, category in enumerate(spec.categories):
            for qi, cue in enumerate(category.cues):
                yield ("categories", ci, "cues", qi), cue
        for qi, cue in enumerate(spec.vulnerability.cues):
            yield ("vulnerability", "cues", qi), cue
        for qi, severity_cue in enumerate(spec.severity_cues):
            yield ("severity_cues", qi), severity_cue
        for qi, cue in enumerate(spec.abuse_cues):
            yield ("abuse_cues", qi), cue

    for path, cue in located_cues():
        where = document.issue((*path, "id"), "").path
        if cue.id in seen:
            yield document.issue(
                (*path, "id"), f"cue id {cue.id!r} is already used at {seen[cue.id]}"
            )
        seen.setdefault(cue.id, where)
        if not cue.phrases and not cue.regex:
            yield document.issue(path, "a cue needs at least one phrase or regex")
    category_ids = [c.id for c in spec.categories]
    for index, category_id in enumerate(category_ids):
        if category_ids.index(category_id) != index:
            yield document.issue(("categories", index, "id"), f"category {category_id!r} repeated")
    if spec.default_category in category_ids:
        yield document.issue(
            ("default_category",), "must not be one of the categories (it is what none matched)"
        )
    for index, cue in enumerate(spec.severity_cues):
        if not cue.raise_by and cue.at_least is None:
            yield document.issue(("severity_cues", index), "set raise_by or at_least")
    for country in spec.regimes.payment_services:
        if country not in spec.regimes.by_country:
            yield document.issue(
                ("regimes", "payment_services", country), "country has no regime in by_country"
            )
