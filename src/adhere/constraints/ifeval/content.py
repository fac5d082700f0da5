"""IFEval ``detectable_content:*``: placeholders and postscripts."""

from __future__ import annotations

import functools
import random
import re
from typing import Any

from adhere.constraints import edits
from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.ifeval.patterns import count_placeholders
from adhere.constraints.kwarg_patterns import (
    KwargPattern,
    kwarg_pattern,
    require_pattern,
)
from adhere.constraints.registry import constraint
from adhere.text.view import TextView


@constraint("detectable_content:number_placeholders")
class NumberOfPlaceholders(Constraint):
    """At least N placeholders in square brackets, such as ``[address]``."""

    template = (
        "The response must contain at least {num_placeholders} placeholders represented by square "
        "brackets, such as [address]."
    )

    num_placeholders: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"num_placeholders": rng.randint(1, 4)}

    other_wordings = (
        "Include at least {num_placeholders} placeholders in square brackets, like [name].",
        "Your answer should have {num_placeholders} or more bracketed placeholders such as [date].",
    )
    probe_wordings = ("Leave at least {num_placeholders} fill-in-the-blank spots written in square brackets, for example [city].",)  # fmt: skip
    repair_edit = staticmethod(edits.placeholders)
    repair_rank = 90

    def _validate(self) -> None:
        if self.num_placeholders < 0:
            self._fail("num_placeholders", "must be >= 0")

    def _check(self, view: TextView) -> Verdict:
        found = count_placeholders(view.text)
        return Verdict(
            found >= self.num_placeholders,
            f"expected at least {self.num_placeholders} placeholders, found {found}",
        )


@functools.lru_cache(maxsize=256)
def _marker_pattern(marker: str) -> re.Pattern[str] | KwargPattern:
    # The reference matches r"\s*<marker>.*$" (MULTILINE) on the lowercased text; the leading
    # \s* and trailing .*$ never constrain a match, so a search for the marker alone gives the
    # same answer in linear time. Its two built-in markers get tolerant patterns, other markers
    # are used as regular expressions, unescaped (reference quirk).
    if marker == "P.P.S":
        return re.compile(r"p\.\s?p\.\s?s")
    if marker == "P.S.":
        return re.compile(r"p\.\s?s\.")
    return kwarg_pattern(marker.lower())


@constraint("detectable_content:postscript")
class Postscript(Constraint):
    """A postscript starting with the marker (``P.S.``, ``P.P.S`` ...) appears somewhere."""

    template = (
        "At the end of your response, please explicitly add a postscript starting with "
        "{postscript_marker}"
    )

    postscript_marker: str

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"postscript_marker": rng.choice(("P.S.", "P.P.S"))}

    other_wordings = (
        "End your answer with a postscript that begins with {postscript_marker}",
        "Add a postscript at the very end, starting with {postscript_marker}",
    )
    probe_wordings = ("Finish with a postscript that opens with {postscript_marker}",)
    repair_edit = staticmethod(edits.add_postscript)
    repair_rank = 100

    def _validate(self) -> None:
        if not self.postscript_marker.strip():
            self._fail("postscript_marker", "must not be empty")
        require_pattern(self, "postscript_marker", self.postscript_marker.strip().lower())

    def _check(self, view: TextView) -> Verdict:
        marker = self.postscript_marker.strip()
        if _marker_pattern(marker).search(view.lower):
            return Verdict(True, f"found postscript marker {marker!r}")
        return Verdict(False, f"no postscript starting with {marker!r}")
