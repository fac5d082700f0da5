"""An example adhere plugin: the ``example:no_exclamation`` constraint, the ``echo:`` backend, the
``first`` strategy and the ``note`` recipe stage kind. Importing this module registers them."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from adhere import Constraint, Verdict, constraint
from adhere.bench.prompts import register_benchmark
from adhere.improve.base import Call, StrategyResult, score, strategy
from adhere.models.base import Completion, backend
from adhere.models.config import messages_for
from adhere.recipe import Stage, stage_kind
from adhere.settings import setting


@constraint("example:no_exclamation", benchmark="example")
class NoExclamation(Constraint):
    """No exclamation mark anywhere in the response."""

    template = "Do not use any exclamation marks in your response."
    # Everything else about it, declared here: how synthesis draws it (no kwargs), other wordings,
    # the repair, and what it must not be asked for with.
    sample_kwargs = staticmethod(lambda rng: {})
    other_wordings = ("Keep your answer free of exclamation marks.",)
    repair_edit = staticmethod(lambda text, c: text.replace("!", "."))
    conflicts_with = ("startend:end_checker",)

    def _check(self, view) -> Verdict:
        count = view.text.count("!")
        return Verdict(count == 0, "no exclamation marks" if count == 0 else f"found {count} exclamation marks")


# A benchmark of its own: local prompts only (no Hub copy).
register_benchmark("example")


@dataclasses.dataclass(frozen=True, kw_only=True)
class EchoOptions:
    """Options of the echo backend."""

    suffix: str = setting("", "text added after the echoed prompt")


class EchoBackend:
    """Answers every request with its last message, upper-cased, plus the suffix."""

    def __init__(self, name: str, suffix: str = ""):
        self.name = f"echo:{name}"
        self.suffix = suffix

    def identity(self) -> dict[str, Any]:
        return {"backend": "echo", "suffix": self.suffix}

    async def complete(self, messages, config, sample: int) -> Completion:
        text = messages[-1]["content"].upper() + self.suffix
        return Completion(text, "stop", 1, len(text.split()), 0.0)

    async def aclose(self) -> None:
        pass


@backend("echo", EchoOptions)
def _echo(name: str, **options: Any) -> EchoBackend:
    return EchoBackend(name, **options)


@dataclasses.dataclass(frozen=True)
class First:
    """One plain answer, recorded as a strategy's."""

    name: str = "first"

    async def run(self, model, prompt: str, constraints: Sequence[Constraint]) -> StrategyResult:
        calls: list[Call] = []
        reply = await model.complete(messages_for(prompt, model.config), calls, purpose="answer")
        candidate = score(reply.text, constraints, "first", finish_reason=reply.finish_reason)
        return StrategyResult(candidate.text, 0, [candidate], calls)


@strategy("first")
def _first(arg: str) -> First:
    if arg:
        raise ValueError(arg)
    return First()


@stage_kind("note")
@dataclasses.dataclass(frozen=True, kw_only=True)
class Note(Stage):
    """Write a note into the stage's folder."""

    product: ClassVar[str] = "note"
    text: str = setting("hello", "what the note says")

    def run(self, ws, folder: Path) -> dict[str, Any]:
        (folder / "note.txt").write_text(self.text, encoding="utf-8")
        return {"chars": len(self.text)}
