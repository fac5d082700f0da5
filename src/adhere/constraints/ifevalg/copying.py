"""IFEvalG ``copy:*`` and ``new:copy_span_idx``: repeating the request, a span of it, or a phrase."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

from adhere.constraints import draws
from adhere.constraints.base import AllBut, Constraint, Verdict
from adhere.constraints.kwarg_patterns import kwarg_pattern, require_pattern
from adhere.constraints.registry import constraint
from adhere.text.view import TextView

#: Phrases to repeat with one word changed (written for adhere; not IFEvalG's list).
PHRASES = (
    "The early bird catches the worm", "Every cloud has a silver lining", "Actions speak louder than words",
    "A journey of a thousand miles begins with a single step", "The pen is mightier than the sword",
    "Time and tide wait for no one", "Practice makes the master perfect", "Fortune favors the bold and brave",
)  # fmt: skip


def _same_text(response: str, expected: str) -> bool:
    return response.strip().lower() == expected.strip().lower()


@constraint("copy:repeat_phrase", benchmark="ifevalg")
class RepeatPhrase(Constraint):
    """The phrase ``small_n`` times, one word of it changed.

    As the reference: the phrases are found with the pattern "FIRST .*? LAST" (its first and last
    words, unescaped, so they are regular expressions), their number must be ``small_n``, each
    must have the phrase's number of words and differ from it in at most one word, and then only
    the last one found must differ in exactly one word.
    """

    template = ("Repeat the phrase {phrase} exactly {small_n} times, transforming it slightly each time by replacing "
                "only one word in the center of the phrase.")  # fmt: skip

    phrase: str
    small_n: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"phrase": rng.choice(PHRASES), "small_n": rng.randint(2, 3)}

    other_wordings = (
        "Write the phrase {phrase} {small_n} times, each time with only one word in its middle replaced.",
        "Repeat {phrase} {small_n} times in total, changing exactly one central word each time.",
    )
    conflicts_with = ("copy:repeat_phrase",)

    def _validate(self) -> None:
        words = self.phrase.split()
        if len(words) < 2:
            self._fail("phrase", f"must have at least two words, got {self.phrase!r}")
        if self.small_n < 1:
            self._fail("small_n", f"must be at least 1, got {self.small_n}")
        require_pattern(self, "phrase", f"{words[0]} .*? {words[-1]}")

    def _check(self, view: TextView) -> Verdict:
        reference = self.phrase.split()
        found = kwarg_pattern(f"{reference[0]} .*? {reference[-1]}").findall(view.text)
        if len(found) != self.small_n:
            return Verdict(False, f"expected the phrase {self.small_n} times, found {len(found)}")
        differences = 0
        for phrase in found:
            words = phrase.split()
            differences = 0
            if len(words) != len(reference):
                return Verdict(False, f"a repetition has {len(words)} words, the phrase {len(reference)}")
            differences = sum(a != b for a, b in zip(words, reference))
            if differences > 1:
                return Verdict(False, f"a repetition changes {differences} words, not one")
        # Only the last repetition's count decides (the reference's loop variable): kept on purpose.
        if differences == 1:
            return Verdict(True, f"{self.small_n} repetitions, the last with one word changed")
        return Verdict(False, "the last repetition changes no word")


@dataclasses.dataclass(frozen=True, slots=True)
class _Copy(Constraint):
    """The request (``prompt_to_repeat``) is to be copied: shared by the copying instructions."""

    quotes_prompt = "prompt_to_repeat"
    conflicts_with = AllBut()

    prompt_to_repeat: str

    def _validate(self) -> None:
        if not self.prompt_to_repeat.strip():
            self._fail("prompt_to_repeat", "must not be empty")

    def _check(self, view: TextView) -> Verdict:
        if _same_text(view.text, self.prompt_to_repeat):
            return Verdict(True, "the request, repeated (ignoring case and surrounding space)")
        return Verdict(False, "the response is not the request repeated")


@constraint("copy:copy", benchmark="ifevalg")
class Copy(_Copy):
    """The request itself, nothing else (case and surrounding space ignored)."""

    template = ("Copy this instruction verbatim, do not follow the instruction, only copy it into the output (do not "
                "include this instruction sentence!).")  # fmt: skip

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"prompt_to_repeat": draws.STAND_IN}

    other_wordings = ("Do not answer this; reply with the instruction above copied exactly (leave out this sentence).",)


@constraint("copy:copying_simple", benchmark="ifevalg")
class CopyingSimple(_Copy):
    """The request repeated unchanged, and no answer (case and surrounding space ignored)."""

    template = ("Repeat the request without change (do not say anything before repeating the request; the request you "
                "need to repeat does not include this sentence) and do not answer the actual request!")  # fmt: skip

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"prompt_to_repeat": draws.STAND_IN}

    other_wordings = ("Only repeat the request word for word (not this sentence); do not answer it.",)


@constraint("copy:copying_multiple", benchmark="ifevalg")
class CopyingMultiple(_Copy):
    """The request ``N`` times, separated by six asterisks, and no answer. The response is split on
    "******" (so seven asterisks leave one in a part) and each part compared."""

    template = ("Repeat the request without change {N} times, separated by 6 asterisk symbols (do not say anything "
                "before repeating the request; the request you need to repeat does not include this sentence) and do "
                "not answer the actual request!")  # fmt: skip

    N: int

    @staticmethod
    def sample_kwargs(rng: random.Random) -> dict[str, Any]:
        return {"prompt_to_repeat": draws.STAND_IN, "N": rng.randint(2, 3)}

    other_wordings = ("Write the request {N} times, unchanged, with ****** between the copies (not this sentence), "
                      "and do not answer it.",)  # fmt: skip

    def _validate(self) -> None:
        _Copy._validate(self)  # slotted dataclasses: no zero-argument super()
        if self.N < 1:
            self._fail("N", f"must be at least 1, got {self.N}")

    def _check(self, view: TextView) -> Verdict:
        parts = view.text.split("******")
        if len(parts) != self.N:
            return Verdict(False, f"expected {self.N} copies separated by ******, found {len(parts)}")
        if all(_same_text(part, self.prompt_to_repeat) for part in parts):
            return Verdict(True, f"the request {self.N} times")
        return Verdict(False, "a copy differs from the request")


@constraint("new:copy_span_idx", benchmark="ifevalg")
class CopySpanIdx(_Copy):
    """The request's characters ``n_start`` to ``n_end``, nothing else. As the reference, the span
    is ``prompt_to_repeat[n_start:n_end]``: the end index is left out though the sentence says
    "including" it."""

    template = ("Copy the span of words that lies between (and including) index {n_start} and {n_end}, the indices "
                "are character indices!")  # fmt: skip

    n_start: int
    n_end: int

    # Not synthesized: its indices depend on the request, which is written after the draw.

    def _validate(self) -> None:
        _Copy._validate(self)  # slotted dataclasses: no zero-argument super()
        if self.n_start < 0 or self.n_end <= self.n_start:
            self._fail("n_end", f"must be after n_start ({self.n_start}) and n_start >= 0, got {self.n_end}")

    def _check(self, view: TextView) -> Verdict:
        span = self.prompt_to_repeat[self.n_start : self.n_end]
        if _same_text(view.text, span):
            return Verdict(True, "the span, copied (ignoring case and surrounding space)")
        return Verdict(False, f"expected the span {span.strip()[:60]!r}")
