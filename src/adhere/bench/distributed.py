"""``--executor ray``: the same runs on a Ray cluster (extra ``ray``).

Generation: the (prompt, sample) pairs still to do become a Ray Dataset, and ``map_batches`` runs
them in a pool of actors, each holding one model (a llama.cpp or transformers instance, or an
OpenAI-compatible client with its share of ``--concurrency``). A worker runs exactly the local
code (``generate_rows``: the response cache, the strategies, the row format) and returns the rows;
the driver appends them to ``responses.jsonl`` as they stream back, so the run directory is the
local one and a killed driver loses nothing the cache has. Ray restarts an actor whose process
dies and retries its batch; rows are keyed by (key, sample), so a retried batch never doubles one.

Verification: items are scored in CPU ``map_batches`` tasks, in order, with the local checkers,
into the same ``verdicts.jsonl`` and ``summary.json``.

The cache is a SQLite file: on one machine every worker shares it; on a multi-node cluster give
``--cache`` a path on a filesystem every node mounts (else each node keeps its own).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import pickle
import socket
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import urlparse

from adhere.errors import AdhereError, InputError, MissingExtraError, first_line
from adhere.models.base import parse_spec

INSTALL_HINT = "pip install 'adhere[ray]'"
#: Items per verification task: large enough that Ray's per-task cost is small beside the checks.
SCORE_BATCH = 1024
#: Tasks per Ray Dataset when scoring: bounds what the driver holds (64k items) on any input size.
SCORE_WINDOW = 64


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise MissingExtraError(f"--executor ray needs Ray: {INSTALL_HINT}") from None
    return ray


def check_address(address: str, timeout: float = 5.0) -> None:
    """One clear line for a Ray address nothing answers at (``host:port`` or ``ray://host:port``)."""
    if address == "auto":
        return
    parsed = urlparse(address if "://" in address else f"ray://{address}")
    if not parsed.hostname or not parsed.port:
        raise InputError(f"--ray-address {address!r}: give host:port (e.g. 10.0.0.5:6379) or ray://host:10001")
    try:
        with socket.create_connection((parsed.hostname, parsed.port), timeout=timeout):
            pass
    except OSError as error:
        raise InputError(f"--ray-address {address}: no Ray cluster answers there ({error.strerror or error}); "
                         "start one with `ray start --head` or check the address") from None  # fmt: skip


class RayExecutor:
    """Runs generation and verification in Ray; ``workers`` model actors (default: one per CPU)."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None, cpus_per_worker: float = 1.0,
                 score_batch: int = SCORE_BATCH, score_window: int = SCORE_WINDOW):  # fmt: skip
        ray = _ray()
        if workers is not None and workers < 1:
            raise InputError(f"--ray-workers must be at least 1, got {workers}")
        if address:
            check_address(address)
        import logging

        # Ray's INFO/WARNING start-up lines (token authentication, Ray Data's per-dataset plans)
        # are not the user's business; its errors still show.
        logging.getLogger("ray").setLevel(logging.ERROR)
        if not ray.is_initialized():
            options: dict[str, Any] = {"log_to_driver": False, "include_dashboard": False, "configure_logging": False}
            if address:
                ray.init(address=address, **options)
            else:
                ray.init(num_cpus=max(workers or 0, os.cpu_count() or 1), **options)
        self._ray = ray
        self.explicit_workers = workers
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_worker))
        self.cpus_per_worker = cpus_per_worker
        self.score_batch, self.score_window = score_batch, score_window
        context = ray.data.DataContext.get_current()
        context.execution_options.preserve_order = True
        context.enable_progress_bars = False
        # A worker that cannot load its model fails the run at once: no replacement is started to
        # fail the same way (Ray >= 2.60 counts deaths beyond this budget; 0 tolerates none).
        context.max_consecutive_actor_init_deaths = 0

    # -- generation ----------------------------------------------------------------------------

    def generate(self, options: Any, todo: list[tuple[dict[str, Any], int]], cache: Any, run: Any,
                 progress: Any = None) -> None:  # fmt: skip
        """Generate ``todo`` in the workers, appending each row to ``run`` as it arrives."""
        from adhere.bench.generate import generated_tokens

        if not todo:
            return
        ray = self._ray
        backend_options = self._worker_options(options.model, options.backend_options)
        items = [{"row": json.dumps(row, ensure_ascii=False), "sample": sample} for row, sample in todo]
        gpus, workers, largest = self._placement(parse_spec(options.model)[0], backend_options)
        batch = max(1, min(largest, len(items) // (workers * 4) or 1))
        dataset = ray.data.from_items(items, override_num_blocks=max(1, min(len(items), workers * 8)))
        generated = dataset.map_batches(
            _GenerationWorker, batch_size=batch, batch_format="pyarrow", num_cpus=self.cpus_per_worker,
            num_gpus=gpus, compute=ray.data.ActorPoolStrategy(size=min(workers, len(items))),
            fn_constructor_kwargs={
                "model": options.model, "backend_options": backend_options,
                "generation": options.generation.to_dict(), "cache": None if cache is None else str(cache.path),
                "strategy": options.strategy, "reading": options.reading.to_dict(),
            },
        )  # fmt: skip
        try:
            for batch_rows in generated.iter_batches(batch_size=None, batch_format="pyarrow"):
                for text in batch_rows.column("row").to_pylist():
                    row = json.loads(text)
                    run.append(row)
                    if progress:
                        progress(generated_tokens(row), bool(row.get("cached")))
        except Exception as error:  # a Ray error wraps the worker's own
            raise _worker_error(error) from None

    def _worker_options(self, model: str, backend_options: dict[str, Any]) -> dict[str, Any]:
        """The backend options of one worker's copy of the model."""
        backend_options = dict(backend_options)
        if "concurrency" in backend_options:  # one budget for the whole cluster
            backend_options["concurrency"] = max(1, backend_options["concurrency"] // self.workers)
        if "n_threads" not in backend_options and parse_spec(model)[0] in ("local", "gguf"):
            backend_options["n_threads"] = max(1, int(self.cpus_per_worker))
        return backend_options

    def describe(self, model: str, backend_options: dict[str, Any]) -> dict[str, Any]:
        """The model's identity and chat template, from a copy loaded and checked in a Ray worker
        placed as the generation workers are: the driver needs neither the model nor its GPU, and
        a model no worker can load fails here, before any work, with the worker's error."""
        ray = self._ray
        backend_options = self._worker_options(model, backend_options)
        gpus, _, _ = self._placement(parse_spec(model)[0], backend_options)
        task = ray.remote(num_cpus=self.cpus_per_worker, num_gpus=gpus, max_retries=0)(_describe)
        try:
            return ray.get(task.remote(model, backend_options))
        except Exception as error:  # a Ray error wraps the worker's own
            raise _worker_error(error) from None

    def _placement(self, kind: str, backend_options: dict[str, Any]) -> tuple[float, int, int]:
        """(GPUs per actor, actors, largest batch) for a model kind.

        A vLLM engine takes ``tensor_parallel_size`` GPUs of one node and wants large batches (it
        schedules them itself); without ``--ray-workers`` there is one engine per that many GPUs
        in the cluster. Other kinds take CPUs (transformers on a GPU host: pass ``--ray-workers``
        and the device option yourself) and get small batches, so rows stream back steadily."""
        if kind != "vllm":
            return 0, self.workers, 16
        per_engine = int(backend_options.get("tensor_parallel_size", 1))
        cluster_gpus = int(self._ray.cluster_resources().get("GPU", 0))
        if cluster_gpus < per_engine:
            raise InputError(f"--model vllm:... on Ray needs GPU workers with {per_engine} GPU(s) each; "
                             f"the cluster has {cluster_gpus} GPU(s)")  # fmt: skip
        return per_engine, self.explicit_workers or max(1, cluster_gpus // per_engine), 256

    # -- verification --------------------------------------------------------------------------

    def score(self, items: Iterable[Any]) -> Iterator[dict[str, Any]]:
        """Verdict rows in item order, scored in Ray tasks.

        Items stream through in windows of ``score_window`` batches of ``score_batch`` items (one
        pickled list per batch, one task per batch), so the driver's memory is bounded whatever
        the number of rows, and each window runs as one order-preserving ``map_batches``."""
        ray = self._ray
        iterator = iter(items)
        while True:
            blobs = []
            for _ in range(self.score_window):
                chunk = list(itertools.islice(iterator, self.score_batch))
                if not chunk:
                    break
                blobs.append({"items": pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)})
            if not blobs:
                return
            dataset = ray.data.from_items(blobs, override_num_blocks=len(blobs))
            scored = dataset.map_batches(_score_batch, batch_size=1, batch_format="pyarrow", num_cpus=1,
                                         compute=ray.data.TaskPoolStrategy(size=self.workers))
            try:
                for batch in scored.iter_batches(batch_size=None, batch_format="pyarrow"):
                    for text in batch.column("verdicts").to_pylist():
                        yield from map(json.loads, text.split("\n"))
            except Exception as error:
                raise _worker_error(error) from None
            if len(blobs) < self.score_window:
                return


def _worker_error(error: Exception) -> AdhereError:
    """The worker's own error, on one line, instead of Ray's nested traceback."""
    cause = error
    while getattr(cause, "cause", None) is not None and cause.cause is not cause:
        cause = cause.cause
    if isinstance(cause, AdhereError):
        return type(cause)(f"a Ray worker failed: {first_line(cause)}")
    text = str(cause)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # Ray's message ends with the exception raised in the worker: "SomeError: what happened".
    last = next((line for line in reversed(lines) if ": " in line and not line.startswith("File ")), lines[-1] if lines else repr(cause))
    return AdhereError(f"a Ray worker failed: {last[:300]}")


def _score_batch(batch: Any) -> Any:
    """One task: pickled lists of items in, their verdict rows (JSON lines, one string) out."""
    import pyarrow as pa

    from adhere.bench.scoring import score_item

    out = []
    for blob in batch.column("items").to_pylist():
        out.append("\n".join(json.dumps(score_item(item), ensure_ascii=False) for item in pickle.loads(blob)))
    return pa.table({"verdicts": out})


def _describe(model: str, backend_options: dict[str, Any]) -> dict[str, Any]:
    from adhere.models.base import describe, load_backend

    async def run() -> dict[str, Any]:
        backend = load_backend(model, **backend_options)
        try:
            if hasattr(backend, "check"):
                await backend.check()
            return describe(backend)
        finally:
            await backend.aclose()

    return asyncio.run(run())


class _GenerationWorker:
    """One model in one Ray actor: batches of (prompt row, sample) in, response rows out."""

    def __init__(self, model: str, backend_options: dict[str, Any], generation: dict[str, Any], cache: str | None,
                 strategy: str | None, reading: dict[str, Any] | None = None):  # fmt: skip
        from adhere.models.base import load_backend
        from adhere.models.cache import ResponseCache
        from adhere.models.config import GenerationConfig

        self.loop = asyncio.new_event_loop()
        self.backend = load_backend(model, **backend_options)
        if hasattr(self.backend, "check"):
            self.loop.run_until_complete(self.backend.check())
        self.config = GenerationConfig.from_dict(generation)
        self.cache = ResponseCache(cache) if cache else None
        from adhere.models.reasoning import ReasoningSettings

        self.reading = ReasoningSettings(**(reading or {}))
        self.strategy = None
        if strategy:
            from adhere.improve import load_strategy

            self.strategy = load_strategy(strategy)

    def __call__(self, batch: Any) -> Any:
        import pyarrow as pa

        from adhere.bench.generate import generate_rows
        from adhere.bench.run import Rows
        from adhere.constraints.rows import constraints_of

        rows = [json.loads(text) for text in batch.column("row").to_pylist()]
        todo = list(zip(rows, batch.column("sample").to_pylist()))
        constraints = None
        if self.strategy is not None:
            constraints = {row["key"]: constraints_of(row, f"prompt {row['key']}")[1] for row in rows}
        out = Rows(self.reading)
        self.loop.run_until_complete(generate_rows(self.backend, todo, self.config, self.cache, out, None,
                                                   self.strategy, constraints))  # fmt: skip
        return pa.table({"row": [json.dumps(row, ensure_ascii=False) for row in out]})


def executor_from_args(name: str, address: str | None, workers: int | None) -> RayExecutor | None:
    """The executor the CLI options name (None: local)."""
    if name == "local":
        if address or workers:
            raise InputError("--ray-address and --ray-workers need --executor ray")
        return None
    if name != "ray":
        raise InputError(f"--executor must be local or ray, got {name!r}")
    try:
        return RayExecutor(address, workers)
    except (ConnectionError, RuntimeError) as error:
        raise InputError(f"cannot start or join Ray: {first_line(error)[:200]}") from None
