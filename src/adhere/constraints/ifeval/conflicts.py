"""Which instructions must not be asked for in one prompt: what each constraint class declares
(``Constraint.conflicts_with``), read both ways.

For IFEval's ids this is the reference's ``INSTRUCTION_CONFLICTS`` made symmetric, as its
``conflict_make`` does: every id conflicts with itself, and if A conflicts with B then B
conflicts with A. Its "conflicts with everything" entries are ``AllBut(...)``: every id adhere
ships for the benchmark, except the ones named.
"""

from __future__ import annotations

import functools

from adhere.constraints.base import AllBut

_NAMED: dict[str, frozenset[str]] = {}  # registered ids only: a class never changes once registered
#: Benchmarks whose ids make one conflict universe (IFEvalG adds its instructions to IFEval's).
_FAMILIES = {"ifeval": ("ifeval", "ifevalg"), "ifevalg": ("ifeval", "ifevalg")}


def _named(cid: str) -> frozenset[str]:
    """The ids one registered constraint declares it conflicts with; an unknown id: none."""
    from adhere.constraints.registry import CONSTRAINTS, builtin_ids

    if cid in _NAMED:
        return _NAMED[cid]
    if cid not in CONSTRAINTS:
        return frozenset()
    cls = CONSTRAINTS.get(cid)
    spec = cls.conflicts_with
    if isinstance(spec, AllBut):
        # IFEvalG's table is IFEval's ids and its own: "everything" there spans both families.
        families = _FAMILIES.get(cls.benchmark, (cls.benchmark,))
        named = frozenset().union(*(builtin_ids(b) for b in families)) - spec.allowed
    else:
        named = frozenset(spec)
    _NAMED[cid] = named
    return named


def _with_itself(cid: str) -> bool:
    """IFEval's ids (the reference's table), and any id synthesis can draw: a prompt asks for
    each instruction once."""
    from adhere.constraints.registry import CONSTRAINTS, builtin_ids

    if cid not in CONSTRAINTS:
        return False
    return cid in builtin_ids("ifeval") or CONSTRAINTS.get(cid).sample_kwargs is not None


@functools.cache
def conflict_table() -> dict[str, frozenset[str]]:
    """Symmetric conflicts between IFEval's ids (each id conflicts with itself)."""
    from adhere.constraints.registry import builtin_ids

    every = builtin_ids("ifeval")
    table = {cid: (set(_named(cid)) & set(every)) | {cid} for cid in every}
    for cid in every:
        for other in list(table[cid]):
            table.setdefault(other, set()).add(cid)
    return {cid: frozenset(table[cid]) for cid in every}


def conflicts(ids: list[str] | tuple[str, ...]) -> list[tuple[str, str]]:
    """The pairs of ``ids`` that must not be combined: what either one declares (IFEval's table
    for its own ids, ``Constraint.conflicts_with`` for any registered one, plugins' included),
    and an id asked twice where it conflicts with itself; ids nobody knows: none."""
    pairs = []
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if (a == b and _with_itself(a)) or b in _named(a) or a in _named(b):
                pairs.append((a, b))
    return pairs
