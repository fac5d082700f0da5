"""IFEval ``startend:*``: end with a phrase; wrap in double quotes."""

from __future__ import annotations

import random
from typing import Any

from adhere.constraints import draws, edits
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

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"end_phrase": rng.choice(draws.END_PHRASES)}

    other_wordings = (
        "End your answer with the exact phrase {end_phrase} and write nothing after it.",
        "Close your response with exactly these words, with nothing after them: {end_phrase}",
    )
    probe_wordings = ("Make {end_phrase} the very last words of your answer, with nothing after them.",)
    repair_edit = staticmethod(edits.add_end_phrase)
    repair_rank = 110

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

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = (
        "Put your whole answer inside double quotation marks.",
        "Enclose the entire response in double quotes.",
    )
    probe_wordings = ("Surround your entire reply with double quotes.",)
    repair_edit = staticmethod(edits.quote)
    repair_rank = 170
    conflicts_with = ("detectable_format:title",)

    def _check(self, view: TextView) -> Verdict:
        value = view.stripped
        if len(value) > 1 and value[0] == '"' and value[-1] == '"':
            return Verdict(True, "wrapped in double quotes")
        return Verdict(False, "not wrapped in double quotes")
