"""IFBench ``ratio:*``: stopword share, sentence-type ratios, equal-length sentences, overlap."""

from __future__ import annotations

from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.registry import constraint
from adhere.text import stopwords, words
from adhere.text.view import TextView


def _percentage(self: Constraint, value: int) -> None:
    if not 0 <= value <= 100:
        self._fail("percentage", f"must be between 0 and 100, got {value}")


@constraint("ratio:stop_words", benchmark="ifbench")
class StopWords(Constraint):
    """Stopwords (NLTK's English list) are at most ``percentage``% of the ``\\w+`` words."""

    template = (
        "Ensure that stop words constitute no more than {percentage}% of the total words in your "
        "response."
    )

    percentage: int

    def _validate(self) -> None:
        _percentage(self, self.percentage)

    def _check(self, view: TextView) -> Verdict:
        tokens = words.word_runs(view.text)
        if not tokens:
            return Verdict(False, "no words")
        found = sum(1 for token in tokens if token.lower() in stopwords.ENGLISH)
        share = found / len(tokens) * 100
        return Verdict(
            share <= self.percentage,
            f"expected at most {self.percentage}% stop words, found {share:.1f}%",
        )


def _ending_counts(view: TextView) -> tuple[int, int, int]:
    """Sentences ending in ".", "?" and "!" (Punkt sentences, as the reference splits them)."""
    sentences = view.sentences
    return (
        sum(1 for s in sentences if s.endswith(".")),
        sum(1 for s in sentences if s.endswith("?")),
        sum(1 for s in sentences if s.endswith("!")),
    )


@constraint("ratio:sentence_type", benchmark="ifbench")
class SentenceTypeRatio(Constraint):
    """Exactly twice as many sentences ending in "." as ending in "?"."""

    template = "Maintain a 2:1 ratio of declarative to interrogative sentences."

    def _check(self, view: TextView) -> Verdict:
        declarative, interrogative, _ = _ending_counts(view)
        return Verdict(
            declarative == 2 * interrogative,
            f"found {declarative} declarative and {interrogative} interrogative sentences",
        )


@constraint("ratio:sentence_balance", benchmark="ifbench")
class SentenceBalance(Constraint):
    """As many sentences ending in "." as in "?" as in "!"."""

    template = (
        "Ensure that the ratio of sentence types (declarative, interrogative, exclamatory) is "
        "balanced."
    )

    def _check(self, view: TextView) -> Verdict:
        declarative, interrogative, exclamatory = _ending_counts(view)
        return Verdict(
            declarative == interrogative == exclamatory,
            f"found {declarative} '.', {interrogative} '?' and {exclamatory} '!' sentences",
        )


@constraint("ratio:sentence_words", benchmark="ifbench")
class SentenceCharacters(Constraint):
    """Exactly three sentences of the same length in characters.

    The instruction also asks for all different words; the reference does not check that, and
    neither does adhere (reference-exact).
    """

    template = (
        "Respond with three sentences, all containing the same number of characters but using "
        "all different words."
    )

    def _check(self, view: TextView) -> Verdict:
        sentences = view.sentences
        if len(sentences) != 3:
            return Verdict(False, f"expected 3 sentences, found {len(sentences)}")
        lengths = [len(s.strip()) for s in sentences]
        return Verdict(len(set(lengths)) == 1, f"sentence lengths {lengths}")


@constraint("ratio:overlap", benchmark="ifbench")
class TrigramOverlap(Constraint):
    """The share of the response's trigrams found in ``reference_text`` is ``percentage`` ±2.

    The reference builds its trigrams with ``nltk.ngrams`` over the raw strings, so they are
    character trigrams, not word trigrams. Reproduced on purpose.
    """

    template = "Maintain a trigram overlap of {percentage}% (±2%) with the provided reference text."

    reference_text: str
    percentage: int

    def _validate(self) -> None:
        _percentage(self, self.percentage)

    def _check(self, view: TextView) -> Verdict:
        grams = _trigrams(view.text)
        if not grams:
            return Verdict(False, "response shorter than three characters")
        share = len(grams & _trigrams(self.reference_text)) / len(grams) * 100
        passed = self.percentage - 2 <= share <= self.percentage + 2
        return Verdict(passed, f"expected {self.percentage}% ±2 overlap, found {share:.1f}%")


def _trigrams(text: str) -> set[tuple[str, str, str]]:
    return set(zip(text, text[1:], text[2:]))
