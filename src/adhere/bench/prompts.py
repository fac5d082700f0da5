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
    """The benchmark's prompt rows and a description of where they came from.

    With ``path``: IFEval-format JSONL rows (IFBench's use the same format) (``key``, ``prompt``, ``instruction_id_list``,
    ``kwargs``), validated as ``adhere score --inputs`` validates them. Without: the Hub dataset,
    through ``datasets``; offline, that fails with one line saying so.
    """
    if path is not None:
        from adhere.bench.items import read_inputs

        return [row for _, row in read_inputs(path)], str(Path(path).resolve())
    if benchmark not in HUB_DATASETS:
        raise InputError(f"no Hub dataset known for {benchmark!r}; pass --data PATH")
    name, split = HUB_DATASETS[benchmark]
    rows = load_hub_dataset(name, split, instead="pass --data PATH to a local JSONL copy")
    return [json.loads(json.dumps(dict(row))) for row in rows], f"hf:{name}:{split}"
