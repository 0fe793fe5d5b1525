"""bench/classification_eval.py computes honest figures from a labelled set."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[3]


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "classification_eval", REPO / "bench" / "classification_eval.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def row(identifier: str, split: str, text: str, category: str, vulnerable: bool) -> str:
    expected = {"category": category, "severity": "low", "vulnerable": vulnerable}
    return json.dumps(
        {"id": identifier, "split": split, "channel": "email", "description": text,
         "expected": expected}
    )  # fmt: skip


def test_a_tiny_set_gives_exact_precision_recall_and_vulnerability_recall(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "tiny.jsonl"
    data.write_text(
        "\n".join(
            [
                row("d1", "dev", "You charged me a fee twice", "fees", False),
                row("d2", "dev", "Someone stole my card and used it", "fraud", False),
                # labelled fees, but nothing in it says so: a miss for fees, a false general
                row("d3", "dev", "Why is this so expensive", "fees", False),
                row("d4", "dev", "My husband passed away, the app is broken", "general", True),
                row("h1", "heldout", "I feel low and nobody helps", "service", True),
            ]
        )
        + "\n"
    )
    out = tmp_path / "figures.json"

    figures = load_script().main(["--data", str(data), "--json", str(out), "--speed-runs", "50"])

    dev = figures["splits"]["dev"]
    assert dev["count"] == 4
    assert dev["per_category"]["fees"] == {
        "precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "support": 2
    }  # fmt: skip
    assert dev["per_category"]["general"]["precision"] == 0.5
    assert dev["vulnerability"]["recall"] == 1.0
    heldout = figures["splits"]["heldout"]
    assert heldout["vulnerability"]["recall"] == 0.0  # "feel low" is no stated vulnerability
    assert json.loads(out.read_text())["splits"]["dev"]["count"] == 4
    report = capsys.readouterr().out
    assert "### heldout (1 complaints)" in report
    assert "| fees | 1.000 | 0.500 | 0.667 | 2 |" in report
    assert "goals NOT met" in report


def test_the_shipped_set_is_big_varied_and_has_a_held_out_part() -> None:
    script = load_script()
    examples = script.read_examples(script.DEFAULT_DATA)

    assert len([e for e in examples if e.split == "dev"]) >= 300
    assert len([e for e in examples if e.split == "heldout"]) >= 80
    categories = {e.expected["category"] for e in examples}
    assert {"fraud", "fees", "hardship", "service", "general"} <= categories
    assert {e.submission.channel for e in examples} >= {"email", "phone", "social_public"}
    assert {e.expected["severity"] for e in examples} == {"low", "medium", "high", "critical"}
    assert sum(e.expected["vulnerable"] for e in examples) >= 60


def test_a_split_tuned_on_shows_its_first_figures_and_gets_no_verdict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "eval.jsonl"
    data.write_text(
        "\n".join(
            [
                row("o1", "old", "You charged me a fee twice", "fees", False),
                row("n1", "new", "Someone stole my card and used it", "fraud", False),
                row("n2", "new", "My husband died and someone stole his card", "fraud", True),
            ]
        )
        + "\n"
    )
    (tmp_path / "splits.yaml").write_text(
        "old:\n"
        "  written_by: an engineer\n"
        "  first_measured: {macro_f1: 0.5, vulnerability_recall: 0.25}\n"
        "  tuned_on: true\n"
        "new:\n"
        "  written_by: an annotator\n"
        "  tuned_on: false\n"
    )

    figures = load_script().main(["--data", str(data), "--speed-runs", "10"])

    assert figures["splits"]["old"]["fresh"] is False
    assert figures["splits"]["old"]["first_measured"] == {
        "macro_f1": 0.5, "vulnerability_recall": 0.25
    }  # fmt: skip
    assert figures["splits"]["new"]["fresh"] is True
    report = capsys.readouterr().out
    old_section = report.split("### old")[1].split("###")[0]
    assert "first measured, before any tuning on it: macro F1 0.500" in old_section
    assert "tuned on: no verdict" in old_section
    assert "goals met" in report.split("### new")[1]


def test_a_misspelt_split_history_is_refused_with_its_line(tmp_path: Path) -> None:
    data = tmp_path / "eval.jsonl"
    data.write_text(row("o1", "old", "You charged me a fee twice", "fees", False) + "\n")
    (tmp_path / "splits.yaml").write_text("old:\n  written_by: an engineer\n  tunned_on: true\n")

    with pytest.raises(ValueError, match=r"splits.yaml:\d+: old"):
        load_script().main(["--data", str(data), "--speed-runs", "10"])


def test_every_shipped_split_says_who_wrote_it_and_what_it_first_scored() -> None:
    script = load_script()
    history = script.read_history(script.DEFAULT_DATA)
    splits = {e.split for e in script.read_examples(script.DEFAULT_DATA)}

    assert splits == set(history)
    for name in splits - {"dev"}:
        assert history[name].first_measured is not None, name
