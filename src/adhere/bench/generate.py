"""``adhere eval``: generate responses for a benchmark's prompts, cache them, score them.

Every (prompt, sample) is looked up in the response cache first; a miss calls the model and a
success is cached (an error is recorded on its row, never cached, and retried by the next run).
Rows go to the run directory as soon as they exist, so an interrupted run resumes where it
stopped: nothing finished is generated again, nothing is lost or duplicated.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adhere.bench.failures import Breaker, FailurePolicy, ModelCallsFailedError, check_calls
from adhere.bench.items import Item, Pairing
from adhere.bench.prompts import locate_prompts
from adhere.bench.run import RowSink, RunDir
from adhere.bench.scoring import write_scores
from adhere.constraints.rows import constraints_of
from adhere.errors import InputError
from adhere.models.base import Backend, ModelCallError, describe, load_backend
from adhere.models.cache import ResponseCache, cached_complete
from adhere.models.config import GenerationConfig, chat_messages, row_messages
from adhere.models.reasoning import ReasoningSettings
from adhere.bench.summary import Summary

#: Called after each finished (prompt, sample) with the completion tokens it produced and, if it
#: takes a second argument, whether the answer came from the cache (a rate should not count those).
Progress = Callable[..., None]


def with_cached(progress: Progress | None) -> Callable[[int, bool], None] | None:
    """``progress`` called as ``(tokens, cached)``; one written for ``(tokens)`` alone gets the tokens."""
    if progress is None:
        return None
    try:
        parameters = list(inspect.signature(progress).parameters.values())
    except (TypeError, ValueError):  # a builtin or a C callable: assume the one-argument form
        parameters = []
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return progress
    return lambda tokens, cached: progress(tokens)


def generated_tokens(row: dict[str, Any]) -> int:
    """The completion tokens the model generated for a run row in this run, what a progress rate
    counts: a strategy's calls found in the cache (best-of-n's greedy answer from an earlier plain
    run) took no time here."""
    cost = row.get("cost") or {}
    return cost.get("uncached_completion_tokens", row.get("completion_tokens") or 0)


@dataclasses.dataclass
class EvalOptions:
    """What an ``adhere eval`` run is made of (all of it goes into config.json)."""

    benchmark: str = "ifeval"
    """Benchmark name."""
    model: str = "local"
    """Model spec: local, gguf:PATH, openai:NAME, hf:..., vllm:..."""
    data: str | None = None
    """Local JSONL of prompts; None loads the benchmark from the Hugging Face Hub."""
    limit: int | None = None
    """Only the first N prompts."""
    generation: GenerationConfig = dataclasses.field(default_factory=GenerationConfig)
    """Sampling settings."""
    backend_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Backend settings (base_url, timeout, concurrency, n_ctx...), never secrets."""
    strategy: str | None = None
    """Inference-time strategy (best-of-n:N, decrim[:K], spar[:WxD]); None: one plain call."""
    reading: ReasoningSettings = dataclasses.field(default_factory=ReasoningSettings)
    """How a response's answer is read: a reasoning model's reasoning stripped or kept."""
    judge: str | None = None
    """With ``--strategy self-judge``: another model that judges the answers (None: the model itself)."""
    judge_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    """The judge's backend options."""


#: Strategy runs in flight on a backend that queues requests itself and says nothing of its width.
STRATEGY_RUNS_IN_FLIGHT = 256


async def generate_rows(
    backend: Backend,
    todo: list[tuple[dict[str, Any], int]],
    config: GenerationConfig,
    cache: ResponseCache | None,
    run: RowSink,
    progress: Progress | None,
    strategy: Any = None,
    constraints: dict[Any, Any] | None = None,
    breaker: Breaker | None = None,
) -> None:
    """Answer each (prompt row, sample) of ``todo`` into ``run``. A failed call is recorded on its
    row; when ``breaker`` trips, the calls still in flight are cancelled and no more start."""
    breaker = breaker if breaker is not None else Breaker()
    progress = with_cached(progress)

    def failed(key: Any, sample: int, error: ModelCallError) -> None:
        run.append_error(key, sample, error)
        if progress:
            progress(0, False)
        breaker.failure(error)

    # A backend may queue requests itself (concurrency None): then all of them go at once.
    limit = getattr(backend, "concurrency", 1)
    if strategy is not None and limit is None:
        # A strategy's calls follow one another. Started all at once, its first calls would fill
        # the backend's queue ahead of every second call, and no row would finish until nearly
        # the end; twice as many as the backend decodes together keeps it busy and rows flowing.
        width = getattr(backend, "n_parallel", None)
        limit = 2 * width if width else STRATEGY_RUNS_IN_FLIGHT
    semaphore = asyncio.Semaphore(limit) if limit is not None else contextlib.nullcontext()

    async def improved(row: dict[str, Any], sample: int) -> None:
        from adhere.improve.base import Model

        try:
            async with semaphore:
                if breaker.tripped:
                    return
                model = Model(backend, config, cache, reading=run.reading)
                result = await strategy.run(model, row["prompt"], constraints[row["key"]])
        except ModelCallError as error:
            failed(row["key"], sample, error)
            return
        breaker.success()
        cost = result.cost()
        answered = {"key": row["key"], "sample": sample, "response": result.response, "error": None,
                    "finish_reason": result.candidates[result.chosen].finish_reason,
                    "prompt_tokens": cost["prompt_tokens"], "completion_tokens": cost["completion_tokens"],
                    "latency_s": cost["model_seconds"], "cached": cost["uncached_calls"] == 0,
                    "strategy": strategy.name, **result.record()}  # fmt: skip
        run.append(answered)
        if progress:
            progress(generated_tokens(answered), answered["cached"])

    async def one(row: dict[str, Any], sample: int) -> None:
        if strategy is not None:
            await improved(row, sample)
            return
        if breaker.tripped:
            return
        messages = row_messages(row, config)
        try:
            record, cached = await cached_complete(backend, cache, messages, config, sample, gate=semaphore)
        except ModelCallError as error:
            failed(row["key"], sample, error)
            return
        breaker.success()
        run.append_response(row["key"], sample, record, cached)
        if progress:
            progress(record["completion_tokens"] or 0, cached)

    breaker.tasks.extend(asyncio.ensure_future(one(row, sample)) for row, sample in todo)
    await settle_all(breaker.tasks)


async def settle_all(tasks: list[asyncio.Task[None]]) -> None:
    """Wait for every task. Those cancelled by a tripped breaker end quietly; the first other
    error (a full disk, a bug) cancels the rest and is raised. If this wait is itself cancelled
    (Ctrl-C), the tasks are cancelled with it."""
    if not tasks:
        return
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        raise
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()


async def _generate_and_close(backend: Backend, *args: Any) -> None:
    strategy = args[5] if len(args) > 5 else None
    judge = getattr(strategy, "judge", None)
    try:
        await generate_rows(backend, *args)
    finally:
        await backend.aclose()  # its connections belong to this event loop
        if judge is not None:
            await judge.aclose()


async def _check(backend: Backend) -> None:
    try:
        await backend.check()
    finally:
        await backend.aclose()  # its connections belong to this event loop


def recorded_options(options: dict[str, Any]) -> dict[str, Any]:
    """Backend options as a run records them: a server URL without its password or credentials."""
    from adhere.models.openai import redact_url

    return {k: redact_url(v) if k == "base_url" and isinstance(v, str) else v for k, v in options.items()}


def recorded_command(argv: list[str]) -> list[str]:
    """The command line as a run records it: any URL in it without its password or credentials."""
    from adhere.models.openai import redact_url

    def clean(arg: str) -> str:
        flag, sep, value = arg.partition("=")
        if sep and value.startswith(("http://", "https://")):
            return f"{flag}={redact_url(value)}"
        return redact_url(arg) if arg.startswith(("http://", "https://")) else arg

    return [clean(str(arg)) for arg in argv]


def start_run(
    out: str | Path,
    model: str,
    backend_options: dict[str, Any],
    generation: GenerationConfig,
    command: list[str] | None,
    fields: dict[str, Any],
    executor: Any = None,
    reading: ReasoningSettings | None = None,
) -> tuple[Backend | None, RunDir]:
    """Load (and check) the model, then open the run directory with its ``config.json``: what
    every run records (version, command, model and identity, chat template, backend options,
    sampling), plus the run kind's own ``fields``.

    With an ``executor`` the model is loaded where it will run (a Ray worker, which may have the
    GPU this machine lacks), described, and closed; no backend is returned."""
    from adhere import __version__

    run = RunDir(out, reading)
    run.lock()  # before the model loads: a second run on this folder is refused at once
    backend = None
    try:
        if executor is not None:
            description = executor.describe(model, backend_options)
        else:
            backend = load_backend(model, **backend_options)
            if hasattr(backend, "check"):
                asyncio.run(_check(backend))
            description = describe(backend)
        run.start(
            {
                "adhere_version": __version__,
                "command": recorded_command(command if command is not None else sys.argv),
                **fields,
                "model": model,
                "model_identity": description["identity"],
                "chat_template": description["chat_template"],
                "runtime": description["runtime"],
                "backend_options": recorded_options(backend_options),
                "generation": generation.to_dict(),
                "reading": run.reading.to_dict(),
            }
        )
    except BaseException:
        run.release()
        if backend is not None:
            asyncio.run(backend.aclose())
        raise
    return backend, run


def plan(options: EvalOptions) -> tuple[list[dict[str, Any]], list[tuple[Any, Any]], str]:
    """The prompts of a run, their validated ``(ids, constraints)``, and where they came from."""
    prompts, source, wheres = locate_prompts(options.benchmark, options.data)
    if options.limit is not None:
        if options.limit < 1:
            raise InputError(f"--limit must be at least 1, got {options.limit}")
        prompts = prompts[: options.limit]
    checks = [constraints_of(row, where) for row, where in zip(prompts, wheres)]
    for row, where in zip(prompts, wheres):
        if row.get("messages") is not None:  # a multi-turn row (IFBench's constraint isolation)
            row["messages"] = chat_messages(row["messages"], where)
            if options.strategy is not None:
                raise InputError(f"{where}: --strategy answers one-turn prompts; this row is a conversation")
    return prompts, checks, source


def run_eval(
    options: EvalOptions,
    out: str | Path,
    *,
    cache: ResponseCache | None,
    progress: Progress | None = None,
    on_start: Callable[[int, int], None] | None = None,
    command: list[str] | None = None,
    executor: Any = None,
    failures: FailurePolicy | None = None,
) -> Summary:
    """Generate (resuming whatever ``out`` already holds), then score into ``out``.

    ``executor``: None runs here; a ``RayExecutor`` generates and scores in Ray workers (the run
    directory, the cache and the verdicts are the same). ``failures``: how many failed model
    calls the run may keep (see ``adhere.bench.failures``); beyond that, or when calls keep
    failing in a row, the answers are kept, nothing is scored, and ``ModelCallsFailedError``
    is raised."""
    failures = failures or FailurePolicy()
    prompts, checks, source = plan(options)
    strategy = None
    if options.strategy is not None:
        from adhere.improve import load_strategy

        strategy = load_strategy(options.strategy)
        if options.generation.samples != 1:
            raise InputError("--strategy makes one response per prompt from its own samples; drop --samples")
    if options.judge is not None:
        if not hasattr(strategy, "judge"):
            raise InputError("--judge applies to --strategy self-judge here (and to the judged benchmarks "
                             "alpaca-eval and requirements)")  # fmt: skip
        if executor is not None:
            raise InputError("--strategy self-judge with --judge runs with the local executor")
        strategy = dataclasses.replace(strategy, judge=load_backend(options.judge, **options.judge_options))
    backend, run = start_run(
        out, options.model, options.backend_options, options.generation, command,
        {"benchmark": options.benchmark, "data": source, "limit": options.limit, "prompts": len(prompts),
         "strategy": options.strategy, "executor": "local" if executor is None else executor.name,
         **({"judge": options.judge, "judge_options": recorded_options(options.judge_options)} if options.judge else {})},
        executor, options.reading,
    )  # fmt: skip
    try:
        return _generate_and_score(options, prompts, checks, source, backend, run, cache, progress, on_start,
                                   executor, strategy, failures)  # fmt: skip
    finally:
        run.release()


def _generate_and_score(options: EvalOptions, prompts: list[dict[str, Any]], checks: list[tuple[Any, Any]],
                        source: str, backend: Backend | None, run: RunDir, cache: ResponseCache | None,
                        progress: Progress | None, on_start: Callable[[int, int], None] | None, executor: Any,
                        strategy: Any, failures: FailurePolicy) -> Summary:  # fmt: skip
    done = run.finished()
    pairs = [(row, s) for row in prompts for s in range(options.generation.samples)]
    # A pair is done once it has a response; a recorded error is tried again.
    todo = [(row, s) for row, s in pairs if done.get((row["key"], s), {}).get("response") is None]
    if on_start:
        on_start(len(pairs), len(todo))
    started = time.perf_counter()
    by_key = {row["key"]: constraints for row, (_, constraints) in zip(prompts, checks)}
    breaker = Breaker(failures)
    try:
        if executor is None:
            asyncio.run(_generate_and_close(backend, todo, options.generation, cache, run, progress, strategy, by_key,
                                            breaker))  # fmt: skip
        else:
            executor.generate(options, todo, cache, run, with_cached(progress))
    finally:
        run.close()
    generation_seconds = time.perf_counter() - started
    rows = {(r["key"], r["sample"]): r for r in run.compact([(row["key"], s) for row, s in pairs])}
    try:
        check_calls(rows, len(pairs), failures, run.path, breaker)
    except ModelCallsFailedError:
        # Scores of an earlier state of this run would describe answers it no longer has.
        run.discard_scores()
        raise
    pairing = Pairing()
    items = []
    for row, (ids, constraints) in zip(prompts, checks):
        for s in range(options.generation.samples):
            got = rows.get((row["key"], s), {})
            if got.get("response") is None:
                pairing.missing_responses.append(row["key"])
            items.append(
                Item(row["key"], row["prompt"], ids, constraints, got.get("response"), got.get("error"))
            )
    cost = {"strategy": options.strategy, "calls": 0, "prompt_tokens": 0, "completion_tokens": 0,
            "responses": 0, "cut_off_responses": 0, "unfinished_reasoning": 0, "failed_calls": 0,
            "max_tokens": options.generation.max_tokens,
            "generation_seconds_this_run": round(generation_seconds, 3)}  # fmt: skip
    for row in rows.values():
        cost["calls"] += (row.get("cost") or {}).get("calls", 1 if row.get("response") is not None else 0)
        cost["prompt_tokens"] += row.get("prompt_tokens") or 0
        cost["completion_tokens"] += row.get("completion_tokens") or 0
        cost["responses"] += row.get("response") is not None
        cost["failed_calls"] += row.get("response") is None and bool(row.get("error"))
        cost["cut_off_responses"] += row.get("finish_reason") == "length"
        cost["unfinished_reasoning"] += bool(row.get("reasoning_unfinished"))
    scorer = None if executor is None else executor.score
    extra: dict[str, Any] = {"cost": cost}
    judged = [r for r in rows.values() if r.get("confidence") is not None and r.get("candidates")]
    if judged:
        from adhere.bench.requirements import selective

        # Self-Judge: how well the model's confidence in its own answer tells the verifiers' verdict.
        truths = [r["candidates"][r.get("chosen") or 0]["strict"] == 1.0 for r in judged]
        extra["self_judge"] = {**selective([r["confidence"] for r in judged], truths),
                               "abstained": sum(bool(r.get("abstained")) for r in judged),
                               "confidence_from_logprobs": sum(r.get("confidence_from") == "logprobs" for r in judged)}  # fmt: skip
    if run.earlier_runtimes:
        extra["earlier_runtimes"] = len(run.earlier_runtimes)
    return write_scores(items, run.path, options.benchmark, pairing=pairing, source=source, extra=extra,
                        scorer=scorer)  # fmt: skip
