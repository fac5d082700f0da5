"""IFEval ``combination:*``: two responses; repeat the prompt, then answer."""

from __future__ import annotations

import random
from typing import Any

from adhere.constraints import draws, edits
from adhere.constraints.base import AllBut, Constraint, Verdict
from adhere.constraints.registry import constraint
from adhere.text.view import TextView


@constraint("combination:two_responses")
class TwoResponses(Constraint):
    """Exactly two different responses separated by ``******``."""

    template = (
        "Give two different responses. Responses and only responses should be separated by "
        "6 asterisk symbols: ******."
    )

    sample_kwargs = staticmethod(draws.no_kwargs)
    other_wordings = (
        "Write two different answers, separated by a line of six asterisks (******) and by nothing else.",
        "Provide two distinct responses, with ****** between them as the only separator.",
    )
    probe_wordings = ("Give me two separate answers, divided by six asterisks (******) and by nothing else.",)
    conflicts_with = AllBut(
        "keywords:forbidden_words", "keywords:existence", "language:response_language",
        "detectable_format:title", "punctuation:no_comma",
    )  # fmt: skip

    def _check(self, view: TextView) -> Verdict:
        parts = view.text.split("******")
        valid = []
        for index, part in enumerate(parts):
            if part.strip():
                valid.append(part)
            elif index not in (0, len(parts) - 1):
                return Verdict(False, f"part {index + 1} between two separators is empty")
        if len(valid) != 2:
            return Verdict(False, f"expected 2 responses separated by ******, found {len(valid)}")
        if valid[0].strip() == valid[1].strip():
            return Verdict(False, "the two responses are identical")
        return Verdict(True, "two different responses")


@constraint("combination:repeat_prompt")
class RepeatPrompt(Constraint):
    """The response starts by repeating the request word for word (ignoring case)."""

    template = (
        "First repeat the request word for word without change, then give your answer "
        "(1. do not say any words or characters before repeating the request; 2. the request "
        "you need to repeat does not include this sentence)"
    )

    prompt_to_repeat: str

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"prompt_to_repeat": draws.STAND_IN}

    quotes_prompt = "prompt_to_repeat"
    other_wordings = (
        (
            "Before answering, repeat the request above word for word (say nothing before it, and do not repeat "
            "this sentence), then give your answer."
        ),
        (
            "Start by copying the request exactly as written, without this sentence and with nothing before it; "
            "then answer it."
        ),
    )
    leading_wordings = (
        "Repeat the request below word for word before you answer it, and say nothing before the repeated request.",
        "First copy the request that follows exactly as it is written, then give your answer. Nothing may come "
        "before the copy.",
        "For the request below, start your reply with the request itself, unchanged, and only then answer it.",
    )
    probe_wordings = ("Echo my request verbatim first (leaving out this sentence, with nothing before it), and only then answer it.",)  # fmt: skip
    repair_edit = staticmethod(edits.prepend_request)
    repair_rank = 80
    conflicts_with = AllBut("keywords:existence", "detectable_format:title", "punctuation:no_comma")

    def _validate(self) -> None:
        if not self.prompt_to_repeat:
            self._fail("prompt_to_repeat", "must not be empty")

    def _check(self, view: TextView) -> Verdict:
        if view.stripped.lower().startswith(self.prompt_to_repeat.strip().lower()):
            return Verdict(True, "starts with the repeated request")
        return Verdict(False, "does not start with the request repeated word for word")
