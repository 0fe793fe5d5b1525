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
