"""IFEval ``change_case:*``: capitalised-word frequency, all capitals, all lowercase."""

from __future__ import annotations

from adhere.constraints.base import Constraint, Relation, Verdict, expect
from adhere.constraints.ifeval.language import language_verdict
from adhere.constraints.registry import constraint
from adhere.text.view import TextView


@constraint("change_case:capital_word_frequency")
class CapitalWordFrequency(Constraint):
    """Words in all capitals (``nltk.word_tokenize`` tokens) less than / at least N times."""

    template = (
        "In your response, words with all capital letters should appear {capital_relation} "
        "{capital_frequency} times."
    )

    capital_frequency: int
    capital_relation: Relation

    def _validate(self) -> None:
        if self.capital_frequency < 0:
            self._fail("capital_frequency", "must be >= 0")

    def _check(self, view: TextView) -> Verdict:
        found = sum(1 for token in view.word_tokens if token.isupper())
        return expect(self.capital_relation, self.capital_frequency, "all-capital words", found)


@constraint("change_case:english_capital")
class EnglishCapital(Constraint):
    """The response is in English and in all capital letters."""

    template = "Your entire response should be in English, and in all capital letters."

    def _check(self, view: TextView) -> Verdict:
        if not view.text.isupper():
            return Verdict(False, "not all letters are capitals")
        return language_verdict(view, "en")


@constraint("change_case:english_lowercase")
class EnglishLowercase(Constraint):
    """The response is in English and in all lowercase letters."""

    template = (
        "Your entire response should be in English, and in all lowercase letters. "
        "No capital letters are allowed."
    )

    def _check(self, view: TextView) -> Verdict:
        if not view.text.islower():
            return Verdict(False, "not all letters are lowercase")
        return language_verdict(view, "en")
