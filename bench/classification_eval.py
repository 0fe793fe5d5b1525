"""How well intake classifies: per-category precision and recall, macro F1, vulnerability.

    .venv/bin/python -m bench.classification_eval [--data FILE] [--rules FILE] [--json OUT]

Reads a labelled set (``tests/data/classification/eval.jsonl``: one complaint per line with
its expected category, severity, vulnerability and abuse) and prints a Markdown report per
split. ``splits.yaml`` beside it says who wrote each split, what the rules scored on it the
first time they met it, and whether they were tuned on it since: only a split never tuned
on measures how the rules generalise, so only those get a verdict; the others show their
first figures beside today's. ``--json`` also writes the figures for machines. Goals:
vulnerability recall >= 0.95 (a vulnerable customer missed is the costly error), macro F1
>= 0.85. Throughput is reported against a same-run baseline
(``json.dumps`` of the same complaint), so figures from different machines compare by ratio.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, RootModel

from bench.machine import machine_lines
from kintsugi.common.config_files import load_model
from services.intake.domain.classification import Classification, classify
from services.intake.domain.classification_rules import (
    DEFAULT_RULES_FILE,
    ClassificationRules,
    load_rules,
)
from services.intake.domain.submission import Customer, Submission

DEFAULT_DATA = Path(__file__).resolve().parent.parent / "tests/data/classification/eval.jsonl"
HISTORY_FILE = "splits.yaml"  # beside the data
GOALS = {"vulnerability_recall": 0.95, "macro_f1": 0.85}


@dataclass
class Example:
    id: str
    split: str
    submission: Submission
    expected: dict[str, Any]


class FirstFigures(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    macro_f1: float
    vulnerability_recall: float


class SplitHistory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    written_by: str
    tuned_on: bool
    first_measured: FirstFigures | None = None


class SplitsFile(RootModel[dict[str, SplitHistory]]):
    pass


def read_history(data: Path) -> dict[str, SplitHistory]:
    """Each split's provenance from ``splits.yaml`` beside the data (none when absent)."""
    file = data.with_name(HISTORY_FILE)
    if not file.exists():
        return {}
    spec, _ = load_model(file, SplitsFile)
    splits: dict[str, SplitHistory] = spec.root
    return splits


@dataclass
class SplitReport:
    split: str
    count: int
    per_category: dict[str, dict[str, float]]
    macro_f1: float
    accuracy: float
    vulnerability: dict[str, float]
    abuse: dict[str, float]
    severity_accuracy: float
    mistakes: list[dict[str, str]] = field(default_factory=list)
    history: SplitHistory | None = None

    @property
    def fresh(self) -> bool:
        """Never tuned on: its figures say how the rules do on text they were not fitted to."""
        return self.history is None or not self.history.tuned_on


def read_examples(path: Path) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        try:
            examples.append(
                Example(
                    id=row["id"],
                    split=row.get("split", "dev"),
                    submission=Submission(
                        source_system="eval",
                        source_reference=row["id"],
                        customer=Customer(customer_id="eval", display_name="Eval"),
                        channel=row["channel"],
                        subject=row.get("subject", ""),
                        description=row["description"],
                        product=row.get("product", ""),
                        jurisdiction=row.get("jurisdiction", "GB-ENG"),
                        received_at=None,
                    ),
                    expected=row["expected"],
                )
            )
        except KeyError as missing:
            raise SystemExit(f"{path}:{number}: field {missing} is required") from None
    return examples


def evaluate(
    split: str, examples: Sequence[Example], results: Sequence[Classification]
) -> SplitReport:
    pairs = list(zip(examples, results, strict=True))
    categories = sorted({e.expected["category"] for e in examples} | {r.category for r in results})
    per_category = {}
    for category in categories:
        true_positive = sum(
            e.expected["category"] == category and r.category == category for e, r in pairs
        )
        predicted = sum(r.category == category for _, r in pairs)
        actual = sum(e.expected["category"] == category for e, _ in pairs)
        per_category[category] = _scores(true_positive, predicted, actual)
    labelled = [c for c in categories if per_category[c]["support"]]
    macro_f1 = sum(per_category[c]["f1"] for c in labelled) / len(labelled) if labelled else 0.0
    mistakes = [
        {
            "id": e.id,
            "expected": e.expected["category"],
            "got": r.category,
            "text": e.submission.description[:100],
        }
        for e, r in pairs
        if e.expected["category"] != r.category
    ]
    for e, r in pairs:
        if e.expected["vulnerable"] and not r.vulnerable:
            mistakes.append(
                {"id": e.id, "expected": "vulnerable", "got": "not vulnerable",
                 "text": e.submission.description[:100]}
            )  # fmt: skip
    return SplitReport(
        split=split,
        count=len(pairs),
        per_category=per_category,
        macro_f1=macro_f1,
        accuracy=_ratio(sum(e.expected["category"] == r.category for e, r in pairs), len(pairs)),
        vulnerability=_flag_scores(pairs, "vulnerable", lambda r: r.vulnerable),
        abuse=_flag_scores(pairs, "abusive", lambda r: r.abusive),
        severity_accuracy=_ratio(
            sum(e.expected["severity"] == r.severity for e, r in pairs), len(pairs)
        ),
        mistakes=mistakes,
    )


def _flag_scores(
    pairs: Sequence[tuple[Example, Classification]],
    label: str,
    flag: Callable[[Classification], bool],
) -> dict[str, float]:
    true_positive = sum(bool(e.expected.get(label)) and flag(r) for e, r in pairs)
    predicted = sum(flag(r) for _, r in pairs)
    actual = sum(bool(e.expected.get(label)) for e, _ in pairs)
    return _scores(true_positive, predicted, actual)


def _scores(true_positive: int, predicted: int, actual: int) -> dict[str, float]:
    precision = _ratio(true_positive, predicted)
    recall = _ratio(true_positive, actual)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": actual}


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def throughput(
    examples: Sequence[Example], rules: ClassificationRules, total: int
) -> dict[str, float]:
    submissions = [e.submission for e in examples]
    rounds = max(1, total // max(1, len(submissions)))

    def rate(work: Callable[[Submission], object]) -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            for submission in submissions:
                work(submission)
        return rounds * len(submissions) / (time.perf_counter() - started)

    baseline = rate(lambda s: json.dumps({"subject": s.subject, "description": s.description}))
    classified = rate(lambda s: classify(s, rules))
    return {"classify_per_s": classified, "baseline_json_dumps_per_s": baseline}


def markdown(reports: Sequence[SplitReport], speed: dict[str, float], rules: str) -> str:
    lines = ["## Classification quality", "", *machine_lines(), f"- Rules: `{rules}`", ""]
    for report in reports:
        verdict = _verdict(report)
        lines += [
            f"### {report.split} ({report.count} complaints)",
            "",
            f"- macro F1 **{report.macro_f1:.3f}** (goal {GOALS['macro_f1']}), "
            f"category accuracy {report.accuracy:.3f}",
            f"- vulnerability recall **{report.vulnerability['recall']:.3f}** "
            f"(goal {GOALS['vulnerability_recall']}), precision "
            f"{report.vulnerability['precision']:.3f}, support "
            f"{int(report.vulnerability['support'])}",
            f"- abuse recall {report.abuse['recall']:.3f}, precision "
            f"{report.abuse['precision']:.3f}; severity accuracy {report.severity_accuracy:.3f}",
            *_provenance(report.history),
            f"- {verdict}",
            "",
            "| category | precision | recall | F1 | support |",
            "|---|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {name} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
            f"{int(s['support'])} |"
            for name, s in report.per_category.items()
        ]
        lines.append("")
    ratio = speed["classify_per_s"] / speed["baseline_json_dumps_per_s"]
    lines += [
        "### Throughput (single thread)",
        "",
        f"- classify: {speed['classify_per_s']:,.0f} complaints/s "
        f"({ratio:.2f}x the same-run baseline, json.dumps of the complaint text at "
        f"{speed['baseline_json_dumps_per_s']:,.0f}/s)",
        "",
    ]
    return "\n".join(lines)


def _provenance(history: SplitHistory | None) -> list[str]:
    if history is None:
        return []
    lines = [f"- written by {history.written_by}"]
    if history.first_measured is not None:
        first = history.first_measured
        lines.append(
            f"- first measured, before any tuning on it: macro F1 {first.macro_f1:.3f}, "
            f"vulnerability recall {first.vulnerability_recall:.3f}"
        )
    if history.tuned_on:
        lines.append("- the rules were tuned on it since, so the figures above flatter them")
    return lines


def _verdict(report: SplitReport) -> str:
    if not report.fresh:
        return "tuned on: no verdict"
    met = (
        report.vulnerability["recall"] >= GOALS["vulnerability_recall"]
        and report.macro_f1 >= GOALS["macro_f1"]
    )
    return "goals met" if met else "**goals NOT met**"


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES_FILE)
    parser.add_argument("--json", type=Path, help="also write the figures here as JSON")
    parser.add_argument(
        "--speed-runs", type=int, default=20_000, help="classifications timed for throughput"
    )
    parser.add_argument("--mistakes", action="store_true", help="list every misclassification")
    options = parser.parse_args(argv)

    rules = load_rules(options.rules)
    examples = read_examples(options.data)
    results = [classify(e.submission, rules) for e in examples]
    history = read_history(options.data)
    splits = sorted(Counter(e.split for e in examples))
    reports = [
        evaluate(
            split,
            [e for e in examples if e.split == split],
            [r for e, r in zip(examples, results, strict=True) if e.split == split],
        )
        for split in splits
    ]
    for report in reports:
        report.history = history.get(report.split)
    speed = throughput(examples, rules, options.speed_runs)
    print(markdown(reports, speed, options.rules.name))
    if options.mistakes:
        for report in reports:
            for mistake in report.mistakes:
                print(f"- {report.split} {mistake}")
    figures = {
        "goals": GOALS,
        "splits": {
            r.split: {
                **{k: v for k, v in vars(r).items() if k not in ("split", "mistakes", "history")},
                "fresh": r.fresh,
                "first_measured": (
                    r.history.first_measured.model_dump()
                    if r.history is not None and r.history.first_measured is not None
                    else None
                ),
            }
            for r in reports
        },
        "throughput": speed,
    }
    if options.json is not None:
        options.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    main()
