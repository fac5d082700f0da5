"""Scoring one very long response (megabytes): analyses shared across IFEval's loose variants, or not.

Loose mode checks a failed constraint on up to seven more variants of the response (it without
``*``, without its first or last line...). The NLTK-based analyses (Punkt sentences, Treebank
words) once ran from scratch on each variant; adhere now remembers Punkt's boundary decisions by
their local context and word tokens by sentence, which variants share almost entirely. This
script scores the same response, with the same constraints, both ways in one process (the
baseline is the same code with both memos turned off), checks the verdicts are equal, and prints
the times and their ratio.

The response is real model text without repetition (IFEval's GPT-4 responses and IFBench's
sample outputs, joined: about 1.1 MB), repeated ``--copies`` times for a larger one.

Usage: NLTK_DATA=../shared/data/nltk_data python benchmarks/large_response_speed.py [--copies N]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("ADHERE_SHARED", REPO.parent / "shared")) / "data"

#: Constraints whose checks use the NLTK analyses, each failing strict on this text.
CONSTRAINTS = [
    ("change_case:capital_word_frequency", {"capital_frequency": 1, "capital_relation": "less than"}),
    ("length_constraints:number_sentences", {"num_sentences": 3, "relation": "less than"}),
    ("format:title_case", {}),
    ("words:start_verb", {}),
    ("sentence:keyword", {"word": "zebra", "N": 4}),
]


def response(copies: int) -> str:
    texts = [json.loads(line)["response"] for line in open(DATA / "ifeval/input_response_data_gpt4_20231107_145030.jsonl")]
    texts += [json.loads(line)["response"] for line in open(DATA / "ifbench/sample_output.jsonl")]
    return "Title *line*\n" + "\n\n".join(texts * copies) + "\nlast line"


def run(text: str, shared: bool) -> tuple[float, list]:
    from adhere.constraints import build, evaluate
    from adhere.text import punkt, words

    punkt._DECIDED.clear()
    words._sentence_tokens.cache_clear()
    saved = punkt._DECIDED_MAX, words._sentence_tokens
    if not shared:  # the code as it was: every variant analysed from scratch
        punkt._DECIDED_MAX = 0
        words._sentence_tokens = lambda sentence: words._tokenize_sentence(sentence)
    try:
        constraints = [build(cid, kwargs) for cid, kwargs in CONSTRAINTS]
        started = time.perf_counter()
        result = evaluate(text, constraints)
        return time.perf_counter() - started, [(v.passed, v.reason) for v in result.strict + result.loose]
    finally:
        punkt._DECIDED_MAX, words._sentence_tokens = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args()
    text = response(args.copies)
    baseline, expected = run(text, shared=False)
    adhere, got = run(text, shared=True)
    assert got == expected, "verdicts differ"
    print(f"response: {len(text) / 1e6:.2f} MB, {len(CONSTRAINTS)} constraints, strict and loose")
    print(f"analyses per variant (baseline): {baseline:.1f} s")
    print(f"analyses shared across variants: {adhere:.1f} s  ({baseline / adhere:.1f}x faster, same verdicts)")


if __name__ == "__main__":
    main()
