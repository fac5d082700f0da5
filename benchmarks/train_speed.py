"""Training speed on the bundled model: gradient checkpointing on (TRL's default) against off.

TRL turns gradient checkpointing on by default: the backward pass recomputes each layer's
activations instead of keeping them, which saves memory and costs about one more forward pass per
step. ``adhere train`` leaves it off on a CPU (``--gradient-checkpointing`` turns it back on).
This runs the same LoRA SFT and DPO steps both ways, side by side (alternating, best of
--repeat, each in a fresh process), on rows built from IFEval's prompts and the reference GPT-4
answers in ../shared (SFT: the answer; DPO: the answer against its first half; the content only
has to be realistic in length). Prints seconds per step, the ratio, and
the training loss of each run: the two ways compute the same gradients, so the losses must agree.

Usage: python benchmarks/train_speed.py [--steps 6] [--rows 48] [--repeat 1] [--max-length 512]
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
kind, data, out, steps, length, checkpointing = sys.argv[1:]
result = train(TrainConfig(kind=kind, data=data, out=out, max_steps=int(steps), max_length=int(length),
                           save_steps=10_000, logging_steps=1, gradient_checkpointing=checkpointing == "on"))
print(json.dumps(result))
"""


def run(kind: str, data: Path, out: Path, steps: int, length: int, checkpointing: str) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, kind, str(data), str(out), str(steps), str(length), checkpointing],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        sys.exit(f"training failed ({kind}, checkpointing {checkpointing}):\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"seconds_per_step": result["seconds_this_run"] / result["steps"], "loss": result["train_loss"],
            "checkpointing": result["gradient_checkpointing"]}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--rows", type=int, default=48)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args()
    sft, pairs = rows(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = {"sft": folder / "sft.jsonl", "dpo": folder / "pairs.jsonl"}
        for kind, data in (("sft", sft), ("dpo", pairs)):
            files[kind].write_text("".join(json.dumps(r) + "\n" for r in data))
        for kind in ("sft", "dpo"):
            best: dict[str, dict] = {}
            for attempt in range(args.repeat):
                for way in ("on", "off"):
                    got = run(kind, files[kind], folder / f"{kind}-{way}-{attempt}", args.steps, args.max_length, way)
                    assert got["checkpointing"] == (way == "on")
                    if way not in best or got["seconds_per_step"] < best[way]["seconds_per_step"]:
                        best[way] = got
            on, off = best["on"], best["off"]
            print(f"{kind}: {args.steps} steps of batch 4, up to {args.max_length} tokens: checkpointing on "
                  f"{on['seconds_per_step']:.2f} s/step (loss {on['loss']:.4f}), off {off['seconds_per_step']:.2f} s/step "
                  f"(loss {off['loss']:.4f}); off is {on['seconds_per_step'] / off['seconds_per_step']:.2f}x as fast")  # fmt: skip


if __name__ == "__main__":
    main()
