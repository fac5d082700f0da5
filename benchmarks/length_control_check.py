"""adhere's length-controlled win rate against AlpacaEval's own code, on the same inputs; and how far
adhere's offline LC lands from the AlpacaEval 2 leaderboard's.

1. Protocol equality. AlpacaEval's ``get_length_controlled_winrate`` (the alpaca-eval package,
   installed in the benchmark environment) downloads two files from the Hub: the instruction
   difficulties and the gamed baselines' judgments (``df_gamed.csv``). Here its download is pointed
   at local files instead: difficulties fitted by adhere on the annotations in
   ``../shared/data/alpaca_eval`` and, as stand-in gamed rows (the real ones are not offline), the
   judgments of gpt-3.5-turbo-1106's concise and verbose variants. Both programs get the same
   inputs; for every model in the folder, under ``length_controlled_noreg`` and
   ``length_controlled_v1``, the script prints both LC win rates, their standard errors and the
   largest difference, and fails if any differs by more than 1e-6 points.
2. Distance to the leaderboard: adhere's LC (difficulties fitted on the folder's 12 models, no gamed
   rows) beside the leaderboard's, and the concise / default / verbose variants' raw and LC win rates.

Usage: .venv-bench/bin/python benchmarks/length_control_check.py
"""

from __future__ import annotations

import csv
import math
import os
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from adhere.bench.length_control import (
    fit_difficulty,
    length_controlled,
    length_features,
    preference_of,
)
from adhere.bench.pairwise import read_annotations, winrate

SHARED = Path(os.environ.get("ADHERE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
ALPACA = SHARED / "data" / "alpaca_eval"
STAND_INS = ("gpt-3.5-turbo-1106_concise", "gpt-3.5-turbo-1106_verbose")


def gamed_rows(sets: dict, difficulty: list[float]) -> np.ndarray:
    """Stand-in gamed rows, in df_gamed.csv's columns: preference, std_delta_len, instruction_difficulty."""
    rows = []
    for name in STAND_INS:
        lengths = length_features(sets[name])
        for i, (row, length) in enumerate(zip(sets[name], lengths)):
            p = preference_of(row)
            rows.append((name, i, np.nan if p is None else p, length, difficulty[i]))
    return rows


def alpaca_eval_lc(annotations: list[dict], glm: str, gamed_csv: Path, difficulty_csv: Path) -> dict:
    import pandas as pd
    from alpaca_eval.metrics import glm_winrate

    files = {"df_gamed.csv": str(gamed_csv), "instruction_difficulty.csv": str(difficulty_csv)}
    glm_winrate.hf_hub_download = lambda repo_id, filename, **kwargs: files[filename]
    frame = pd.DataFrame(annotations)
    return glm_winrate.get_length_controlled_winrate(frame, glm_name=glm, save_weights_dir=None,
                                                     is_warn_extreme_changes=False)  # fmt: skip


def main() -> int:
    warnings.simplefilter("ignore", FutureWarning)  # AlpacaEval's penalty="l1", deprecated in scikit-learn 1.8
    models = sorted(p.name.removesuffix(".json.gz") for p in (ALPACA / "annotations").glob("*.json.gz"))
    sets = {m: read_annotations(ALPACA / "annotations" / f"{m}.json.gz") for m in models}
    fitted = fit_difficulty(list(sets.values()))
    order = [r["instruction"] for r in sets[models[0]]]
    difficulty = [fitted[text] for text in order]
    gamed = gamed_rows(sets, difficulty)
    worst = 0.0
    with tempfile.TemporaryDirectory() as folder:
        gamed_csv, difficulty_csv = Path(folder) / "df_gamed.csv", Path(folder) / "instruction_difficulty.csv"
        with gamed_csv.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["model", "index", "preference", "std_delta_len", "instruction_difficulty",
                             "not_gamed_baseline"])  # fmt: skip
            writer.writerows([*row, False] for row in gamed)
        with difficulty_csv.open("w", newline="") as handle:
            csv.writer(handle).writerows([["", "instruction_difficulty"], *enumerate(difficulty)])
        gamed_array = np.array([row[2:] for row in gamed if not math.isnan(row[2])])
        print("1. adhere and AlpacaEval's get_length_controlled_winrate on the same inputs")
        print(f"{'model':28s} {'glm':24s} {'adhere LC':>10s} {'AlpacaEval':>10s} {'SE':>6s} {'SE':>6s}")
        for model in models:
            # AlpacaEval looks difficulties up by row position; where a file lacks some instructions
            # (alpaca-7b_concise, _verbose, phi-2) the rows after the gap get their neighbours'. adhere
            # looks them up by instruction; here it is given AlpacaEval's positional lookup to compare.
            aligned = [r["instruction"] for r in sets[model]] == order
            mine = difficulty if aligned else difficulty[: len(sets[model])]
            for glm, extra in (("length_controlled_noreg", None), ("length_controlled_v1", gamed_array)):
                ours = length_controlled(sets[model], mine, gamed=extra)
                theirs = alpaca_eval_lc(sets[model], glm, gamed_csv, difficulty_csv)
                gap = max(abs(ours["length_controlled_winrate"] - theirs["length_controlled_winrate"]),
                          abs(ours["lc_standard_error"] - theirs["lc_standard_error"]))  # fmt: skip
                worst = max(worst, gap)
                print(f"{model + ('' if aligned else ' *'):28s} {glm:24s} {ours['length_controlled_winrate']:10.4f} "
                      f"{theirs['length_controlled_winrate']:10.4f} {ours['lc_standard_error']:6.3f} "
                      f"{theirs['lc_standard_error']:6.3f}")  # fmt: skip
    print(f"largest difference: {worst:.2e} points")
    print("* rows missing: AlpacaEval's positional lookup of the difficulties, misaligned after the gap, given to both")

    with (ALPACA / "leaderboard.csv").open(encoding="utf-8") as handle:
        board = {row[""]: row for row in csv.DictReader(handle)}
    print("\n2. adhere's offline LC (difficulties fitted on these 12 models, no gamed rows) and the leaderboard's")
    print(f"{'model':28s} {'win rate':>8s} {'LC':>6s} {'board LC':>8s} {'gap':>6s}")
    gaps = []
    for model in models:
        raw = winrate(sets[model])["win_rate"]
        lc = length_controlled(sets[model], fitted)["length_controlled_winrate"]
        ref = float(board[model]["length_controlled_winrate"])
        if model not in ("NullModel", "gpt4_gamed"):
            gaps.append(abs(lc - ref))
        print(f"{model:28s} {raw:8.2f} {lc:6.2f} {ref:8.2f} {lc - ref:+6.2f}")
    print(f"models that did not game the judge: mean |gap| {sum(gaps) / len(gaps):.2f}, largest {max(gaps):.2f}")
    return 0 if worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
