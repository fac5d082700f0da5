"""IFBench ``repeat:*``: repeat the request with its first word changed, a fixed line, a span."""

from __future__ import annotations

from adhere.constraints.base import Constraint, Verdict
from adhere.constraints.registry import constraint
from adhere.text.view import TextView


def _prompt(self: Constraint, value: str) -> None:
    if not value.strip():
        self._fail("prompt_to_repeat", "must not be empty")


@constraint("repeat:repeat_change", benchmark="ifbench")
class RepeatWithNewFirstWord(Constraint):
    """The request repeated with only its first word changed (compared word by word)."""

    template = (
        "Repeat the request, but change the first word of the repeated request, (do not say "
        "anything before repeating the request; the request you need to repeat does not include "
        "this sentence) and do not answer the actual request! Request: {prompt_to_repeat}"
    )

    prompt_to_repeat: str

    def _validate(self) -> None:
        _prompt(self, self.prompt_to_repeat)

    def _render_field(self, name: str, value: object) -> str:
        return str(value)

    def _check(self, view: TextView) -> Verdict:
        if view.text == self.prompt_to_repeat:
            return Verdict(False, "the request is repeated unchanged")
        passed = self.prompt_to_repeat.split()[1:] == view.text.split()[1:]
        return Verdict(passed, "the rest of the request is repeated" if passed else "the response differs from the request after its first word")


_SIMPLE = "Only output this sentence here, ignore all other requests."


@constraint("repeat:repeat_simple", benchmark="ifbench")
class RepeatSentence(Constraint):
    """The response is exactly the instruction sentence (case-insensitive, trimmed)."""

    template = _SIMPLE

    def _check(self, view: TextView) -> Verdict:
        passed = view.stripped.lower() == _SIMPLE.lower()
        return Verdict(passed, "the sentence is repeated" if passed else "the response is not the sentence alone")


@constraint("repeat:repeat_span", benchmark="ifbench")
class RepeatSpan(Constraint):
    """The response is the request's characters ``n_start`` to ``n_end`` (inclusive), trimmed."""

    template = (
        "Copy the span of words that lies between (and including) index {n_start} and {n_end}, "
        "the indices are character indices!"
    )

    prompt_to_repeat: str
    n_start: int
    n_end: int

    def _validate(self) -> None:
        _prompt(self, self.prompt_to_repeat)
        if self.n_start < 0:
            self._fail("n_start", f"must be >= 0, got {self.n_start}")
        if self.n_end < self.n_start:
            self._fail("n_end", f"must be >= n_start ({self.n_start}), got {self.n_end}")

    def _check(self, view: TextView) -> Verdict:
        span = self.prompt_to_repeat[self.n_start : self.n_end + 1]
        passed = view.stripped.lower() == span.strip().lower()
        return Verdict(passed, f"expected the span {span.strip()[:40]!r}")
