"""Train intake's word model: the second opinion beside the classification rules.

    make word-model        (runs this with scikit-learn, which intake itself never imports)

Learns from the labelled complaints in ``tests/data/classification/eval.jsonl`` - only the
splits ``splits.yaml`` marks as tuned on, never a fresh one, so the fresh splits keep
measuring honestly - two linear models over TF-IDF word and word-pair features: the category
(multinomial logistic regression) and vulnerability (logistic regression weighted for the
rarer class). It writes their parameters as JSON (``services/intake/word_model.json``),
which ``services/intake/domain/word_model.py`` scores in pure Python. The file also carries
a digest of the training data, so a test notices when the data changes and the model was
not retrained, and a few texts with scikit-learn's own probabilities, so a test proves the
pure-Python scoring reproduces them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from tools.word_model_data import DATA, OUTPUT, training_digest, tuned_rows

# Strong enough regularisation for ~700 short texts; chosen on the tuned splits only.
INVERSE_REGULARISATION = 10.0
# Weights are kept to four decimals; smaller ones round to nothing.
SMALLEST_KEPT_WEIGHT = 1e-4
CHECK_TEXTS = (
    "My card was used in a shop I have never been to.",
    "I lost my job and cannot make the mortgage payments.",
    "The app keeps crashing when I open my statements.",
    "Your adviser never mentioned the early repayment charge.",
)


def train(rows: list[dict[str, Any]]) -> dict[str, Any]:
    texts = [row["description"] for row in rows]
    vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    features = vectoriser.fit_transform(texts)
    category = LogisticRegression(C=INVERSE_REGULARISATION, max_iter=5000)
    category.fit(features, [row["expected"]["category"] for row in rows])
    vulnerable = LogisticRegression(
        C=INVERSE_REGULARISATION, max_iter=5000, class_weight="balanced"
    )
    vulnerable.fit(features, [bool(row["expected"]["vulnerable"]) for row in rows])

    terms = vectoriser.get_feature_names_out()
    category_weights = category.coef_.T  # term x class
    vulnerable_weights = vulnerable.coef_[0]
    checks = vectoriser.transform(CHECK_TEXTS)
    return {
        "trained_on": sorted({row["split"] for row in rows}),
        "examples": len(rows),
        "training_digest": training_digest(rows),
        "features": {"token_pattern": r"(?u)\b\w\w+\b", "ngrams": [1, 2], "sublinear_tf": True},
        "idf": {
            term: round(float(idf), 4) for term, idf in zip(terms, vectoriser.idf_, strict=True)
        },
        "category": {
            "classes": [str(name) for name in category.classes_],
            "intercepts": [round(float(value), 6) for value in category.intercept_],
            "weights": {
                term: [round(float(w), 4) for w in row]
                for term, row in zip(terms, category_weights, strict=True)
                if max(abs(row)) >= SMALLEST_KEPT_WEIGHT
            },
        },
        "vulnerable": {
            "intercept": round(float(vulnerable.intercept_[0]), 6),
            "weights": {
                term: round(float(w), 4)
                for term, w in zip(terms, vulnerable_weights, strict=True)
                if abs(w) >= SMALLEST_KEPT_WEIGHT
            },
        },
        "checks": [
            {
                "text": text,
                "category_probabilities": [round(float(p), 6) for p in category_row],
                "vulnerable_probability": round(float(vulnerable_row[1]), 6),
            }
            for text, category_row, vulnerable_row in zip(
                CHECK_TEXTS,
                category.predict_proba(checks),
                vulnerable.predict_proba(checks),
                strict=True,
            )
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    options = parser.parse_args(argv)
    rows = tuned_rows(options.data)
    model = train(rows)
    options.output.write_text(json.dumps(model, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{options.output}: {len(model['idf'])} terms from {len(rows)} complaints")


if __name__ == "__main__":
    main()
