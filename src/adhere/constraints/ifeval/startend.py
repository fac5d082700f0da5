"""IFEval ``startend:*``: end with a phrase; wrap in double quotes."""

from __future__ import annotations

from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.registry import constraint
from adhere.text.view import TextView


@constraint("startend:end_checker")
class EndPhrase(Constraint):
    """The response ends with the exact phrase (ignoring case and surrounding double quotes)."""

    template = (
        "Finish your response with this exact phrase {end_phrase}. "
        "No other words should follow this phrase."
    )

    end_phrase: str

    def _validate(self) -> None:
        if not self.end_phrase.strip():
            self._fail("end_phrase", "must not be empty")

    def _check(self, view: TextView) -> Verdict:
        phrase = self.end_phrase.strip().lower()
        if view.stripped.strip('"').lower().endswith(phrase):
            return Verdict(True, f"ends with {self.end_phrase.strip()!r}")
        return Verdict(False, f"does not end with {self.end_phrase.strip()!r}")


@constraint("startend:quotation")
class Quotation(Constraint):
    """The whole response is wrapped in double quotation marks."""

    template = "Wrap your entire response with double quotation marks."

    def _check(self, view: TextView) -> Verdict:
        value = view.stripped
        if len(value) > 1 and value[0] == '"' and value[-1] == '"':
            return Verdict(True, "wrapped in double quotes")
        return Verdict(False, "not wrapped in double quotes")
