"""Multi-turn instruction following: MMMT-IF's Programmatic Instruction Following (PIF).

A conversation is a sequence of turns; each turn asks a task and adds one verifiable instruction
that holds from then on, so instructions accumulate. The model answers every turn with the whole
conversation so far (its own earlier answers included). At each turn:

* PIF is the fraction of the instructions active so far that the answer follows;
* PIF-N-K is the fraction of conversations where at least K of N sampled rollouts reach PIF = 1.

Conversations are built deterministically from a seed: tasks from adhere's own pool
(``bench/tasks.py``), instructions sampled from the registry with IFEval's conflict table
respected across all turns (``constraints/sampling.py``).

Runs use the same run directory, response cache and resume as single-turn ``adhere eval``:
``responses.jsonl`` holds one row per (conversation turn, rollout), keyed ``"<conversation>/t<turn>"``;
a rerun continues each rollout from its first unanswered turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adhere.bench.failures import Breaker, FailurePolicy, ModelCallsFailedError, check_calls
from adhere.bench.generate import settle_all, start_run, with_cached
from adhere.bench.run import RunDir
from adhere.bench.tasks import TASKS
from adhere.constraints import build, evaluate
from adhere.constraints.sampling import sample_compatible
from adhere.errors import InputError
from adhere.jsonl import atomic_write, json_line, write_json
from adhere.models.base import Backend, ModelCallError
from adhere.models.cache import ResponseCache, cached_complete
from adhere.models.config import GenerationConfig, messages_for
from adhere.models.reasoning import ReasoningSettings
from adhere.bench.stats import bootstrap_mean_interval
from adhere.bench.summary import Summary

FOLLOW_UP = "From now on, also follow this instruction in every answer, together with the earlier ones: "


@dataclasses.dataclass(frozen=True)
class ConversationSpec:
    """How the conversations are built (all of it goes into config.json)."""

    conversations: int = 50
    """How many conversations."""
    turns: int = 3
    """Turns per conversation; each adds one instruction."""
    seed: int = 0
    """Seed of the construction (tasks and instructions)."""

    def validate(self) -> None:
        if self.conversations < 1:
            raise InputError(f"--count (conversations) must be at least 1, got {self.conversations}")
        if not 1 <= self.turns <= 8:
            raise InputError(f"--turns must be between 1 and 8, got {self.turns}")


def build_conversations(spec: ConversationSpec) -> list[dict[str, Any]]:
    """The conversations, the same for the same spec: a key and, per turn, the user message and
    the instruction it adds (id and kwargs)."""
    spec.validate()
    rng = random.Random(spec.seed)
    out = []
    for number in range(spec.conversations):
        tasks = rng.sample(TASKS, spec.turns)
        chosen = sample_compatible(rng, spec.turns)
        turns = []
        for turn, (task, constraint) in enumerate(zip(tasks, chosen)):
            sentence = constraint.describe()
            user = f"{task}\n\n{sentence}" if turn == 0 else f"{task}\n\n{FOLLOW_UP}{sentence}"
            turns.append({"user": user, "instruction_id": constraint.id, "kwargs": constraint.kwargs()})
        out.append({"key": f"mt-{number:04d}", "turns": turns})
    return out


def _turn_key(conversation: str, turn: int) -> str:
    return f"{conversation}/t{turn}"


async def _rollout(
    backend: Backend,
    conversation: dict[str, Any],
    sample: int,
    config: GenerationConfig,
    cache: ResponseCache | None,
    run: RunDir,
    done: dict[tuple[Any, int], dict[str, Any]],
    progress: Callable[[int], None] | None,
    breaker: Breaker,
) -> None:
    """One rollout: the turns in order, each answered with the history of this rollout."""
    messages = messages_for(conversation["turns"][0]["user"], config)
    for turn, spec in enumerate(conversation["turns"]):
        if turn:
            messages = [*messages, {"role": "user", "content": spec["user"]}]
        key = _turn_key(conversation["key"], turn)
        previous = done.get((key, sample))
        if previous is not None and previous.get("response") is not None:
            messages.append({"role": "assistant", "content": previous["response"]})
            continue
        if breaker.tripped:
            return
        try:
            record, cached = await cached_complete(backend, cache, messages, config, sample)
        except ModelCallError as error:
            run.append_error(key, sample, error)
            if progress:
                progress(0, False)
            breaker.failure(error)
            return  # later turns need this answer: the next run retries from here
        breaker.success()
        answer = run.append_response(key, sample, record, cached)
        if progress:
            progress(record["completion_tokens"] or 0, cached)
        messages.append({"role": "assistant", "content": answer})  # the answer, without its reasoning


async def _generate_all(backend, conversations, config, cache, run, done, progress, breaker) -> None:
    limit = getattr(backend, "concurrency", 1)
    semaphore = asyncio.Semaphore(limit) if limit is not None else contextlib.nullcontext()

    async def guarded(conversation, sample):
        # A rollout is sequential; bounded concurrency applies across rollouts.
        async with semaphore:
            await _rollout(backend, conversation, sample, config, cache, run, done, progress, breaker)

    try:
        breaker.tasks.extend(asyncio.ensure_future(guarded(c, s)) for c in conversations for s in range(config.samples))
        await settle_all(breaker.tasks)
    finally:
        await backend.aclose()


def score_rollouts(
    conversations: list[dict[str, Any]], rows: dict[tuple[Any, int], dict[str, Any]], samples: int
) -> tuple[list[dict[str, Any]], dict[str, Any], Summary]:
    """Verdict rows (one per conversation turn and rollout), the multi-turn summary, and the
    turn-level Summary (every turn scored on the instructions active at it)."""
    turns = max(len(c["turns"]) for c in conversations)
    verdicts = []
    summary = Summary(benchmark="multiturn")
    # pif[mode][turn] -> list over (conversation, sample); perfect[mode][turn][conversation] -> count
    pif = {m: [[] for _ in range(turns)] for m in ("strict", "loose")}
    perfect = {m: [[0] * len(conversations) for _ in range(turns)] for m in ("strict", "loose")}
    for c_index, conversation in enumerate(conversations):
        constraints = [build(t["instruction_id"], t["kwargs"]) for t in conversation["turns"]]
        ids = [t["instruction_id"] for t in conversation["turns"]]
        for sample in range(samples):
            for turn in range(len(conversation["turns"])):
                key = _turn_key(conversation["key"], turn)
                row = rows.get((key, sample), {})
                response = row.get("response")
                active, active_ids = constraints[: turn + 1], ids[: turn + 1]
                if response is None:
                    reason = f"model error: {row['error']}" if row.get("error") else "no response"
                    strict = loose = [False] * len(active)
                    strict_reasons = loose_reasons = [reason] * len(active)
                else:
                    evaluation = evaluate(response, active)
                    strict = [v.passed for v in evaluation.strict]
                    loose = [v.passed for v in evaluation.loose]
                    strict_reasons = [v.reason for v in evaluation.strict]
                    loose_reasons = [v.reason for v in evaluation.loose]
                summary.add(active_ids, strict, loose)
                if response is None:
                    summary.missing_responses.append(key)
                record = {"key": key, "conversation": conversation["key"], "turn": turn, "sample": sample,
                          "instruction_id_list": active_ids, "response_found": response is not None}  # fmt: skip
                for mode, followed, reasons in (("strict", strict, strict_reasons), ("loose", loose, loose_reasons)):
                    score = sum(followed) / len(followed)
                    pif[mode][turn].append(score)
                    perfect[mode][turn][c_index] += score == 1.0
                    record[mode] = {"follow_all_instructions": all(followed), "follow_instruction_list": followed,
                                    "reasons": reasons, "pif": score}  # fmt: skip
                verdicts.append(record)
    block: dict[str, Any] = {"conversations": len(conversations), "turns": turns, "samples": samples}
    for mode in ("strict", "loose"):
        block[f"pif_{mode}"] = [sum(v) / len(v) if v else None for v in pif[mode]]
        block[f"pif_n_k_{mode}"] = {
            f"PIF-{samples}-{k}": [sum(count >= k for count in perfect[mode][turn]) / len(conversations) for turn in range(turns)]
            for k in range(1, samples + 1)
        }
        # 95% interval of the last turn's mean PIF, resampling conversations (a conversation's
        # rollouts share its instructions, so they are resampled together).
        final = pif[mode][turns - 1]
        per_conversation = [sum(final[i : i + samples]) / samples for i in range(0, len(final), samples)]
        block[f"final_pif_{mode}_interval"] = bootstrap_mean_interval(per_conversation)
    return verdicts, block, summary


def run_multiturn(
    spec: ConversationSpec,
    model: str,
    generation: GenerationConfig,
    backend_options: dict[str, Any],
    out: str | Path,
    *,
    cache: ResponseCache | None,
    progress: Callable[[int], None] | None = None,
    on_start: Callable[[int, int], None] | None = None,
    command: list[str] | None = None,
    failures: FailurePolicy | None = None,
    reading: ReasoningSettings | None = None,
) -> tuple[dict[str, Any], Summary]:
    """Build, generate (resuming what ``out`` holds), score; write the run directory."""
    conversations = build_conversations(spec)
    failures = failures or FailurePolicy()
    backend, run = start_run(
        out, model, backend_options, generation, command,
        {"benchmark": "multiturn", "data": "adhere built-in task pool",
         "conversation_spec": dataclasses.asdict(spec), "prompts": spec.conversations * spec.turns},
        reading=reading,
    )  # fmt: skip
    try:
        return _generate_and_score(conversations, spec, generation, backend, run, cache, progress, on_start, failures)
    finally:
        run.release()


def _generate_and_score(conversations, spec, generation, backend, run, cache, progress, on_start, failures):
    with atomic_write(run.path / "conversations.jsonl") as handle:
        for conversation in conversations:
            handle.write(json_line(conversation))
    done = run.finished()
    total = spec.conversations * spec.turns * generation.samples
    finished = sum(1 for row in done.values() if row.get("response") is not None)
    if on_start:
        on_start(total, total - finished)
    breaker = Breaker(failures)
    try:
        asyncio.run(_generate_all(backend, conversations, generation, cache, run, done, with_cached(progress), breaker))
    finally:
        run.close()
    order = [(_turn_key(c["key"], t), s) for c in conversations for s in range(generation.samples) for t in range(spec.turns)]
    rows = {(r["key"], r["sample"]): r for r in run.compact(order)}
    try:
        check_calls(rows, total, failures, run.path, breaker)
    except ModelCallsFailedError:
        run.discard_scores()
        raise
    verdicts, block, summary = score_rollouts(conversations, rows, generation.samples)
    with atomic_write(run.path / "verdicts.jsonl") as handle:
        for row in verdicts:
            handle.write(json_line(row))
    data = summary.to_dict()
    data["multiturn"] = block
    write_json(run.path / "summary.json", data)
    return block, summary
