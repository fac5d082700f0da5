"""Training speed on the bundled model: gradient checkpointing on against off, or fp32 against bf16.

``--compare checkpointing`` (the default): TRL turns gradient checkpointing on by default: the
backward pass recomputes each layer's activations instead of keeping them, which saves memory and
costs about one more forward pass per step. ``adhere train`` leaves it off on a CPU
(``--gradient-checkpointing`` turns it back on). This runs the same LoRA SFT and DPO steps both
ways, side by side (alternating, best of --repeat, each in a fresh process), on rows built from
IFEval's prompts and the reference GPT-4 answers in ../shared (SFT: the answer; DPO: the answer
against its first half; the content only has to be realistic in length). Prints seconds per step,
the ratio, and the training loss of each run: the two ways compute the same gradients, so the
losses must agree.

``--compare precision``: the same steps in fp32 (``precision = "fp32"``, the CPU's default) and in bf16
mixed precision (``precision = "bf16"``, which a CPU has only with AMX or AVX512-BF16); the losses
then differ by bf16's rounding alone.

Usage: python benchmarks/train_speed.py [--compare checkpointing|precision] [--steps 6] [--rows 48]
       [--repeat 1] [--max-length 512] [--kinds sft,dpo]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("ADHERE_SHARED", REPO.parent / "shared")) / "data"


def rows(count: int) -> tuple[list[dict], list[dict]]:
    answers = [json.loads(line) for line in (DATA / "ifeval" / "input_response_data_gpt4_20231107_145030.jsonl").open()]
    sft, pairs = [], []
    for row in answers[:count]:
        prompt, answer = row["prompt"], row["response"]
        words = answer.split()
        worse = " ".join(words[: max(1, len(words) // 2)])  # cut off halfway
        sft.append({"messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]})
        pairs.append({"prompt": [{"role": "user", "content": prompt}], "chosen": [{"role": "assistant", "content": answer}],
                      "rejected": [{"role": "assistant", "content": worse}]})  # fmt: skip
    return sft, pairs


CHILD = """
import json, sys
from adhere.train.trainer import TrainConfig, train
kind, data, out, steps, length, way = sys.argv[1:]
settings = {"on": dict(gradient_checkpointing=True), "off": dict(gradient_checkpointing=False),
            "fp32": dict(precision="fp32"), "bf16": dict(precision="bf16")}[way]
result = train(TrainConfig(kind=kind, data=data, out=out, max_steps=int(steps), max_length=int(length),
                           save_steps=10_000, logging_steps=1, **settings))
print(json.dumps(result))
"""


WAYS = {"checkpointing": ("on", "off"), "precision": ("fp32", "bf16")}


def run(kind: str, data: Path, out: Path, steps: int, length: int, way: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(data), str(out), str(steps), str(length), way],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"training failed ({kind}, {way}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds_per_step": result["seconds_this_run"] / result["steps"], "loss": result["train_loss"],
            "checkpointing": result["gradient_checkpointing"], "precision": result["precision"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rows", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--compare", choices=tuple(WAYS), default="checkpointing")
    parser.add_argument("--kinds", default="sft,dpo", help="which trainings: sft, dpo, or both")
    args = parser.parse_args()
    sft, pairs = rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {"sft": folder / "sft.jsonl", "dpo": folder / "pairs.jsonl"}
        for kind, data in (("sft", sft), ("dpo", pairs)):
            files[kind].write_text("".join(json.dumps(r) + "\n" for r in data))
        for kind in args.kinds.split(","):
            best: dict[str, dict] = {}
            for attempt in range(args.repeat):
                for way in WAYS[args.compare]:
                    got = run(kind, files[kind], folder / f"{kind}-{way}-{attempt}", args.steps, args.max_length, way)
                    if args.compare == "checkpointing":
                        assert got["checkpointing"] == (way == "on")
                    else:
                        assert got["precision"] == {"fp32": "fp32", "bf16": "bf16 mixed"}[way]
                    if way not in best or got["seconds_per_step"] < best[way]["seconds_per_step"]:
                        best[way] = got
            first, second = WAYS[args.compare]
            a, b = best[first], best[second]
            print(f"{kind}: {args.steps} steps of batch 4, up to {args.max_length} tokens: {args.compare} {first} "
                  f"{a['seconds_per_step']:.2f} s/step (loss {a['loss']:.4f}), {second} {b['seconds_per_step']:.2f} s/step "
                  f"(loss {b['loss']:.4f}); {second} is {a['seconds_per_step'] / b['seconds_per_step']:.2f}x as fast")  # fmt: skip


if __name__ == "__main__":
    main()
