"""Strict and loose evaluation of one response against its constraints, as IFEval defines them.

Strict: each constraint is checked on the response as given; an empty or whitespace-only
response fails everything.

Loose: a constraint is followed if any of eight variants of the response follows it: the
response; it with every ``*`` removed; it without its first line, its last line, or both (each
stripped); and those three with ``*`` removed. Empty variants never pass. Each constraint is
tried on its own, so different constraints may be satisfied by different variants.

Two shortcuts keep this exact and fast: the first variant is the response itself, so a
constraint that passed strict passes loose with no further work; and identical variants (a
one-line response has several) are checked once. Each variant's text analysis is shared by all
constraints through one ``TextView``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from adhere.constraints.base import Constraint, Verdict
from adhere.text.view import TextView

#: Names of IFEval's loose variants, in the order the reference tries them.
LOOSE_VARIANTS = (
    "original",
    "without *",
    "without first line",
    "without last line",
    "without first and last lines",
    "without first line and *",
    "without last line and *",
    "without first and last lines and *",
)

_EMPTY = Verdict(False, "empty response")


@dataclasses.dataclass(frozen=True, slots=True)
class Evaluation:
    """Verdicts of one response: one per constraint, strict and loose."""

    strict: tuple[Verdict, ...]
    loose: tuple[Verdict, ...]

    @property
    def strict_all(self) -> bool:
        return all(v.passed for v in self.strict)

    @property
    def loose_all(self) -> bool:
        return all(v.passed for v in self.loose)


def loose_variants(response: str) -> list[str]:
    """IFEval's eight loose variants of ``response``, in the reference's order."""
    lines = response.split("\n")
    first = "\n".join(lines[1:]).strip()
    last = "\n".join(lines[:-1]).strip()
    both = "\n".join(lines[1:-1]).strip()
    return [
        response,
        response.replace("*", ""),
        first,
        last,
        both,
        first.replace("*", ""),
        last.replace("*", ""),
        both.replace("*", ""),
    ]


def evaluate(response: str, constraints: Sequence[Constraint]) -> Evaluation:
    """Strict and loose verdicts of ``response`` for each constraint."""
    if not response.strip():
        empty = tuple(_EMPTY for _ in constraints)
        return Evaluation(strict=empty, loose=empty)
    view = TextView(response)
    strict = tuple(c.check(view) for c in constraints)
    if all(v.passed for v in strict):
        return Evaluation(strict=strict, loose=strict)

    variants: list[tuple[str, TextView]] | None = None
    loose = []
    for constraint_, verdict in zip(constraints, strict):
        if verdict.passed:
            loose.append(verdict)
            continue
        if variants is None:
            variants = _distinct_variants(response, view)
        for name, variant in variants:
            candidate = constraint_.check(variant)
            if candidate.passed:
                loose.append(Verdict(True, f"{candidate.reason} (loose: {name})"))
                break
        else:
            loose.append(verdict)
    return Evaluation(strict=strict, loose=tuple(loose))


def _distinct_variants(response: str, view: TextView) -> list[tuple[str, TextView]]:
    """Non-empty variants after the original, each distinct text once, in reference order."""
    seen = {response}
    out = []
    for name, text in zip(LOOSE_VARIANTS[1:], loose_variants(response)[1:]):
        if text in seen or not text.strip():
            continue
        seen.add(text)
        out.append((name, TextView(text)))
    return out
