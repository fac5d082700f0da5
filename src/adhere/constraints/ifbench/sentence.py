"""IFBench ``sentence:*``: growing alliteration, a keyword in the n-th sentence, growing length."""

from __future__ import annotations

import re

from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.ifbench.tokens import PUNCT_SPACE, without_punctuation
from adhere.constraints.registry import constraint
from adhere.text.view import TextView


def _alliteration(sentence: str) -> int:
    """The reference's alliteration score: 2 for a new run of two words, +1 for each longer run.

    Adjacent words (lower-cased, leading punctuation trimmed) share a first character. The score
    adds up over all runs of the sentence, not just the longest one, as the reference does.
    """
    tokens = [w.lstrip(PUNCT_SPACE) for w in sentence.lower().split()]
    tokens = [w for w in tokens if w]
    score, in_run = 0, False
    for a, b in zip(tokens, tokens[1:]):
        if a[0] == b[0]:
            score += 1 if in_run else 2
            in_run = True
        else:
            in_run = False
    return score


@constraint("sentence:alliteration_increment", benchmark="ifbench")
class IncreasingAlliteration(Constraint):
    """Each sentence's alliteration score is higher than the previous sentence's."""

    template = (
        "Each sentence must have a longer sequence of consecutive alliterative words than the "
        "previous one."
    )

    def _check(self, view: TextView) -> Verdict:
        previous = -1
        for number, sentence in enumerate(view.sentences, start=1):
            score = _alliteration(sentence)
            if score <= previous:
                return Verdict(
                    False, f"sentence {number} scores {score}, not more than the previous {previous}"
                )
            previous = score
        return Verdict(True, "alliteration grows from sentence to sentence")


@constraint("sentence:keyword", benchmark="ifbench")
class KeywordInSentence(Constraint):
    """The ``N``-th sentence contains ``word`` as a whole word (case-insensitive).

    ``N = 0`` means the last sentence, because the reference indexes ``sentences[N - 1]``.
    Reproduced on purpose (its data never uses 0).
    """

    template = 'The response must include keyword "{word}" in the {N}-th sentence.'

    word: str
    N: int

    def _validate(self) -> None:
        if not self.word.strip():
            self._fail("word", "must not be empty")
        if self.N < 0:
            self._fail("N", f"must be >= 0, got {self.N}")

    def _check(self, view: TextView) -> Verdict:
        sentences = view.sentences
        if len(sentences) < self.N:
            return Verdict(False, f"expected at least {self.N} sentences, found {len(sentences)}")
        pattern = rf"\b{re.escape(self.word)}\b"
        found = re.search(pattern, sentences[self.N - 1], re.IGNORECASE) is not None
        where = "in" if found else "not in"
        return Verdict(found, f"{self.word!r} {where} sentence {self.N}")


def _word_count(sentence: str) -> int:
    return len(without_punctuation(sentence).strip().split())


@constraint("sentence:increment", benchmark="ifbench")
class IncrementingWords(Constraint):
    """Each sentence has exactly ``small_n`` more words (punctuation deleted) than the previous."""

    template = "Each sentence must contain exactly {small_n} more words than the previous one."

    small_n: int

    def _check(self, view: TextView) -> Verdict:
        sentences = view.sentences
        if not sentences:
            return Verdict(False, "no sentences")
        previous = _word_count(sentences[0])
        for number, sentence in enumerate(sentences[1:], start=2):
            count = _word_count(sentence)
            if count != previous + self.small_n:
                return Verdict(
                    False,
                    f"sentence {number} has {count} words, expected {previous + self.small_n}",
                )
            previous = count
        return Verdict(True, f"each sentence adds {self.small_n} words")
