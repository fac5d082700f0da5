"""The Python API for generation: :func:`evaluate` runs a model on a benchmark as ``adhere eval``
does (the same run directory, resumable, cached) and returns the run with a record per prompt;
:class:`Model` is a model to call from Python."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any



class Model:
    """A model adhere runs (``local``, ``gguf:PATH``, ``openai:NAME``, ``hf:...``, ``vllm:...``)
    with its backend options (``base_url``, ``n_ctx``, ``batch_size``, ...), loaded when first
    called::

        with adhere.Model("local") as model:
            model.generate("Write a haiku without commas.", max_tokens=64).text

    Pass one to :func:`evaluate` to evaluate it (the run loads its own copy, as a run records the
    model it loaded)."""

    def __init__(self, spec: str = "local", **options: Any):
        from adhere.models.base import parse_spec

        parse_spec(spec)  # an unknown kind is refused here, not at the first call
        self.spec = spec
        self.options = options
        self._backend: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"Model({self.spec!r}{''.join(f', {k}={v!r}' for k, v in self.options.items())})"

    def generate(self, prompt: str | list[dict[str, str]], *, sample: int = 0, **generation: Any) -> Any:
        """One completion (:class:`adhere.models.base.Completion`: ``text``, ``finish_reason``,
        token counts) of a prompt or a list of chat messages; ``generation``: the fields of
        :class:`adhere.models.config.GenerationConfig` (``max_tokens``, ``temperature``, ...)."""
        from adhere.models.base import load_backend
        from adhere.models.config import GenerationConfig, messages_for

        config = GenerationConfig(**generation)
        messages = messages_for(prompt, config) if isinstance(prompt, str) else prompt
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        if self._backend is None:
            self._backend = load_backend(self.spec, **self.options)
        return self._loop.run_until_complete(self._backend.complete(messages, config, sample))

    def close(self) -> None:
        """Release the model (memory, connections)."""
        if self._backend is not None and self._loop is not None:
            self._loop.run_until_complete(self._backend.aclose())
        if self._loop is not None:
            self._loop.close()
        self._backend = self._loop = None

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def evaluate(
    model: str | Model = "local",
    benchmark: str = "ifeval",
    *,
    data: str | Path | None = None,
    limit: int | None = None,
    out: str | Path | None = None,
    strategy: str | None = None,
    cache: str | Path | bool | Any = True,
    max_failures: int = 0,
    progress: Callable[[int], None] | None = None,
    reasoning: str = "strip",
    think_end: str = "</think>",
    **generation: Any,
) -> Any:
    """Generate answers to a benchmark's prompts with ``model`` and score them, as ``adhere eval``
    does, into the run directory ``out`` (default ``runs/<benchmark>-<model>``); rerun to resume.

    ``data``: a local JSONL of prompts (default: the benchmark's Hugging Face Hub copy);
    ``strategy``: best-of-n:N, decrim[:K], spar[:WxD]; ``cache``: True (the default cache
    file), False (none), a path, or a :class:`adhere.models.cache.ResponseCache`;
    ``reasoning``: "strip" scores a reasoning model's answer after its reasoning (the text after
    the last ``think_end``, or a server's reasoning field), "keep" the whole text;
    ``generation``: :class:`adhere.models.config.GenerationConfig` fields (``max_tokens``,
    ``temperature``, ``samples``, ``system_prompt``, ...).

    Returns the run (:class:`adhere.Run`): ``summary`` (accuracies with intervals), ``results``
    (per prompt: key, instruction ids, strict and loose verdicts with their reasons, prompt,
    response), ``config``. A run with failed model calls raises
    :class:`adhere.bench.failures.ModelCallsFailedError` unless ``max_failures`` allows them."""
    from adhere.bench.failures import FailurePolicy
    from adhere.bench.generate import EvalOptions, run_eval
    from adhere.bench.prompts import check_benchmark
    from adhere.models.cache import ResponseCache
    from adhere.models.config import GenerationConfig
    from adhere.models.reasoning import ReasoningSettings
    from adhere.report.runs import load_run

    check_benchmark(benchmark)
    spec, options = (model.spec, dict(model.options)) if isinstance(model, Model) else (model, {})
    if out is None:
        out = Path("runs") / f"{benchmark}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', spec).strip('-')}"
    if cache is True:
        cache = ResponseCache()
    elif cache is False or cache is None:
        cache = None
    elif isinstance(cache, (str, Path)):
        cache = ResponseCache(cache)
    options_ = EvalOptions(benchmark=benchmark, model=spec, data=None if data is None else str(data), limit=limit,
                           generation=GenerationConfig(**generation), backend_options=options, strategy=strategy,
                           reading=ReasoningSettings(reasoning, think_end))  # fmt: skip
    run_eval(options_, out, cache=cache, progress=progress, command=["adhere.evaluate"],
             failures=FailurePolicy(max_failures=max_failures))  # fmt: skip
    return load_run(out)
