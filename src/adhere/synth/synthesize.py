"""Verifiable prompt synthesis (Tülu 3 style): a task seed plus 1 to 3 compatible constraints.

Constraints come from the registry with seeded, IFEval-like kwargs (``constraints/sampling.py``),
never two that IFEval's conflict table forbids together; their instruction sentences are the
checkers' own renderers (``Constraint.describe``), or with ``phrasing="varied"`` that sentence or
another wording of it (``synth/phrasings.py``). Rows have IFEval's input schema (``key``,
``prompt``, ``instruction_id_list``, ``kwargs``), so ``adhere eval --data`` and ``adhere score``
take them, plus ``source`` (the seed task, the skills, the generator's settings).

With ``skill_mix`` a prompt also asks for two sampled skills (Instruct-SkillMix).
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adhere.constraints.base import Constraint
from adhere.constraints.sampling import (
    check_pool,
    default_pool,
    prompt_bound,
    quote_prompt,
    sample_compatible,
)
from adhere.errors import InputError
from adhere.settings import setting
from adhere.synth.phrasings import PHRASINGS, phrase, probe_wordings
from adhere.synth.seeds import SKILLS

LAYOUTS = ("appended", "varied")


@dataclasses.dataclass(frozen=True)
class SynthConfig:
    """How prompts are synthesized (written beside the data, in its card)."""

    count: int = setting(1000, "prompts to draw")
    seed: int = setting(0, "seed of every random choice")
    min_constraints: int = setting(1, "fewest constraints per prompt")
    max_constraints: int = setting(3, "most constraints per prompt")
    skill_mix: bool = setting(False, "also ask for two sampled skills per prompt (Instruct-SkillMix)")
    ids: tuple[str, ...] | None = setting(None, "constraint ids to draw from, or a family: ifeval, ifevalg (default: "
                                          "every samplable IFEval id, repeating the request too)")  # fmt: skip
    require: tuple[str, ...] = setting((), "constraint ids every prompt carries (with sampled kwargs)")
    # e.g. to give a model more practice at what it fails most
    weights: tuple[tuple[str, float], ...] = setting((), "constraint id -> how many times as often as the others "
                                                     "it is drawn")  # fmt: skip
    phrasing: str = setting("canonical", "canonical: each instruction in its checker's own sentence (IFEval's); "
                            "varied: that or another wording of it, drawn per instruction; probe: a held-out wording "
                            "no training prompt uses (probe sets)",
                            choices=("canonical", "varied", "probe"))  # fmt: skip

    layout: str = setting("appended", "appended: the task, then each instruction's sentence after it (a request to "
                          "repeat: the whole request, then that sentence on a line of its own); varied: drawn per "
                          "prompt, that, the instructions after a blank line, or the instruction to repeat written "
                          "before the request, which follows after a blank line (as in 8 of IFEval's 41)",
                          choices=LAYOUTS)  # fmt: skip

    def pool(self) -> tuple[str, ...]:
        """The ids drawn from (a family name in ``ids``, ifeval or ifevalg, stands for its ids)."""
        from adhere.constraints.sampling import expand_families

        return expand_families(self.ids) if self.ids else tuple(default_pool(quoting=True))

    def validate(self) -> None:
        if self.count < 1:
            raise InputError(f"--count must be at least 1, got {self.count}")
        if not 1 <= self.min_constraints <= self.max_constraints <= 5:
            raise InputError(
                "constraints per prompt must satisfy 1 <= --min-constraints <= --max-constraints <= 5, "
                f"got {self.min_constraints} and {self.max_constraints}"
            )
        check_pool(self.pool(), self.require, dict(self.weights))
        if self.phrasing not in PHRASINGS:
            raise InputError(f"--phrasing must be one of {', '.join(PHRASINGS)}, got {self.phrasing!r}")
        if self.layout not in LAYOUTS:
            raise InputError(f"--layout must be one of {', '.join(LAYOUTS)}, got {self.layout!r}")
        if self.phrasing == "probe":
            from adhere.constraints.registry import get

            bare = [cid for cid in self.pool() if not get(cid).probe_wordings]
            if bare:
                raise InputError(f"--phrasing probe needs held-out wordings, which {', '.join(bare[:4])}"
                                 f"{' ...' if len(bare) > 4 else ''} do not declare; leave them out of --ids")  # fmt: skip
        if len(self.require) > self.max_constraints:
            raise InputError(
                f"{len(self.require)} required constraints do not fit in --max-constraints {self.max_constraints}"
            )


def synthesize(config: SynthConfig, seeds: Sequence[str]) -> list[dict[str, Any]]:
    """``config.count`` prompts, the same for the same config and seeds."""
    config.validate()
    if not seeds:
        raise InputError("no task seeds to build prompts from")
    rng = random.Random(config.seed)
    # Wordings come from their own generator, so a seed draws the same tasks and constraints
    # whatever the phrasing.
    wording = random.Random(f"{config.seed}:phrasing") if config.phrasing != "canonical" else None
    # The layout too: appended and varied draw the same tasks, constraints and wordings.
    layout = random.Random(f"{config.seed}:layout") if config.layout == "varied" else None

    def sentence(c: Constraint) -> str:
        if config.phrasing == "probe":
            return wording.choice(probe_wordings(c))
        return phrase(c, wording) if wording is not None else c.describe()

    rows = []
    for number in range(config.count):
        task = rng.choice(seeds).strip()
        count = rng.randint(max(config.min_constraints, len(config.require)), config.max_constraints)
        constraints = sample_compatible(rng, count, ids=config.pool(), require=config.require,
                                        weights=dict(config.weights))  # fmt: skip
        parts = [task]
        skills: list[str] = []
        if config.skill_mix:
            skills = rng.sample(SKILLS, 2)
            parts.append(f"In your answer, {skills[0]} and {skills[1]}.")
        bound_ids = prompt_bound()
        instructions = [*parts[1:], *(sentence(c) for c in constraints if c.id not in bound_ids)]
        bound = [c for c in constraints if c.id in bound_ids]
        style = _draw_layout(layout, bound, config.phrasing) if layout is not None else "appended"
        if style == "lines" and instructions:
            request = f"{task}\n\n{' '.join(instructions)}"
        else:
            request = " ".join([task, *instructions])
        # As in IFEval, the request to repeat is everything before the sentence that asks for it,
        # or, written below it, everything after it.
        constraints = [quote_prompt(c, request) for c in constraints]
        # Worded in every layout, so that each layout words the prompts after it alike.
        trailing = [sentence(c) for c in constraints if c.id in bound_ids]
        if style == "below":
            prompt = "\n\n".join([layout.choice(type(bound[0]).leading_wordings), request])
        else:
            prompt = "\n".join([request, *trailing])
        source = {"task": task, "skills": skills, "generator": "adhere synth", "seed": config.seed}
        rows.append(
            {
                "key": f"syn-{config.seed}-{number:06d}",
                "prompt": prompt,
                "instruction_id_list": [c.id for c in constraints],
                "kwargs": [c.kwargs() for c in constraints],
                "source": source if layout is None else {**source, "layout": style},
            }
        )
    return rows


def _draw_layout(rng: random.Random, bound: list[Constraint], phrasing: str) -> str:
    """One prompt's layout under ``--layout varied``: appended, lines (the instructions after a
    blank line) or, for a prompt quoting its request with leading wordings, below (that
    instruction first, the request after a blank line; never in a probe set, whose wordings are
    held out)."""
    styles = ["appended", "lines"]
    if len(bound) == 1 and type(bound[0]).leading_wordings and phrasing != "probe":
        styles.append("below")
    return rng.choice(styles)


def write_prompts(
    config: SynthConfig,
    seeds: Sequence[str],
    seeds_source: str,
    out: str | os.PathLike[str],
    *,
    against: Sequence[tuple[str, str]] = (),
    against_names: Sequence[str] = (),
    ngram: int = 8,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Path]:
    """Synthesize, drop prompts whose task overlaps ``against`` (evaluation prompts, as
    ``(where, text)``) by an ``ngram``-gram, write ``out`` and its card: (kept, dropped, card path)."""
    from adhere.jsonl import atomic_write
    from adhere.synth.card import coverage, write_card
    from adhere.synth.decontaminate import decontaminate

    rows = synthesize(config, seeds)
    kept, dropped = decontaminate(rows, against, ngram) if against else (rows, [])
    with atomic_write(out) as handle:
        for row in kept:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    card = {
        "kind": "synthesized prompts",
        "file": str(out),
        "config": {**config.__dict__, "weights": dict(config.weights), "seeds": seeds_source, "seed_count": len(seeds)},
        "coverage": coverage(kept),
        "decontamination": {
            "against": list(against_names), "eval_prompts": len(against), "ngram": ngram,
            "dropped": len(dropped), "dropped_rows": dropped,
        },
    }  # fmt: skip
    return kept, dropped, write_card(out, card)
