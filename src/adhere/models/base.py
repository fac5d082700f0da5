"""What every backend shares: model specs, the registry, completions and call errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from adhere.errors import AdhereError, InputError
from adhere.models.config import GenerationConfig

Messages = list[dict[str, str]]

#: The model spec forms, as shown when a spec is not understood.
SPEC_FORMS = (
    "local (the bundled SmolLM2-135M-Instruct)",
    "gguf:PATH (a local GGUF file, run by llama.cpp)",
    "openai:NAME (an OpenAI-compatible server; with --base-url)",
    "hf:PATH_OR_ID (transformers)",
    "vllm:PATH_OR_ID (vLLM, on a GPU host)",
)


class ModelCallError(AdhereError):
    """One model call failed (after retries): recorded on its row, never cached."""


class ModelUnavailableError(AdhereError):
    """The model cannot be used at all (server unreachable, file missing): the run stops."""

    exit_code = 2


@dataclasses.dataclass(frozen=True)
class Completion:
    """One response and what it cost."""

    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float


def settle(future: Any, result: Any) -> None:
    """Give a call's future its completion or its error, unless it was cancelled meanwhile."""
    if future.done():
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class Backend(Protocol):
    """A model that turns chat messages into a completion."""

    name: str

    def identity(self) -> dict[str, Any]:
        """What identifies the model's outputs (cache keys, run records); never a secret."""

    async def complete(self, messages: Messages, config: GenerationConfig, sample: int) -> Completion:
        """One completion; raises ``ModelCallError`` when the call fails."""

    async def aclose(self) -> None:
        """Release connections, processes, memory."""


def describe(backend: Backend) -> dict[str, Any]:
    """What a run records of its model: the identity, the chat template, and the runtime that
    computes its answers (library versions, the CPU's kernels or the GPU) where the backend knows
    it. The same weights give slightly different greedy answers on another runtime, so a
    comparison between runs made on different ones says so."""
    runtime = backend.runtime() if hasattr(backend, "runtime") else None
    return {"identity": backend.identity(), "chat_template": getattr(backend, "chat_template", None), "runtime": runtime}


_BACKENDS: dict[str, Callable[..., Backend]] = {}


def backend(kind: str) -> Callable[[Callable[..., Backend]], Callable[..., Backend]]:
    """Register a backend factory for specs of the form ``kind:...``."""

    def register(factory: Callable[..., Backend]) -> Callable[..., Backend]:
        _BACKENDS[kind] = factory
        return factory

    return register


def parse_spec(spec: str) -> tuple[str, str]:
    """``"openai:gpt-4o"`` -> ``("openai", "gpt-4o")``; an unknown form lists the valid ones."""
    if spec == "local":
        return "local", ""
    kind, sep, rest = spec.partition(":")
    if not sep or not rest or kind not in {"gguf", "openai", "hf", "vllm"}:
        forms = "; ".join(SPEC_FORMS)
        raise InputError(f"unknown model spec {spec!r}; use one of: {forms}")
    return kind, rest


def load_backend(spec: str, **options: Any) -> Backend:
    """The backend for a model spec, built with the options its kind accepts."""
    kind, rest = parse_spec(spec)
    _load_builtins()
    try:
        factory = _BACKENDS[kind]
    except KeyError:
        raise InputError(f"model spec {spec!r}: the {kind} backend is not available yet") from None
    return factory(rest, **options)


def _load_builtins() -> None:
    # Registering is cheap: each backend imports its heavy library only when it is built.
    from adhere.models import hf, llamacpp, openai, vllm  # noqa: F401
