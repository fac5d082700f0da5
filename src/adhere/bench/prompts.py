"""Benchmark prompts: from a local JSONL file, or from the Hugging Face Hub."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.hub import load_hub_dataset
from adhere.registry import Registry


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A benchmark: its name and where its prompts live on the Hugging Face Hub (None: local
    files only, ``--data``)."""

    name: str
    hub: tuple[str, str] | None = None
    """(dataset, split) of its prompts."""
    config: str | None = None
    """The Hub dataset's configuration, where it has several."""


#: Benchmarks by name: IFEval and IFBench, then plugins' (``register_benchmark``).
BENCHMARK_REGISTRY: Registry[Benchmark] = Registry("benchmark", lambda: None)


def register_benchmark(name: str, hub: tuple[str, str] | None = None, config: str | None = None) -> Benchmark:
    """Add a benchmark: ``adhere eval NAME --data PROMPTS.jsonl`` (or the Hub copy) and
    ``adhere score --benchmark NAME`` then run it."""
    return BENCHMARK_REGISTRY.register(name, Benchmark(name, hub, config))


register_benchmark("ifeval", ("google/IFEval", "train"))
register_benchmark("ifbench", ("allenai/IFBench_test", "train"))
# IFBench's multi-turn setting (constraint isolation): each row's ``messages`` are the first
# request, an answer to it, and a second turn that states the constraints; the model answers the
# second turn. Two sets: IFBench's own constraints, and IFEval's.
register_benchmark("ifbench-multiturn", ("allenai/IFBench_multi-turn", "test"), "ifbench_constraints")
register_benchmark("ifbench-multiturn-ifeval", ("allenai/IFBench_multi-turn", "test"), "ifeval_constraints")
#: adhere's own benchmarks (the registry may hold plugins' too).
BENCHMARKS = ("ifeval", "ifbench")


def check_benchmark(name: str) -> Benchmark:
    """The benchmark called ``name``; an unknown one is one line with the closest names."""
    return BENCHMARK_REGISTRY.get(name)


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
    spec = check_benchmark(benchmark)
    if spec.hub is None:
        raise InputError(f"{benchmark} has no Hub copy; pass --data PATH to its prompts")
    name, split = spec.hub
    rows = load_hub_dataset(name, split, instead="pass --data PATH to a local JSONL copy", config=spec.config)
    source = f"hf:{name}:{spec.config + ':' if spec.config else ''}{split}"
    return [json.loads(json.dumps(dict(row))) for row in rows], source, [f"{source} row {i}" for i in range(1, len(rows) + 1)]
