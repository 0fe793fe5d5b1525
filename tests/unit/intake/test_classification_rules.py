"""The rules file: shipped defaults load, mistakes stop start-up naming file, line and path,
and the phrase language matches plain customer language, negation included."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kintsugi.common.config_files import ConfigFileError
from services.intake.domain.classification import classify
from services.intake.domain.classification_rules import (
    DEFAULT_RULES_FILE,
    default_rules,
    load_rules,
    parse_rules,
)
from services.intake.domain.text_matching import Negation, phrase_regex
from tests.unit.intake.factories import a_submission, saying

MINIMAL = """\
version: 1
default_category: general
negation:
  words: [not, "no"]
categories:
  - id: fees
    severity: medium
    cues:
      - id: fees.named
        phrases: ["fee|fees"]
vulnerability:
  cues:
    - id: vulnerability.bereavement
      phrases: ["passed away"]
public_channels: [social_public]
regimes:
  by_country: {GB: uk-fca-disp}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigFileError) as raised:
        parse_rules(text, "classification.yaml")
    return [str(issue) for issue in raised.value.issues]


def test_the_shipped_rules_load_and_are_what_classify_uses_by_default() -> None:
    rules = load_rules(DEFAULT_RULES_FILE)

    assert {"fraud", "fees", "hardship", "default_notice", "superannuation"} <= set(
        rules.category_order
    )
    assert classify(saying("I was charged a fee")) == classify(saying("I was charged a fee"), rules)
    assert default_rules() is default_rules()  # compiled once per process


def test_a_minimal_file_is_enough() -> None:
    rules = parse_rules(MINIMAL, "classification.yaml")

    assert classify(saying("the fees are high"), rules).category == "fees"
    assert classify(saying("hello"), rules).category == "general"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            ('phrases: ["fee|fees"]', 'phrases: ["fee* ..."]'),
            "classification.yaml:10: categories[0].cues[0].phrases: phrase 'fee* ...': "
            "needs words, and '...' only between words",
            id="bad phrase",
        ),
        pytest.param(
            ('phrases: ["fee|fees"]', 'regex: ["fee("]'),
            "classification.yaml:10: categories[0].cues[0].regex: regex 'fee(' does not "
            "compile: missing ), unterminated subpattern at position 3",
            id="bad regex",
        ),
        pytest.param(
            ("id: vulnerability.bereavement", "id: fees.named"),
            "classification.yaml:13: vulnerability.cues[0].id: cue id 'fees.named' is already "
            "used at categories[0].cues[0].id",
            id="duplicate cue id",
        ),
        pytest.param(
            ("[social_public]", "[twitter]"),
            "classification.yaml:15: public_channels: unknown channel(s) ['twitter']; known: "
            "email, phone, sms, letter, web_form, chat, social_public, social_private, branch",
            id="unknown channel",
        ),
        pytest.param(
            ("severity: medium", "severity: urgent"),
            "classification.yaml:7: categories[0].severity: Input should be 'low', 'medium', "
            "'high' or 'critical'",
            id="unknown severity",
        ),
        pytest.param(
            ("default_category: general", "default_category: fees"),
            "classification.yaml:2: default_category: must not be one of the categories "
            "(it is what none matched)",
            id="default category is a category",
        ),
        pytest.param(
            ("  words: [not,", "  words: [not,\n  wordz: [x]\n  window_words: 3\n  x: ["),
            None,
            id="syntax error",
        ),
        pytest.param(
            ("version: 1\n", "version: 1\nversion: 2\n"),
            "classification.yaml:2: version: duplicate key (first written on line 1)",
            id="duplicate key",
        ),
    ],
)
def test_a_broken_rules_file_names_file_line_and_path(
    change: tuple[str, str], expected: str | None
) -> None:
    found = problems(MINIMAL.replace(*change))

    if expected is None:
        assert found[0].startswith("classification.yaml:")
        assert "invalid YAML" in found[0]
    else:
        assert found == [expected]


@pytest.mark.parametrize(
    ("phrase", "text", "matches"),
    [
        ("fee", "a fee", True),
        ("fee", "I feel", False),
        ("charg*", "they charged me", True),
        ("charg*", "recharge", False),
        ("mis sold", "it was mis-sold", True),
        ("mis sold", "it was mis sold", True),
        ("mis sold", "it was mis/sold", True),
        ("lost my ... job", "I lost my new part-time job", True),
        ("lost my ... job", "I lost my card and my keys and my job", False),
        ("(did not|never) authorise*", "I never authorised it", True),
        ("(did not|never) authorise*", "I did authorise it", False),
        ("can't pay", "I can\u2019t pay", True),  # curly apostrophe from a phone keyboard
        ("pension", "account suspension", False),
    ],
)
def test_the_phrase_language(phrase: str, text: str, matches: bool) -> None:
    normalised = text.replace("\u2019", "'")
    assert bool(re.search(phrase_regex(phrase), normalised, re.IGNORECASE)) is matches


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("This is not a complaint about fees, the app keeps crashing.", "general"),
        ("I'm not disputing the charge. Why was my account closed?", "general"),
        ("There was no fraud, my transfer has just been delayed for a week.", "service"),
        ("The fee itself is not the issue. Nobody answers the phone.", "service"),
        ("Not only did you charge me a fee, you charged it twice.", "fees"),
        ("I'm not sure whether this is fraud but I don't recognise this payment.", "fraud"),
        ("I am no longer able to pay my loan.", "hardship"),
    ],
)
def test_negated_cues_do_not_count_and_are_reported(text: str, category: str) -> None:
    classification = classify(saying(text))

    assert classification.category == category


def test_a_negated_cue_is_kept_in_the_reasons_with_the_words_that_negated_it() -> None:
    classification = classify(saying("This is not a complaint about fees."))

    negated = [r for r in classification.reasons if r.code == "negated"]
    assert [r.detail for r in negated] == [
        "fees.named 'fees' (description 30-34) ignored: negated by 'not a complaint about'"
    ]


@pytest.mark.parametrize(
    ("text", "vulnerable"),
    [
        ("My wife died in March and the letters keep coming in her name", True),
        ("I've been diagnosed with cancer and can't get to the branch", True),
        ("I lost my job and can't afford the repayments", True),
        ("My ex-husband controls all the money and took out a loan in my name", True),
        ("I suffer from severe anxiety and phone calls are very hard", True),
        ("I'm 84 and don't use the internet", True),
        ("I am not in financial difficulty, I just want the fee refunded", False),
        ("I'm not vulnerable, I simply want a paper statement", False),
    ],
)
def test_vulnerability_cues_in_plain_language(text: str, vulnerable: bool) -> None:
    assert classify(saying(text)).vulnerable is vulnerable


def test_spans_point_at_the_customers_words_in_subject_and_description() -> None:
    submission = a_submission(subject="Bereavement", description="Please help, it was a scam.")
    classification = classify(submission)

    hits = [hit for reason in classification.reasons for hit in reason.evidence]
    located = {(hit.cue_id, hit.field, hit.text) for hit in hits}
    assert ("vulnerability.bereavement", "subject", "Bereavement") in located
    assert ("fraud.named", "description", "scam") in located
    for hit in hits:
        field_text = submission.subject if hit.field == "subject" else submission.description
        assert field_text[hit.start : hit.end] == hit.text


@pytest.mark.parametrize(
    ("text", "severity", "code"),
    [
        ("You charged me a fee and I want it back", "medium", None),
        ("You charged me a fee, I am going to the ombudsman", "high", "severity.escalation_risk"),
        ("You charged me a fee of £1,250", "high", "severity.large_amount"),
        ("I am behind on my mortgage and you want to repossess my home", "critical", None),
    ],
)
def test_severity_cues_raise_the_level_and_say_why(
    text: str, severity: str, code: str | None
) -> None:
    classification = classify(saying(text))

    assert classification.severity == severity
    if code is not None:
        assert code in [r.code for r in classification.reasons]


@pytest.mark.parametrize(
    ("text", "negated_by"),
    [
        ("no fees", "no"),
        ("we never paid fees", "never"),
        ("not only fees", None),  # "not only X but also Y" affirms X
        ("there are fees. not happy", None),  # after the cue, another clause
        ("I wasn't happy, fees again", None),  # a comma ends the negated clause
        ("fees aside, fine", None),
        ("nothing to do with any of the fees", "nothing to do with"),
    ],
)
def test_negation_looks_back_within_the_clause(text: str, negated_by: str | None) -> None:
    negation = Negation.build(
        ["no", "not", "never", "wasn't"], 3, ["only"], ["nothing to do with"], []
    )
    start = text.index("fees")

    assert negation.negated_by(text, start, start + 4) == negated_by


words = st.sampled_from(["fee", "not", "scam", "died", "İstanbul", "can\u2019t", "pay", "I"])
noise = st.text(alphabet="abcz '.,-\n", max_size=5)


@given(subject=st.text(max_size=60), parts=st.lists(st.tuples(words, noise), max_size=40))
def test_any_text_classifies_and_every_span_points_at_the_customers_words(
    subject: str, parts: list[tuple[str, str]]
) -> None:
    description = "".join(word + gap for word, gap in parts)
    submission = a_submission(subject=subject, description=description)
    classification = classify(submission)

    for reason in classification.reasons:
        for hit in reason.evidence:
            text = submission.subject if hit.field == "subject" else submission.description
            assert text.replace("\u2019", "'")[hit.start : hit.end] == hit.text
