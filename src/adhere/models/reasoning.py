"""Reasoning models: the answer a response gives, apart from the reasoning before it.

A reasoning model writes its reasoning before its answer, in the text (``<think>...</think>``
then the answer: DeepSeek-R1, Qwen3, SmolLM3) or in a field of its own that OpenAI-compatible
servers fill (``reasoning_content``: vLLM, SGLang, llama.cpp's server, DeepSeek; ``reasoning``:
Ollama, OpenRouter). The constraints are about the answer: a ``<think>`` block full of commas
must not fail "no commas". So adhere scores the answer and keeps the reasoning apart, in its own
field of the response row, with the raw text where it differs from the answer.
"""

from __future__ import annotations

import dataclasses

from adhere.errors import InputError
from adhere.settings import setting

READINGS = ("strip", "keep")


@dataclasses.dataclass(frozen=True)
class ReasoningSettings:
    """How a response's answer is read (recorded in the run's config.json)."""

    reasoning: str = setting("strip", "strip: score the answer after the reasoning (the text up to the last "
                             "--think-end marker, or a server's reasoning field); keep: score the whole text",
                             choices=READINGS)  # fmt: skip
    think_end: str = setting("</think>", "the marker that ends the reasoning in a response's text")

    def __post_init__(self) -> None:
        if self.reasoning not in READINGS:
            raise InputError(f"reasoning must be strip or keep, got {self.reasoning!r}")
        if not isinstance(self.think_end, str) or not self.think_end.strip():
            raise InputError("think_end must be a non-empty marker, e.g. </think>")
        after = getattr(super(), "__post_init__", None)  # a class that is other settings too (a recipe stage)
        if after is not None:
            after()

    @property
    def think_start(self) -> str | None:
        """The opening marker that goes with ``think_end`` (``<think>`` for ``</think>``), if any."""
        return "<" + self.think_end[2:] if self.think_end.startswith("</") else None

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Answer:
    """A response read: the answer scored, the reasoning kept apart, and whether the response
    ended inside its reasoning (cut off before any answer)."""

    text: str
    reasoning: str | None = None
    unfinished: bool = False


def read_answer(text: str, reasoning: str | None = None, settings: ReasoningSettings | None = None) -> Answer:
    """The answer of a response ``text`` (``reasoning``: the server's reasoning field, if any).

    With ``strip``: the text after the last end marker (leading blank space dropped), the
    reasoning being what came before it (without its opening marker), after the server's field;
    a text that opens a reasoning block and never closes it is all reasoning, with an empty,
    unfinished answer (so is an empty text after a server's reasoning field); any other text is
    the answer as it is. With ``keep``: the whole text."""
    settings = settings or ReasoningSettings()
    kept = reasoning if reasoning else None
    if settings.reasoning == "keep":
        return Answer(text, kept)
    end = settings.think_end
    start = settings.think_start
    if end in text:
        before, _, after = text.rpartition(end)
        before = before.strip()
        if start and before.startswith(start):
            before = before[len(start):].strip()
        parts = [part for part in (kept, before) if part]
        return Answer(after.lstrip(), "\n\n".join(parts) if parts else None)
    if start and text.lstrip().startswith(start):
        inside = text.lstrip()[len(start):].strip()
        parts = [part for part in (kept, inside) if part]
        return Answer("", "\n\n".join(parts) if parts else None, unfinished=True)
    # A server that keeps the reasoning apart sends no answer when the limit cut the reasoning off.
    return Answer(text, kept, unfinished=bool(kept) and not text.strip())
