"""Start-up: what a short command costs before any real work, adhere against the IFEval reference.

Scoring a small file is mostly start-up: importing the tools (NLTK above all) and reading the
inputs. This times fresh processes, alternated so that a busy machine slows both alike:

- the reference: lm-evaluation-harness's ``ifeval`` modules (loaded by path, as
  ``benchmarks/score_speed.py`` loads them) scoring the first ROWS of IFEval's GPT-4 responses;
- ``adhere score`` of the same rows (``--quiet``, one process);
- ``adhere --help``.

It prints the median of RUNS runs of each and the ratio adhere / reference. Run it with the
benchmark environment's Python (``make bench`` builds it); it needs lm-eval there.

Usage: python benchmarks/startup_speed.py [--rows 10] [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("ADHERE_SHARED", REPO.parent / "shared")) / "data"
IFEVAL = DATA / "ifeval"

REFERENCE = """
import json, sys
sys.path.insert(0, {bench!r})
from score_speed import load_reference
utils = load_reference()
rows = [json.loads(line) for line in open({rows!r})]
for row in rows:
    doc = {{"key": row["key"], "instruction_id_list": row["instruction_id_list"], "kwargs": row["kwargs"],
           "prompt": row["prompt"]}}
    utils.process_results(doc, [row["response"]])
"""


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])}... failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    inputs = [json.loads(x) for x in (IFEVAL / "input_data_gpt4_20231107_145030.jsonl").open()]
    responses = {r["prompt"]: r["response"]
                 for r in map(json.loads, (IFEVAL / "input_response_data_gpt4_20231107_145030.jsonl").open())}  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        rows = Path(folder) / "rows.jsonl"
        with rows.open("w", encoding="utf-8") as handle:
            for row in inputs[: args.rows]:
                handle.write(json.dumps({**row, "response": responses[row["prompt"]]}) + "\n")
        commands = {
            "reference (lm-eval ifeval)": [sys.executable, "-c", REFERENCE.format(bench=str(REPO / "benchmarks"), rows=str(rows))],
            "adhere score": [sys.executable, "-m", "adhere.cli", "score", str(rows), "--quiet", "--workers", "1"],
            "adhere --help": [sys.executable, "-m", "adhere.cli", "--help"],
        }
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, command in commands.items():
                times[name].append(timed(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["reference (lm-eval ifeval)"]
    print(f"{args.rows} rows, median of {args.runs} fresh processes each ({sys.executable}):")
    for name, value in medians.items():
        print(f"  {name:<28} {value:6.2f} s   {value / base:4.2f}x the reference")


if __name__ == "__main__":
    main()
