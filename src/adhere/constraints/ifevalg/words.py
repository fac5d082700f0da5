"""IFEvalG ``keywords:*`` (its own), ``first_word:*`` and ``last_word:*``."""

from __future__ import annotations

import random
import re
from typing import Any

from adhere.constraints import draws
from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.ifeval.keywords import KeywordFrequency
from adhere.constraints.ifevalg.sentences import split_into_sentences
from adhere.constraints.kwarg_patterns import kwarg_pattern, require_pattern
from adhere.constraints.registry import constraint
from adhere.text import words as tokens
from adhere.text.view import TextView

_NOT_WORD = re.compile(r"[^\w\s]")


def _keyword(self: Constraint, key: str) -> None:
    value = getattr(self, key).strip()
    if not value:
        self._fail(key, "must not be empty")
    require_pattern(self, key, value, re.IGNORECASE)


def _count(keyword: str, text: str) -> int:
    # IFEval's keywords: case-insensitive regular expressions, matched anywhere ("cat" in "concat").
    return len(kwarg_pattern(keyword.strip(), re.IGNORECASE).findall(text))


@constraint("keywords:no_adjacent_consecutive", benchmark="ifevalg")
class NoAdjacentConsecutive(Constraint):
    """No two neighbouring whitespace-separated words start with letters one apart in code points
    ("a" then "b"), compared lowercased. As the reference, a first character whose lowercase is two
    characters long ("İ") fails the check."""

    template = "No two adjacent words can start with consecutive letters of the alphabet."

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Never let a word be followed by one starting with the next letter of the alphabet.",)
    conflicts_with = ("keywords:no_adjacent_consecutive",)

    def _check(self, view: TextView) -> Verdict:
        words = view.text.split()
        for first, second in zip(words, words[1:]):
            a, b = first[0].lower(), second[0].lower()
            if len(a) != 1 or len(b) != 1:
                return Verdict(False, f"{first!r} or {second!r} starts with a letter that lowercases to two")
            if ord(b) - ord(a) == 1:
                return Verdict(False, f"{first!r} is followed by {second!r}")
        return Verdict(True, "no neighbouring words start with consecutive letters")


@constraint("keywords:word_once", benchmark="ifevalg")
class WordOnce(Constraint):
    """``keyword`` exactly once."""

    template = "Include keyword {keyword} in your response."

    keyword: str

    sample_kwargs = staticmethod(draws.a_word("keyword"))

    other_wordings = ("Use the word {keyword} exactly once in your answer.",)
    conflicts_with = ("keywords:word_once",)

    def _validate(self) -> None:
        _keyword(self, "keyword")

    def _check(self, view: TextView) -> Verdict:
        found = _count(self.keyword, view.text)
        return Verdict(found == 1, f"expected {self.keyword.strip()!r} once, found {found}")


@constraint("keywords:word_count_different_numbers", benchmark="ifevalg")
class WordCountDifferentNumbers(KeywordFrequency):
    """IFEval's ``keywords:frequency`` check (the reference's class is the same code) under another
    sentence, which leaves the relation out ("should appear 3 times"); the check applies it."""

    template = "In your response, the word {keyword} should appear {frequency} times."

    other_wordings = ("The word {keyword} must appear {relation} {frequency} times in your answer.",)
    probe_wordings = ()
    conflicts_with = ("keywords:word_count_different_numbers",)


@constraint("keywords:exclude_word_harder", benchmark="ifevalg")
class ExcludeWordHarder(Constraint):
    """``keyword`` never appears with a space on each side (exact case; at the very start or end,
    or before punctuation, it does not count, as in the reference)."""

    template = "Do not include keyword {keyword} in the response."

    keyword: str

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        # The reference draws a word of the instruction; a common word serves the same purpose.
        return {"keyword": rng.choice(("the", "and", "with", "this", "that", "from", "very", "also"))}

    other_wordings = ("Never use the word {keyword} in your answer.",)
    conflicts_with = ("keywords:exclude_word_harder",)

    def _validate(self) -> None:
        if not self.keyword.strip():
            self._fail("keyword", "must not be empty")

    def _check(self, view: TextView) -> Verdict:
        if f" {self.keyword.strip()} " in view.text:
            return Verdict(False, f"{self.keyword.strip()!r} is used")
        return Verdict(True, f"{self.keyword.strip()!r} is not used")


@constraint("keywords:palindrome", benchmark="ifevalg")
class Palindrome(Constraint):
    """A whitespace-separated word that reads the same backwards (one letter, like "a", counts)."""

    template = "Include a palindrome in your response."

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Use at least one palindrome in your answer.",)
    conflicts_with = ("keywords:palindrome",)

    def _check(self, view: TextView) -> Verdict:
        found = next((word for word in view.text.split() if word == word[::-1]), None)
        return Verdict(found is not None, f"palindrome {found!r}" if found else "no word reads the same backwards")


@constraint("keywords:keyword_specific_position", benchmark="ifevalg")
class KeywordSpecificPosition(Constraint):
    """``keyword`` is token ``m`` (NLTK's tokens, exact case) of sentence ``n`` (IFEval's
    regular-expression splitter), both counted from 1."""

    template = "Include keyword {keyword} in the {n}-th sentence, as the {m}-th word of that sentence."

    keyword: str
    n: int
    m: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        # The reference draws n up to 20 and m up to 30; smaller positions make answerable prompts.
        return {"keyword": rng.choice(draws.WORDS), "n": rng.randint(1, 5), "m": rng.randint(1, 10)}

    other_wordings = ("Make {keyword} word number {m} of sentence number {n}.",)
    conflicts_with = ("keywords:keyword_specific_position",)

    def _validate(self) -> None:
        if not self.keyword.strip():
            self._fail("keyword", "must not be empty")
        for key in ("n", "m"):
            if getattr(self, key) < 1:
                self._fail(key, f"must be at least 1, got {getattr(self, key)}")

    def _check(self, view: TextView) -> Verdict:
        sentences = split_into_sentences(view.text)
        if len(sentences) < self.n:
            return Verdict(False, f"expected at least {self.n} sentences, found {len(sentences)}")
        words = tokens.word_tokenize(sentences[self.n - 1])
        if len(words) < self.m:
            return Verdict(False, f"sentence {self.n} has {len(words)} words, fewer than {self.m}")
        found = words[self.m - 1]
        return Verdict(found == self.keyword.strip(), f"word {self.m} of sentence {self.n} is {found!r}")


@constraint("keywords:start_end", benchmark="ifevalg")
class StartEnd(Constraint):
    """The first and last NLTK tokens are the same word, ignoring case (a final full stop is a
    token of its own, so it fails)."""

    template = ("Start and end your response with the same word (do not write anything after the last word, not even "
                "punctuation).")  # fmt: skip

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Your first and last word must be the same word, with nothing after it, not even a period.",)
    conflicts_with = ("keywords:start_end",)

    def _check(self, view: TextView) -> Verdict:
        words = view.word_tokens
        if len(words) < 2:
            return Verdict(False, "fewer than two words")
        return Verdict(words[0].lower() == words[-1].lower(), f"starts with {words[0]!r}, ends with {words[-1]!r}")


@constraint("first_word:first_word_sent", benchmark="ifevalg")
class FirstWordSent(Constraint):
    """Every sentence (IFEval's regular-expression splitter) starts with ``first_word``, ignoring case."""

    template = "The first word of each sentence should be the word {first_word}."

    first_word: str

    sample_kwargs = staticmethod(draws.a_word("first_word"))

    other_wordings = ("Begin every sentence with the word {first_word}.",)
    conflicts_with = ("first_word:first_word_sent", "first_word:first_word_answer")

    def _check(self, view: TextView) -> Verdict:
        expected = self.first_word.strip().lower()
        for sentence in split_into_sentences(view.text):
            if not sentence.strip():
                return Verdict(False, "an empty sentence")
            if sentence.split()[0].strip().lower() != expected:
                return Verdict(False, f"a sentence starts with {sentence.split()[0]!r}")
        return Verdict(True, f"every sentence starts with {self.first_word.strip()!r}")


@constraint("first_word:first_word_answer", benchmark="ifevalg")
class FirstWordAnswer(Constraint):
    """The response's first whitespace-separated word is ``first_word``, ignoring case."""

    template = "The first word of your response should be the word {first_word}."

    first_word: str

    sample_kwargs = staticmethod(draws.a_word("first_word"))

    other_wordings = ("Start your answer with the word {first_word}.",)
    conflicts_with = ("first_word:first_word_sent", "first_word:first_word_answer")

    def _check(self, view: TextView) -> Verdict:
        words = view.text.split()
        if not words:
            return Verdict(False, "no words")
        return Verdict(words[0].lower() == self.first_word.strip().lower(), f"the first word is {words[0]!r}")


@constraint("last_word:last_word_sent", benchmark="ifevalg")
class LastWordSent(Constraint):
    """Every sentence (IFEval's regular-expression splitter) ends with ``last_word``, ignoring case
    and the punctuation around it (what is neither a word character nor space is removed)."""

    template = "The last word of each sentence, before punctuation, should be the word {last_word}."

    last_word: str

    sample_kwargs = staticmethod(draws.a_word("last_word"))

    other_wordings = ("End every sentence with the word {last_word}, before its punctuation.",)
    conflicts_with = ("last_word:last_word_sent",)

    def _check(self, view: TextView) -> Verdict:
        expected = self.last_word.strip().lower()
        for sentence in split_into_sentences(view.text):
            if not sentence.strip():
                return Verdict(False, "an empty sentence")
            last = _NOT_WORD.sub("", sentence.split()[-1].strip())
            if last.lower() != expected:
                return Verdict(False, f"a sentence ends with {last!r}")
        return Verdict(True, f"every sentence ends with {self.last_word.strip()!r}")


@constraint("last_word:last_word_answer", benchmark="ifevalg")
class LastWordAnswer(Constraint):
    """The response's last whitespace-separated word, its punctuation removed, is ``last_word``,
    ignoring case."""

    template = "The last word of your response should be the word {last_word}."

    last_word: str

    sample_kwargs = staticmethod(draws.a_word("last_word"))

    other_wordings = ("End your answer with the word {last_word}.",)
    conflicts_with = ("last_word:last_word_answer",)

    def _check(self, view: TextView) -> Verdict:
        words = view.text.split()
        if not words:  # the reference raises IndexError here
            return Verdict(False, "no words")
        last = _NOT_WORD.sub("", words[-1].strip())
        return Verdict(last.lower() == self.last_word.strip().lower(), f"the last word is {last!r}")
