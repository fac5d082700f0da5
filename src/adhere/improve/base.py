"""One interface for every strategy: (prompt, constraints) in, a response and its record out.

A strategy calls the model through ``Model``, which caches every call by content (as
``adhere eval`` does) and records it: what it was for, its tokens, its latency. Candidates are
scored with the same checkers as evaluation (``adhere.constraints.evaluate``).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable, Sequence
from typing import Any

from adhere.constraints import Constraint, evaluate
from adhere.errors import InputError
from adhere.models.base import Backend, Completion, Messages
from adhere.models.cache import ResponseCache, cached_complete
from adhere.models.config import GenerationConfig
from adhere.models.reasoning import ReasoningSettings, read_answer
from adhere.registry import Registry


@dataclasses.dataclass
class Call:
    """One model call a strategy made."""

    purpose: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cached: bool


@dataclasses.dataclass
class Candidate:
    """A response a strategy considered, with its verifier scores (fractions of constraints followed)."""

    text: str
    strict: float
    loose: float
    origin: str
    parent: int | None = None
    failed: list[str] = dataclasses.field(default_factory=list)
    """Why each failed constraint failed ("id: reason"), strict."""
    finish_reason: str | None = None
    """Why the model stopped ("stop", "length": cut off at the token limit); a repair keeps its source's."""

    @property
    def cut_off(self) -> bool:
        """The answer ran into the token limit: it ends mid-thought, whatever its verdicts."""
        return self.finish_reason == "length"


GREEDY = "greedy"
"""The origin of ``best-of-n:N+greedy``'s greedy candidate (training data rejects it where it is worse)."""


@dataclasses.dataclass
class StrategyResult:
    response: str
    chosen: int
    candidates: list[Candidate]
    calls: list[Call]
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    """What a strategy adds to the run row (Self-Judge: its confidence and whether it abstains)."""

    def cost(self) -> dict[str, Any]:
        return {
            "calls": len(self.calls),
            "uncached_calls": sum(not c.cached for c in self.calls),
            "prompt_tokens": sum(c.prompt_tokens for c in self.calls),
            "completion_tokens": sum(c.completion_tokens for c in self.calls),
            "uncached_completion_tokens": sum(c.completion_tokens for c in self.calls if not c.cached),
            "model_seconds": round(sum(c.latency_s for c in self.calls if not c.cached), 3),
        }

    def record(self) -> dict[str, Any]:
        """What goes on the run row: the choice, every candidate and the cost."""
        return {"chosen": self.chosen, "candidates": [dataclasses.asdict(c) for c in self.candidates], "cost": self.cost(),
                **self.extra}  # fmt: skip


class Model:
    """A backend with the response cache and a log of calls, as strategies use it."""

    def __init__(self, backend: Backend, config: GenerationConfig, cache: ResponseCache | None, *,
                 reading: ReasoningSettings | None = None):  # fmt: skip
        self.backend, self.config, self.cache = backend, config, cache
        #: How a reply's answer is read: strategies judge and revise the answer, not the reasoning.
        self.reading = reading

    async def complete(self, messages: Messages, calls: list[Call], *, purpose: str, sample: int = 0,
                       temperature: float | None = None, **overrides: Any) -> Completion:  # fmt: skip
        """One call, cached and logged; ``temperature`` and other ``overrides`` (GenerationConfig
        fields, e.g. ``max_tokens``, ``top_logprobs``) replace the run's settings for this call."""
        changes = {**overrides, **({} if temperature is None else {"temperature": temperature})}
        config = dataclasses.replace(self.config, **changes) if changes else self.config
        record, cached = await cached_complete(self.backend, self.cache, messages, config, sample)
        calls.append(Call(purpose, record.get("prompt_tokens") or 0, record.get("completion_tokens") or 0,
                          record.get("latency_s") or 0.0, cached))  # fmt: skip
        reply = Completion(**{f.name: record.get(f.name) for f in dataclasses.fields(Completion)})
        if self.reading is None:
            return reply
        answer = read_answer(reply.text, reply.reasoning, self.reading)
        return dataclasses.replace(reply, text=answer.text, reasoning=answer.reasoning)


_YES_NO = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)
YES_TOKENS = ("yes", "Yes", "YES", " yes", " Yes", " YES")
NO_TOKENS = ("no", "No", "NO", " no", " No", " NO")


def read_yes_no(text: str, top_logprobs: Sequence[tuple[str, float]] | None) -> tuple[bool | None, float | None]:
    """A judge's YES/NO answer: (said YES, probability of YES). The first is None when the answer
    starts with neither word; the probability (the YES-like first tokens' share of the YES-like and
    NO-like ones among the top log-probabilities) is None without them, or when neither is there."""
    match = _YES_NO.match(text)
    said = None if match is None else match.group(1).lower() == "yes"
    p_yes = None
    if top_logprobs:
        yes = [math.exp(lp) for token, lp in top_logprobs if token in YES_TOKENS]
        no = [math.exp(lp) for token, lp in top_logprobs if token in NO_TOKENS]
        if yes or no:
            p_yes = sum(yes) / (sum(yes) + sum(no))
    return said, p_yes


def score(text: str, constraints: Sequence[Constraint], origin: str, parent: int | None = None,
          finish_reason: str | None = None) -> Candidate:  # fmt: skip
    """A candidate scored by the verifiers: fraction followed, strict and loose."""
    if not constraints:
        return Candidate(text, 1.0, 1.0, origin, parent, finish_reason=finish_reason)
    result = evaluate(text, constraints)
    strict = sum(v.passed for v in result.strict) / len(constraints)
    loose = sum(v.passed for v in result.loose) / len(constraints)
    failed = [f"{c.id}: {v.reason}" for c, v in zip(constraints, result.strict) if not v.passed]
    return Candidate(text, strict, loose, origin, parent, failed, finish_reason)


def ranked(candidates: Sequence[Candidate]) -> list[int]:
    """Candidate indices best first, by the tie rule every strategy uses: highest strict score,
    then loose, then the earliest."""
    return sorted(range(len(candidates)), key=lambda i: (-candidates[i].strict, -candidates[i].loose, i))


def best_index(candidates: Sequence[Candidate]) -> int:
    """The best candidate's index (``ranked``'s first)."""
    return ranked(candidates)[0]


def refine_messages(prompt: str, previous: str, failed: Sequence[str], config: GenerationConfig) -> Messages:
    """Ask for a rewrite that fixes the listed failures (DeCRIM's refine step)."""
    from adhere.models.config import messages_for

    problems = "\n".join(f"- {line}" for line in failed)
    return [
        *messages_for(prompt, config),
        {"role": "assistant", "content": previous},
        {"role": "user", "content": "Your answer does not yet follow every instruction of my first message. "
         f"Problems found:\n{problems}\nRewrite your answer so that it follows all of the instructions. "
         "Reply with the new answer only."},
    ]  # fmt: skip


def _load_builtins() -> None:
    from adhere.improve import strategies  # noqa: F401 (its @strategy decorators)


#: Strategy factories by name: each takes the text after ``name:`` ("" when none) and returns a
#: strategy, or raises ValueError for an argument it does not take.
STRATEGIES: Registry[Callable[[str], Any]] = Registry("strategy", _load_builtins)


def strategy(name: str) -> Callable[[Callable[[str], Any]], Callable[[str], Any]]:
    """Register a strategy factory under ``name`` (``--strategy NAME[:ARG]``)."""

    def register(factory: Callable[[str], Any]) -> Callable[[str], Any]:
        return STRATEGIES.register(name, factory)

    return register


def load_strategy(spec: str):
    """``greedy`` (the greedy answer alone), ``best-of-n:8`` (``best-of-n:8+greedy``: the greedy
    answer too), ``decrim`` / ``decrim:3`` (rounds), ``spar`` / ``spar:WIDTHxDEPTH``, or a
    plugin's ``NAME[:ARG]``."""
    name, _, arg = spec.partition(":")
    if name in STRATEGIES:
        try:
            return STRATEGIES.get(name)(arg)
        except ValueError:
            pass
    others = ", ".join(f"{n}[:ARG]" for n in STRATEGIES.names() if n not in _BUILTIN)
    raise InputError(
        f"unknown strategy {spec!r}; use greedy, best-of-n:N[+greedy], decrim[:ROUNDS], spar[:WIDTHxDEPTH] or "
        "self-judge[:THRESHOLD]"
        f"{', ' + others if others else ''} (e.g. best-of-n:8, best-of-n:4+greedy, spar:3x2)"
    )


_BUILTIN = ("greedy", "best-of-n", "decrim", "spar", "self-judge")
