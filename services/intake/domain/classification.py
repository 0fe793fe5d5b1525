"""Rule-based classification: category, severity, vulnerability, regime, public, abuse.

Every decision records the reason it was taken, so a handler or an auditor can see why a
complaint was treated as it was. The rules are deliberately simple keyword rules; they
are data (``CATEGORY_KEYWORDS`` ...) so they can move to configuration without rewriting
the logic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kintsugi.common.names import SEVERITIES
from services.intake.domain.submission import Submission

# Keywords match whole words; a trailing "*" also matches longer words from that stem
# ("charge*" matches "charged"), so "fee" never matches "feel".
# First match wins, so more specific categories come first.
CATEGORY_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fraud", ("fraud*", "scam*", "unauthorised", "unauthorized", "stolen", "hacked")),
    ("default_notice", ("default notice", "notice of default")),
    ("hardship", ("hardship", "can't pay", "cannot pay", "arrears", "repayment plan")),
    ("superannuation", ("superannuation", "super fund", "pension", "pensions")),
    ("fees", ("fee", "fees", "charge*", "overcharg*", "interest rate")),
    ("mis_selling", ("mis-sold", "missold", "mis sold", "not suitable")),
    ("service", ("delay*", "waiting", "rude", "no response", "ignored", "slow")),
)
VULNERABILITY_KEYWORDS = (
    "bereave*",
    "passed away",
    "died",
    "terminal",
    "cancer",
    "disabilit*",
    "disabled",
    "mental health",
    "carer",
    "hardship",
    "domestic abuse",
)
ESCALATION_KEYWORDS = (
    "ombudsman",
    "regulator",
    "solicitor*",
    "lawyer*",
    "court",
    "courts",
    "journalist*",
)
ABUSE_PATTERNS = (r"\bidiots?\b", r"\bmorons?\b", r"\bf\*+k", r"\bfuck", r"\bi will hurt\b")
_ABUSE = re.compile("|".join(ABUSE_PATTERNS), re.IGNORECASE)


def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    words = (re.escape(k.removesuffix("*")) + (r"\w*" if k.endswith("*") else "") for k in keywords)
    return re.compile(r"\b(?:" + "|".join(words) + r")\b", re.IGNORECASE)


_CATEGORY_PATTERNS = tuple((name, keyword_pattern(words)) for name, words in CATEGORY_KEYWORDS)
_VULNERABILITY = keyword_pattern(VULNERABILITY_KEYWORDS)
_ESCALATION = keyword_pattern(ESCALATION_KEYWORDS)

# Payment services and e-money complaints in the UK have their own, shorter clock.
UK_PSD2_PRODUCTS = frozenset({"payments", "e_money", "emoney", "current_account", "card"})
REGIME_BY_COUNTRY = {"GB": "uk-fca-disp", "US": "us-cfpb", "AU": "au-asic-rg271"}


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    detail: str


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


def classify(submission: Submission) -> Classification:
    text = f"{submission.subject}\n{submission.description}".lower()
    reasons: list[Reason] = []

    category = "general"
    for candidate, pattern in _CATEGORY_PATTERNS:
        hit = pattern.search(text)
        if hit is not None:
            category = candidate
            reasons.append(Reason(f"category.{candidate}", f"mentions '{hit.group(0)}'"))
            break
    else:
        reasons.append(Reason("category.general", "no category keyword matched"))

    vulnerable, vulnerability_reason = _vulnerability(submission, text)
    if vulnerability_reason is not None:
        reasons.append(vulnerability_reason)

    severity, severity_reasons = _severity(category, vulnerable, text)
    reasons.extend(severity_reasons)

    regime, regime_reason = _regime(submission)
    reasons.append(regime_reason)

    public_channel = submission.channel == "social_public"
    if public_channel:
        reasons.append(
            Reason("channel.public", "posted publicly: reply publicly without personal data")
        )

    abuse = _ABUSE.search(text)
    if abuse is not None:
        reasons.append(Reason("abuse.language", f"abusive language ('{abuse.group(0)}')"))

    language = submission.customer.preferred_language or "en"
    return Classification(
        category=category,
        severity=severity,
        vulnerable=vulnerable,
        regime=regime,
        public_channel=public_channel,
        abusive=abuse is not None,
        language=language,
        reasons=tuple(reasons),
    )


def _vulnerability(submission: Submission, text: str) -> tuple[bool, Reason | None]:
    if submission.customer.declared_vulnerable:
        return True, Reason("vulnerability.declared", "customer declared a vulnerability")
    hit = _VULNERABILITY.search(text)
    if hit is not None:
        return True, Reason("vulnerability.indicated", f"mentions '{hit.group(0)}'")
    return False, None


def _severity(category: str, vulnerable: bool, text: str) -> tuple[str, list[Reason]]:
    level = {"fraud": 3, "hardship": 2, "default_notice": 2, "general": 0, "service": 0}.get(
        category, 1
    )
    reasons = [Reason("severity.category", f"{category} starts at {SEVERITIES[level]}")]
    if vulnerable:
        level += 1
        reasons.append(Reason("severity.vulnerable", "vulnerable customer: one level higher"))
    hit = _ESCALATION.search(text)
    if hit is not None:
        level += 1
        reasons.append(
            Reason("severity.escalation_risk", f"mentions '{hit.group(0)}': one level higher")
        )
    level = min(level, len(SEVERITIES) - 1)
    return SEVERITIES[level], reasons


def _regime(submission: Submission) -> tuple[str, Reason]:
    country = submission.country
    regime = REGIME_BY_COUNTRY.get(country, "none")
    if regime == "uk-fca-disp" and submission.product.lower() in UK_PSD2_PRODUCTS:
        return "uk-psd2-emoney", Reason(
            "regime.uk-psd2-emoney",
            f"product '{submission.product}' is a payment service in {submission.jurisdiction}",
        )
    if regime == "none":
        return regime, Reason(
            "regime.none", f"no regulatory regime configured for {submission.jurisdiction}"
        )
    return regime, Reason("regime." + regime, f"jurisdiction {submission.jurisdiction}")
