"""Draw more often what a model fails: weights for synthesis from a run's verdicts.

A run of ``adhere eval`` (or a recipe's answer stage) verified a model's answers; for each
constraint id of the pool, the share of its instructions those answers failed (strict) sets its
weight, ``1 + (strength - 1) * failed / seen``: an id the model always fails is drawn ``strength``
times as often as one it always follows, an id the run never asked for keeps weight 1. Weights
given by hand override the derived ones, id by id.

Drawing an id more often only pays where the round can turn its prompts into training rows: an
answer that follows it, or a failed one the verifier-guided repairs can edit (``repair_edit``).
``on="learnable"`` counts the failures that way: an id with a repair edit is weighted as above; one
without is weighted by its failed share times its passed share (the share of its prompts that give
rows), so an id the model never passes and nothing repairs (an n-th paragraph's first word, two
different answers) is not drawn more often for nothing.

Point it at answers to training prompts (the model's own practice), not at a benchmark it will be
measured on: that would tune the data to the test.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from adhere.errors import InputError
from adhere.jsonl import split_lines

if TYPE_CHECKING:
    from adhere.synth.synthesize import SynthConfig

#: The weight of an id every answer failed, unless told otherwise (the default recipe's focus set
#: draws its three ids 6 times as often by hand).
FOCUS_WEIGHT = 6.0

#: What counts as a failure worth drawing more of: every failed instruction, or (learnable) only
#: as much of it as a round can turn into rows (see the module).
FOCUS_ON = ("failed", "learnable")


def check_strength(strength: float, on: str = "failed") -> None:
    """Refuse a focus weight below 1 (it would draw the failed ids less often) or not finite, and
    a way of counting failures that is not one of ``FOCUS_ON``."""
    if not 1 <= strength < float("inf"):
        raise InputError(f"focus_weight must be a number of at least 1, got {strength}")
    if on not in FOCUS_ON:
        raise InputError(f"focus_on must be one of {', '.join(FOCUS_ON)}, got {on!r}")


def _learnable_share(cid: str, failed: int, seen: int) -> float:
    """The share of an id's failures a round can turn into rows: all of them where its class has
    a repair edit; else its passed share (a prompt of it gives a row only when answered right)."""
    from adhere.constraints.registry import get

    return 1.0 if get(cid).repair_edit is not None else (seen - failed) / seen


def failure_counts(run: Path) -> dict[str, tuple[int, int]]:
    """id -> (instructions failed (strict), instructions seen) over a run's ``verdicts.jsonl``."""
    path = run / "verdicts.jsonl"
    if not path.is_file():
        raise InputError(f"focus: {run} has no verdicts.jsonl; give a run directory of adhere eval (or an "
                         "answer stage) that has finished")  # fmt: skip
    counts: dict[str, list[int]] = {}
    for number, line in enumerate(split_lines(path.read_text(encoding="utf-8")), 1):
        try:
            row = json.loads(line)
            ids, followed = row["instruction_id_list"], row["strict"]["follow_instruction_list"]
        except (ValueError, KeyError, TypeError):
            raise InputError(f"focus: {path} line {number} is not a verdict row of adhere eval") from None
        for cid, ok in zip(ids, followed):
            seen = counts.setdefault(cid, [0, 0])
            seen[0] += not ok
            seen[1] += 1
    return {cid: (failed, seen) for cid, (failed, seen) in counts.items()}


def focus_weights(run: Path, pool: Iterable[str], strength: float,
                  given: Mapping[str, float] | None = None, on: str = "failed") -> dict[str, float]:  # fmt: skip
    """The pool's ids weighted by how often the run's answers failed them (see the module), with
    ``given`` weights kept as given; refused when the run asked for none of the pool's ids."""
    check_strength(strength, on)
    counts = failure_counts(run)
    pool = list(pool)
    shared = [cid for cid in pool if cid in counts]
    if not shared:
        raise InputError(f"focus: the answers in {run} carry none of the constraint ids drawn from; "
                         "point focus at answers to prompts of the same ids")  # fmt: skip
    weights = {}
    for cid in shared:
        failed, seen = counts[cid]
        share = failed / seen * (_learnable_share(cid, failed, seen) if on == "learnable" else 1.0)
        weights[cid] = round(1 + (strength - 1) * share, 4)
    weights.update(given or {})
    return {cid: weight for cid, weight in sorted(weights.items()) if weight != 1}


def focused(config: SynthConfig, run: Path, strength: float, on: str = "failed") -> SynthConfig:
    """``config`` drawing by the run's failures over its pool, its own weights kept as given."""
    weights = focus_weights(run, config.pool(), strength, dict(config.weights), on)
    return dataclasses.replace(config, weights=tuple(weights.items()))
