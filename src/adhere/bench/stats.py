"""Confidence intervals and significance tests over prompts, computed once for JSON, terminal and HTML.

Each prompt is one unit: its instructions are resampled together (a cluster bootstrap), since
the instructions of one prompt are answered by one response and are not independent.

* ``bootstrap_intervals``: percentile bootstrap 95% intervals of the four IFEval accuracies.
* ``paired_comparison``: for two runs over the same prompts, each accuracy's difference with a
  paired bootstrap interval and p-value (both runs resampled with the same prompts), and McNemar's
  exact test on the prompt-level outcomes.

Resampling is seeded, so the same verdicts always give the same intervals.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

#: The four headline metrics, in IFEval's order.
METRICS = ("prompt_level_strict", "instruction_level_strict", "prompt_level_loose", "instruction_level_loose")

RESAMPLES = 1000
SEED = 0
LEVEL = 0.95
#: Above this many prompts the bootstrap would take minutes, and the normal approximation (delta
#: method for a ratio of sums) agrees with it to the third decimal: use that instead.
BOOTSTRAP_MAX_PROMPTS = 200_000
# Index draws per chunk: bounds memory (8 bytes each) whatever the number of prompts.
_CHUNK_DRAWS = 4_000_000


@dataclasses.dataclass(frozen=True)
class Outcomes:
    """Per-prompt counts: instructions, and how many were followed strict and loose."""

    instructions: Sequence[int]
    strict: Sequence[int]
    loose: Sequence[int]

    def __post_init__(self) -> None:
        if not len(self.instructions) == len(self.strict) == len(self.loose):
            raise ValueError("outcome sequences differ in length")

    def __len__(self) -> int:
        return len(self.instructions)

    def point(self) -> dict[str, float | None]:
        n = sum(self.instructions)
        prompts = len(self)
        return {
            "prompt_level_strict": _ratio(sum(k == m for k, m in zip(self.strict, self.instructions)), prompts),
            "instruction_level_strict": _ratio(sum(self.strict), n),
            "prompt_level_loose": _ratio(sum(k == m for k, m in zip(self.loose, self.instructions)), prompts),
            "instruction_level_loose": _ratio(sum(self.loose), n),
        }


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _arrays(outcomes: Outcomes) -> Any:
    import numpy as np

    n = np.asarray(outcomes.instructions, dtype=np.int64)
    strict = np.asarray(outcomes.strict, dtype=np.int64)
    loose = np.asarray(outcomes.loose, dtype=np.int64)
    # One row per metric: (numerator per prompt, denominator per prompt).
    return [
        ((strict == n).astype(np.int64), np.ones_like(n)),
        (strict, n),
        ((loose == n).astype(np.int64), np.ones_like(n)),
        (loose, n),
    ]


def _resampled(columns: list[Any], prompts: int, resamples: int, seed: int) -> Any:
    """A (resamples, metrics) array of every metric on each bootstrap resample of the prompts."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = np.empty((resamples, len(columns)))
    per_chunk = max(1, min(resamples, _CHUNK_DRAWS // max(prompts, 1)))
    done = 0
    while done < resamples:
        size = min(per_chunk, resamples - done)
        index = rng.integers(0, prompts, size=(size, prompts))
        for m, (num, den) in enumerate(columns):
            totals = den[index].sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[done : done + size, m] = num[index].sum(axis=1) / totals
        done += size
    return out


def _percentile_interval(values: Any, level: float) -> list[float] | None:
    import numpy as np

    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return [float(low), float(high)]


def bootstrap_intervals(
    outcomes: Outcomes, *, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> dict[str, Any]:
    """Percentile bootstrap intervals of the four accuracies (resampling prompts)."""
    intervals: dict[str, Any] = {"method": "percentile bootstrap over prompts", "resamples": resamples,
                                 "seed": seed, "level": level}  # fmt: skip
    if len(outcomes) == 0:
        return {**intervals, **{m: None for m in METRICS}}
    if len(outcomes) > BOOTSTRAP_MAX_PROMPTS:
        intervals["method"] = f"normal approximation over prompts (more than {BOOTSTRAP_MAX_PROMPTS} prompts)"
        for metric, (num, den) in zip(METRICS, _arrays(outcomes)):
            intervals[metric] = _normal_interval(num, den, level)
        return intervals
    draws = _resampled(_arrays(outcomes), len(outcomes), resamples, seed)
    for m, metric in enumerate(METRICS):
        intervals[metric] = _percentile_interval(draws[:, m], level)
    return intervals


def bootstrap_mean_interval(
    values: Sequence[float], *, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> list[float] | None:
    """Percentile bootstrap interval of the mean of ``values`` (e.g. per-conversation PIF)."""
    import numpy as np

    if not values:
        return None
    num = np.asarray(values, dtype=float)
    draws = _resampled([(num, np.ones_like(num))], len(num), resamples, seed)
    return _percentile_interval(draws[:, 0], level)


def _normal_interval(num: Any, den: Any, level: float) -> list[float] | None:
    """Delta-method interval of ``sum(num) / sum(den)`` over independent prompts."""
    from statistics import NormalDist

    total = float(den.sum())
    if total == 0:
        return None
    ratio = float(num.sum()) / total
    residual = num - ratio * den
    count = len(num)
    se = math.sqrt(float((residual.astype(float) ** 2).sum()) / count / (count - 1 or 1)) * count / total
    z = NormalDist().inv_cdf(0.5 + level / 2)
    return [ratio - z * se, ratio + z * se]


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value from the discordant pairs (binomial test, p = 1/2)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    # P(X <= k) for X ~ Binomial(n, 1/2), summed in log space (n can be large).
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    top = max(logs)
    tail = math.exp(top) * sum(math.exp(v - top) for v in logs)
    return min(1.0, 2 * tail)


def paired_comparison(
    a: Outcomes, b: Outcomes, *, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> dict[str, Any]:
    """Differences ``b - a`` of the four accuracies over the same prompts (same order), tested.

    Per metric: the difference, a paired percentile bootstrap interval, and a two-sided bootstrap
    p-value (how often a resample's difference falls on the other side of zero, doubled). For the
    prompt-level metrics also McNemar's exact test, with its discordant counts.
    """
    import numpy as np

    if len(a) != len(b):
        raise ValueError("paired runs must cover the same prompts")
    result: dict[str, Any] = {"prompts": len(a), "method": "paired percentile bootstrap over prompts",
                              "resamples": resamples, "seed": seed, "level": level, "metrics": {}}  # fmt: skip
    if len(a) == 0:
        return result
    point_a, point_b = a.point(), b.point()
    columns = []
    for (num_a, den_a), (num_b, den_b) in zip(_arrays(a), _arrays(b)):
        columns += [(num_a, den_a), (num_b, den_b)]
    draws = _resampled(columns, len(a), resamples, seed)
    for m, metric in enumerate(METRICS):
        deltas = draws[:, 2 * m + 1] - draws[:, 2 * m]
        deltas = deltas[~np.isnan(deltas)]
        delta = None if point_a[metric] is None or point_b[metric] is None else point_b[metric] - point_a[metric]
        entry: dict[str, Any] = {"a": point_a[metric], "b": point_b[metric], "delta": delta,
                                 "interval": _percentile_interval(deltas, level)}  # fmt: skip
        if delta is not None and deltas.size:
            below = int((deltas <= 0).sum())
            above = int((deltas >= 0).sum())
            entry["p_bootstrap"] = min(1.0, 2 * (min(below, above) + 1) / (deltas.size + 1))
        if metric.startswith("prompt_level"):
            mode = metric.rsplit("_", 1)[1]
            pass_a = [k == n for k, n in zip(getattr(a, mode), a.instructions)]
            pass_b = [k == n for k, n in zip(getattr(b, mode), b.instructions)]
            only_a = sum(x and not y for x, y in zip(pass_a, pass_b))
            only_b = sum(y and not x for x, y in zip(pass_a, pass_b))
            entry["mcnemar"] = {"only_a": only_a, "only_b": only_b, "p": mcnemar_exact(only_a, only_b)}
        result["metrics"][metric] = entry
    return result
