"""Scoring's default number of processes against one process, on an idle and on a busy machine.

ROWS self-contained rows (IFEval's GPT-4 responses cycled, default 20,000) are scored by the real
command, `adhere score FILE --out-dir DIR --quiet`, in a fresh process, with the default number of
processes and with `--workers 1`, alternately, REPEAT times each, in three conditions:

- idle: nothing else running;
- busy, just started: BUSY processes spinning on a core each (default: all cores but one) started a
  moment before (the load average does not show them yet);
- busy, settled: the same, after they have run for a minute (the load average shows them).

It prints the median seconds of each and the ratio default / one process: the default must never be
slower than one process (ratio at most 1, within noise), and on an idle machine it should be faster.
Every run must write the same verdicts.jsonl; the script fails otherwise. Run it alone.

Usage: .venv/bin/python benchmarks/workers_speed.py [--rows N] [--repeat N] [--busy N]
"""

from __future__ import annotations

import argparse
import filecmp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ray_score_speed import timed_adhere  # noqa: E402
from score_speed import make_rows  # noqa: E402


def measure(path: Path, folder: Path, repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {"default": [], "one": []}
    for i in range(repeat):
        for name, options in (("default", []), ("one", ["--workers", "1"])):
            out = folder / f"{name}-{i}"
            times[name].append(timed_adhere(["score", str(path), "--out-dir", str(out), "--quiet", *options]))
            if not filecmp.cmp(folder / "default-0" / "verdicts.jsonl", out / "verdicts.jsonl", shallow=False):
                sys.exit(f"benchmark: {out}/verdicts.jsonl differs from the first run's")
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--busy", type=int, default=max(1, (os.cpu_count() or 2) - 1), help="spinning processes")
    parser.add_argument("--settle", type=float, default=70.0, help="seconds the spinners run before 'settled'")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "rows.jsonl"
        make_rows(path, args.rows)
        results["idle"] = measure(path, folder / "idle", args.repeat)
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy)]
        started = time.monotonic()
        try:
            time.sleep(1.0)
            results["busy, just started"] = measure(path, folder / "fresh", args.repeat)
            time.sleep(max(0.0, args.settle - (time.monotonic() - started)))
            results["busy, settled"] = measure(path, folder / "settled", args.repeat)
        finally:
            for spinner in spinners:
                spinner.kill()
    print(f"{args.rows:,} rows, {os.cpu_count()} cores, {args.busy} spinning in the busy conditions, "
          f"median of {args.repeat}:")  # fmt: skip
    for condition, seconds in results.items():
        ratio = seconds["default"] / seconds["one"]
        print(f"  {condition:<20} default {seconds['default']:5.1f} s   one process {seconds['one']:5.1f} s   "
              f"default / one {ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
