"""classify(): category, severity, vulnerability, regime, public and abuse, each with a reason."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.intake.domain.classification import Classification, classify
from services.intake.domain.classification_rules import default_rules
from services.intake.domain.text_matching import Hit
from tests.unit.intake.factories import a_customer, a_submission, saying

# The phrase rules alone: how they weigh cues, without the word model's second opinion
# (test_word_model.py covers the two together).
RULES_ONLY = replace(default_rules(), word_model=None)


def codes(classification: Classification) -> list[str]:
    return [r.code for r in classification.reasons]


def reason(classification: Classification, code: str) -> str:
    return next(r.detail for r in classification.reasons if r.code == code)


def evidence_for(classification: Classification, code: str) -> tuple[Hit, ...]:
    return next(r.evidence for r in classification.reasons if r.code == code)


@pytest.mark.parametrize(
    ("text", "category", "keyword"),
    [
        ("Someone made unauthorised payments from my account", "fraud", "unauthorised"),
        ("I think I was scammed by a caller", "fraud", "scammed"),
        ("I received a default notice without warning", "default_notice", "default notice"),
        ("I am in arrears and asked for a repayment plan", "hardship", "arrears"),
        # ASIC RG 271 gives these 45 days, so the sla needs to know them apart
        (
            "The trustee company still has not finished the estate administration",
            "traditional_trustee_services",
            "trustee company",
        ),
        ("My superannuation balance is wrong", "superannuation", "superannuation"),
        ("You overcharged me this month", "fees", "overcharged"),
        ("The interest rate went up without notice", "fees", "interest rate"),
        ("This product was mis-sold to me", "mis_selling", "mis-sold"),
        ("The branch staff were rude to me", "service", "rude"),
        ("My transfer has had a long delay", "service", "delay"),
    ],
)
def test_category_comes_from_what_the_customer_says_and_names_the_keyword(
    text: str, category: str, keyword: str
) -> None:
    classification = classify(saying(text))

    assert classification.category == category
    evidence = evidence_for(classification, f"category.{category}")
    assert keyword in [hit.text for hit in evidence]
    hit = next(hit for hit in evidence if hit.text == keyword)
    assert hit.cue_id.startswith(f"{category}.")
    assert text[hit.start : hit.end] == keyword  # the span points at the customer's words
    assert f"'{keyword}' (description {hit.start}-{hit.end})" in reason(
        classification, f"category.{category}"
    )


def test_a_complaint_matching_no_category_is_general_and_says_so() -> None:
    classification = classify(saying("The app shows the wrong name on my statement"), RULES_ONLY)

    assert classification.category == "general"
    assert reason(classification, "category.general") == "no category cue matched"


def test_the_more_specific_category_wins_when_several_match() -> None:
    # Fraud outranks fees: a fee taken by a fraudster is a fraud complaint.
    classification = classify(saying("A fraudster charged a fee to my card"), RULES_ONLY)

    assert classification.category == "fraud"


def test_subject_counts_as_much_as_the_description() -> None:
    submission = a_submission(subject="Unauthorised payment", description="Please call me back.")

    assert classify(submission, RULES_ONLY).category == "fraud"


def test_keyword_matching_ignores_case() -> None:
    assert classify(saying("SCAM!!! I WANT MY MONEY BACK")).category == "fraud"


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("Please update my address", "low"),  # general
        ("The call centre was slow", "low"),  # service
        ("You charged me twice", "medium"),  # fees
        ("I cannot pay my arrears", "high"),  # hardship
        ("A fraudster emptied my account", "critical"),  # fraud
    ],
)
def test_severity_starts_from_the_category(text: str, severity: str) -> None:
    assert classify(saying(text)).severity == severity


def test_severity_reason_names_the_category_and_its_starting_level() -> None:
    classification = classify(saying("You charged me twice"))

    assert reason(classification, "severity.category") == "fees starts at medium"


def test_a_vulnerable_customer_raises_severity_one_level() -> None:
    submission = saying("You charged me twice", customer=a_customer(declared_vulnerable=True))
    classification = classify(submission)

    assert classification.severity == "high"
    assert "severity.vulnerable" in codes(classification)


def test_mentioning_the_ombudsman_raises_severity_one_level_and_names_the_word() -> None:
    classification = classify(saying("You charged me twice; I will go to the ombudsman"))

    assert classification.severity == "high"
    assert reason(classification, "severity.escalation_risk") == (
        "severity.escalation_risk 'ombudsman' (description 39-48): one level higher"
    )


def test_severity_never_goes_above_critical() -> None:
    submission = saying(
        "Fraud on my account, I will call my lawyer",
        customer=a_customer(declared_vulnerable=True),
    )
    classification = classify(submission)

    assert classification.severity == "critical"
    assert {"severity.vulnerable", "severity.escalation_risk"} <= set(codes(classification))


def test_a_declared_vulnerability_is_recorded_as_declared() -> None:
    classification = classify(a_submission(customer=a_customer(declared_vulnerable=True)))

    assert classification.vulnerable is True
    assert "vulnerability.declared" in codes(classification)


@pytest.mark.parametrize(
    "text",
    [
        "My husband passed away last month",
        "I was diagnosed with cancer",
        "I am a full-time carer for my mother",
        "I have mental health problems",
        "I am a victim of domestic abuse",
    ],
)
def test_vulnerability_indicated_in_the_text_is_recognised_with_the_words_that_showed_it(
    text: str,
) -> None:
    classification = classify(saying(text))

    assert classification.vulnerable is True
    assert reason(classification, "vulnerability.indicated").startswith("vulnerability.")
    assert evidence_for(classification, "vulnerability.indicated")


def test_a_customer_without_indicators_is_not_treated_as_vulnerable() -> None:
    classification = classify(a_submission())

    assert classification.vulnerable is False
    assert not [c for c in codes(classification) if c.startswith("vulnerability.")]


@pytest.mark.parametrize(
    ("jurisdiction", "product", "regime"),
    [
        ("GB-ENG", "loan", "uk-fca-disp"),
        ("GB", "mortgage", "uk-fca-disp"),
        ("GB-SCT", "payments", "uk-psd2-emoney"),
        ("GB-ENG", "e_money", "uk-psd2-emoney"),
        ("GB-WLS", "Current_Account", "uk-psd2-emoney"),
        ("US-CA", "loan", "us-cfpb"),
        ("US", "card", "us-cfpb"),
        ("AU-NSW", "superannuation", "au-asic-rg271"),
        ("FR", "loan", "none"),
    ],
)
def test_regulatory_regime_follows_country_and_uk_payment_products(
    jurisdiction: str, product: str, regime: str
) -> None:
    classification = classify(a_submission(jurisdiction=jurisdiction, product=product))

    assert classification.regime == regime
    assert f"regime.{regime}" in codes(classification)


def test_a_payment_service_reason_names_the_product_and_place() -> None:
    classification = classify(a_submission(jurisdiction="GB-ENG", product="payments"))

    assert reason(classification, "regime.uk-psd2-emoney") == (
        "product 'payments' is a payment service in GB-ENG"
    )


def test_an_unregulated_jurisdiction_says_no_regime_is_configured_for_it() -> None:
    classification = classify(a_submission(jurisdiction="FR"))

    assert reason(classification, "regime.none") == "no regulatory regime configured for FR"


def test_a_public_social_post_is_flagged_to_be_answered_publicly_without_personal_data() -> None:
    classification = classify(a_submission(channel="social_public"))

    assert classification.public_channel is True
    assert "without personal data" in reason(classification, "channel.public")


@pytest.mark.parametrize("channel", ["social_private", "email", "phone"])
def test_private_channels_are_not_public(channel: str) -> None:
    classification = classify(a_submission(channel=channel))

    assert classification.public_channel is False
    assert "channel.public" not in codes(classification)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("You are all idiots", "idiots"),
        ("What a bunch of MORONS", "MORONS"),
        ("f**k this bank", "f**k"),
        ("I will hurt someone if this continues", "I will hurt"),
    ],
)
def test_abusive_language_is_flagged_quoting_what_was_said(text: str, quoted: str) -> None:
    classification = classify(saying(text))

    assert classification.abusive is True
    assert quoted in [hit.text for hit in evidence_for(classification, "abuse.language")]


@pytest.mark.parametrize(
    "text",
    ["My idiotic mistake was to trust the app", "I will hurry to the branch tomorrow"],
)
def test_strong_feelings_without_abuse_are_not_flagged(text: str) -> None:
    assert classify(saying(text)).abusive is False


def test_language_is_the_customers_preference_defaulting_to_english() -> None:
    assert classify(a_submission(customer=a_customer(preferred_language="cy"))).language == "cy"
    assert classify(a_submission(customer=a_customer(preferred_language=""))).language == "en"


def test_classification_is_deterministic() -> None:
    submission = saying("Fraud on my account, I will call my lawyer")

    assert classify(submission) == classify(submission)


@pytest.mark.parametrize(
    ("text", "wrongly"),
    [
        pytest.param("I feel nobody listens to me", "category fees ('fee' in 'feel')", id="feel"),
        pytest.param(
            "My account suspension was never explained",
            "category superannuation ('pension' in 'suspension')",
            id="suspension",
        ),
        pytest.param(
            "Your staff showed me no courtesy at all",
            "escalation risk ('court' in 'courtesy')",
            id="courtesy",
        ),
        pytest.param(
            "I studied my statement line by line",
            "vulnerable ('died' in 'studied')",
            id="studied",
        ),
    ],
)
def test_keywords_match_whole_words_not_parts_of_other_words(text: str, wrongly: str) -> None:
    classification = classify(saying(text), RULES_ONLY)

    assert classification.category in ("general", "service"), wrongly
    assert classification.vulnerable is False, wrongly
    assert "severity.escalation_risk" not in codes(classification), wrongly
