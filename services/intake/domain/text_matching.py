"""Finding rule cues in customer text: whole words, stems, small gaps, and negation.

Customers write "I was charged", "charges", "mis-sold", "mis sold"; they also write "this
is not a complaint about fees". A cue is a list of phrases in a tiny language:

- words match whole words, ignoring case: ``fee`` never matches "feel";
- a trailing ``*`` matches longer words from that stem: ``charg*`` matches "charged";
- ``a|b`` offers alternatives for one word: ``husband|wife died``;
- ``(a b|c)`` offers alternatives of several words: ``(did not|never) authorise*``;
- ``...`` allows up to three other words in between: ``lost my ... job`` matches
  "lost my new job";
- between words any run of spaces, hyphens or slashes is accepted.

All cues of one kind compile into one regular expression (one pass over the text, which
is lower-cased first, so raw ``regex`` cues must be written in lower case); the negation
check runs only on what matched, so classification stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SEPARATOR = r"[\s\-/]+"
_WORD_START = r"(?<!\w)"
_GAP = rf"(?:{_SEPARATOR}[\w']+){{0,3}}"
# Curly quotes become straight ones (same length, so matched spans stay exact).
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def straight_quotes(text: str) -> str:
    """The text as cues see it: curly apostrophes made straight, every offset unchanged."""
    return text.translate(_APOSTROPHES)


_CLAUSE_BREAK = re.compile(r"[.!?;:,\n()]|\b(?:but|however|although|though|whereas)\b", re.I)
_WORD = re.compile(r"[\w']+")
# How far around a cue negation is looked for; a clause is rarely longer.
_LOOK_BEHIND_CHARS = 160
_LOOK_AHEAD_CHARS = 60


def phrase_regex(phrase: str) -> str:
    """The regular expression for one phrase of the cue language (see module docstring)."""
    return _WORD_START + _phrase_body(phrase.lower(), phrase) + r"(?!\w)"


def _phrase_body(phrase: str, whole: str) -> str:
    tokens = _tokens(phrase, whole)
    if not tokens or tokens[0] == "..." or tokens[-1] == "...":
        raise ValueError(f"phrase {whole!r}: needs words, and '...' only between words")
    parts: list[str] = []
    gap_next = False
    for token in tokens:
        if token == "...":
            gap_next = True
            continue
        if parts:
            parts.append(_GAP + _SEPARATOR if gap_next else _SEPARATOR)
        gap_next = False
        if token.startswith("("):
            alternatives = _split_top_level(token[1:-1], whole)
            parts.append("(?:" + "|".join(_phrase_body(a, whole) for a in alternatives) + ")")
        else:
            parts.append(_token_regex(token, whole))
    return "".join(parts)


def _tokens(phrase: str, whole: str) -> list[str]:
    """Words, with a parenthesised group of multi-word alternatives kept as one token."""
    tokens: list[str] = []
    depth = 0
    current = ""
    for char in phrase:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise ValueError(f"phrase {whole!r}: ')' without '('")
        if char.isspace() and depth == 0:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    if depth:
        raise ValueError(f"phrase {whole!r}: '(' without ')'")
    if current:
        tokens.append(current)
    for token in tokens:
        if "(" in token and not (token.startswith("(") and token.endswith(")")):
            raise ValueError(f"phrase {whole!r}: a (group) must stand alone, as in '(a b|c)'")
    return tokens


def _split_top_level(text: str, whole: str) -> list[str]:
    alternatives: list[str] = []
    depth = 0
    current = ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "|" and depth == 0:
            alternatives.append(current)
            current = ""
        else:
            current += char
    alternatives.append(current)
    if any(not a.strip() for a in alternatives):
        raise ValueError(f"phrase {whole!r}: empty alternative in a (group)")
    return alternatives


def _token_regex(token: str, phrase: str) -> str:
    alternatives = []
    for word in token.split("|"):
        stem = word.removesuffix("*")
        if not stem or "*" in stem or ")" in stem:
            raise ValueError(f"phrase {phrase!r}: '*' may only end a word, as in 'charg*'")
        alternatives.append(re.escape(stem) + (r"\w*" if word.endswith("*") else ""))
    return "(?:" + "|".join(alternatives) + ")"


@dataclass(frozen=True, slots=True)
class Negation:
    """What cancels a cue: a negating word just before it, or a disclaimer around it."""

    words: frozenset[str]
    window_words: int
    not_before: frozenset[str]  # "not only", "no longer": these do not negate
    before: re.Pattern[str] | None  # "not a complaint about ...", anywhere earlier in the clause
    after: re.Pattern[str] | None  # "... is not the issue", right after the cue

    @classmethod
    def build(
        cls,
        words: Iterable[str],
        window_words: int,
        not_before: Iterable[str],
        before_phrases: Sequence[str],
        after_phrases: Sequence[str],
    ) -> Negation:
        def any_of(phrases: Sequence[str], prefix: str = "") -> re.Pattern[str] | None:
            if not phrases:
                return None
            alternatives = "|".join(phrase_regex(p) for p in phrases)
            return re.compile(f"{prefix}(?:{alternatives})", re.IGNORECASE)

        return cls(
            words=frozenset(w.lower() for w in words),
            window_words=window_words,
            not_before=frozenset(w.lower() for w in not_before),
            before=any_of(before_phrases),
            # "the fee itself is not the issue": up to two words between cue and disclaimer
            after=any_of(after_phrases, prefix=r"\W*(?:[\w']+\W+){0,2}?"),
        )

    def negated_by(self, text: str, start: int, end: int) -> str | None:
        """The words that negate ``text[start:end]`` in its clause, or None."""
        before = _clause_before(text, start)
        if self.before is not None:
            disclaimer = self.before.search(before)
            if disclaimer is not None:
                return disclaimer.group(0)
        words: list[str] = _WORD.findall(before)
        window = words[-self.window_words :] if self.window_words else []
        offset = len(words) - len(window)
        for index in range(len(window) - 1, -1, -1):
            word = window[index].lower()
            following = words[offset + index + 1].lower() if offset + index + 1 < len(words) else ""
            if word in self.words and following not in self.not_before:
                return window[index]
        if self.after is not None:
            disclaimer = self.after.match(_clause_after(text, end))
            if disclaimer is not None:
                return disclaimer.group(0).strip()
        return None


def _clause_before(text: str, start: int) -> str:
    before = text[max(0, start - _LOOK_BEHIND_CHARS) : start]
    last_break = None
    for last_break in _CLAUSE_BREAK.finditer(before):  # noqa: B007 - we want the last one
        pass
    return before[last_break.end() :] if last_break is not None else before


def _clause_after(text: str, end: int) -> str:
    after = text[end : end + _LOOK_AHEAD_CHARS]
    first_break = _CLAUSE_BREAK.search(after)
    return after[: first_break.start()] if first_break is not None else after


@dataclass(frozen=True, slots=True)
class Hit:
    """One cue found in one field: where, what was written, and whether it was negated."""

    cue_id: str
    field: str
    start: int
    end: int
    text: str
    negated_by: str | None = None

    def describe(self) -> str:
        where = f"'{self.text}' ({self.field} {self.start}-{self.end})"
        if self.negated_by is None:
            return f"{self.cue_id} {where}"
        return f"{self.cue_id} {where} ignored: negated by '{self.negated_by}'"


class CueMatcher:
    """Every cue of one kind in one compiled pattern; finds them in a text with negation."""

    __slots__ = ("_any_case", "_cue_by_group", "_negatable", "_pattern")

    def __init__(self, cues: Sequence[tuple[str, Sequence[str], bool]]) -> None:
        """``cues``: (cue id, regular expressions, negatable)."""
        alternatives = []
        self._cue_by_group: dict[str, str] = {}
        self._negatable: dict[str, bool] = {}
        for index, (cue_id, expressions, negatable) in enumerate(cues):
            group = f"c{index}"
            self._cue_by_group[group] = cue_id
            self._negatable[cue_id] = negatable
            bodies = (e.removeprefix(_WORD_START) for e in expressions)
            alternatives.append(f"(?P<{group}>" + "|".join(bodies) + ")")
        # One word-start check for all cues instead of one per cue and position: the
        # engine then tries the alternatives only where a word begins (several times faster).
        combined = f"{_WORD_START}(?:{'|'.join(alternatives) or '(?!)'})"
        # Matching lower-cased text case-sensitively is ~2.5x faster than IGNORECASE;
        # the rare text whose length changes when lower-cased ("İ") takes the slow path.
        self._pattern = re.compile(combined)
        self._any_case = re.compile(combined, re.IGNORECASE)

    def find(self, field: str, text: str, negation: Negation) -> list[Hit]:
        text = straight_quotes(text)
        lowered = text.lower()
        if len(lowered) == len(text):
            matches = self._pattern.finditer(lowered)
        else:
            matches = self._any_case.finditer(text)
        hits = []
        for match in matches:
            group = match.lastgroup
            if group is None:
                continue
            cue_id = self._cue_by_group[group]
            start, end = match.span()
            negated = negation.negated_by(text, start, end) if self._negatable[cue_id] else None
            hits.append(Hit(cue_id, field, start, end, text[start:end], negated))
        return hits
