"""Accuracies of a scored run: computed once, serialised to JSON, rendered to the terminal."""

from __future__ import annotations

import array
import dataclasses
from collections.abc import Sequence
from typing import Any

from adhere.bench.stats import Outcomes, bootstrap_intervals


@dataclasses.dataclass
class Tally:
    """``correct`` out of ``total``."""

    correct: int = 0
    total: int = 0

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.total if self.total else None

    def add(self, passed: bool) -> None:
        self.correct += bool(passed)
        self.total += 1

    def to_dict(self) -> dict[str, Any]:
        return {"correct": self.correct, "total": self.total, "accuracy": self.accuracy}


@dataclasses.dataclass
class ModeScores:
    """Prompt-level, instruction-level and per-instruction-id accuracy under one mode."""

    prompt: Tally = dataclasses.field(default_factory=Tally)
    instruction: Tally = dataclasses.field(default_factory=Tally)
    per_id: dict[str, Tally] = dataclasses.field(default_factory=dict)

    def add(self, ids: Sequence[str], followed: Sequence[bool]) -> None:
        self.prompt.add(all(followed))
        for cid, passed in zip(ids, followed):
            self.instruction.add(passed)
            self.per_id.setdefault(cid, Tally()).add(passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "prompt_level": self.prompt.to_dict(),
            "instruction_level": self.instruction.to_dict(),
            "per_instruction_id": {k: self.per_id[k].to_dict() for k in sorted(self.per_id)},
        }


@dataclasses.dataclass
class Summary:
    """Everything ``summary.json`` holds about a scored run."""

    benchmark: str
    strict: ModeScores = dataclasses.field(default_factory=ModeScores)
    loose: ModeScores = dataclasses.field(default_factory=ModeScores)
    missing_responses: list[Any] = dataclasses.field(default_factory=list)
    unmatched_responses: int = 0
    #: Rows left out because they could not be scored (``--skip-invalid``): their error lines.
    rejected_rows: list[str] = dataclasses.field(default_factory=list)
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """More sections for summary.json (e.g. the generation cost of an `adhere eval` run)."""
    # Per prompt: instructions, and how many were followed strict and loose (12 bytes a prompt),
    # for confidence intervals and paired tests.
    _instructions: array.array = dataclasses.field(default_factory=lambda: array.array("I"), repr=False)
    _strict: array.array = dataclasses.field(default_factory=lambda: array.array("I"), repr=False)
    _loose: array.array = dataclasses.field(default_factory=lambda: array.array("I"), repr=False)
    _intervals_cache: tuple[int, dict[str, Any]] | None = dataclasses.field(default=None, repr=False)

    @property
    def prompts(self) -> int:
        return self.strict.prompt.total

    def add(self, ids: Sequence[str], strict: Sequence[bool], loose: Sequence[bool]) -> None:
        self.strict.add(ids, strict)
        self.loose.add(ids, loose)
        self._instructions.append(len(ids))
        self._strict.append(sum(map(bool, strict)))
        self._loose.append(sum(map(bool, loose)))

    def outcomes(self) -> Outcomes:
        """Per-prompt counts, in the order the prompts were added."""
        return Outcomes(self._instructions, self._strict, self._loose)

    def intervals(self) -> dict[str, Any]:
        """95% bootstrap confidence intervals of the four accuracies (computed once)."""
        if self._intervals_cache is None or self._intervals_cache[0] != self.prompts:
            self._intervals_cache = (self.prompts, bootstrap_intervals(self.outcomes()))
        return self._intervals_cache[1]

    def accuracies(self) -> dict[str, float | None]:
        """IFEval's four headline numbers."""
        return {
            "prompt_level_strict": self.strict.prompt.accuracy,
            "instruction_level_strict": self.strict.instruction.accuracy,
            "prompt_level_loose": self.loose.prompt.accuracy,
            "instruction_level_loose": self.loose.instruction.accuracy,
        }

    def warnings(self) -> list[str]:
        out = []
        if self.missing_responses:
            shown = ", ".join(str(k) for k in self.missing_responses[:5])
            more = f" and {len(self.missing_responses) - 5} more" if len(self.missing_responses) > 5 else ""
            out.append(
                f"{len(self.missing_responses)} prompt(s) had no response and were scored as "
                f"not followed: keys {shown}{more}"
            )
        if self.unmatched_responses:
            out.append(f"{self.unmatched_responses} response(s) matched no input prompt and were ignored")
        if self.rejected_rows:
            shown = "; ".join(self.rejected_rows[:3])
            more = f"; and {len(self.rejected_rows) - 3} more (summary.json's rejected_rows)" if len(self.rejected_rows) > 3 else ""
            out.append(f"{len(self.rejected_rows)} row(s) could not be scored and were left out (--skip-invalid): "
                       f"{shown}{more}")  # fmt: skip
        cost = self.extra.get("cost") or {}
        if cost.get("cut_off_responses"):
            out.append(
                f"{cost['cut_off_responses']} of {cost.get('responses')} response(s) were cut off at max_tokens "
                f"{cost.get('max_tokens')}: instructions on how an answer ends (an end phrase, quotes, a postscript, "
                "JSON) fail on them; raise --max-tokens to score the model rather than the limit"
            )
        if cost.get("unfinished_reasoning"):
            out.append(
                f"{cost['unfinished_reasoning']} of {cost.get('responses')} response(s) ended inside the model's reasoning, "
                f"before any answer (scored as an empty answer): raise --max-tokens (now {cost.get('max_tokens')}), "
                "or turn the reasoning off (e.g. -M 'extra_body={chat_template_kwargs={enable_thinking=false}}')"
            )
        if self.extra.get("earlier_runtimes"):
            out.append(
                f"the run was resumed on another runtime ({self.extra['earlier_runtimes']} other(s) in config.json's "
                "earlier_runtimes): its answers come from more than one, and greedy answers can differ between them"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "prompts": self.prompts,
            "instructions": self.strict.instruction.total,
            "accuracy": self.accuracies(),
            "confidence_intervals": self.intervals(),
            "strict": self.strict.to_dict(),
            "loose": self.loose.to_dict(),
            "missing_responses": list(self.missing_responses),
            "unmatched_responses": self.unmatched_responses,
            "rejected_rows": list(self.rejected_rows),
            "warnings": self.warnings(),
            **self.extra,
        }
