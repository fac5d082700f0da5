"""Generation speed on the bundled model: adhere's embedded backend against raw llama-cpp-python.

Both generate greedy responses to the same IFEval prompts with the same settings, one stream,
side by side (alternating, best of --repeat), timed from loading the model to the last token;
adhere's time also covers its whole `adhere eval` pipeline (run directory, scoring), with the
response cache off. Prints tokens/s for both, the ratio, and whether the texts are identical.

Usage: python benchmarks/generate_speed.py [--prompts 8] [--max-tokens 256] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("ADHERE_SHARED", REPO.parent / "shared")) / "data"


def raw(prompts, max_tokens, n_ctx):
    import llama_cpp

    from adhere.models.llamacpp import bundled_model_path

    start = time.perf_counter()
    llm = llama_cpp.Llama(
        model_path=str(bundled_model_path()), n_ctx=n_ctx, n_threads=os.cpu_count(), verbose=False
    )
    texts, tokens, generating = [], 0, 0.0
    for row in prompts:
        call = time.perf_counter()
        result = llm.create_chat_completion(
            messages=[{"role": "user", "content": row["prompt"]}],
            temperature=0.0, top_p=1.0, max_tokens=max_tokens, seed=0,
        )  # fmt: skip
        generating += time.perf_counter() - call
        texts.append(result["choices"][0]["message"]["content"])
        tokens += result["usage"]["completion_tokens"]
    return time.perf_counter() - start, tokens, texts, generating


def adhere_eval(data, count, max_tokens, n_ctx):
    from adhere.bench.generate import EvalOptions, run_eval
    from adhere.models.config import GenerationConfig

    options = EvalOptions(
        model="local", data=str(data), limit=count,
        generation=GenerationConfig(max_tokens=max_tokens), backend_options={"n_ctx": n_ctx},
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_eval(options, out, cache=None, command=["benchmark"])
        elapsed = time.perf_counter() - start
        rows = [json.loads(line) for line in open(Path(out) / "responses.jsonl")]
    generating = sum(r["latency_s"] for r in rows)
    return elapsed, sum(r["completion_tokens"] for r in rows), [r["response"] for r in rows], generating


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--n-ctx", type=int, default=2048)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()

    data = DATA / "ifeval" / "input_data.jsonl"
    prompts = [json.loads(line) for line in open(data)][: args.prompts]
    best_raw = best_adhere = None
    for _ in range(args.repeat):
        result = raw(prompts, args.max_tokens, args.n_ctx)
        best_raw = result if best_raw is None or result[0] < best_raw[0] else best_raw
        result = adhere_eval(data, args.prompts, args.max_tokens, args.n_ctx)
        best_adhere = result if best_adhere is None or result[0] < best_adhere[0] else best_adhere
    same = sum(a == b for a, b in zip(best_raw[2], best_adhere[2]))
    print(f"{args.prompts} IFEval prompts, greedy, max {args.max_tokens} new tokens, one stream, best of {args.repeat}")
    print(f"{'':<34}{'generation only':>24}{'whole run (load, score)':>28}")
    print(f"{'implementation':<34}{'seconds':>8}{'tokens/s':>10}{'ratio':>6}{'seconds':>12}{'tokens/s':>10}{'ratio':>6}")
    raw_gen, raw_all = best_raw[1] / best_raw[3], best_raw[1] / best_raw[0]
    for name, (elapsed, tokens, _, generating) in (
        ("raw llama-cpp-python", best_raw),
        ("adhere eval (local, no cache)", best_adhere),
    ):
        gen, whole = tokens / generating, tokens / elapsed
        print(
            f"{name:<34}{generating:>8.1f}{gen:>10.1f}{gen / raw_gen:>6.2f}"
            f"{elapsed:>12.1f}{whole:>10.1f}{whole / raw_all:>6.2f}"
        )
    print(f"tokens: {best_raw[1]} and {best_adhere[1]}; identical responses: {same}/{args.prompts}")


if __name__ == "__main__":
    main()
