"""Runs to report on: an ``adhere eval`` run directory or an ``adhere score --out-dir`` folder.

A run is read without changing anything in it. Its verdict rows are the unit of every statistic.
An interrupted ``adhere eval`` run (fewer responses than its config asks for, or no verdicts
yet) is scored from the responses it has, like ``adhere score DIR`` does, and marked incomplete
with its counts: prompts without a response count as not followed, and the report says so.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from adhere.bench.summary import Summary
from adhere.errors import InputError
from adhere.jsonl import read_run_rows

#: Failures kept per run for the HTML list (a million-row run would make a page nobody can open).
MAX_FAILURES = 2000


@dataclasses.dataclass
class PromptResult:
    """One prompt's verdicts (one sample of it), with its text and response where known."""

    key: Any
    sample: int
    instruction_id_list: list[str]
    strict: list[bool]
    loose: list[bool]
    strict_reasons: list[str]
    loose_reasons: list[str]
    response_found: bool
    prompt: str | None = None
    response: str | None = None
    error: str | None = None


@dataclasses.dataclass
class Run:
    """A scored run, ready for statistics and rendering."""

    path: Path
    name: str
    benchmark: str
    model: str | None
    results: list[PromptResult]
    summary: Summary
    complete: bool = True
    expected: int | None = None
    """Responses the run was set to produce (prompts x samples), when known."""
    answered: int | None = None
    """Responses it has."""
    errors: int = 0
    cut_off: int = 0
    """Responses that ran into the token limit (``finish_reason: "length"``)."""
    unfinished_reasoning: int = 0
    """Responses that ended inside the model's reasoning, before any answer."""
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The run's config.json (empty for a scored folder without one)."""

    def status(self) -> str:
        failed = f", {self.errors} failed model calls (scored as not followed)" if self.errors else ""
        if self.complete:
            cut_off = f", {self.cut_off} of {self.answered} answers cut off at the token limit" if self.cut_off else ""
            thinking = (f", {self.unfinished_reasoning} ended inside the reasoning (no answer)"
                        if self.unfinished_reasoning else "")  # fmt: skip
            return "complete" + failed + cut_off + thinking
        return (
            f"incomplete: {self.answered} of {self.expected} responses{failed}; the other "
            f"{self.expected - self.answered} count as not followed"
        )

    def health(self) -> str:
        """How the report shows the status: ``failed`` (model calls failed: red), ``incomplete``
        (amber), or ``ok``."""
        if self.errors:
            return "failed"
        return "ok" if self.complete else "incomplete"


def _results_from_verdicts(rows: list[dict[str, Any]], where: Path) -> list[PromptResult]:
    seen: dict[Any, int] = {}
    results = []
    for number, row in enumerate(rows, start=1):
        try:
            key = row["key"]
            key_id = json.dumps(key)
            sample = seen.get(key_id, 0)
            seen[key_id] = sample + 1
            results.append(
                PromptResult(
                    key=key,
                    sample=sample,
                    instruction_id_list=list(row["instruction_id_list"]),
                    strict=list(row["strict"]["follow_instruction_list"]),
                    loose=list(row["loose"]["follow_instruction_list"]),
                    strict_reasons=list(row["strict"].get("reasons") or [""] * len(row["instruction_id_list"])),
                    loose_reasons=list(row["loose"].get("reasons") or [""] * len(row["instruction_id_list"])),
                    response_found=bool(row.get("response_found", True)),
                )
            )
        except (KeyError, TypeError):
            raise InputError(f"{where}:{number}: not a verdict row of adhere") from None
    return results


def _summary(benchmark: str, results: list[PromptResult]) -> Summary:
    summary = Summary(benchmark=benchmark)
    for r in results:
        summary.add(r.instruction_id_list, r.strict, r.loose)
        if not r.response_found:
            summary.missing_responses.append(r.key)
    return summary


def load_run(path: str | Path) -> Run:
    """Read a run directory (``adhere eval``) or a scored folder (``adhere score --out-dir``)."""
    path = Path(path)
    if not path.is_dir():
        raise InputError(f"{path}: not a directory; pass run directories of `adhere eval` or `adhere score --out-dir`")
    config_path, verdicts_path = path / "config.json", path / "verdicts.jsonl"
    if not config_path.exists():
        if not verdicts_path.exists():
            raise InputError(f"{path}: no config.json and no verdicts.jsonl; not an adhere run directory")
        benchmark = "ifeval"
        summary_path = path / "summary.json"
        if summary_path.exists():
            try:
                saved = json.loads(summary_path.read_text(encoding="utf-8"))
            except (ValueError, RecursionError):
                raise InputError(f"{summary_path}: not valid JSON; rerun adhere score to rewrite it") from None
            benchmark = saved.get("benchmark", benchmark) if isinstance(saved, dict) else benchmark
        results = _results_from_verdicts(read_run_rows(verdicts_path), verdicts_path)
        return Run(path, path.name, benchmark, None, results, _summary(benchmark, results))
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError):
        config = None
    if not isinstance(config, dict):
        raise InputError(f"{config_path}: not a JSON object; is this an adhere run directory?")
    benchmark = config.get("benchmark", "ifeval")
    samples = int((config.get("generation") or {}).get("samples", 1))
    expected = int(config.get("prompts", 0)) * samples
    responses_path = path / "responses.jsonl"
    responses = read_run_rows(responses_path) if responses_path.exists() else []
    by_pair = {(json.dumps(r.get("key")), r.get("sample", 0)): r for r in responses}
    answered = sum(1 for r in by_pair.values() if r.get("response") is not None)
    errors = sum(1 for r in by_pair.values() if r.get("response") is None and r.get("error"))
    cut_off = sum(1 for r in by_pair.values() if r.get("response") is not None and r.get("finish_reason") == "length")
    unfinished = sum(1 for r in by_pair.values() if r.get("reasoning_unfinished"))
    complete = verdicts_path.exists() and len(by_pair) >= expected
    if complete:
        results = _results_from_verdicts(read_run_rows(verdicts_path), verdicts_path)
    else:
        results = _rescore(path, config, by_pair, samples)
    prompts = _prompt_texts(config)
    for r in results:
        row = by_pair.get((json.dumps(r.key), r.sample), {})
        r.response, r.error = row.get("response"), row.get("error")
        r.prompt = prompts.get(json.dumps(r.key))
    return Run(
        path, path.name, benchmark, config.get("model"), results, _summary(benchmark, results),
        complete=complete, expected=expected, answered=answered, errors=errors, cut_off=cut_off,
        unfinished_reasoning=unfinished, config=config,
    )  # fmt: skip


def _prompt_texts(config: dict[str, Any]) -> dict[str, str]:
    data = config.get("data")
    if not data or not Path(data).is_file():
        return {}
    from adhere.bench.items import read_inputs

    return {json.dumps(row["key"]): row["prompt"] for _, row in read_inputs(data)}


def _rescore(path: Path, config: dict[str, Any], by_pair: dict, samples: int) -> list[PromptResult]:
    """Verdicts of an interrupted run's responses (missing ones count as not followed)."""
    from adhere.bench.items import Item, read_inputs
    from adhere.bench.scoring import score_item
    from adhere.constraints.rows import constraints_of

    data = config.get("data")
    if not data or not Path(data).is_file():
        raise InputError(
            f"{path}: the run is incomplete and its prompts ({data}) are not a local file to score "
            "it with; rerun its command to finish it"
        )
    rows = read_inputs(data)[: config.get("limit") or None]
    results = []
    for line, row in rows:
        ids, constraints = constraints_of(row, f"{data}:{line}")
        for sample in range(samples):
            got = by_pair.get((json.dumps(row["key"]), sample), {})
            item = Item(row["key"], row["prompt"], ids, constraints, got.get("response"), got.get("error"))
            verdict = score_item(item)
            results.extend(_results_from_verdicts([verdict], path / "responses.jsonl"))
            results[-1].sample = sample
    return results


def shared_keys(runs: list[Run]) -> list[tuple[Any, int]]:
    """(key, sample) pairs every run has, in the first run's order; refuses what cannot be compared."""
    benchmarks = {run.benchmark for run in runs}
    if len(benchmarks) > 1:
        listed = ", ".join(f"{run.name} is {run.benchmark}" for run in runs)
        raise InputError(f"cannot compare runs of different benchmarks ({listed}); report them separately")
    common = None
    for run in runs:
        pairs = {(json.dumps(r.key), r.sample) for r in run.results}
        common = pairs if common is None else common & pairs
    order = [(json.dumps(r.key), r.sample) for r in runs[0].results]
    shared = [pair for pair in order if pair in (common or set())]
    if len(runs) > 1 and not shared:
        names = ", ".join(run.name for run in runs)
        raise InputError(f"runs {names} share no prompts (no common keys); nothing to compare")
    return shared
