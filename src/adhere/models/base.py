"""What every backend shares: model specs, the registry, completions and call errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Protocol

from adhere.errors import AdhereError, InputError
from adhere.models.config import GenerationConfig
from adhere.registry import Registry

Messages = list[dict[str, str]]

#: The model spec forms, as shown when a spec is not understood.
SPEC_FORMS = (
    "local (the bundled SmolLM2-135M-Instruct)",
    "gguf:PATH (a local GGUF file, run by llama.cpp)",
    "openai:NAME (an OpenAI-compatible server; with -M base_url=URL)",
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
    """One response and what it cost.

    Made valid whatever a backend hands it (a server's JSON can hold anything): ``text`` must be
    a string (anything else is a failed call, never cached or scored), with lone surrogates
    (a ``"\\ud83d"`` escape without its pair) replaced by U+FFFD as a UTF-8 decoder would; token
    counts that are not non-negative integers are unknown (None); a finish reason that is not a
    string is unknown.
    """

    text: str
    finish_reason: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_s: float
    #: The reasoning a server sent apart from the answer (``reasoning_content``), if any.
    reasoning: str | None = None
    #: The most likely first tokens with their log-probabilities, most likely first, when the
    #: config asked for them (``top_logprobs``) and the backend gives them; else None.
    top_logprobs: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ModelCallError(f"the model's answer is not text (got {type(self.text).__name__})")
        set_ = object.__setattr__  # frozen: the checked values are set once, here
        set_(self, "text", clean_text(self.text))
        finish = self.finish_reason
        set_(self, "finish_reason", clean_text(finish)[:100] if isinstance(finish, str) else None)
        reasoning = self.reasoning
        set_(self, "reasoning", clean_text(reasoning) if isinstance(reasoning, str) and reasoning else None)
        set_(self, "top_logprobs", _top_logprobs(self.top_logprobs))
        set_(self, "prompt_tokens", _count(self.prompt_tokens))
        set_(self, "completion_tokens", _count(self.completion_tokens))
        latency = self.latency_s
        ok = isinstance(latency, (int, float)) and not isinstance(latency, bool) and latency >= 0
        set_(self, "latency_s", float(latency) if ok and latency != float("inf") else 0.0)

    @classmethod
    def from_record(cls, record: Any) -> Completion | None:
        """A completion from its stored record (the cache's), or None if the record is not one."""
        if not isinstance(record, dict):
            return None
        try:
            return cls(**{f.name: record.get(f.name) for f in dataclasses.fields(cls)})
        except ModelCallError:
            return None


def clean_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (a surrogate pair given as two
    characters becomes the one character it encodes): what a UTF-8 decoder makes of it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def _top_logprobs(value: Any) -> tuple[tuple[str, float], ...] | None:
    """Pairs of (token, log-probability) as a tuple, or None when the value is not that."""
    if not isinstance(value, (list, tuple)):
        return None
    pairs = []
    for pair in value:
        if (not isinstance(pair, (list, tuple)) or len(pair) != 2 or not isinstance(pair[0], str)
                or isinstance(pair[1], bool) or not isinstance(pair[1], (int, float)) or pair[1] > 0):  # fmt: skip
            return None
        pairs.append((clean_text(pair[0]), float(pair[1])))
    return tuple(pairs)


def _count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and 0 <= value < 2**53 else None


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


def _load_builtins() -> None:
    # Registering is cheap: each backend imports its heavy library only when it is built.
    from adhere.models import hf, llamacpp, openai, vllm  # noqa: F401


#: Backend factories by spec kind (``local``, ``gguf``, ``openai``, ``hf``, ``vllm``, plugins'),
#: each with its options type (or None).
BACKENDS: Registry[tuple[Callable[..., Backend], type | None]] = Registry("model backend", _load_builtins)


def backend(kind: str, options: type | None = None) -> Callable[[Callable[..., Backend]], Callable[..., Backend]]:
    """Register a backend factory for specs of the form ``kind:...``; ``options`` is its options
    type (a settings class: ``adhere.settings``), which checks what ``-M key=value`` and a
    config's ``[model.options]`` give it."""

    def register(factory: Callable[..., Backend]) -> Callable[..., Backend]:
        BACKENDS.register(kind, (factory, options))
        return factory

    return register


def options_type(spec: str) -> type | None:
    """The options type of the backend a spec names."""
    kind, _ = parse_spec(spec)
    return BACKENDS.get(kind)[1]


def check_options(spec: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` checked by the backend's own options type: an unknown key is one line listing
    the valid ones, a wrong type or range one line naming the key. Returns the given keys with
    their values converted (``8`` for a float option becomes ``8.0``)."""
    from adhere.settings import from_table, to_table

    kind, _ = parse_spec(spec)
    cls = options_type(spec)
    if cls is None:
        if options:
            raise InputError(f"model options: the {kind} backend takes none, got {', '.join(options)}")
        return {}
    checked = to_table(from_table(cls, options, f"model options ({kind})"))
    return {key: checked.get(key) for key in options}


def parse_spec(spec: str) -> tuple[str, str]:
    """``"openai:gpt-4o"`` -> ``("openai", "gpt-4o")``; an unknown form lists the valid ones."""
    if spec == "local":
        return "local", ""
    kind, sep, rest = spec.partition(":")
    # adhere's own kinds are known without importing anything; any other may be a plugin's.
    if not sep or not rest or (kind not in {"gguf", "openai", "hf", "vllm"} and kind not in BACKENDS):
        forms = "; ".join(SPEC_FORMS)
        raise InputError(f"unknown model spec {spec!r}; use one of: {forms}")
    return kind, rest


def load_backend(spec: str, **options: Any) -> Backend:
    """The backend for a model spec, built with the options its kind accepts."""
    kind, rest = parse_spec(spec)
    factory = BACKENDS.get(kind)[0]
    return factory(rest, **check_options(spec, options))
