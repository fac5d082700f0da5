"""IFEval ``punctuation:no_comma``."""

from __future__ import annotations

from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.registry import constraint
from adhere.text.view import TextView


@constraint("punctuation:no_comma")
class NoComma(Constraint):
    """No ASCII comma anywhere in the response."""

    template = "In your entire response, refrain from the use of any commas."

    def _check(self, view: TextView) -> Verdict:
        found = view.text.count(",")
        if found:
            return Verdict(False, f"found {found} comma{'s' if found > 1 else ''}")
        return Verdict(True, "no commas")
