"""How to sample from a model: the generation config every backend takes."""

from __future__ import annotations

import dataclasses
from typing import Any

from adhere.errors import InputError
from adhere.settings import setting


@dataclasses.dataclass(frozen=True)
class GenerationConfig:
    """Sampling settings; part of every cache key and written into every run directory."""

    temperature: float = setting(0.0, "sampling temperature (0: greedy decoding)")
    top_p: float = setting(1.0, "nucleus sampling: the smallest set of tokens whose probability reaches it")
    max_tokens: int = setting(1024, "most new tokens per response")
    seed: int | None = setting(0, "sampling seed (sample i of a prompt uses seed + i)")
    stop: tuple[str, ...] = setting((), "a string that ends a response when generated (repeatable)")
    system_prompt: str | None = setting(None, "a system message put before every prompt")
    samples: int = setting(1, "responses per prompt")
    #: Judges: also the N most likely first tokens, with their log-probabilities (a backend that
    #: cannot give them returns none). Not a flag; absent from to_dict (and cache keys) when None.
    top_logprobs: int | None = None

    def __post_init__(self) -> None:
        def bad(field: str, message: str) -> InputError:
            return InputError(f"generation config: {field} {message}")

        if not 0.0 <= self.temperature <= 10.0:
            raise bad("temperature", f"must be between 0 and 10, got {self.temperature}")
        if not 0.0 < self.top_p <= 1.0:
            raise bad("top_p", f"must be in (0, 1], got {self.top_p}")
        if isinstance(self.max_tokens, bool) or not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise bad("max_tokens", f"must be a positive integer, got {self.max_tokens!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)):
            raise bad("seed", f"must be an integer or null, got {self.seed!r}")
        if isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 1:
            raise bad("samples", f"must be a positive integer, got {self.samples!r}")
        if self.top_logprobs is not None and (isinstance(self.top_logprobs, bool) or not isinstance(self.top_logprobs, int)
                                              or not 1 <= self.top_logprobs <= 20):  # fmt: skip
            raise bad("top_logprobs", f"must be an integer from 1 to 20, or null; got {self.top_logprobs!r}")
        if isinstance(self.stop, str) or not all(isinstance(s, str) and s for s in self.stop):
            raise bad("stop", "must be a list of non-empty strings")
        object.__setattr__(self, "stop", tuple(self.stop))

    def sample_seed(self, index: int) -> int | None:
        """The seed of sample ``index`` of a prompt (distinct samples, reproducible)."""
        return None if self.seed is None else self.seed + index

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["stop"] = list(self.stop)
        if data["top_logprobs"] is None:
            del data["top_logprobs"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationConfig:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            raise InputError(f"generation config: unknown field {unknown[0]!r} (known: {', '.join(sorted(fields))})")
        data = dict(data)
        if "stop" in data and isinstance(data["stop"], list):
            data["stop"] = tuple(data["stop"])
        return cls(**data)


def chat_messages(value: Any, where: str) -> list[dict[str, str]]:
    """A row's ``messages`` (a conversation the model answers next), checked: chat messages with a
    role (system, user, assistant) and text, ending with the user's turn."""
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: 'messages' must be a non-empty list of chat messages")
    out = []
    for index, message in enumerate(value):
        if (not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant")
                or not isinstance(message.get("content"), str)):  # fmt: skip
            raise InputError(f"{where}: messages[{index}] must be {{\"role\": system|user|assistant, \"content\": text}}")
        out.append({"role": message["role"], "content": message["content"]})
    if out[-1]["role"] != "user":
        raise InputError(f"{where}: the last of 'messages' must be the user's turn, for the model to answer")
    return out


def row_messages(row: dict[str, Any], config: GenerationConfig) -> list[dict[str, str]]:
    """What a prompt row asks the model: its ``messages`` when it has them (a multi-turn row,
    checked when the prompts were read), else its ``prompt`` as one user turn; the system prompt,
    if any, first."""
    messages = row.get("messages")
    if messages is None:
        return messages_for(row["prompt"], config)
    messages = [{"role": m["role"], "content": m["content"]} for m in messages]
    if config.system_prompt and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": config.system_prompt})
    return messages


def messages_for(prompt: str, config: GenerationConfig) -> list[dict[str, str]]:
    """The chat messages of a one-turn request: the system prompt, if any, then the prompt."""
    system = [{"role": "system", "content": config.system_prompt}] if config.system_prompt else []
    return [*system, {"role": "user", "content": prompt}]
