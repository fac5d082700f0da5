"""The verifiers as TRL reward functions (for GRPO and other online trainers).

``instruction_following_reward`` has TRL's reward signature ``(prompts, completions, **columns)
-> list[float]``: the fraction of a row's constraints the completion follows, judged by the same
checkers as evaluation. The dataset's ``instruction_id_list`` and ``kwargs`` columns (IFEval's
schema, what ``adhere synth`` writes) arrive as keyword arguments; kwargs that Arrow padded with
nulls are fine. Completions may be text or chat messages (the last assistant message is judged).

    from trl import GRPOConfig, GRPOTrainer
    from adhere.train.rewards import instruction_following_reward
    trainer = GRPOTrainer(model=..., reward_funcs=[instruction_following_reward], train_dataset=prompts, ...)

``loose_instruction_following_reward`` judges as IFEval's loose mode does (a named function, as
TRL logs each reward under its function's ``__name__``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adhere.constraints import evaluate
from adhere.constraints.rows import constraints_of
from adhere.errors import InputError


def _text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        for message in reversed(completion):
            if isinstance(message, dict) and message.get("role") == "assistant":
                return str(message.get("content") or "")
    raise InputError(f"a completion must be text or chat messages, got {type(completion).__name__}")


def instruction_following_reward(
    prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), *, loose: bool = False, **columns: Any
) -> list[float]:
    """Fraction of each row's constraints its completion follows (strict unless ``loose``)."""
    ids, kwargs = columns.get("instruction_id_list"), columns.get("kwargs")
    if ids is None:
        raise InputError("the reward needs the dataset's 'instruction_id_list' column (and 'kwargs')")
    rewards = []
    for number, completion in enumerate(completions):
        row = {"instruction_id_list": list(ids[number]), "kwargs": list(kwargs[number]) if kwargs is not None else None}
        _, constraints = constraints_of(row, f"reward row {number}")
        if not constraints:
            rewards.append(1.0)
            continue
        result = evaluate(_text(completion), constraints)
        verdicts = result.loose if loose else result.strict
        rewards.append(sum(v.passed for v in verdicts) / len(verdicts))
    return rewards


def loose_instruction_following_reward(
    prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **columns: Any
) -> list[float]:
    """``instruction_following_reward`` in IFEval's loose mode."""
    return instruction_following_reward(prompts, completions, loose=True, **columns)


def all_instructions_reward(
    prompts: Sequence[Any] | None = None, completions: Sequence[Any] = (), **columns: Any
) -> list[float]:
    """1 when the completion follows every one of its row's constraints (strict), else 0: IFEval's
    prompt-level accuracy as a reward."""
    return [float(r == 1.0) for r in instruction_following_reward(prompts, completions, **columns)]


#: ``adhere train grpo --reward NAME``.
REWARDS = {"strict": instruction_following_reward, "loose": loose_instruction_following_reward,
           "all": all_instructions_reward}  # fmt: skip
