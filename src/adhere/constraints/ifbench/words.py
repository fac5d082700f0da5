"""IFBench ``words:*``: letters, vowels, consonants, lengths, syllables, word positions."""

from __future__ import annotations

import string
from collections import Counter

from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.ifbench.tokens import PUNCT_SPACE, without_punctuation
from adhere.constraints.registry import constraint
from adhere.text import pos
from adhere.text import words as word_text
from adhere.text.view import TextView

_ALPHABET = string.ascii_lowercase


@constraint("words:alphabet", benchmark="ifbench")
class AlphabetLoop(Constraint):
    """Each word starts with the letter after the previous word's, wrapping from Z to A."""

    template = "Each word must start with the next letter of the alphabet, looping back to 'A' after 'Z'."

    def _check(self, view: TextView) -> Verdict:
        tokens = without_punctuation(view.text).strip(PUNCT_SPACE).split()
        if not tokens:
            return Verdict(False, "no words")
        letter = tokens[0][0].lower()
        if letter not in _ALPHABET:
            return Verdict(False, f"first word {tokens[0][:20]!r} does not start with a letter a-z")
        for token in tokens[1:]:
            token = token.strip(PUNCT_SPACE).lower()
            if not token:
                continue
            letter = _ALPHABET[(_ALPHABET.index(letter) + 1) % 26]
            if token[0] != letter:
                return Verdict(False, f"{token[:20]!r} should start with {letter!r}")
        return Verdict(True, "each word starts with the next letter")


@constraint("words:vowel", benchmark="ifbench")
class ThreeVowels(Constraint):
    """One paragraph (no newline inside it) using at most three of the vowels a, e, i, o, u."""

    template = "Write a paragraph using words that contain only three types of vowels."

    def _check(self, view: TextView) -> Verdict:
        lines = view.stripped.split("\n")
        if len(lines) != 1:
            return Verdict(False, f"expected one paragraph, found {len(lines)} lines")
        vowels = sorted(set(lines[0].lower()) & set("aeiou"))
        return Verdict(len(vowels) <= 3, f"uses vowels {''.join(vowels) or 'none'}")


_CONSONANTS = frozenset("bcdfghjklmnpqrstvwxyz")


@constraint("words:consonants", benchmark="ifbench")
class ConsonantClusters(Constraint):
    """Every whitespace token has two consonant letters in a row."""

    template = (
        "Ensure each word in your response has at least one consonant cluster (two or more "
        "consonants together)."
    )

    def _check(self, view: TextView) -> Verdict:
        for token in view.lower.strip().split():
            if not any(a in _CONSONANTS and b in _CONSONANTS for a, b in zip(token, token[1:])):
                return Verdict(False, f"{token[:20]!r} has no consonant cluster")
        return Verdict(True, "every word has a consonant cluster")


@constraint("words:palindrome", benchmark="ifbench")
class Palindromes(Constraint):
    """At least 10 palindromic words (not necessarily different) of 5 or more characters."""

    template = "Include at least 10 single-word palindromes, each at least 5 characters long."

    def _check(self, view: TextView) -> Verdict:
        tokens = without_punctuation(view.text).lower().split()
        found = sum(1 for t in tokens if len(t) >= 5 and t == t[::-1])
        return Verdict(found >= 10, f"expected at least 10 palindromes, found {found}")


_PRIMES = frozenset(
    (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)
)


@constraint("words:prime_lengths", benchmark="ifbench")
class PrimeLengths(Constraint):
    """Every word (punctuation deleted) has a prime length; the reference's primes stop at 97."""

    template = "Use only words with lengths that are prime numbers."

    def _check(self, view: TextView) -> Verdict:
        for token in without_punctuation(view.text).split():
            if len(token) not in _PRIMES:
                return Verdict(False, f"{token[:20]!r} has {len(token)} characters")
        return Verdict(True, "every word has a prime length")


@constraint("words:start_verb", benchmark="ifbench")
class StartsWithVerb(Constraint):
    """The first NLTK token is tagged as a verb (``VB*``) by NLTK's perceptron tagger."""

    template = "The response must start with a verb."

    def _validate(self) -> None:
        pos.require_tagger()

    def _check(self, view: TextView) -> Verdict:
        tag = pos.first_tag(view.word_tokens)
        if tag is None:
            return Verdict(False, "no words")
        first = view.word_tokens[0]
        return Verdict("VB" in tag, f"first word {first[:20]!r} is tagged {tag}")


@constraint("words:repeats", benchmark="ifbench")
class LimitedRepeats(Constraint):
    """No word (lower-cased, punctuation deleted) occurs more than ``small_n`` times."""

    template = "The response should not repeat any word more than {small_n} times."

    small_n: int

    def _check(self, view: TextView) -> Verdict:
        counts = Counter(without_punctuation(view.lower).split())
        for word, count in counts.items():
            if count > self.small_n:
                return Verdict(False, f"{word[:20]!r} occurs {count} times (limit {self.small_n})")
        return Verdict(True, f"no word occurs more than {self.small_n} times")


@constraint("words:odd_even_syllables", benchmark="ifbench")
class AlternatingSyllables(Constraint):
    """Consecutive words alternate between odd and even syllable counts (``syllapy``)."""

    template = "Alternate between words with odd and even numbers of syllables."

    def _check(self, view: TextView) -> Verdict:
        import syllapy

        tokens = [t for t in without_punctuation(view.text).lower().split() if t.strip()]
        parities = [syllapy.count(t) % 2 for t in tokens]
        for index in range(len(parities) - 1):
            if parities[index] == parities[index + 1]:
                pair = f"{tokens[index][:20]!r} and {tokens[index + 1][:20]!r}"
                return Verdict(False, f"{pair} both have an {'odd' if parities[index] else 'even'} count")
        return Verdict(True, "syllable counts alternate")


@constraint("words:last_first", benchmark="ifbench")
class LastWordFirst(Constraint):
    """Each sentence starts with the word the previous sentence ended with (case-insensitive)."""

    template = "The last word of each sentence must become the first word of the next sentence."

    def _check(self, view: TextView) -> Verdict:
        sentences = view.sentences
        for index in range(len(sentences) - 1):
            last = sentences[index].rstrip(PUNCT_SPACE).split()
            first = sentences[index + 1].lstrip(PUNCT_SPACE).split()
            if not last or not first:
                return Verdict(False, f"sentence {index + 1} or {index + 2} has no words")
            if last[-1].lower() != first[0].lower():
                return Verdict(
                    False,
                    f"sentence {index + 1} ends with {last[-1][:20]!r}, "
                    f"sentence {index + 2} starts with {first[0][:20]!r}",
                )
        return Verdict(True, "each sentence starts with the previous one's last word")


@constraint("words:paragraph_last_first", benchmark="ifbench")
class ParagraphLastFirst(Constraint):
    """Each non-empty line ends with the word it starts with (case-insensitive)."""

    template = (
        "Each paragraph must end with the same word it started with, separate paragraphs with a "
        "newline."
    )

    def _check(self, view: TextView) -> Verdict:
        for number, line in enumerate(view.text.split("\n"), start=1):
            tokens = line.strip().lower().strip(PUNCT_SPACE).split()
            if tokens and tokens[0] != tokens[-1]:
                return Verdict(
                    False, f"line {number} starts with {tokens[0][:20]!r}, ends with {tokens[-1][:20]!r}"
                )
        return Verdict(True, "each paragraph ends with its first word")


@constraint("words:no_consecutive", benchmark="ifbench")
class NoConsecutiveFirstLetter(Constraint):
    """No two consecutive words (punctuation deleted) start with the same character."""

    template = "No two consecutive words can share the same first letter."

    def _check(self, view: TextView) -> Verdict:
        tokens = without_punctuation(view.lower).split()
        for a, b in zip(tokens, tokens[1:]):
            if a[0] == b[0]:
                return Verdict(False, f"{a[:20]!r} and {b[:20]!r} share their first letter")
        return Verdict(True, "no consecutive words share a first letter")


def _alphanumeric_tokens(text: str) -> list[str]:
    """NLTK word tokens that hold a letter or digit (standalone punctuation dropped)."""
    return [t for t in word_text.word_tokenize(text) if any(ch.isalnum() for ch in t)]


@constraint("words:keywords_specific_position", benchmark="ifbench")
class KeywordAtPosition(Constraint):
    """The ``m``-th word of the ``n``-th sentence is ``keyword`` (case-insensitive)."""

    template = "Include keyword {keyword} in the {n}-th sentence, as the {m}-th word of that sentence."

    keyword: str
    n: int
    m: int

    def _validate(self) -> None:
        if not self.keyword.strip():
            self._fail("keyword", "must not be empty")
        for key in ("n", "m"):
            if getattr(self, key) < 1:
                self._fail(key, f"must be >= 1, got {getattr(self, key)}")

    def _check(self, view: TextView) -> Verdict:
        sentences = view.sentences
        if len(sentences) < self.n:
            return Verdict(False, f"expected at least {self.n} sentences, found {len(sentences)}")
        tokens = _alphanumeric_tokens(sentences[self.n - 1])
        if len(tokens) < self.m:
            return Verdict(False, f"sentence {self.n} has {len(tokens)} words, fewer than {self.m}")
        found = tokens[self.m - 1]
        keyword = self.keyword.strip()
        return Verdict(
            found.lower() == keyword.lower(),
            f"word {self.m} of sentence {self.n} is {found[:20]!r}, expected {keyword!r}",
        )


@constraint("words:words_position", benchmark="ifbench")
class SecondAndSecondToLast(Constraint):
    """The second token and the second-to-last word token are both ``keyword``.

    Tokens are NLTK word tokens; a final token that is a substring of ``string.punctuation``
    (a period, but also e.g. "()") is skipped when finding the second-to-last word, as the
    reference does.
    """

    template = (
        "The second word in your response and the second to last word in your response should be "
        "the word {keyword}."
    )

    keyword: str

    def _validate(self) -> None:
        if not self.keyword.strip():
            self._fail("keyword", "must not be empty")

    def _check(self, view: TextView) -> Verdict:
        tokens = view.word_tokens
        keyword = self.keyword.strip().lower()
        if len(tokens) < 2:
            return Verdict(False, "fewer than 2 words")
        if tokens[-1] in string.punctuation:
            if len(tokens) < 3:
                return Verdict(False, "fewer than 2 words before the final punctuation")
            second_last = tokens[-3]
        else:
            second_last = tokens[-2]
        passed = tokens[1].lower() == second_last.lower() == keyword
        return Verdict(
            passed, f"second word {tokens[1][:20]!r}, second to last {second_last[:20]!r}"
        )
