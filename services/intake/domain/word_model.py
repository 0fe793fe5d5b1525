"""The word model: a learned second opinion on category and vulnerability, with its evidence.

Phrase rules are exact about what they know and blind to everything else: on complaints
written by people who never saw them they found the category about two times in three
(docs/decisions.md, 14). The word model reads every word and word pair, weighted by how
telling it was across the labelled complaints, so it still has an opinion when no rule
fires or when rules fire weakly. It is two linear models trained by
``tools/train_word_model.py`` (scikit-learn) and scored here in plain Python with the same
arithmetic - TF-IDF with sublinear term frequency, L2-normalised, then softmax (category)
or the logistic function (vulnerability) - so intake needs no machine-learning library.

Its evidence is the words that pulled hardest towards its answer, with where they were
written, so a handler can see why, as with a rule.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.intake.domain.text_matching import Hit, straight_quotes

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
EVIDENCE_WORDS = 3
# Words found in more than about one labelled complaint in eight ("and", "was", "my") pull
# on every answer a little and explain none of them to a reader: evidence skips them.
EVIDENCE_MIN_IDF = 3.0


@dataclass(frozen=True, slots=True)
class Opinion:
    """What the model thinks of one text: an answer, how sure, and the words behind it."""

    answer: str
    probability: float
    evidence: tuple[Hit, ...]


class WordModel:
    """Parameters exported by the trainer, scored without it."""

    def __init__(self, parameters: dict[str, Any], source: str) -> None:
        self.source = source
        self.training_digest: str = parameters["training_digest"]
        self.idf: dict[str, float] = parameters["idf"]
        self.classes: tuple[str, ...] = tuple(parameters["category"]["classes"])
        self.intercepts: list[float] = parameters["category"]["intercepts"]
        self.category_weights: dict[str, list[float]] = parameters["category"]["weights"]
        self.vulnerable_intercept: float = parameters["vulnerable"]["intercept"]
        self.vulnerable_weights: dict[str, float] = parameters["vulnerable"]["weights"]
        self.checks: list[dict[str, Any]] = parameters["checks"]

    @classmethod
    def load(cls, file: Path) -> WordModel:
        return cls(json.loads(file.read_text(encoding="utf-8")), source=str(file))

    def read(self, fields: Sequence[tuple[str, str]]) -> Reading:
        """One text's reading; its features are computed once, on first use."""
        return Reading(self, fields)


class Reading:
    """The model's view of one text (subject and description, by field name)."""

    def __init__(self, model: WordModel, fields: Sequence[tuple[str, str]]) -> None:
        self._model = model
        self._fields = fields

    @functools.cached_property
    def features(self) -> dict[str, float]:
        """Term -> L2-normalised TF-IDF value, as the trainer's vectoriser computes it."""
        idf = self._model.idf
        counts: Counter[str] = Counter()
        for _, text in self._fields:
            words = [word.lower() for word in _TOKEN.findall(text)]
            counts.update(word for word in words if word in idf)
            counts.update(gram for gram in map(" ".join, itertools.pairwise(words)) if gram in idf)
        weights = {term: (1.0 + math.log(n)) * idf[term] for term, n in counts.items()}
        norm = math.sqrt(sum(value * value for value in weights.values())) or 1.0
        return {term: value / norm for term, value in weights.items()}

    def category_probabilities(self) -> list[float]:
        scores = list(self._model.intercepts)
        weights = self._model.category_weights
        for term, value in self.features.items():
            for index, weight in enumerate(weights.get(term, ())):
                scores[index] += value * weight
        top = max(scores)
        exps = [math.exp(score - top) for score in scores]
        total = sum(exps)
        return [e / total for e in exps]

    def vulnerable_probability(self) -> float:
        weights = self._model.vulnerable_weights
        score = self._model.vulnerable_intercept + sum(
            value * weights.get(term, 0.0) for term, value in self.features.items()
        )
        return 1.0 / (1.0 + math.exp(-score))

    def category(self) -> Opinion:
        probabilities = self.category_probabilities()
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        weights = self._model.category_weights
        pulls = {t: v * weights[t][best] for t, v in self.features.items() if t in weights}
        return Opinion(self._model.classes[best], probabilities[best], self._evidence(pulls))

    def vulnerability(self) -> Opinion:
        weights = self._model.vulnerable_weights
        pulls = {t: v * weights[t] for t, v in self.features.items() if t in weights}
        return Opinion("vulnerable", self.vulnerable_probability(), self._evidence(pulls))

    def _evidence(self, pulls: dict[str, float]) -> tuple[Hit, ...]:
        """The words that pulled hardest towards the answer, where they were first written."""
        idf = self._model.idf
        telling = (t for t, pull in pulls.items() if pull > 0 and idf[t] >= EVIDENCE_MIN_IDF)
        strongest = sorted(telling, key=lambda t: -pulls[t])
        return tuple(self._first_place(term) for term in strongest[:EVIDENCE_WORDS])

    def _first_place(self, term: str) -> Hit:
        words = term.split(" ")
        for field, text in self._fields:
            tokens = list(_TOKEN.finditer(text))
            for index in range(len(tokens) - len(words) + 1):
                if [t.group().lower() for t in tokens[index : index + len(words)]] == words:
                    start, end = tokens[index].start(), tokens[index + len(words) - 1].end()
                    shown = straight_quotes(text[start:end])
                    return Hit(f"word_model:{term}", field, start, end, shown)
        raise AssertionError(f"{term!r} has a feature value but is not in the text")
