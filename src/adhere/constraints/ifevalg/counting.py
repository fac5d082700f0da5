"""IFEvalG ``count:*`` and ``letters:*``: lowercase words, letters, unique words, keyword counts,
and a composition of paragraphs, sentences and words."""

from __future__ import annotations

import random
import re
from typing import Any

from adhere.constraints import draws
from adhere.constraints.base import Constraint, Relation, Verdict, compare
from adhere.constraints.ifeval.keywords import LetterFrequency
from adhere.constraints.ifevalg.sentences import split_into_sentences
from adhere.constraints.kwarg_patterns import kwarg_pattern, require_pattern
from adhere.constraints.registry import constraint
from adhere.text import words as tokens
from adhere.text.view import TextView

_LOWERCASE_WORD = re.compile(r"\b[a-z]+\b")
_ASCII_LETTER = re.compile(r"[a-zA-Z]")
_DIVIDER = re.compile(r"\s?\*\*\*\s?")


@constraint("count:lowercase_counting", benchmark="ifevalg")
class LowercaseCounting(Constraint):
    """At most ``N`` all-lowercase ASCII words (``\\b[a-z]+\\b``)."""

    template = "In your response, all lowercase words should appear at most {N} times."

    N: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"N": rng.randint(2, 3)}

    other_wordings = ("Use no more than {N} words written entirely in lowercase.",)
    conflicts_with = ("count:lowercase_counting",)

    def _check(self, view: TextView) -> Verdict:
        found = len(_LOWERCASE_WORD.findall(view.text))
        return Verdict(found <= self.N, f"expected at most {self.N} lowercase words, found {found}")


@constraint("letters:letter_counting", benchmark="ifevalg")
class LetterCounting(Constraint):
    """Less than / at least ``N`` ASCII letters in the whole response."""

    template = "Answer with {relation} {N} letters."

    N: int
    relation: Relation

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        # The reference draws N from 2 to 3; a count a response can meet either way reads better.
        return {"N": rng.choice((50, 100, 200, 300)), "relation": draws.relation(rng)}

    other_wordings = ("Your answer must contain {relation} {N} letters in total.",)
    conflicts_with = ("letters:letter_counting",)

    def _check(self, view: TextView) -> Verdict:
        found = len(_ASCII_LETTER.findall(view.text))
        return Verdict(compare(self.relation, found, self.N), f"expected {self.relation} {self.N} letters, found {found}")


@constraint("letters:letter_counting2", benchmark="ifevalg")
class LetterCounting2(LetterFrequency):
    """IFEval's ``keywords:letter_frequency`` under the id IFEvalG gives it a second time."""

    conflicts_with = ("letters:letter_counting2",)


@constraint("count:counting_composition", benchmark="ifevalg")
class CountingComposition(Constraint):
    """Three paragraphs split by ``***`` (the sentence says "* * *"; the check splits on
    ``\\s?\\*\\*\\*\\s?``), each of ``n_sent`` sentences (IFEval's regular-expression splitter) of
    ``n_words`` NLTK tokens. As the reference, an empty first or last part counts one paragraph
    less but is still read for sentences, so it fails the sentence count."""

    template = ("Write 3 paragraphs, delimited by the markdown divider: * * *, with exactly {n_sent} sentences each, "
                "with exactly {n_words} words in each sentence.")  # fmt: skip

    n_sent: int
    n_words: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"n_sent": rng.randint(2, 3), "n_words": rng.randint(2, 3)}

    other_wordings = ("Write exactly 3 paragraphs separated by ***, each with {n_sent} sentences of exactly {n_words} "
                      "words.",)  # fmt: skip
    conflicts_with = ("count:counting_composition", "count:count_unique", "count:count_increment_word",
                      "paragraphs:paragraphs", "paragraphs:paragraphs2", "keywords:letter_frequency", "keywords:frequency")  # fmt: skip

    def _check(self, view: TextView) -> Verdict:
        paragraphs = _DIVIDER.split(view.text)
        count = len(paragraphs)
        for index, paragraph in enumerate(paragraphs):
            if not paragraph.strip():
                if index in (0, len(paragraphs) - 1):
                    count -= 1
                else:
                    return Verdict(False, f"paragraph {index + 1} is empty")
            sentences = split_into_sentences(paragraph)
            if len(sentences) != self.n_sent:
                return Verdict(False, f"paragraph {index + 1} has {len(sentences)} sentences, not {self.n_sent}")
            for sentence in sentences:
                found = len(tokens.word_tokenize(sentence))
                if found != self.n_words:
                    return Verdict(False, f"a sentence of paragraph {index + 1} has {found} words, not {self.n_words}")
        return Verdict(count == 3, f"expected 3 paragraphs, found {count}")


@constraint("count:count_unique", benchmark="ifevalg")
class CountUnique(Constraint):
    """No NLTK token twice (case-sensitive; punctuation tokens count too)."""

    template = "Only use unique words in your response, no word should be repeated!"

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Do not repeat any word in your answer.",)
    conflicts_with = ("count:count_unique",)

    def _check(self, view: TextView) -> Verdict:
        seen: set[str] = set()
        for token in view.word_tokens:
            if token in seen:
                return Verdict(False, f"{token!r} is repeated")
            seen.add(token)
        return Verdict(True, "no word repeated")


@constraint("count:count_increment_word", benchmark="ifevalg")
class CountIncrementWord(Constraint):
    """``keyword1`` exactly once and ``keyword2`` exactly twice (case-insensitive regular
    expressions, matched anywhere, as IFEval's keywords)."""

    template = "Include keyword {keyword1} once in your response, keyword {keyword2} twice in your response."

    keyword1: str
    keyword2: str

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        first, second = rng.sample(draws.WORDS, 2)
        return {"keyword1": first, "keyword2": second}

    other_wordings = ("Use the word {keyword1} exactly once and the word {keyword2} exactly twice.",)
    conflicts_with = ("count:count_increment_word",)

    def _validate(self) -> None:
        for key in ("keyword1", "keyword2"):
            if not getattr(self, key).strip():
                self._fail(key, "must not be empty")
            require_pattern(self, key, getattr(self, key).strip(), re.IGNORECASE)

    def _check(self, view: TextView) -> Verdict:
        once = len(kwarg_pattern(self.keyword1.strip(), re.IGNORECASE).findall(view.text))
        twice = len(kwarg_pattern(self.keyword2.strip(), re.IGNORECASE).findall(view.text))
        return Verdict(once == 1 and twice == 2, f"found {self.keyword1!r} {once} times (1 asked) and "
                       f"{self.keyword2!r} {twice} times (2 asked)")  # fmt: skip
