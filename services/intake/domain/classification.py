"""Classification: category, severity, vulnerability, regime, public and abuse, with reasons.

The rules are data (``services/intake/classification.yaml``, see ``classification_rules``);
this module applies them. Every decision keeps its reasons: the rule ids that fired and
where in the customer's words they matched (field and character span), and the cues that
were found but ignored because the customer negated them ("not a complaint about fees"),
so a handler or an auditor can see exactly why a complaint was treated as it was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from kintsugi.common.names import SEVERITIES
from services.intake.domain.classification_rules import (
    ClassificationRules,
    default_rules,
    normalise_product,
)
from services.intake.domain.submission import Submission
from services.intake.domain.text_matching import CueMatcher, Hit
from services.intake.domain.word_model import Opinion, Reading

_TOP = len(SEVERITIES) - 1


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    detail: str
    evidence: tuple[Hit, ...] = ()


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    severity: str
    vulnerable: bool
    regime: str
    public_channel: bool
    abusive: bool
    language: str
    reasons: tuple[Reason, ...]


def classify(submission: Submission, rules: ClassificationRules | None = None) -> Classification:
    """Classify with ``rules``, or with the rules shipped with intake when none are given."""
    rules = rules if rules is not None else default_rules()
    reasons: list[Reason] = []

    reading = rules.word_model.read(_fields(submission)) if rules.word_model else None
    category_hits = _find(rules.categories, submission, rules, reasons)
    category = _category(category_hits, reading, rules, reasons)

    vulnerable = _vulnerability(submission, reading, rules, reasons)
    severity = _severity(category, vulnerable, submission, rules, reasons)
    regime = _regime(submission, rules, reasons)

    public_channel = submission.channel in rules.public_channels
    if public_channel:
        reasons.append(
            Reason("channel.public", "posted publicly: reply publicly without personal data")
        )

    abuse_hits = _find(rules.abuse, submission, rules, reasons)
    if abuse_hits:
        reasons.append(Reason("abuse.language", _describe(abuse_hits), tuple(abuse_hits)))

    return Classification(
        category=category,
        severity=severity,
        vulnerable=vulnerable,
        regime=regime,
        public_channel=public_channel,
        abusive=bool(abuse_hits),
        language=submission.customer.preferred_language or "en",
        reasons=tuple(reasons),
    )


def _find(
    matcher: CueMatcher, submission: Submission, rules: ClassificationRules, reasons: list[Reason]
) -> list[Hit]:
    """Cues found in subject and description; negated ones become reasons, not evidence."""
    hits = matcher.find("subject", submission.subject, rules.negation)
    hits += matcher.find("description", submission.description, rules.negation)
    for hit in hits:
        if hit.negated_by is not None:
            reasons.append(Reason("negated", hit.describe(), (hit,)))
    return [hit for hit in hits if hit.negated_by is None]


def _category(
    hits: Sequence[Hit], reading: Reading | None, rules: ClassificationRules, reasons: list[Reason]
) -> str:
    """The category whose distinct cues weigh most (ties go to the one listed first), unless
    the rules' case is weak and the word model has a view."""
    if not hits:
        if reading is not None:
            return _model_decides(reading.category(), reasons, "no category cue matched")
        reasons.append(Reason(f"category.{rules.default_category}", "no category cue matched"))
        return rules.default_category
    by_category: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_category[rules.category_of_cue[hit.cue_id]].append(hit)

    def score(category: str) -> float:
        return sum(rules.cue_weight[cue] for cue in {hit.cue_id for hit in by_category[category]})

    ranked = sorted(by_category, key=lambda c: (-score(c), rules.category_order.index(c)))
    winner = ranked[0]
    detail = _describe(by_category[winner])
    if len(ranked) > 1:
        runner_up = ranked[1]
        detail += f" (score {score(winner):g}; next {runner_up} {score(runner_up):g})"
    if reading is not None and score(winner) < rules.model_decides_below:
        opinion = reading.category()
        if opinion.answer == winner:
            detail += f"; the word model agrees ({opinion.probability:.2f})"
        else:
            reasons.append(Reason(f"rules.{winner}", f"too weak to decide: {detail}"))
            weak = f"the rules' {winner} scored {score(winner):g} < {rules.model_decides_below:g}"
            return _model_decides(opinion, reasons, weak)
    reasons.append(Reason(f"category.{winner}", detail, tuple(by_category[winner])))
    return winner


def _model_decides(opinion: Opinion, reasons: list[Reason], why: str) -> str:
    detail = f"word model {opinion.probability:.2f} ({why}): {_describe(opinion.evidence)}"
    reasons.append(Reason(f"category.{opinion.answer}", detail, opinion.evidence))
    return opinion.answer


def _fields(submission: Submission) -> tuple[tuple[str, str], ...]:
    return (("subject", submission.subject), ("description", submission.description))


def _vulnerability(
    submission: Submission,
    reading: Reading | None,
    rules: ClassificationRules,
    reasons: list[Reason],
) -> bool:
    hits = _find(rules.vulnerability, submission, rules, reasons)
    if submission.customer.declared_vulnerable:
        reasons.append(Reason("vulnerability.declared", "customer declared a vulnerability"))
    if hits:
        reasons.append(Reason("vulnerability.indicated", _describe(hits), tuple(hits)))
    if hits or submission.customer.declared_vulnerable or reading is None:
        return submission.customer.declared_vulnerable or bool(hits)
    opinion = reading.vulnerability()
    if opinion.probability < rules.model_vulnerable_from:
        return False
    detail = (
        f"word model {opinion.probability:.2f} >= {rules.model_vulnerable_from:g}: "
        f"{_describe(opinion.evidence)}"
    )
    reasons.append(Reason("vulnerability.word_model", detail, opinion.evidence))
    return True


def _severity(
    category: str,
    vulnerable: bool,
    submission: Submission,
    rules: ClassificationRules,
    reasons: list[Reason],
) -> str:
    level = rules.category_severity.get(category, rules.default_severity)
    reasons.append(Reason("severity.category", f"{category} starts at {SEVERITIES[level]}"))
    if vulnerable and rules.vulnerability_raise:
        level += rules.vulnerability_raise
        reasons.append(Reason("severity.vulnerable", "vulnerable customer: one level higher"))
    hits = _find(rules.severity, submission, rules, reasons)
    raised_by: set[str] = set()
    floor = 0
    for hit in hits:
        cue = rules.severity_cues[hit.cue_id]
        if cue.raise_by and hit.cue_id not in raised_by:
            raised_by.add(hit.cue_id)
            level += cue.raise_by
            effect = "one level higher" if cue.raise_by == 1 else f"{cue.raise_by} levels higher"
            reasons.append(Reason(hit.cue_id, f"{hit.describe()}: {effect}", (hit,)))
        if cue.at_least is not None:
            floor = max(floor, cue.at_least)
            reasons.append(
                Reason(hit.cue_id, f"{hit.describe()}: at least {SEVERITIES[cue.at_least]}", (hit,))
            )
    return SEVERITIES[min(max(level, floor), _TOP)]


def _regime(submission: Submission, rules: ClassificationRules, reasons: list[Reason]) -> str:
    country = submission.country
    regime = rules.regime_by_country.get(country, "none")
    product = rules.product_by_name.get(normalise_product(submission.product))
    payment_regime = rules.payment_service_regime.get(country)
    if product is not None and product[1] and payment_regime is not None:
        reasons.append(
            Reason(
                f"regime.{payment_regime}",
                f"product '{submission.product}' is a payment service in {submission.jurisdiction}",
            )
        )
        return payment_regime
    if regime == "none":
        reasons.append(
            Reason("regime.none", f"no regulatory regime configured for {submission.jurisdiction}")
        )
    else:
        reasons.append(Reason(f"regime.{regime}", f"jurisdiction {submission.jurisdiction}"))
    return regime


def _describe(hits: Sequence[Hit]) -> str:
    return "; ".join(hit.describe() for hit in hits)
