"""IFEval ``change_case:*``: capitalised-word frequency, all capitals, all lowercase."""

from __future__ import annotations

import random
from typing import Any

from adhere.constraints import draws, edits
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

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"capital_frequency": rng.randint(1, 20), "capital_relation": draws.relation(rng)}

    other_wordings = (
        "Use words written entirely in capital letters {capital_relation} {capital_frequency} times in your answer.",
        "The number of all-caps words in your reply should be {capital_relation} {capital_frequency}.",
    )
    probe_wordings = ("Include {capital_relation} {capital_frequency} words spelled in all capitals.",)
    repair_edit = staticmethod(edits.capital_words)
    repair_rank = 130
    conflicts_with = ("change_case:english_lowercase", "change_case:english_capital")

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

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = (
        "Write your whole answer in English, using only capital letters.",
        "Respond in English and in ALL CAPS, from the first word to the last.",
        "Your reply must be in English and entirely in uppercase letters.",
    )
    probe_wordings = ("Reply in English, with every letter capitalized.",)
    repair_edit = staticmethod(edits.uppercase)
    repair_rank = 150

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

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = (
        "Write your whole answer in English, using only lowercase letters.",
        "Respond in English and do not use a single capital letter anywhere.",
        "Your reply must be in English and entirely in lowercase, with no capitals at all.",
    )
    probe_wordings = ("Reply in English, with every letter in lowercase.",)
    repair_edit = staticmethod(edits.lowercase)
    repair_rank = 140
    conflicts_with = ("change_case:english_capital",)

    def _check(self, view: TextView) -> Verdict:
        if not view.text.islower():
            return Verdict(False, "not all letters are lowercase")
        return language_verdict(view, "en")
