"""Pairwise judgments, as AlpacaEval keeps them: win rates of a model against a reference.

An AlpacaEval ``annotations.json`` is a list of judgments, one per instruction: the reference's
output (``output_1``, ``generator_1``), the model's (``output_2``, ``generator_2``) and the judge's
``preference``, from 1 (the reference is better) to 2 (the model is), a probability in between for
weighted annotators such as ``weighted_alpaca_eval_gpt4_turbo``, null where the judge gave none.
The metrics are AlpacaEval's leaderboard columns, computed as AlpacaEval computes them (equal to
its AlpacaEval 2 leaderboard for every model whose annotations are in ``../shared/data``):

- ``win_rate``: the mean of ``preference - 1`` over the judged rows, in percent;
- ``standard_error``: its standard error (sample standard deviation over the square root of n);
- ``n_wins`` / ``n_wins_base`` / ``n_draws``: judgments above / below / at 1.5;
- ``discrete_win_rate``: wins plus half the draws over the judged rows, in percent;
- ``avg_length``: the model's outputs' mean length in characters (AlpacaEval takes it from the
  model's outputs file, which can differ from the annotated outputs by a few characters).

The length-controlled win rate is :mod:`adhere.bench.length_control`'s.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

from adhere.errors import InputError


def read_annotations(path: str | Path) -> list[dict[str, Any]]:
    """An AlpacaEval annotations file (``.json``, or gzipped ``.json.gz``), its judgments checked."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                data = json.load(handle)
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (ValueError, UnicodeDecodeError, EOFError, gzip.BadGzipFile, OSError) as error:
        raise InputError(f"{path}: not an AlpacaEval annotations file (not readable JSON: {error})") from None
    if not isinstance(data, list) or not data:
        raise InputError(f"{path}: not an AlpacaEval annotations file (expected a non-empty list of judgments)")
    for index, row in enumerate(data):
        if not isinstance(row, dict) or "preference" not in row:
            raise InputError(f"{path}: judgment {index} has no 'preference' (AlpacaEval's annotations.json rows "
                             "have instruction, output_1, output_2, preference)")  # fmt: skip
        preference = row["preference"]
        if _missing(preference):
            continue
        if isinstance(preference, bool) or not isinstance(preference, (int, float)) or not 1 <= preference <= 2:
            raise InputError(f"{path}: judgment {index}: preference must be between 1 (the reference is better) and "
                             f"2 (the model is), or null; got {preference!r}")  # fmt: skip
    return data


def _missing(preference: Any) -> bool:
    """No preference: null in the JSON, or NaN (as pandas writes a missing one)."""
    return preference is None or (isinstance(preference, float) and math.isnan(preference))


def winrate(annotations: list[dict[str, Any]]) -> dict[str, Any]:
    """AlpacaEval's leaderboard metrics of one model's judgments (see the module's docstring)."""
    judged = [float(r["preference"]) - 1 for r in annotations if not _missing(r["preference"])]
    n = len(judged)
    if n == 0:
        raise InputError("no judgment has a preference: nothing to compute a win rate from")
    mean = math.fsum(judged) / n
    spread = math.sqrt(math.fsum((x - mean) ** 2 for x in judged) / (n - 1)) if n > 1 else float("nan")
    wins = sum(x > 0.5 for x in judged)
    losses = sum(x < 0.5 for x in judged)
    draws = n - wins - losses
    outputs = [r.get("output_2") for r in annotations if isinstance(r.get("output_2"), str)]
    generators = sorted({str(r["generator_2"]) for r in annotations if r.get("generator_2") is not None})
    references = sorted({str(r["generator_1"]) for r in annotations if r.get("generator_1") is not None})
    return {
        "model": ", ".join(generators) or None,
        "reference": ", ".join(references) or None,
        "win_rate": mean * 100,
        "standard_error": spread / math.sqrt(n) * 100,
        "n_wins": wins,
        "n_wins_base": losses,
        "n_draws": draws,
        "n_total": n,
        "not_judged": len(annotations) - n,
        "discrete_win_rate": (wins + 0.5 * draws) / n * 100,
        "avg_length": int(sum(map(len, outputs)) / len(outputs)) if outputs else None,
    }
