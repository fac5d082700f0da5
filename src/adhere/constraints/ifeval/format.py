"""IFEval ``detectable_format:*``: bullets, constrained answers, highlights, sections, JSON, title."""

from __future__ import annotations

import json
import random
import re
from typing import Any

from adhere.constraints import draws, edits
from adhere.constraints.base import AllBut, Constraint, Verdict
from adhere.constraints.ifeval.patterns import count_line_items, titles
from adhere.constraints.kwarg_patterns import (
    kwarg_pattern,
    require_pattern,
)
from adhere.constraints.registry import constraint
from adhere.text.view import TextView

#: IFEval's fixed answer options for ``detectable_format:constrained_response``.
CONSTRAINED_RESPONSE_OPTIONS = ("My answer is yes.", "My answer is no.", "My answer is maybe.")

_HIGHLIGHT = re.compile(r"\*[^\n\*]*\*")
_DOUBLE_HIGHLIGHT = re.compile(r"\*\*[^\n\*]*\*\*")


@constraint("detectable_format:number_bullet_lists")
class NumberOfBullets(Constraint):
    """Exactly N markdown bullet points (lines starting with ``* `` or ``-``)."""

    template = (
        "Your answer must contain exactly {num_bullets} bullet points. "
        "Use the markdown bullet points such as:\n* This is point 1. \n* This is point 2"
    )

    num_bullets: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"num_bullets": rng.randint(2, 5)}

    other_wordings = (
        "Use exactly {num_bullets} markdown bullet points (lines starting with *) in your answer.",
        (
            "Your answer should be a list of exactly {num_bullets} bullets, each line beginning with an asterisk, "
            "like:\n* first point\n* second point"
        ),
    )
    probe_wordings = ("Present exactly {num_bullets} points as a markdown list whose items start with *.",)
    repair_edit = staticmethod(edits.bullets)
    repair_rank = 50

    def _validate(self) -> None:
        if self.num_bullets < 0:
            self._fail("num_bullets", "must be >= 0")

    def _check(self, view: TextView) -> Verdict:
        # Reference quirk: any line starting with "-" counts, so a "---" rule is a bullet.
        found = count_line_items(view.text, "*", "*") + count_line_items(view.text, "-", None)
        return Verdict(
            found == self.num_bullets, f"expected exactly {self.num_bullets} bullets, found {found}"
        )


@constraint("detectable_format:constrained_response")
class ConstrainedResponse(Constraint):
    """The answer contains one of "My answer is yes./no./maybe."."""

    template = f"Answer with one of the following options: {CONSTRAINED_RESPONSE_OPTIONS}"

    # Never synthesized: it fixes the whole answer.
    conflicts_with = AllBut()

    def _check(self, view: TextView) -> Verdict:
        for option in CONSTRAINED_RESPONSE_OPTIONS:
            if option in view.stripped:
                return Verdict(True, f"contains {option!r}")
        return Verdict(False, "contains none of the allowed answers")


@constraint("detectable_format:number_highlighted_sections")
class NumberOfHighlights(Constraint):
    """At least N sections highlighted with markdown, ``*like this*``."""

    template = (
        "Highlight at least {num_highlights} sections in your answer with markdown, "
        "i.e. *highlighted section*."
    )

    num_highlights: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"num_highlights": rng.randint(1, 4)}

    other_wordings = (
        "Highlight at least {num_highlights} parts of your answer with markdown, e.g. *important part*.",
        "Use markdown to emphasize {num_highlights} or more sections, like *this one*.",
    )
    probe_wordings = ("Mark at least {num_highlights} passages in markdown italics, like *this passage*.",)
    repair_edit = staticmethod(edits.highlights)
    repair_rank = 120

    def _validate(self) -> None:
        if self.num_highlights < 0:
            self._fail("num_highlights", "must be >= 0")

    def _check(self, view: TextView) -> Verdict:
        # The reference counts *a* with one pattern and **a** with the other (where the first
        # only sees the empty "**" pairs); a highlight that is only whitespace does not count.
        found = sum(1 for h in _HIGHLIGHT.findall(view.text) if h.strip("*").strip())
        found += sum(
            1
            for h in _DOUBLE_HIGHLIGHT.findall(view.text)
            if h.removeprefix("**").removesuffix("**").strip()
        )
        return Verdict(
            found >= self.num_highlights,
            f"expected at least {self.num_highlights} highlighted sections, found {found}",
        )


def _section_pattern(spliter: str) -> str:
    # The splitter is used as a regular expression, unescaped (reference quirk).
    return r"\s?" + spliter + r"\s?\d+\s?"


@constraint("detectable_format:multiple_sections")
class MultipleSections(Constraint):
    """At least N sections, each starting with "<splitter> <number>" (e.g. "SECTION 1")."""

    template = (
        "Your response must have {num_sections} sections. Mark the beginning of each section with "
        "{section_spliter} X, such as:\n{section_spliter} 1\n[content of section 1]\n"
        "{section_spliter} 2\n[content of section 2]"
    )

    section_spliter: str  # sic: IFEval's own spelling of the kwarg
    num_sections: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"section_spliter": rng.choice(("Section", "SECTION")), "num_sections": rng.randint(2, 5)}

    other_wordings = (
        (
            "Split your answer into {num_sections} sections, starting each one with {section_spliter} and its "
            "number ({section_spliter} 1, {section_spliter} 2, and so on)."
        ),
        "Organize the response into {num_sections} parts, each introduced by a line such as {section_spliter} 1.",
    )
    probe_wordings = ("Break the answer into {num_sections} sections, each headed by {section_spliter} and its number.",)  # fmt: skip
    repair_edit = staticmethod(edits.sections)
    repair_rank = 40
    conflicts_with = ("language:response_language", "detectable_format:number_highlighted_sections")

    def _validate(self) -> None:
        if not self.section_spliter.strip():
            self._fail("section_spliter", "must not be empty")
        if self.num_sections < 0:
            self._fail("num_sections", "must be >= 0")
        require_pattern(self, "section_spliter", _section_pattern(self.section_spliter.strip()))

    def _check(self, view: TextView) -> Verdict:
        spliter = self.section_spliter.strip()
        found = len(kwarg_pattern(_section_pattern(spliter)).split(view.text)) - 1
        return Verdict(
            found >= self.num_sections,
            f"expected at least {self.num_sections} '{spliter} N' sections, found {found}",
        )


@constraint("detectable_format:json_format")
class JsonFormat(Constraint):
    """The whole output parses as JSON, optionally inside a markdown code fence."""

    template = (
        "Entire output should be wrapped in JSON format. You can use markdown ticks such as ```."
    )

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = (
        "Format your entire answer as JSON; wrapping it in markdown code ticks is fine.",
        "Your whole reply must be valid JSON, with nothing outside it.",
    )
    probe_wordings = ("Return everything as JSON; markdown code fences around it are allowed.",)
    repair_edit = staticmethod(edits.json_object)
    repair_rank = 180
    conflicts_with = AllBut("keywords:forbidden_words", "keywords:existence")

    def _check(self, view: TextView) -> Verdict:
        value = (
            view.stripped.removeprefix("```json")
            .removeprefix("```Json")
            .removeprefix("```JSON")
            .removeprefix("```")
            .removesuffix("```")
            .strip()
        )
        try:
            json.loads(value)
        except ValueError as error:
            return Verdict(False, f"not valid JSON: {str(error).split(':')[0]}")
        except RecursionError:
            # json.loads gives up on very deep nesting; the reference would crash here.
            return Verdict(False, "not valid JSON: nested too deeply to parse")
        return Verdict(True, "valid JSON")


@constraint("detectable_format:title")
class Title(Constraint):
    """A title wrapped in double angular brackets, such as ``<<poem of joy>>``."""

    template = (
        "Your answer must contain a title, wrapped in double angular brackets, such as "
        "<<poem of joy>>."
    )

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = (
        "Give your answer a title in double angular brackets, like <<my title>>.",
        "Start with a title wrapped in << and >>, for example <<a day at sea>>.",
    )
    probe_wordings = ("Include a title inside double angle brackets, such as <<the title>>.",)
    repair_edit = staticmethod(edits.title)
    repair_rank = 70

    def _check(self, view: TextView) -> Verdict:
        for title in titles(view.text):
            if title.lstrip("<").rstrip(">").strip():
                return Verdict(True, f"found title {title[:60]!r}")
        return Verdict(False, "no non-empty <<title>> found")
