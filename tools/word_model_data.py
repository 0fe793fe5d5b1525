"""What intake's word model learns from, readable without scikit-learn (tests use it too).

Only the splits ``splits.yaml`` marks as tuned on: a fresh split must never reach the
model, or it would stop measuring how the classifier does on text it has not seen.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from bench.classification_eval import read_history

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests/data/classification/eval.jsonl"
OUTPUT = ROOT / "services/intake/word_model.json"


def tuned_rows(data: Path = DATA) -> list[dict[str, Any]]:
    tuned = {name for name, split in read_history(data).items() if split.tuned_on}
    return [
        row
        for line in data.read_text(encoding="utf-8").splitlines()
        if line.strip() and (row := json.loads(line))["split"] in tuned
    ]


def training_digest(rows: list[dict[str, Any]]) -> str:
    """What the model learnt from: each row's text and labels, in file order."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps([row["description"], row["expected"]], sort_keys=True).encode())
    return digest.hexdigest()
