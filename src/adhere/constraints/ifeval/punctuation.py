"""IFEval ``punctuation:no_comma``."""

from __future__ import annotations

from adhere.constraints import draws, edits
from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.registry import constraint
from adhere.text.view import TextView


@constraint("punctuation:no_comma")
class NoComma(Constraint):
    """No ASCII comma anywhere in the response."""

    template = "In your entire response, refrain from the use of any commas."

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = (
        "Do not use any commas in your answer.",
        "Write your response without a single comma.",
    )
    probe_wordings = ("Avoid commas completely in what you write.",)
    repair_edit = staticmethod(edits.no_comma)
    repair_rank = 160

    def _check(self, view: TextView) -> Verdict:
        found = view.text.count(",")
        if found:
            return Verdict(False, f"found {found} comma{'s' if found > 1 else ''}")
        return Verdict(True, "no commas")
