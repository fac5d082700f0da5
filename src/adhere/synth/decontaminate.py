"""Decontamination: drop synthesized prompts whose task shares a word n-gram with an eval prompt.

Only the task part of a synthesized prompt is compared: its instruction sentences are the
benchmarks' own instruction templates on purpose (that is what makes them verifiable), and would
match every eval prompt that uses the same instruction. Text is lower-cased and split into words
(``\\w+``) before taking n-grams; 8 words is the default window (GPT-3 used 13 on documents;
prompts are short).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

_WORD = re.compile(r"\w+")


def ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


class NgramIndex:
    """The word n-grams of evaluation prompts; ``hit(text)`` names an eval prompt ``text`` overlaps."""

    def __init__(self, eval_prompts: Iterable[tuple[str, str]], n: int = 8):
        self.n = n
        self._index: dict[tuple[str, ...], str] = {}
        for where, prompt in eval_prompts:
            for gram in ngrams(prompt, n):
                self._index.setdefault(gram, where)

    def __bool__(self) -> bool:
        return bool(self._index)

    def hit(self, text: str) -> tuple[str, str] | None:
        """(where, the shared n-gram) of the first overlap, or None."""
        gram = next((gram for gram in ngrams(text, self.n) if gram in self._index), None)
        return None if gram is None else (self._index[gram], " ".join(gram))


def decontaminate(
    rows: list[dict[str, Any]], eval_prompts: Iterable[tuple[str, str]], n: int = 8
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(kept rows, dropped rows); each dropped row says which eval prompt it overlapped.

    ``eval_prompts`` are (where, prompt text) pairs, e.g. ("ifeval:1000", "Write a ...").
    """
    index = NgramIndex(eval_prompts, n)
    kept, dropped = [], []
    for row in rows:
        hit = index.hit((row.get("source") or {}).get("task") or row["prompt"])
        if hit is None:
            kept.append(row)
        else:
            dropped.append({"key": row["key"], "overlaps": hit[0], "ngram": hit[1]})
    return kept, dropped
