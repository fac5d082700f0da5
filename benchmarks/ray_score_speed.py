"""Verification at scale: the local executor against Ray, side by side, on 1,000,000 rows.

The 541 IFEval GPT-4 responses of ../shared/data/ifeval are cycled into one self-contained JSONL
file of ROWS rows (default 1,000,000; keys renumbered). Each configuration runs the real command,
`adhere score FILE --out-dir DIR`, in a fresh process, timed end to end (reading, scoring, writing
`verdicts.jsonl`; for Ray, starting the local runtime too):

- local, 1 process and 2 processes (`--workers`);
- Ray (`--executor ray`), 1 worker and 2 workers (`--ray-workers`; a local Ray runtime).

Every configuration must write byte-identical `verdicts.jsonl` files; the script fails otherwise.
It prints rows/s for each, each one's ratio to local with 1 process, and Ray's gain from 1 to 2
workers. Run the configurations on an otherwise idle machine: they share its cores.

Usage: .venv/bin/python benchmarks/ray_score_speed.py [--rows N] [--only local1,local2,ray1,ray2]
"""

from __future__ import annotations

import argparse
import filecmp
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_speed import make_rows  # noqa: E402

CONFIGS = {
    "local1": ("local, 1 process", ["--workers", "1"]),
    "local2": ("local, 2 processes", ["--workers", "2"]),
    "ray1": ("Ray, 1 worker", ["--executor", "ray", "--ray-workers", "1"]),
    "ray2": ("Ray, 2 workers", ["--executor", "ray", "--ray-workers", "2"]),
}


def timed_adhere(args: list[str], tail: int = 2000) -> float:
    """Seconds `adhere ARGS` took in a fresh process; the benchmark stops, with the end of its
    stderr, if it fails."""
    command = [sys.executable, "-m", "adhere.cli", *args]
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"benchmark: {' '.join(args)} failed:\n{result.stderr[-tail:]}")
    return elapsed


def run(path: Path, out: Path, options: list[str]) -> float:
    return timed_adhere(["score", str(path), "--out-dir", str(out), "--quiet", *options])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", default=",".join(CONFIGS), help="configurations to run, comma-separated")
    parser.add_argument("--keep", type=Path, help="keep the rows file and outputs in this folder")
    args = parser.parse_args()
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONFIGS]
    if unknown:
        sys.exit(f"benchmark: unknown configuration {unknown[0]!r}; choose from {', '.join(CONFIGS)}")

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"rows-{args.rows}.jsonl"
        if not path.exists():
            make_rows(path, args.rows)
        seconds = {}
        for name in names:
            seconds[name] = run(path, folder / name, CONFIGS[name][1])
            print(f"{CONFIGS[name][0]}: {seconds[name]:.1f} s", flush=True)
        first = folder / names[0] / "verdicts.jsonl"
        same = all(filecmp.cmp(first, folder / name / "verdicts.jsonl", shallow=False) for name in names[1:])

    n = args.rows
    base = seconds.get("local1", seconds[names[0]])
    print(f"\nrows: {n:,} (541 IFEval GPT-4 responses cycled), strict and loose, `adhere score` end to end")
    print(f"{'executor':<22}{'seconds':>10}{'rows/s':>10}{'ratio':>8}")
    for name in names:
        print(f"{CONFIGS[name][0]:<22}{seconds[name]:>10.1f}{n / seconds[name]:>10,.0f}{base / seconds[name]:>8.2f}")
    if "ray1" in seconds and "ray2" in seconds:
        print(f"Ray, 1 -> 2 workers: {seconds['ray1'] / seconds['ray2']:.2f}x the throughput")
    if "local2" in seconds and "ray2" in seconds:
        print(f"Ray / local with 2 each: {seconds['local2'] / seconds['ray2']:.2f}")
    print(f"verdicts.jsonl identical across all {len(names)} runs: {same}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
