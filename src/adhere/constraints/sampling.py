"""Drawing mutually compatible constraints with their kwargs, from an explicit ``random.Random``.

Each constraint class says how its kwargs are drawn (``Constraint.sample_kwargs``; IFEval's follow
the reference's own ``build_description`` ranges, so a sampled instruction reads like one of
IFEval's) and what it conflicts with (``Constraint.conflicts_with``). Unlike the reference,
nothing here touches the global random state: the same seed always gives the same constraints.
Used to compose multi-turn conversations and synthetic training prompts.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adhere.constraints.base import Constraint
from adhere.constraints.draws import STAND_IN
from adhere.constraints.ifeval.conflicts import conflicts
from adhere.constraints.registry import CONSTRAINTS, build, builtin_ids
from adhere.errors import InputError

__all__ = ["FAMILIES", "STAND_IN", "check_pool", "default_pool", "expand_families", "parse_weights", "prompt_bound",
           "quote_prompt", "sample_compatible", "sample_constraint", "samplers"]  # fmt: skip


def samplers() -> dict[str, Callable[[random.Random], dict[str, Any]]]:
    """Every samplable id's kwargs sampler (``Constraint.sample_kwargs``), plugins' included.
    Left out of IFEval's: detectable_format:constrained_response, which fixes the whole answer."""
    return {cid: cls.sample_kwargs for cid, cls in CONSTRAINTS.items() if cls.sample_kwargs is not None}


#: Family names ``--ids`` takes for all of a family's samplable ids.
FAMILIES = ("ifeval", "ifevalg")


def expand_families(ids: Sequence[str]) -> tuple[str, ...]:
    """``ids`` with each family name (``ifeval``, ``ifevalg``) replaced by the family's samplable
    ids, in order, each id once."""
    from adhere.constraints.registry import builtin_ids

    out: list[str] = []
    for item in ids:
        for cid in ([c for c in builtin_ids(item) if c in samplers()] if item in FAMILIES else [item]):
            if cid not in out:
                out.append(cid)
    return tuple(out)


def prompt_bound() -> frozenset[str]:
    """Ids whose kwargs quote the rest of the prompt (``Constraint.quotes_prompt``: the request to
    repeat), known only once the prompt is written: ``adhere synth`` fills them in. Drawn only
    when a pool names them, so that the default pool (multi-turn conversations) never asks to
    repeat a request it cannot quote; until then they hold ``STAND_IN``."""
    return frozenset(cid for cid, cls in CONSTRAINTS.items() if cls.quotes_prompt)


def quote_prompt(constraint: Constraint, request: str) -> Constraint:
    """A prompt-bound constraint with the request it quotes put in (others: unchanged)."""
    kwarg = type(constraint).quotes_prompt
    return build(constraint.id, {**constraint.kwargs(), kwarg: request}) if kwarg else constraint


def sample_constraint(
    rng: random.Random, *, avoid: Sequence[str] = (), ids: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
) -> Constraint:  # fmt: skip
    """One constraint whose id does not conflict (IFEval's table) with any id in ``avoid``; an id
    is drawn with probability proportional to its weight in ``weights`` (1 where not named)."""
    pool = [cid for cid in (ids or default_pool()) if all(not conflicts([a, cid]) for a in avoid)]
    if not pool:
        raise ValueError(f"no constraint is compatible with {list(avoid)}")
    # Without weights the draw stays rng.choice, so that seeds written before weights existed
    # still give the same prompts.
    cid = rng.choices(pool, weights=[weights.get(c, 1.0) for c in pool])[0] if weights else rng.choice(pool)
    return build(cid, samplers()[cid](rng))


def parse_weights(items: Sequence[str]) -> tuple[tuple[str, float], ...]:
    """``--weight`` values, ``ID=W`` strings, as ``((id, w), ...)``: W a positive number, each id named once."""
    parsed: dict[str, float] = {}
    for item in items:
        cid, sep, text = item.partition("=")
        cid = cid.strip()
        try:
            weight = float(text)
        except ValueError:
            weight = 0.0
        if not (sep and cid and 0 < weight < float("inf")):  # nan fails the comparison too
            raise InputError(f"--weight takes ID=W with W a positive number (e.g. change_case:english_lowercase=4), got {item!r}")
        if cid in parsed:
            raise InputError(f"--weight names {cid!r} twice; give each id one weight")
        parsed[cid] = weight
    return tuple(parsed.items())


def default_pool(quoting: bool = False) -> list[str]:
    """IFEval's samplable ids, sorted; the prompt-bound ones only with ``quoting`` (a prompt's
    writer that fills them in). Plugins' constraints are drawn only where named, so installing
    one does not change what existing commands draw."""
    pool = set(builtin_ids("ifeval")) & set(samplers())
    return sorted(pool if quoting else pool - prompt_bound())


def check_pool(
    ids: Sequence[str] | None = None, require: Sequence[str] = (), weights: Mapping[str, float] | None = None
) -> None:
    """Refuse ids that cannot be sampled, weights of ids outside the pool and required ids that
    IFEval forbids together, naming them."""
    for cid in [*(ids or ()), *require, *(weights or ())]:
        if cid not in samplers():
            raise InputError(f"constraint id {cid!r} cannot be sampled; samplable ids: {', '.join(sorted(samplers()))}")
    outside = sorted(set(weights or ()) - set(ids or default_pool()))
    if outside:
        raise InputError(f"a weight is given to {', '.join(outside)}, which the ids drawn from leave out; "
                         "add it to the ids or drop its weight")  # fmt: skip
    pairs = conflicts(list(require))
    if pairs:
        named = "; ".join(f"{a} with {b}" for a, b in pairs)
        raise InputError(f"the required constraints cannot be satisfied together (IFEval's conflict table): {named}")


def sample_compatible(
    rng: random.Random, count: int, *, ids: Sequence[str] | None = None, require: Sequence[str] = (),
    weights: Mapping[str, float] | None = None,
) -> list[Constraint]:  # fmt: skip
    """``count`` mutually compatible constraints: every id of ``require``, the rest drawn from ``ids``
    (default: ``default_pool()``) by ``weights`` (see ``sample_constraint``). A draw that leaves no
    room for the rest (``detectable_format:json_format`` conflicts with most ids) is started over."""
    check_pool(ids, require, weights)
    if count < len(require):
        raise InputError(f"{len(require)} required constraints do not fit in {count} per prompt; raise the count")
    for _ in range(1000):
        chosen: list[Constraint] = [build(cid, samplers()[cid](rng)) for cid in require]
        try:
            while len(chosen) < count:
                chosen.append(sample_constraint(rng, avoid=[c.id for c in chosen], ids=ids, weights=weights))
        except ValueError:
            continue
        return chosen
    raise InputError(f"cannot find {count} mutually compatible constraints; ask for fewer")
