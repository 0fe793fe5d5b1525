"""The word model: scored as its trainer scores it, trained on what it should be, and
deciding only where the rules are weak - always with the words that decided."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.classification_eval import read_history
from services.intake.domain.classification import Classification, classify
from services.intake.domain.classification_rules import (
    DEFAULT_RULES_FILE,
    default_rules,
    load_rules,
    parse_rules,
)
from services.intake.domain.word_model import WordModel
from tests.unit.intake.factories import a_submission, saying
from tools.word_model_data import DATA, training_digest, tuned_rows

MODEL = default_rules().word_model


def reason(classification: Classification, prefix: str) -> str:
    return next(r.detail for r in classification.reasons if r.code.startswith(prefix))


def test_the_shipped_rules_ask_the_shipped_model() -> None:
    assert MODEL is not None
    assert Path(MODEL.source) == DEFAULT_RULES_FILE.parent / "word_model.json"


@pytest.mark.parametrize("check", range(4))
def test_pure_python_scoring_gives_the_trainers_own_probabilities(check: int) -> None:
    assert MODEL is not None
    expected = MODEL.checks[check]
    reading = MODEL.read([("description", expected["text"])])

    # Weights are stored to four decimals, so the last digits may differ.
    assert reading.category_probabilities() == pytest.approx(
        expected["category_probabilities"], abs=2e-3
    )
    assert reading.vulnerable_probability() == pytest.approx(
        expected["vulnerable_probability"], abs=2e-3
    )


def test_the_model_was_trained_on_the_labelled_data_as_it_is_now() -> None:
    assert MODEL is not None
    assert MODEL.training_digest == training_digest(tuned_rows()), (
        "the labelled complaints changed since the model was trained: run `make word-model`"
    )


def test_the_model_never_saw_a_split_kept_fresh_for_measuring() -> None:
    fresh = {name for name, split in read_history(DATA).items() if not split.tuned_on}
    trained_on = {row["split"] for row in tuned_rows()}

    assert fresh, "keep at least one split the rules and the model were never tuned on"
    assert not fresh & trained_on


def test_with_no_category_cue_the_model_decides_and_names_its_words() -> None:
    text = "My direct debit went out twice this month."
    classification = classify(saying(text))

    detail = reason(classification, f"category.{classification.category}")
    assert detail.startswith("word model ")
    assert "no category cue matched" in detail
    evidence = next(
        r.evidence
        for r in classification.reasons
        if r.code == f"category.{classification.category}"
    )
    assert evidence
    for hit in evidence:
        assert text[hit.start : hit.end] == hit.text
        assert hit.cue_id == f"word_model:{hit.text.lower()}"


def test_rules_that_are_sure_decide_alone() -> None:
    # fraud.named and fraud.unauthorised together weigh 4, past the model's threshold of 3
    classification = classify(saying("I was scammed: unauthorised payments left my account"))

    assert classification.category == "fraud"
    assert "word model" not in reason(classification, "category.fraud")


def test_weak_rules_the_model_agrees_with_keep_their_own_evidence() -> None:
    classification = classify(saying("Someone made unauthorised payments from my account"))

    detail = reason(classification, "category.fraud")
    assert detail.startswith("fraud.unauthorised 'unauthorised'")
    assert "the word model agrees" in detail


def test_weak_rules_the_model_disagrees_with_give_way_and_say_so() -> None:
    classification = classify(saying("Nobody replied to my letter about the fee"))

    assert classification.category == "service"
    assert reason(classification, "rules.fees").startswith("too weak to decide: fees.named")
    assert "the rules' fees scored 2 < 3" in reason(classification, "category.service")


def test_the_model_can_flag_a_vulnerable_customer_no_cue_caught() -> None:
    classification = classify(
        saying("I can't sleep for worrying about the bills and I've stopped opening the post")
    )

    assert classification.vulnerable is True
    assert reason(classification, "vulnerability.word_model").startswith("word model 0.")


def test_evidence_skips_words_every_complaint_uses() -> None:
    classification = classify(
        saying("I can't sleep for worrying about the bills and I've stopped opening the post")
    )
    evidence = next(
        r.evidence for r in classification.reasons if r.code == "vulnerability.word_model"
    )

    assert {hit.text.lower() for hit in evidence}.isdisjoint({"and", "the", "my", "was"})


def test_a_rules_file_naming_a_missing_model_is_refused_with_its_line(tmp_path: Path) -> None:
    theirs = tmp_path / "rules.yaml"
    theirs.write_text(DEFAULT_RULES_FILE.read_text(encoding="utf-8"), encoding="utf-8")

    with pytest.raises(ValueError, match=r"rules\.yaml:\d+: word_model\.file: cannot load"):
        load_rules(theirs)


def test_a_model_knowing_categories_the_rules_do_not_is_refused() -> None:
    shipped = DEFAULT_RULES_FILE.read_text(encoding="utf-8")
    renamed = shipped.replace("id: superannuation\n", "id: pensions\n")

    with pytest.raises(ValueError, match=r"the model knows categories the rules do not"):
        parse_rules(renamed, str(DEFAULT_RULES_FILE))


def test_subject_words_count_and_their_spans_point_into_the_subject() -> None:
    assert MODEL is not None
    submission = a_submission(subject="My husband died", description="Please close the account.")
    reading = MODEL.read([("subject", submission.subject), ("description", submission.description)])
    opinion = reading.vulnerability()

    assert (
        opinion.probability
        > MODEL.read([("description", submission.description)]).vulnerable_probability()
    )
    assert all(hit.field in ("subject", "description") for hit in opinion.evidence)


def test_a_model_file_loads_on_its_own() -> None:
    model = WordModel.load(DEFAULT_RULES_FILE.parent / "word_model.json")

    assert set(model.classes) >= {"fraud", "general", "service"}
