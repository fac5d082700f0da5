"""Best-of-N, DeCRIM and SPaR behind one ``run(model, prompt, constraints)``.

* ``BestOfN``: N samples at a temperature; keep the one that follows the largest fraction of the
  constraints (ties: loose fraction, then the earliest sample). Tülu 3 / "sharpening".
* ``DeCRIM`` (Ferraz et al., 2024): decompose the request into constraints (the model does it
  when no verifier list is given), critique the response against each (the verifier where one
  exists, else the model as a judge), refine on the failed ones; stop when all pass or after K
  rounds.
* ``SPaR`` (Cheng et al., 2024): breadth-first tree search over refinements (``width`` children per
  node, ``depth`` levels); a node's value is its verifier pass rate, or its judge pass rate over
  sampled judgments where there is no verifier. Stops at the first node that passes everything.
* ``SelfJudge`` (Self-Judge, selective answering): the model answers, then judges its own answer
  (does it follow every instruction? YES or NO, one token); its probability of YES is the
  answer's confidence, and below the threshold the answer is marked abstained. The answer is kept
  (and scored) either way; the run reports coverage against accuracy over thresholds and the
  confidence's AUROC against the verifiers' truth.

Every model call goes through ``Model`` (cached, recorded); candidates keep their parent, so
refinement chains and (original, refined) pairs can be read back.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Any

from adhere.constraints import Constraint
from adhere.improve.base import (
    GREEDY,
    Call,
    Candidate,
    Model,
    StrategyResult,
    best_index,
    read_yes_no,
    refine_messages,
    score,
    strategy,
)
from adhere.models.base import Completion, Messages
from adhere.models.config import messages_for

#: Temperature for sampled candidates and refinements when the run's own is 0 (greedy).
SAMPLING_TEMPERATURE = 0.7


class Judge:
    """The model as a judge, for constraints with no verifier (DeCRIM's and SPaR's fallback)."""

    def __init__(self, model: Model, calls: list[Call], judgments: int = 1):
        self.model, self.calls, self.judgments = model, calls, judgments

    async def decompose(self, prompt: str) -> list[str]:
        messages: Messages = [{"role": "user", "content":
            "List every instruction or constraint the following request places on the answer, one per "
            f"line, each line starting with '- '. Do not answer the request.\n\nRequest:\n{prompt}"}]  # fmt: skip
        reply = await self.model.complete(messages, self.calls, purpose="decompose", temperature=0.0)
        items = [m.group(1).strip() for m in re.finditer(r"^\s*[-*•]\s+(.+)$", reply.text, re.MULTILINE)]
        return items or [prompt]

    async def rate(self, prompt: str, response: str, constraint: str) -> float:
        """Fraction of sampled judgments that say the response satisfies the constraint."""
        messages: Messages = [{"role": "user", "content":
            f"Request:\n{prompt}\n\nResponse:\n{response}\n\nDoes the response satisfy this constraint: "
            f"\"{constraint}\"? Answer with YES or NO only."}]  # fmt: skip
        votes = 0
        for sample in range(self.judgments):
            temperature = 0.0 if self.judgments == 1 else SAMPLING_TEMPERATURE
            reply = await self.model.complete(messages, self.calls, purpose="judge", sample=sample, temperature=temperature)
            votes += reply.text.strip().upper().startswith("YES")
        return votes / self.judgments

    async def score(self, prompt: str, reply: Completion, items: Sequence[str], origin: str,
                    parent: int | None = None) -> Candidate:  # fmt: skip
        rates = [await self.rate(prompt, reply.text, item) for item in items]
        value = sum(rates) / len(rates) if rates else 1.0
        failed = [f"{item}: the judge said no" for item, rate in zip(items, rates) if rate < 0.5]
        return Candidate(reply.text, value, value, origin, parent, failed, reply.finish_reason)


async def _scored(model: Model, judge: Judge | None, prompt: str, constraints: Sequence[Constraint],
                  items: Sequence[str], reply: Completion, origin: str, parent: int | None = None) -> Candidate:  # fmt: skip
    if constraints or judge is None:
        return score(reply.text, constraints, origin, parent, reply.finish_reason)
    return await judge.score(prompt, reply, items, origin, parent)


@dataclasses.dataclass(frozen=True)
class BestOfN:
    n: int = 4
    temperature: float | None = None
    """Sampling temperature; None: the run's, or 0.7 if the run is greedy."""
    greedy: bool = False
    """Also the greedy answer, first (origin ``greedy``): what the model says when evaluated, so
    training data can reject it where a sample does better (``best-of-n:N+greedy``)."""

    def __post_init__(self) -> None:
        if self.n < (0 if self.greedy else 1):
            raise ValueError("n must be at least 1 (0 with the greedy answer: the strategy 'greedy')")

    @property
    def name(self) -> str:
        if self.n == 0:
            return GREEDY
        return f"best-of-n:{self.n}" + (f"+{GREEDY}" if self.greedy else "")

    async def run(self, model: Model, prompt: str, constraints: Sequence[Constraint]) -> StrategyResult:
        temperature = self.temperature if self.temperature is not None else (model.config.temperature or SAMPLING_TEMPERATURE)
        calls: list[Call] = []
        candidates = []
        if self.greedy:
            reply = await model.complete(messages_for(prompt, model.config), calls, purpose="answer", temperature=0.0)
            candidates.append(score(reply.text, constraints, GREEDY, finish_reason=reply.finish_reason))
        for sample in range(self.n):
            reply = await model.complete(messages_for(prompt, model.config), calls, purpose="sample",
                                         sample=sample, temperature=temperature)  # fmt: skip
            candidates.append(score(reply.text, constraints, f"sample {sample}", finish_reason=reply.finish_reason))
        chosen = best_index(candidates)
        return StrategyResult(candidates[chosen].text, chosen, candidates, calls)


@dataclasses.dataclass(frozen=True)
class DeCRIM:
    rounds: int = 3

    def __post_init__(self) -> None:
        if self.rounds < 0:
            raise ValueError("rounds must be >= 0")

    @property
    def name(self) -> str:
        return f"decrim:{self.rounds}"

    async def run(self, model: Model, prompt: str, constraints: Sequence[Constraint]) -> StrategyResult:
        calls: list[Call] = []
        judge = None if constraints else Judge(model, calls)
        items = await judge.decompose(prompt) if judge else []
        reply = await model.complete(messages_for(prompt, model.config), calls, purpose="answer")
        candidates = [await _scored(model, judge, prompt, constraints, items, reply, "answer")]
        for round_ in range(1, self.rounds + 1):
            current = candidates[-1]
            if not current.failed:
                break
            messages = refine_messages(prompt, current.text, current.failed, model.config)
            reply = await model.complete(messages, calls, purpose="refine")
            candidates.append(await _scored(model, judge, prompt, constraints, items, reply,
                                            f"refinement {round_}", len(candidates) - 1))  # fmt: skip
        # The final refinement is the answer (DeCRIM keeps refining), unless an earlier one scored higher.
        chosen = best_index(candidates[::-1])
        chosen = len(candidates) - 1 - chosen
        return StrategyResult(candidates[chosen].text, chosen, candidates, calls)


@dataclasses.dataclass(frozen=True)
class SPaR:
    width: int = 2
    depth: int = 2
    judgments: int = 3
    """Sampled judgments per constraint when there is no verifier."""

    def __post_init__(self) -> None:
        if self.width < 1 or self.depth < 0:
            raise ValueError("width must be >= 1 and depth >= 0")

    @property
    def name(self) -> str:
        return f"spar:{self.width}x{self.depth}"

    async def run(self, model: Model, prompt: str, constraints: Sequence[Constraint]) -> StrategyResult:
        calls: list[Call] = []
        judge = None if constraints else Judge(model, calls, self.judgments)
        items = await judge.decompose(prompt) if judge else []
        temperature = model.config.temperature or SAMPLING_TEMPERATURE
        reply = await model.complete(messages_for(prompt, model.config), calls, purpose="answer")
        candidates = [await _scored(model, judge, prompt, constraints, items, reply, "root")]
        level = [0]
        for depth in range(1, self.depth + 1):
            if any(not candidates[i].failed for i in level):
                break
            next_level = []
            for parent in level:
                node = candidates[parent]
                messages = refine_messages(prompt, node.text, node.failed, model.config)
                for child in range(self.width):
                    reply = await model.complete(messages, calls, purpose="refine", sample=child, temperature=temperature)
                    candidates.append(await _scored(model, judge, prompt, constraints, items, reply,
                                                    f"depth {depth} child {child} of {parent}", parent))  # fmt: skip
                    next_level.append(len(candidates) - 1)
            # Breadth-first, keeping the `width` best nodes of each level (a beam) so the tree stays width x depth.
            level = sorted(next_level, key=lambda i: (-candidates[i].strict, -candidates[i].loose, i))[: self.width]
        chosen = best_index(candidates)
        return StrategyResult(candidates[chosen].text, chosen, candidates, calls)


# -- registered under their --strategy names -------------------------------------------------------


SELF_JUDGE_PROMPT = ("Request:\n{prompt}\n\nResponse:\n{response}\n\nDoes the response follow every instruction "
                     "in the request? Answer YES or NO only.")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class SelfJudge:
    threshold: float = 0.5
    """Below this confidence the answer is marked abstained."""
    judge: Any = dataclasses.field(default=None, compare=False, repr=False)
    """Another model's backend that judges the answers (``--judge``); None: the model judges its own."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("the threshold is a probability, from 0 to 1")

    @property
    def name(self) -> str:
        return f"self-judge:{self.threshold:g}"

    async def run(self, model: Model, prompt: str, constraints: Sequence[Constraint]) -> StrategyResult:
        calls: list[Call] = []
        reply = await model.complete(messages_for(prompt, model.config), calls, purpose="answer")
        candidate = score(reply.text, constraints, "answer", finish_reason=reply.finish_reason)
        ask: Messages = [{"role": "user", "content": SELF_JUDGE_PROMPT.format(prompt=prompt, response=reply.text)}]
        judge = model if self.judge is None else Model(self.judge, model.config, model.cache, reading=model.reading)
        verdict = await judge.complete(ask, calls, purpose="self-judge", temperature=0.0, max_tokens=1, top_logprobs=5)
        said, p_yes = read_yes_no(verdict.text, verdict.top_logprobs)
        # Without log-probabilities the answer itself is the confidence: YES 1, NO 0, neither 0.5.
        confidence = p_yes if p_yes is not None else {True: 1.0, False: 0.0, None: 0.5}[said]
        extra = {"confidence": confidence, "confidence_from": "logprobs" if p_yes is not None else "answer",
                 "abstained": confidence < self.threshold}  # fmt: skip
        return StrategyResult(reply.text, 0, [candidate], calls, extra)


@strategy("greedy")
def _greedy(arg: str) -> BestOfN:
    if arg:
        raise ValueError(arg)
    return BestOfN(n=0, greedy=True)


@strategy("best-of-n")
def _best_of_n(arg: str) -> BestOfN:
    count, plus, extra = arg.partition("+")
    n = int(count or 4)
    if (plus and extra != GREEDY) or n < 1:  # the greedy answer alone is spelt `greedy`
        raise ValueError(extra)
    return BestOfN(n=n, greedy=bool(plus))


@strategy("decrim")
def _decrim(arg: str) -> DeCRIM:
    return DeCRIM(rounds=int(arg or 3))


@strategy("spar")
def _spar(arg: str) -> SPaR:
    width, _, depth = (arg or "2x2").partition("x")
    return SPaR(width=int(width), depth=int(depth or 2))


@strategy("self-judge")
def _self_judge(arg: str) -> SelfJudge:
    return SelfJudge(float(arg)) if arg else SelfJudge()
