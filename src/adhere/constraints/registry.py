"""The one registry of constraints, filled by the ``@constraint("group:name")`` decorator."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from adhere.constraints.base import Constraint
from adhere.errors import ConstraintError
from adhere.registry import Registry


def _load_builtins_modules() -> None:
    # Importing the family modules runs their decorators. Cheap: no data is read at import.
    from adhere.constraints import ifbench, ifeval, ifevalg  # noqa: F401


#: The constraint classes by id: adhere's IFEval, IFBench and IFEvalG families, then plugins'.
CONSTRAINTS: Registry[type[Constraint]] = Registry("constraint id", _load_builtins_modules, ConstraintError)

C = TypeVar("C", bound=type[Constraint])


def constraint(constraint_id: str, *, benchmark: str = "ifeval") -> Callable[[C], C]:
    """Register a constraint class under ``constraint_id`` (``group:name``), frozen."""
    group, sep, name = constraint_id.partition(":")
    if not (group and sep and name):
        raise ValueError(f"constraint id must look like 'group:name', got {constraint_id!r}")

    def register(cls: C) -> C:
        cls = dataclasses.dataclass(frozen=True, slots=True)(cls)
        cls.id = constraint_id
        cls.benchmark = benchmark
        return CONSTRAINTS.register(constraint_id, cls)

    return register


def get(constraint_id: str) -> type[Constraint]:
    """The constraint class for an id; an unknown id names the closest known ones."""
    if constraint_id in CONSTRAINTS:
        return CONSTRAINTS.get(constraint_id)
    close = difflib.get_close_matches(str(constraint_id), CONSTRAINTS.names(), n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else "; see `adhere constraints`"
    raise ConstraintError(f"unknown constraint id {constraint_id!r}{hint}")


def build(constraint_id: str, kwargs: Mapping[str, Any] | None = None) -> Constraint:
    """Validate kwargs and build a constraint: ``build("punctuation:no_comma")``."""
    return get(constraint_id).from_kwargs(kwargs)


def parse_instruction(sentence: str) -> list[Constraint]:
    """The constraints whose instruction sentence is exactly ``sentence`` (usually one, or none).

    The inverse of ``Constraint.describe``: "Answer with at least 300 words." gives
    ``length_constraints:number_words`` with ``{"num_words": 300, "relation": "at least"}``.
    """
    found = []
    for _, cls in CONSTRAINTS.items():
        parsed = cls.parse(sentence)
        if parsed is not None:
            found.append(parsed)
    return found


def builtin_ids(benchmark: str) -> list[str]:
    """The ids adhere itself ships for a benchmark (plugins' left out), sorted."""
    return sorted(i for i, c in CONSTRAINTS.items() if c.benchmark == benchmark and c.__module__.startswith("adhere."))


def ids(benchmark: str | None = None) -> list[str]:
    """All registered ids (of one benchmark, if given), sorted."""
    return sorted(i for i, c in CONSTRAINTS.items() if benchmark in (None, c.benchmark))
