"""New task seeds written by a model, Self-Instruct style (Wang et al., 2023).

Each request shows the model ``examples`` tasks from the pool (mostly the given seeds, a few of
the tasks generated so far) and asks for new ones, one per numbered line. Every candidate is
filtered, in request order:

* ``length``: fewer than 4 or more than 60 words;
* ``not_text``: asks for something a text model cannot give (an image, a video, a file, ...);
* ``format``: does not start with a letter or digit, or is not one request;
* ``similar``: ROUGE-L F1 with any task in the pool at or above ``rouge`` (Self-Instruct's 0.7);
* ``near_duplicate``: MinHash Jaccard with a pooled task at or above ``minhash`` (when set);
* ``contaminated``: shares a word n-gram with an evaluation prompt (when files are given).

Kept tasks join the pool. Requests go out ``batch`` at a time (a batch's examples are drawn from
the pool as it stood), every call goes through the response cache, and all choices are seeded, so
a rerun of an interrupted command replays the cached calls and continues where it stopped.
"""

from __future__ import annotations

import collections
import dataclasses
import random
import re
from collections.abc import Callable, Sequence
from typing import Any

from adhere.errors import InputError
from adhere.settings import setting
from adhere.models.base import Backend, ModelCallError
from adhere.models.cache import ResponseCache, cached_complete
from adhere.models.config import GenerationConfig
from adhere.synth.decontaminate import NgramIndex
from adhere.synth.similarity import MinHashIndex, RougeL

#: Words that mark a task a text-only model cannot do (Self-Instruct filters the same kind).
NOT_TEXT = (
    "image", "images", "picture", "pictures", "photo", "photos", "video", "videos", "audio",
    "sound recording", "graph", "chart", "diagram", "drawing", "draw", "plot", "map", "file",
    "files", "attached", "screenshot", "spreadsheet", "url", "link below", "go to",
)  # fmt: skip
_NOT_TEXT = re.compile(r"\b(?:" + "|".join(re.escape(w) for w in NOT_TEXT) + r")\b", re.IGNORECASE)
_NUMBER = re.compile(r"^(?:\d{1,3}\s*[.):]\s*)+")
_ITEM = re.compile(r"^\s*(?:task\s*)?\d{1,3}\s*[.):]\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class SelfInstructConfig:
    count: int = setting(100, "new tasks to keep")
    seed: int = setting(0, "seed of the examples shown")
    examples: int = setting(8, "tasks shown per request")
    from_generated: int = setting(2, "of those, how many come from the generated tasks (once there are some)")
    batch: int = setting(8, "requests in flight together")
    max_requests: int | None = setting(None, "stop after this many requests (default: 10 per task asked for)")
    rouge: float = setting(0.7, "drop a task whose ROUGE-L F1 with a pooled task reaches this")
    minhash: float | None = setting(None, "also drop a task whose MinHash Jaccard with a pooled task reaches this")
    min_words: int = setting(4, "fewest words in a kept task")
    max_words: int = setting(60, "most words in a kept task")

    def validate(self) -> None:
        if self.count < 1:
            raise InputError(f"--count must be at least 1, got {self.count}")
        if not 1 <= self.examples <= 32 or not 0 <= self.from_generated <= self.examples:
            raise InputError("--examples must be 1..32 and --from-generated 0..--examples")
        if self.batch < 1:
            raise InputError(f"--batch must be at least 1, got {self.batch}")
        if not 0.0 < self.rouge <= 1.0:
            raise InputError(f"--rouge must be in (0, 1], got {self.rouge}")
        if self.max_requests is not None and self.max_requests < 1:
            raise InputError(f"--max-requests must be at least 1, got {self.max_requests}")


def request_messages(examples: Sequence[str], wanted: int) -> list[dict[str, str]]:
    listed = "\n".join(f"{i}. {task}" for i, task in enumerate(examples, start=1))
    return [{"role": "user", "content":
        f"Here are some tasks people ask an assistant to do:\n{listed}\n\n"
        f"Write {wanted} new tasks that differ from these and from each other, on varied topics and "
        "needing varied kinds of work (explaining, writing, planning, comparing, advising, summarizing). "
        "Each task must be one request that can be answered in text alone. "
        "Write one task per line, numbered from 1, and nothing else."}]  # fmt: skip


def parse_tasks(text: str) -> list[str]:
    """The numbered items of a reply, extra numbering, quotes and markdown emphasis stripped."""
    # A small model often numbers twice ("3. 2. Plan a trip"): every leading number goes.
    return [_NUMBER.sub("", m.group(1)).strip().strip("\"'*_`").strip() for m in _ITEM.finditer(text)]


class _Filter:
    def __init__(self, config: SelfInstructConfig, pool: Sequence[str], against: NgramIndex | None):
        self.config = config
        self.rouge = RougeL(pool)
        self.pool = list(pool)
        self.minhash = MinHashIndex(config.minhash) if config.minhash is not None else None
        if self.minhash is not None:
            for number, task in enumerate(pool):
                self.minhash.add(number, task)
        self.against = against

    def reason(self, task: str) -> tuple[str | None, dict[str, Any]]:
        """(why the task is dropped or None, details)."""
        words = task.split()
        if not self.config.min_words <= len(words) <= self.config.max_words:
            return "length", {}
        if _NOT_TEXT.search(task):
            return "not_text", {}
        if not task[0].isalnum() or "\n" in task:
            return "format", {}
        scores = self.rouge.scores(task)
        best = max(range(len(scores)), key=scores.__getitem__) if scores else None
        details = {"rouge_l_max": round(scores[best], 4), "most_similar": self.pool[best]} if best is not None else {}
        if best is not None and scores[best] >= self.config.rouge:
            return "similar", details
        if self.minhash is not None and self.minhash.match(task) is not None:
            return "near_duplicate", details
        if self.against is not None:
            hit = self.against.hit(task)
            if hit is not None:
                return "contaminated", {"overlaps": hit[0], "ngram": hit[1]}
        return None, details

    def add(self, task: str) -> None:
        if self.minhash is not None:
            self.minhash.add(len(self.pool), task)
        self.rouge.add(task)
        self.pool.append(task)


async def self_instruct(
    backend: Backend,
    cache: ResponseCache | None,
    seeds: Sequence[str],
    config: SelfInstructConfig,
    generation: GenerationConfig,
    *,
    against: NgramIndex | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(new task rows, card)."""
    config.validate()
    if len(seeds) < 2:
        raise InputError("Self-Instruct needs at least 2 seed tasks to show the model")
    rng = random.Random(config.seed)
    check = _Filter(config, seeds, against)
    kept: list[dict[str, Any]] = []
    generated: list[str] = []
    dropped: collections.Counter[str] = collections.Counter()
    examples_of: dict[str, list[str]] = collections.defaultdict(list)
    failures: list[str] = []
    limit = config.max_requests or 10 * config.count
    requests = candidates = 0
    try:
        while len(kept) < config.count and requests < limit:
            batch = []
            for _ in range(min(config.batch, limit - requests)):
                from_generated = min(config.from_generated, len(generated))
                shown = rng.sample(list(seeds), min(config.examples - from_generated, len(seeds)))
                shown += rng.sample(generated, from_generated)
                rng.shuffle(shown)
                batch.append((requests, request_messages(shown, config.examples)))
                requests += 1
            replies = await _gather(backend, cache, generation, batch)
            for (number, _), reply in zip(batch, replies):
                if isinstance(reply, ModelCallError):
                    failures.append(f"request {number}: {reply}")
                    continue
                for task in parse_tasks(reply["text"]):
                    candidates += 1
                    reason, details = check.reason(task)
                    if reason is not None:
                        dropped[reason] += 1
                        if len(examples_of[reason]) < 5:
                            examples_of[reason].append(task)
                        continue
                    check.add(task)
                    generated.append(task)
                    kept.append({"task": task, "source": {"generator": "self-instruct", "model": backend.name,
                                                          "request": number, **details}})  # fmt: skip
                    if progress:
                        progress(1)
                    if len(kept) >= config.count:
                        break
                if len(kept) >= config.count:
                    break
    finally:
        await backend.aclose()
    card = {
        "kind": "task seeds (Self-Instruct)",
        "model": backend.name,
        "config": dataclasses.asdict(config),
        "generation": generation.to_dict(),
        "seed_tasks": len(seeds),
        "requests": requests,
        "failed_requests": len(failures),
        "failures": failures[:20],
        "candidates": candidates,
        "kept": len(kept),
        "dropped": dict(sorted(dropped.items())),
        "dropped_examples": dict(sorted(examples_of.items())),
    }
    return kept, card


async def _gather(backend, cache, generation, batch) -> list[Any]:
    import asyncio

    async def one(number: int, messages: list[dict[str, str]]) -> Any:
        try:
            record, _ = await cached_complete(backend, cache, messages, generation, number)
        except ModelCallError as error:
            return error
        return record

    return await asyncio.gather(*(one(number, messages) for number, messages in batch))
