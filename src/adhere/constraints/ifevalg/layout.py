"""IFEvalG ``detectable_format:*`` (its own), ``paragraphs:*`` and ``punctuation:*`` (its own)."""

from __future__ import annotations

import re

from adhere.constraints import draws
from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.ifevalg.sentences import split_into_sentences
from adhere.constraints.registry import constraint
from adhere.text.view import TextView

_DIVIDER = re.compile(r"\s?\*\*\*\s?")
_BLANK_LINE = re.compile(r"\n\n")


@constraint("detectable_format:sentence_hyphens", benchmark="ifevalg")
class SentenceHyphens(Constraint):
    """Sentences joined by hyphens with no spaces around them. As the reference: the response is
    split on "-", and the hyphens turned to spaces split into sentences (IFEval's regular-expression
    splitter); each part (as far as both lists go) must have no surrounding space and equal its
    sentence."""

    template = "All sentences must be connected using hyphens, with no spaces between them."

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Join all your sentences with hyphens, leaving no spaces between them.",)
    conflicts_with = ("detectable_format:sentence_hyphens",)

    def _check(self, view: TextView) -> Verdict:
        gold = split_into_sentences(view.text.replace("-", " "))
        for part, sentence in zip(view.text.split("-"), gold):
            if part.strip() != part or part != sentence:
                return Verdict(False, f"the part {part[:40]!r} is not one sentence joined without spaces")
        return Verdict(True, "sentences joined by hyphens")


@constraint("detectable_format:square_brackets", benchmark="ifevalg")
class SquareBrackets(Constraint):
    """Every whitespace-separated word starts with "[" and ends with "]"."""

    template = "Enclose every word in your response within square brackets."

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Put each word of your answer inside square brackets, like [this].",)
    conflicts_with = ("detectable_format:square_brackets",)

    def _check(self, view: TextView) -> Verdict:
        bare = next((w for w in view.text.split() if not (w.startswith("[") and w.endswith("]"))), None)
        return Verdict(bare is None, "every word in brackets" if bare is None else f"{bare!r} is not in brackets")


@constraint("detectable_format:bigram_wrapping", benchmark="ifevalg")
class BigramWrapping(Constraint):
    """Whitespace-separated words taken two by two: the first of each pair starts with "<<" and
    the second ends with ">>" (a last odd word is not checked, as in the reference)."""

    template = "Wrap every word bigram in double angular brackets, such as <<I am>> <<at home>> <<with my>> <<cute dog>>."

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Put every pair of consecutive words in double angle brackets, as in <<like this>> <<and so>>.",)
    conflicts_with = ("detectable_format:bigram_wrapping",)

    def _check(self, view: TextView) -> Verdict:
        words = view.text.split()
        for i in range(0, len(words) - 1, 2):
            if not (words[i].startswith("<<") and words[i + 1].endswith(">>")):
                return Verdict(False, f"{words[i]} {words[i + 1]} is not wrapped in << >>")
        return Verdict(True, "every bigram wrapped")


def _two_paragraphs(parts: list[str]) -> Verdict:
    """The reference's paragraph count: an empty first or last part is not a paragraph, an empty
    one between others fails; two are asked for."""
    count = len(parts)
    for index, part in enumerate(parts):
        if not part.strip():
            if index in (0, len(parts) - 1):
                count -= 1
            else:
                return Verdict(False, f"paragraph {index + 1} is empty")
    return Verdict(count == 2, f"expected 2 paragraphs, found {count}")


@constraint("paragraphs:paragraphs", benchmark="ifevalg")
class Paragraphs(Constraint):
    """Two paragraphs split by the markdown divider ``***`` (``\\s?\\*\\*\\*\\s?``)."""

    template = "There should be 2 paragraphs. Paragraphs are separated with the markdown divider: ***"

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Write exactly 2 paragraphs, with the markdown divider *** between them.",)
    conflicts_with = ("paragraphs:paragraphs", "paragraphs:paragraphs2")

    def _check(self, view: TextView) -> Verdict:
        return _two_paragraphs(_DIVIDER.split(view.text))


@constraint("paragraphs:paragraphs2", benchmark="ifevalg")
class Paragraphs2(Constraint):
    """Two paragraphs split by a blank line (``\\n\\n``; three newlines leave a part that starts
    with one)."""

    template = "There should be 2 paragraphs. Paragraphs and only paragraphs are separated with each other by two line breaks. "

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Write exactly 2 paragraphs, separated by one blank line and no other blank line.",)
    conflicts_with = ("paragraphs:paragraphs", "paragraphs:paragraphs2")

    def _check(self, view: TextView) -> Verdict:
        return _two_paragraphs(_BLANK_LINE.split(view.text))


@constraint("punctuation:punctuation_dot", benchmark="ifevalg")
class NoDot(Constraint):
    """No "." anywhere."""

    template = "In your entire response, refrain from the use of . (i.e. dots) as punctuation and in general."

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Do not use a single period (.) anywhere in your answer.",)
    conflicts_with = ("punctuation:punctuation_dot",)

    def _check(self, view: TextView) -> Verdict:
        found = view.text.count(".")
        return Verdict(not found, f"found {found} dots" if found else "no dots")


@constraint("punctuation:punctuation_exclamation", benchmark="ifevalg")
class NoExclamation(Constraint):
    """No "!" anywhere."""

    template = ("In your entire response, refrain from the use of ! (i.e. exclamation marks) as punctuation and in "
                "general.")  # fmt: skip

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = ("Do not use any exclamation mark (!) in your answer.",)
    conflicts_with = ("punctuation:punctuation_exclamation",)

    def _check(self, view: TextView) -> Verdict:
        found = view.text.count("!")
        return Verdict(not found, f"found {found} exclamation marks" if found else "no exclamation marks")
