"""IFEval ``keywords:*``: keyword existence, frequency, forbidden words, letter frequency."""

from __future__ import annotations

import random
import re
from typing import Any

from adhere.constraints import draws, edits
from adhere.constraints.base import Constraint, Relation, Verdict, compare
from adhere.constraints.kwarg_patterns import (
    KwargPattern,
    kwarg_pattern,
    require_pattern,
)
from adhere.constraints.registry import constraint
from adhere.text.view import TextView


def _pattern(source: str) -> KwargPattern:
    # The reference passes keywords to ``re`` unescaped: a keyword is a case-insensitive regular
    # expression matched anywhere, so "cat" is found in "Concatenate". Reproduced on purpose.
    return kwarg_pattern(source, re.IGNORECASE)


def _nonempty(self: Constraint, key: str, words: tuple[str, ...], pattern: str = "{}") -> None:
    if not words:
        self._fail(key, "must list at least one keyword")
    for word in words:
        if not word:
            self._fail(key, "must not contain an empty keyword")
        require_pattern(self, key, pattern.format(word), re.IGNORECASE)


@constraint("keywords:existence")
class KeywordExistence(Constraint):
    """Every keyword appears (case-insensitive substring, as a regular expression)."""

    template = "Include keywords {keywords} in the response."

    keywords: tuple[str, ...]

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"keywords": rng.sample(draws.WORDS, rng.randint(1, 2))}

    other_wordings = (
        "Make sure to use {keywords} in your answer.",
        "Your response must include {keywords}.",
    )
    probe_wordings = ("Work {keywords} into your answer.",)

    def _validate(self) -> None:
        _nonempty(self, "keywords", self.keywords)

    def _render_field(self, name: str, value: tuple[str, ...]) -> str:
        return str(sorted(value))

    def _check(self, view: TextView) -> Verdict:
        missing = [k for k in sorted(self.keywords) if not _pattern(k).search(view.text)]
        if missing:
            return Verdict(False, f"missing keyword {missing[0]!r}")
        return Verdict(True, f"found all {len(self.keywords)} keywords")


@constraint("keywords:frequency")
class KeywordFrequency(Constraint):
    """A keyword occurs less than / at least N times (non-overlapping regex matches)."""

    template = "In your response, the word {keyword} should appear {relation} {frequency} times."

    keyword: str
    frequency: int
    relation: Relation

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"keyword": rng.choice(draws.WORDS), "frequency": rng.randint(1, 3), "relation": draws.relation(rng)}

    other_wordings = (
        "Use the word {keyword} {relation} {frequency} times in your answer.",
        "The word {keyword} should occur {relation} {frequency} times in your reply.",
    )
    probe_wordings = ("Mention the word {keyword} {relation} {frequency} times.",)

    def _validate(self) -> None:
        if not self.keyword.strip():
            self._fail("keyword", "must not be empty")
        if self.frequency < 0:
            self._fail("frequency", "must be >= 0")
        require_pattern(self, "keyword", self.keyword.strip(), re.IGNORECASE)

    def _check(self, view: TextView) -> Verdict:
        keyword = self.keyword.strip()
        found = len(_pattern(keyword).findall(view.text))
        passed = compare(self.relation, found, self.frequency)
        return Verdict(
            passed, f"expected {keyword!r} {self.relation} {self.frequency} times, found {found}"
        )


@constraint("keywords:forbidden_words")
class ForbiddenWords(Constraint):
    """None of the words appears as a whole word (``\\bword\\b``, case-insensitive)."""

    template = "Do not include keywords {forbidden_words} in the response."

    forbidden_words: tuple[str, ...]

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"forbidden_words": rng.sample(draws.WORDS, rng.randint(1, 2))}

    other_wordings = (
        "Do not use {forbidden_words} anywhere in your answer.",
        "Avoid {forbidden_words} entirely.",
    )
    probe_wordings = ("Never mention {forbidden_words}.",)
    repair_edit = staticmethod(edits.forbidden)
    repair_rank = 60

    def _validate(self) -> None:
        _nonempty(self, "forbidden_words", self.forbidden_words, r"\b{}\b")

    def _render_field(self, name: str, value: tuple[str, ...]) -> str:
        return str(sorted(set(value)))

    def _check(self, view: TextView) -> Verdict:
        for word in sorted(set(self.forbidden_words)):
            if _pattern(r"\b" + word + r"\b").search(view.text):
                return Verdict(False, f"found forbidden word {word!r}")
        return Verdict(True, "no forbidden word found")


@constraint("keywords:letter_frequency")
class LetterFrequency(Constraint):
    """A letter occurs less than / at least N times, ignoring case.

    The reference replaces a ``letter`` that is not an ASCII letter (``#`` and ``!`` in IFEval
    keys 1122 and 1129) by a random letter, so its verdict there is random. adhere counts the
    character that was asked for, literally.
    """

    template = "In your response, the letter {letter} should appear {let_relation} {let_frequency} times."

    letter: str
    let_frequency: int
    let_relation: Relation

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"letter": rng.choice("abcdefghijklmnopqrstuvwxyz"), "let_frequency": rng.randint(1, 10), "let_relation": draws.relation(rng)}

    other_wordings = (
        "The letter {letter} must occur {let_relation} {let_frequency} times in your answer.",
        "Use the letter '{letter}' {let_relation} {let_frequency} times in your reply.",
    )
    probe_wordings = ("Make the letter {letter} show up {let_relation} {let_frequency} times in your answer.",)

    def _validate(self) -> None:
        if len(self.letter.strip()) != 1:
            self._fail("letter", f"must be a single character, got {self.letter!r}")
        if self.let_frequency < 0:
            self._fail("let_frequency", "must be >= 0")

    def _render_field(self, name: str, value: object) -> str:
        return self.letter.strip().lower() if name == "letter" else str(value)

    def _check(self, view: TextView) -> Verdict:
        letter = self.letter.strip().lower()
        found = view.lower.count(letter)
        passed = compare(self.let_relation, found, self.let_frequency)
        return Verdict(
            passed,
            f"expected {letter!r} {self.let_relation} {self.let_frequency} times, found {found}",
        )
