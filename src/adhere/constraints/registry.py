"""The one registry of constraints, filled by the ``@constraint("group:name")`` decorator."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from adhere.constraints.base import Constraint
from adhere.errors import ConstraintError

_REGISTRY: dict[str, type[Constraint]] = {}

C = TypeVar("C", bound=type[Constraint])


def constraint(constraint_id: str, *, benchmark: str = "ifeval") -> Callable[[C], C]:
    """Register a constraint class under ``constraint_id`` (``group:name``), frozen."""
    group, sep, name = constraint_id.partition(":")
    if not (group and sep and name):
        raise ValueError(f"constraint id must look like 'group:name', got {constraint_id!r}")

    def register(cls: C) -> C:
        if constraint_id in _REGISTRY:
            raise ValueError(f"constraint {constraint_id!r} is registered twice")
        cls = dataclasses.dataclass(frozen=True, slots=True)(cls)
        cls.id = constraint_id
        cls.benchmark = benchmark
        _REGISTRY[constraint_id] = cls
        return cls

    return register


def _load_builtins() -> None:
    # Importing the family modules runs their decorators. Cheap: no data is read at import.
    from adhere.constraints import ifbench, ifeval  # noqa: F401


def get(constraint_id: str) -> type[Constraint]:
    """The constraint class for an id; an unknown id names the closest known ones."""
    _load_builtins()
    try:
        return _REGISTRY[constraint_id]
    except KeyError:
        close = difflib.get_close_matches(str(constraint_id), _REGISTRY, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see `adhere constraints`"
        raise ConstraintError(f"unknown constraint id {constraint_id!r}{hint}") from None


def build(constraint_id: str, kwargs: Mapping[str, Any] | None = None) -> Constraint:
    """Validate kwargs and build a constraint: ``build("punctuation:no_comma")``."""
    return get(constraint_id).from_kwargs(kwargs)


def parse_instruction(sentence: str) -> list[Constraint]:
    """The constraints whose instruction sentence is exactly ``sentence`` (usually one, or none).

    The inverse of ``Constraint.describe``: "Answer with at least 300 words." gives
    ``length_constraints:number_words`` with ``{"num_words": 300, "relation": "at least"}``.
    """
    _load_builtins()
    found = []
    for cls in _REGISTRY.values():
        parsed = cls.parse(sentence)
        if parsed is not None:
            found.append(parsed)
    return found


def ids(benchmark: str | None = None) -> list[str]:
    """All registered ids (of one benchmark, if given), sorted."""
    _load_builtins()
    return sorted(i for i, c in _REGISTRY.items() if benchmark in (None, c.benchmark))
