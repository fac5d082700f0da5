"""Failed model calls are the run's failure, never the model's: an error budget and a breaker.

A call that failed after its retries is recorded on its row and retried by the next run; its
prompt is not scored as "not followed" as if the model had answered badly. A run ends in one of
three ways:

* every call answered, or no more failed than the error budget allows (``max_failures``, 0 by
  default): it is scored, and exits 0;
* more calls failed than the budget: the answers it has are kept, nothing is scored, and
  ``ModelCallsFailedError`` (exit 1) says how many failed, the first reason, and to rerun;
* ``streak`` calls in a row failed (a dead server, a model that refuses every request): the
  circuit breaker stops the run at once, instead of spending every prompt's retries, and
  ``ModelCallsFailedError`` says so.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from adhere.errors import AdhereError, InputError


class ModelCallsFailedError(AdhereError):
    """Model calls failed (beyond the error budget, or the breaker tripped). Exit code 1."""

    exit_code = 1


@dataclasses.dataclass(frozen=True)
class FailurePolicy:
    """How many failed model calls a run tolerates."""

    max_failures: int = 0
    """Failed calls (after retries) a run may keep and still count as done; their prompts are
    scored as not followed."""
    streak: int = 10
    """Calls failing in a row that stop the run (the circuit breaker)."""

    def __post_init__(self) -> None:
        if isinstance(self.max_failures, bool) or not isinstance(self.max_failures, int) or self.max_failures < 0:
            raise InputError(f"--max-failures must be a whole number >= 0, got {self.max_failures!r}")
        if isinstance(self.streak, bool) or not isinstance(self.streak, int) or self.streak < 1:
            raise InputError(f"the failure streak must be a whole number >= 1, got {self.streak!r}")


class Breaker:
    """Counts calls failing in a row; trips at ``policy.streak`` and then cancels the run's other
    ``tasks`` (its calls in flight). One per run, inside one event loop."""

    def __init__(self, policy: FailurePolicy | None = None):
        self.policy = policy or FailurePolicy()
        self.in_a_row = 0
        self.last_error: str | None = None
        self.tripped = False
        #: The run's tasks, cancelled (all but the one that trips it) when the breaker trips.
        self.tasks: list[asyncio.Task[Any]] = []

    def success(self) -> None:
        self.in_a_row = 0

    def failure(self, error: BaseException | str) -> None:
        """Count a failed call; at the streak, trip and cancel the other tasks."""
        self.in_a_row += 1
        self.last_error = str(error)
        if not self.tripped and self.in_a_row >= self.policy.streak:
            self.tripped = True
            current = asyncio.current_task()
            for task in self.tasks:
                if task is not current:
                    task.cancel()


def check_calls(
    rows: dict[Any, dict[str, Any]], total: int, policy: FailurePolicy, where: Any, breaker: Breaker | None = None
) -> None:
    """Raise ``ModelCallsFailedError`` if the run's rows (by pair) hold more failed calls than the
    budget, or the breaker tripped. ``total``: the responses the run is to make."""
    errors = [row["error"] for row in rows.values() if row.get("response") is None and row.get("error")]
    answered = sum(1 for row in rows.values() if row.get("response") is not None)
    if breaker is not None and breaker.tripped:
        raise ModelCallsFailedError(
            f"stopped after {breaker.in_a_row} model calls in a row failed (last: {_short(breaker.last_error)}); "
            f"{answered} of {total} responses are done and kept in {where}; fix the model or server, "
            "then rerun the same command to resume"
        )
    if len(errors) > policy.max_failures:
        allowed = f" (allowed: {policy.max_failures})" if policy.max_failures else ""
        raise ModelCallsFailedError(
            f"{len(errors)} of {total} model calls failed{allowed} (first: {_short(errors[0])}); "
            f"{answered} responses are kept in {where}; rerun the same command to retry the failed "
            "ones, or pass --max-failures N to score with up to N failed calls"
        )


def _short(text: str | None, limit: int = 200) -> str:
    text = " ".join((text or "unknown error").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
