"""Verifiable instruction checkers: one registry, pure checkers, strict and loose evaluation."""

from adhere.constraints.base import Constraint, Relation, Verdict
from adhere.constraints.evaluate import LOOSE_VARIANTS, Evaluation, evaluate, loose_variants
from adhere.constraints.registry import build, constraint, get, ids, parse_instruction

__all__ = [
    "LOOSE_VARIANTS",
    "Constraint",
    "Evaluation",
    "Relation",
    "Verdict",
    "build",
    "constraint",
    "evaluate",
    "get",
    "ids",
    "loose_variants",
    "parse_instruction",
]
