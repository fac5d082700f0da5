"""Plausible kwargs for IFEval's constraints, drawn from an explicit ``random.Random``.

The ranges follow the reference's own ``build_description`` defaults (IFEval's
``instructions.py``), so a sampled instruction reads like one of IFEval's. Unlike the reference,
nothing here touches the global random state: the same seed always gives the same constraints.
Used to compose multi-turn conversations (and, later, synthetic training prompts).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adhere.constraints.base import Constraint
from adhere.constraints.ifeval.conflicts import conflicts
from adhere.constraints.registry import build
from adhere.errors import InputError

#: Everyday words for keyword constraints (written for adhere; not IFEval's list).
WORDS = (
    "river", "garden", "window", "morning", "signal", "balance", "journey", "harbor", "lantern",
    "market", "pattern", "silver", "thunder", "bridge", "puzzle", "compass", "meadow", "engine",
    "whisper", "mirror", "canvas", "orbit", "ladder", "anchor", "feather", "village", "rhythm",
    "candle", "summit", "crystal", "network", "ticket", "orchard", "shadow", "blanket", "voyage",
    "kitchen", "galaxy", "pillow", "tunnel",
)  # fmt: skip
_RELATIONS = ("less than", "at least")
_LANGUAGES = ("fr", "de", "es", "it", "pt", "ru")
_END_PHRASES = ("Is there anything else I can help with?", "Any other questions?", "Let me know if you have additional questions.")

#: Ids whose kwargs quote the rest of the prompt (the request to repeat), known only once the prompt
#: is written: ``adhere synth`` fills them in. Drawn only when a pool names them, so that the
#: default pool (multi-turn conversations) never asks to repeat a request it cannot quote.
PROMPT_BOUND = frozenset({"combination:repeat_prompt"})
STAND_IN = "(the request)"


def _relation(rng: random.Random) -> str:
    return rng.choice(_RELATIONS)


#: id -> sampler of its kwargs. Left out: detectable_format:constrained_response, which fixes the
#: whole answer. The ids of ``PROMPT_BOUND`` get a stand-in that the prompt's writer replaces.
SAMPLERS: dict[str, Callable[[random.Random], dict[str, Any]]] = {
    "change_case:capital_word_frequency": lambda r: {"capital_frequency": r.randint(1, 20), "capital_relation": _relation(r)},
    "change_case:english_capital": lambda r: {},
    "change_case:english_lowercase": lambda r: {},
    "combination:two_responses": lambda r: {},
    "detectable_content:number_placeholders": lambda r: {"num_placeholders": r.randint(1, 4)},
    "detectable_content:postscript": lambda r: {"postscript_marker": r.choice(("P.S.", "P.P.S"))},
    "detectable_format:json_format": lambda r: {},
    "detectable_format:multiple_sections": lambda r: {"section_spliter": r.choice(("Section", "SECTION")), "num_sections": r.randint(2, 5)},
    "detectable_format:number_bullet_lists": lambda r: {"num_bullets": r.randint(2, 5)},
    "detectable_format:number_highlighted_sections": lambda r: {"num_highlights": r.randint(1, 4)},
    "detectable_format:title": lambda r: {},
    "keywords:existence": lambda r: {"keywords": r.sample(WORDS, r.randint(1, 2))},
    "keywords:forbidden_words": lambda r: {"forbidden_words": r.sample(WORDS, r.randint(1, 2))},
    "keywords:frequency": lambda r: {"keyword": r.choice(WORDS), "frequency": r.randint(1, 3), "relation": _relation(r)},
    "keywords:letter_frequency": lambda r: {"letter": r.choice("abcdefghijklmnopqrstuvwxyz"), "let_frequency": r.randint(1, 10), "let_relation": _relation(r)},
    "language:response_language": lambda r: {"language": r.choice(_LANGUAGES)},
    "length_constraints:nth_paragraph_first_word": lambda r: _nth_paragraph(r),
    "length_constraints:number_paragraphs": lambda r: {"num_paragraphs": r.randint(2, 5)},
    "length_constraints:number_sentences": lambda r: {"num_sentences": r.randint(2, 20), "relation": _relation(r)},
    "length_constraints:number_words": lambda r: {"num_words": r.randint(100, 500), "relation": _relation(r)},
    "punctuation:no_comma": lambda r: {},
    "startend:end_checker": lambda r: {"end_phrase": r.choice(_END_PHRASES)},
    "startend:quotation": lambda r: {},
    "combination:repeat_prompt": lambda r: {"prompt_to_repeat": STAND_IN},
}  # fmt: skip



def samplers() -> dict[str, Callable[[random.Random], dict[str, Any]]]:
    """Every samplable id's kwargs sampler: IFEval's (``SAMPLERS``), then those registered
    constraints declare (``Constraint.sample_kwargs``), plugins' included."""
    from adhere.constraints.registry import CONSTRAINTS

    declared = {cid: cls.sample_kwargs for cid, cls in CONSTRAINTS.items() if cls.sample_kwargs is not None}
    return {**SAMPLERS, **declared}


def _nth_paragraph(rng: random.Random) -> dict[str, Any]:
    paragraphs = rng.randint(2, 5)
    return {"num_paragraphs": paragraphs, "nth_paragraph": rng.randint(1, paragraphs), "first_word": rng.choice(WORDS)}


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


def default_pool() -> list[str]:
    """Every samplable id except the prompt-bound ones, sorted."""
    return sorted(set(SAMPLERS) - PROMPT_BOUND)


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
