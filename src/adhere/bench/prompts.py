"""Benchmark prompts: from a local JSONL file, or from the Hugging Face Hub."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.hub import load_hub_dataset

#: The benchmarks adhere knows, and the Hub dataset (name, split) of each one's prompts.
HUB_DATASETS = {
    "ifeval": ("google/IFEval", "train"),
    "ifbench": ("allenai/IFBench_test", "train"),
}
BENCHMARKS = tuple(HUB_DATASETS)


def load_prompts(benchmark: str, path: str | os.PathLike[str] | None) -> tuple[list[dict[str, Any]], str]:
    """The benchmark's prompt rows and a description of where they came from."""
    rows, source, _ = locate_prompts(benchmark, path)
    return rows, source


def locate_prompts(
    benchmark: str, path: str | os.PathLike[str] | None
) -> tuple[list[dict[str, Any]], str, list[str]]:
    """The benchmark's prompt rows, where they came from, and where each row is (``file:line``,
    or the Hub dataset and row number), for error messages.

    With ``path``: IFEval-format JSONL rows (IFBench's use the same format) (``key``, ``prompt``, ``instruction_id_list``,
    ``kwargs``), validated as ``adhere score --inputs`` validates them. Without: the Hub dataset,
    through ``datasets``; offline, that fails with one line saying so.
    """
    if path is not None:
        from adhere.bench.items import read_inputs

        read = read_inputs(path)
        return [row for _, row in read], str(Path(path).resolve()), [f"{path}:{line}" for line, _ in read]
    if benchmark not in HUB_DATASETS:
        raise InputError(f"no Hub dataset known for {benchmark!r}; pass --data PATH")
    name, split = HUB_DATASETS[benchmark]
    rows = load_hub_dataset(name, split, instead="pass --data PATH to a local JSONL copy")
    source = f"hf:{name}:{split}"
    return [json.loads(json.dumps(dict(row))) for row in rows], source, [f"{source} row {i}" for i in range(1, len(rows) + 1)]
