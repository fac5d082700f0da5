"""The constraints an IFEval-style row asks for (``instruction_id_list`` and ``kwargs``), validated:
what scoring, training data, rewards and reports all read a row through."""

from __future__ import annotations

from typing import Any

from adhere.constraints.base import Constraint
from adhere.constraints.registry import build
from adhere.errors import ConstraintError, InputError


def constraints_of(row: dict[str, Any], where: str) -> tuple[tuple[str, ...], tuple[Constraint, ...]]:
    """Validated ``(instruction_id_list, constraints)`` of an IFEval-style row."""
    ids = row.get("instruction_id_list")
    kwargs = row.get("kwargs")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise InputError(f"{where}: 'instruction_id_list' must be a list of strings")
    if kwargs is None:
        kwargs = [{} for _ in ids]
    if not isinstance(kwargs, list) or len(kwargs) != len(ids):
        raise InputError(
            f"{where}: 'kwargs' must be a list with one object per instruction id "
            f"({len(ids)} ids)"
        )
    built = []
    for cid, kw in zip(ids, kwargs):
        if kw is not None and not isinstance(kw, dict):
            raise InputError(f"{where}: kwargs of {cid} must be an object, got {kw!r}")
        try:
            built.append(build(cid, kw))
        except ConstraintError as error:
            raise ConstraintError(f"{where}: {error}") from None
    return tuple(ids), tuple(built)
