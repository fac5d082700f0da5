"""Score responses against their constraints: verdict rows, a summary, atomic output files."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from adhere.bench.items import Item, Pairing, expected_count, iter_items, self_contained_items
from adhere.bench.prompts import check_benchmark
from adhere.models.reasoning import ReasoningSettings, read_answer
from adhere.constraints import evaluate
from adhere.constraints.base import Verdict
from adhere.errors import InputError
from adhere.jsonl import atomic_write, json_line, write_json
from adhere.bench.summary import Summary

_NO_RESPONSE = Verdict(False, "no response")


def _mode(verdicts: Iterable[Verdict]) -> dict[str, Any]:
    verdicts = tuple(verdicts)
    return {
        "follow_all_instructions": all(v.passed for v in verdicts),
        "follow_instruction_list": [v.passed for v in verdicts],
        "reasons": [v.reason for v in verdicts],
    }


def score_item(item: Item) -> dict[str, Any]:
    """The verdict row of one item (``verdicts.jsonl``'s format)."""
    if item.response is None:
        missing = _NO_RESPONSE if item.error is None else Verdict(False, f"model error: {item.error}")
        strict = loose = tuple(missing for _ in item.constraints)
    else:
        evaluation = evaluate(item.response, item.constraints)
        strict, loose = evaluation.strict, evaluation.loose
    return {
        "key": item.key,
        "instruction_id_list": list(item.instruction_id_list),
        "response_found": item.response is not None,
        "strict": _mode(strict),
        "loose": _mode(loose),
    }


def score_items(items: Iterable[Item], workers: int = 1) -> Iterator[dict[str, Any]]:
    """Verdict rows in item order, scored in ``workers`` processes (1: in this process)."""
    if workers <= 1:
        for item in items:
            yield score_item(item)
        return
    # Spawned (not forked) workers: safe beside threads such as the progress bar's.
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        yield from pool.imap(score_item, items, chunksize=64)


#: Below this many rows, starting worker processes costs about what it saves (2 idle cores, 20,000
#: IFEval rows: 3.4 s in two processes against 3.8 s in one; 100,000 rows: 12.5 s against 15.5 s).
PARALLEL_MIN_ROWS = 20_000


def _cpu_times() -> tuple[int, int, int] | None:
    """(busy, total) time of the machine's cores since boot and how many cores, from /proc/stat
    (Linux); None elsewhere."""
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    if not lines or not lines[0].startswith("cpu "):
        return None
    values = [int(v) for v in lines[0].split()[1:9]]  # user nice system idle iowait irq softirq steal
    cores = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    return sum(values) - values[3] - values[4], sum(values), cores


def busy_now(window: float = 0.1) -> float | None:
    """How many cores other work keeps busy right now (over ``window`` seconds); None where the
    system does not say. This process sleeps meanwhile, so its own work does not count."""
    first = _cpu_times()
    if first is None:
        return None
    time.sleep(window)
    second = _cpu_times()
    if second is None or second[1] <= first[1]:
        return None
    return second[2] * (second[0] - first[0]) / (second[1] - first[1])


def auto_workers(rows: int | None) -> int:
    """Processes to score ``rows`` rows in: one per idle core (up to 8) for large inputs, else 1.

    Cores other work keeps busy do not count: on a 2-core machine beside a running job, two
    processes took 16.5 s where one took 12.5 s (20,000 rows), since they fought the job and each
    other for one core. Busy is what the cores did in the last tenth of a second (``busy_now``): the
    load average would show a job started a moment ago only a minute later, and counts this
    process's own earlier work (a scoring run just before this one). Where the system does not
    say, the load average. With fewer than two idle cores, one process."""
    if rows is None or rows < PARALLEL_MIN_ROWS:
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if cores < 2:
        return 1
    busy = busy_now()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):  # no load average (Windows): assume the cores are free
            busy = 0.0
    idle = int(cores - busy + 0.5)
    return min(idle, 8) if idle >= 2 else 1


def score(
    responses: str | os.PathLike[str] | Iterable[Mapping[str, Any]],
    inputs: str | os.PathLike[str] | None = None,
    *,
    benchmark: str = "ifeval",
    out: str | os.PathLike[str] | None = None,
    workers: int | None = 1,
    progress: Callable[[int], None] | None = None,
    executor: Any = None,
    skip_invalid: bool = False,
    format: str = "auto",  # noqa: A002 (the CLI's --format)
    reading: ReasoningSettings | None = None,
) -> Summary:
    """Score a responses file (or a run directory, or self-contained rows in memory: dicts with
    key, prompt, instruction_id_list, kwargs and response); with ``out``, write ``verdicts.jsonl``
    and ``summary.json`` there. A row that cannot be scored (bad kwargs, an unknown id, no
    response text) stops it with that row's file:line; ``skip_invalid`` scores the rest and
    lists the rows left out in the summary (``rejected_rows``, and a warning). ``format``: the
    file's format, ``auto`` (told from the file), ``adhere`` (its own and IFEval's), ``lm-eval``
    (lm-evaluation-harness ``--log_samples``) or ``inspect`` (an inspect eval log); see
    ``adhere.bench.harnesses``. ``reading``: with ``ReasoningSettings("strip")``, a reasoning
    model's responses are scored on their answer, after the reasoning (default: the responses as
    written, as the reference implementations score them).

    Rows stream through (memory does not grow with the number of self-contained rows). Output
    files are written to temporary names and renamed at the end: an error leaves any earlier
    files in ``out`` as they were. ``workers=None`` picks one process for small files and one per
    CPU core (up to 8) for large ones (the CLI's default); worker processes are spawned, so a
    script that asks for them needs the usual ``if __name__ == "__main__":`` guard.
    """
    check_benchmark(benchmark)
    if not isinstance(responses, (str, os.PathLike)):
        if inputs is not None:
            raise InputError("rows scored in memory are self-contained (key, prompt, instruction_id_list, kwargs, "
                             "response); pass no inputs with them")  # fmt: skip
        pairing = Pairing(skip_invalid=skip_invalid)
        items = self_contained_items(((f"row {number}", row) for number, row in enumerate(responses, start=1)), pairing)
        return write_scores(_answers(items, reading), out, benchmark, 1, progress, pairing, source="rows")
    from adhere.bench.harnesses import FORMATS, detect_format, read_rows

    if format not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {format!r}")
    fmt = detect_format(responses) if format == "auto" else format
    if fmt != "adhere":
        if inputs is not None:
            raise InputError(f"--inputs does not apply to {responses}: an {fmt} file carries its prompts and instructions")
        pairing = Pairing(skip_invalid=skip_invalid)
        items = self_contained_items(read_rows(responses, fmt), pairing)
        workers = 1 if workers is None else workers
        scorer = None if executor is None else executor.score
        return write_scores(_answers(items, reading), out, benchmark, workers, progress, pairing, source=str(responses),
                            scorer=scorer)  # fmt: skip
    if Path(responses).is_dir():
        responses, inputs = _run_dir_files(Path(responses), inputs)
    if executor is None and workers is None:
        workers = auto_workers(expected_count(responses, inputs))
    if workers is not None and workers < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    pairing = Pairing(skip_invalid=skip_invalid)
    items = iter_items(responses, inputs, pairing)
    scorer = None if executor is None else executor.score
    return write_scores(_answers(items, reading), out, benchmark, workers or 1, progress, pairing, source=str(responses),
                        scorer=scorer)  # fmt: skip


def _answers(items: Iterable[Item], reading: ReasoningSettings | None) -> Iterable[Item]:
    """Items whose responses are read as ``reading`` says (None, or keep: as written)."""
    if reading is None or reading.reasoning == "keep":
        return items
    return (item if item.response is None else dataclasses.replace(item, response=read_answer(item.response, None, reading).text)
            for item in items)  # fmt: skip


def _run_dir_files(run: Path, inputs: str | os.PathLike[str] | None) -> tuple[Path, Any]:
    """The responses and prompts of an ``adhere eval`` run directory."""
    responses = run / "responses.jsonl"
    if not responses.exists():
        raise InputError(f"{run}: no responses.jsonl; is this an `adhere eval` run directory?")
    if inputs is None:
        try:
            config = json.loads((run / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            config = None
        if not isinstance(config, dict):
            raise InputError(f"{run}: no readable config.json; pass --inputs")
        inputs = config.get("data")
        if not inputs or not Path(inputs).is_file():
            raise InputError(f"{run}: its prompts ({inputs}) are not a local file; pass --inputs")
    return responses, inputs


def write_scores(
    items: Iterable[Item],
    out: str | os.PathLike[str] | None,
    benchmark: str,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    pairing: Pairing | None = None,
    source: str = "input",
    extra: dict[str, Any] | None = None,
    scorer: Callable[[Iterable[Item]], Iterator[dict[str, Any]]] | None = None,
) -> Summary:
    """Score items into a summary and, with ``out``, ``verdicts.jsonl`` and ``summary.json``.

    ``scorer`` turns items into verdict rows in item order (default: ``score_items`` in
    ``workers`` processes; a Ray executor passes its own)."""
    pairing = pairing if pairing is not None else Pairing()
    made = None
    if out is not None:
        out = Path(out)
        if out.exists() and not out.is_dir():
            raise InputError(f"{out}: exists and is not a directory; choose another --out-dir")
        if not out.exists():
            made = out
    try:
        return _write_scores(items, out, benchmark, workers, progress, pairing, source, extra, scorer)
    except BaseException:
        if made is not None:  # a failed scoring leaves no empty folder behind
            with contextlib.suppress(OSError):
                made.rmdir()
        raise


def _write_scores(
    items: Iterable[Item],
    out: Path | None,
    benchmark: str,
    workers: int,
    progress: Callable[[int], None] | None,
    pairing: Pairing,
    source: str,
    extra: dict[str, Any] | None,
    scorer: Callable[[Iterable[Item]], Iterator[dict[str, Any]]] | None,
) -> Summary:
    summary = Summary(benchmark=benchmark, extra=dict(extra or {}))
    rows = score_items(items, workers) if scorer is None else scorer(items)
    with contextlib.ExitStack() as stack:
        sink = None
        if out is not None:
            sink = stack.enter_context(atomic_write(out / "verdicts.jsonl"))
        for row in rows:
            summary.add(
                row["instruction_id_list"],
                row["strict"]["follow_instruction_list"],
                row["loose"]["follow_instruction_list"],
            )
            if sink is not None:
                sink.write(json_line(row))
            if progress is not None:
                progress(1)
        summary.missing_responses = pairing.missing_responses
        summary.unmatched_responses = pairing.unmatched_responses
        summary.rejected_rows = pairing.rejected
        if summary.prompts == 0:
            if pairing.rejected:
                raise InputError(f"{source}: none of its rows could be scored ({len(pairing.rejected)} invalid); "
                                 f"the first: {pairing.rejected[0]}")  # fmt: skip
            raise InputError(f"{source}: no rows to score")
        if out is not None:
            write_json(out / "summary.json", summary.to_dict())
    return summary


__all__ = ["expected_count", "score", "score_item", "score_items"]
