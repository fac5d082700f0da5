"""IFEval ``length_constraints:*``: sentences, paragraphs, words, nth paragraph's first word."""

from __future__ import annotations

import random
import re
from typing import Any

from adhere.constraints import draws, edits
from adhere.constraints.base import Constraint, Relation, Verdict, expect
from adhere.constraints.registry import constraint
from adhere.text.view import TextView

# The reference splits paragraphs on "***" with one optional whitespace character either side.
# So "****" or "***\n***" also split; reproduced on purpose.
_DIVIDER = re.compile(r"\s?\*\*\*\s?")
_FIRST_WORD_STOP = frozenset(".,?!'\"")


def _positive(self: Constraint, key: str) -> None:
    if getattr(self, key) < 0:
        self._fail(key, "must be >= 0")


@constraint("length_constraints:number_sentences")
class NumberOfSentences(Constraint):
    """Sentence count (NLTK Punkt, English) less than / at least N."""

    template = "Your response should contain {relation} {num_sentences} sentences."

    num_sentences: int
    relation: Relation

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"num_sentences": rng.randint(2, 20), "relation": draws.relation(rng)}

    other_wordings = (
        "Use {relation} {num_sentences} sentences in your answer.",
        "Your answer should be {relation} {num_sentences} sentences long.",
    )
    probe_wordings = ("Make your answer {relation} {num_sentences} sentences in length.",)
    repair_edit = staticmethod(edits.cut_to_fit)
    repair_rank = 20

    def _validate(self) -> None:
        _positive(self, "num_sentences")

    def _check(self, view: TextView) -> Verdict:
        return expect(self.relation, self.num_sentences, "sentences", view.sentence_count)


@constraint("length_constraints:number_words")
class NumberOfWords(Constraint):
    """Word count (``\\w+`` runs) less than / at least N."""

    template = "Answer with {relation} {num_words} words."

    num_words: int
    relation: Relation

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"num_words": rng.randint(100, 500), "relation": draws.relation(rng)}

    other_wordings = (
        "Your answer should be {relation} {num_words} words long.",
        "Write {relation} {num_words} words.",
    )
    probe_wordings = ("Respond in {relation} {num_words} words.",)
    repair_edit = staticmethod(edits.cut_to_fit)
    repair_rank = 10

    def _validate(self) -> None:
        _positive(self, "num_words")

    def _check(self, view: TextView) -> Verdict:
        return expect(self.relation, self.num_words, "words", view.word_count)


@constraint("length_constraints:number_paragraphs")
class NumberOfParagraphs(Constraint):
    """Exactly N paragraphs separated by the markdown divider ``***``."""

    template = (
        "There should be {num_paragraphs} paragraphs. "
        "Paragraphs are separated with the markdown divider: ***"
    )

    num_paragraphs: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"num_paragraphs": rng.randint(2, 5)}

    other_wordings = (
        "Write exactly {num_paragraphs} paragraphs, with the markdown divider *** between them.",
        "Your answer should have {num_paragraphs} paragraphs, separated by lines of ***.",
    )
    probe_wordings = ("Structure the answer as {num_paragraphs} paragraphs divided by *** lines.",)
    repair_edit = staticmethod(edits.paragraphs)
    repair_rank = 30
    conflicts_with = ("length_constraints:nth_paragraph_first_word", "length_constraints:number_sentences")

    def _validate(self) -> None:
        _positive(self, "num_paragraphs")

    def _check(self, view: TextView) -> Verdict:
        paragraphs = _DIVIDER.split(view.text)
        count = len(paragraphs)
        for index, paragraph in enumerate(paragraphs):
            if not paragraph.strip():
                if index in (0, len(paragraphs) - 1):
                    count -= 1  # leading or trailing divider
                else:
                    return Verdict(False, f"paragraph {index + 1} between two dividers is empty")
        passed = count == self.num_paragraphs
        return Verdict(passed, f"expected {self.num_paragraphs} paragraphs, found {count}")


@constraint("length_constraints:nth_paragraph_first_word")
class NthParagraphFirstWord(Constraint):
    """Exactly N paragraphs separated by blank lines, and paragraph i starts with a given word."""

    template = (
        "There should be {num_paragraphs} paragraphs. Paragraphs and only paragraphs are separated "
        "with each other by two new lines as if it was '\\n\\n' in python. Paragraph {nth_paragraph} "
        "must start with word {first_word}."
    )

    num_paragraphs: int
    nth_paragraph: int
    first_word: str

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        paragraphs = rng.randint(2, 5)
        return {"num_paragraphs": paragraphs, "nth_paragraph": rng.randint(1, paragraphs), "first_word": rng.choice(draws.WORDS)}

    other_wordings = (
        (
            "Write {num_paragraphs} paragraphs, separated from each other by a blank line, and begin paragraph "
            "{nth_paragraph} with the word {first_word}."
        ),
        (
            "Your answer needs {num_paragraphs} paragraphs with an empty line between them; paragraph "
            "{nth_paragraph} must start with the word {first_word}."
        ),
    )
    probe_wordings = ("Use {num_paragraphs} paragraphs separated by single blank lines, paragraph number {nth_paragraph} opening with the word {first_word}.",)  # fmt: skip
    conflicts_with = ("length_constraints:number_paragraphs",)

    def _validate(self) -> None:
        _positive(self, "num_paragraphs")
        # The reference replaces an out-of-range ``nth_paragraph`` by a random one.
        if not 1 <= self.nth_paragraph <= self.num_paragraphs:
            self._fail("nth_paragraph", f"must be between 1 and num_paragraphs ({self.num_paragraphs})")
        if not self.first_word:
            self._fail("first_word", "must not be empty")

    def _render_field(self, name: str, value: object) -> str:
        # The reference lowercases the word (and does not strip it).
        return self.first_word.lower() if name == "first_word" else str(value)

    def _check(self, view: TextView) -> Verdict:
        paragraphs = view.text.split("\n\n")
        count = sum(1 for p in paragraphs if p.strip())
        nth = self.nth_paragraph
        if nth > count:
            return Verdict(False, f"expected {self.num_paragraphs} paragraphs, found {count}")
        # Reference quirk: the index counts empty paragraphs too, though the total does not.
        paragraph = paragraphs[nth - 1].strip()
        if not paragraph:
            return Verdict(False, f"paragraph {nth} is empty")
        word = paragraph.split()[0].strip().lstrip("'").lstrip('"')
        first = []
        for char in word:
            if char in _FIRST_WORD_STOP:
                break
            first.append(char.lower())
        first_word = "".join(first)
        expected = self.first_word.lower()
        if count != self.num_paragraphs:
            return Verdict(False, f"expected {self.num_paragraphs} paragraphs, found {count}")
        if first_word != expected:
            return Verdict(False, f"paragraph {nth} starts with {first_word!r}, not {expected!r}")
        return Verdict(True, f"{count} paragraphs; paragraph {nth} starts with {expected!r}")
