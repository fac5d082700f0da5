"""Other ways to word each instruction, for ``adhere synth --phrasing varied``.

IFEval's prompts were written by people: the same check is asked for as "in all lowercase
letters", "without using capital letters" or "all lower case (no capital letters whatsoever)". A
model trained only on the checkers' own sentences (``Constraint.describe``) can learn to follow
that one wording and miss the others. Each constraint class declares its other wordings
(``Constraint.other_wordings``), each asking for exactly what the checker verifies in other
words; ``{field}`` is the constraint's kwarg, rendered here as ``describe`` renders it, except
keyword lists, which read as prose (``the words "river" and "garden"``).
"""

from __future__ import annotations

import random
import string

from adhere.constraints.base import Constraint

PHRASINGS = ("canonical", "varied", "probe")


def wordings(constraint: Constraint) -> list[str]:
    """Every way to word ``constraint``: its own sentence (``describe()``) first, then the alternatives."""
    rendered = [constraint.describe()]
    for template in type(constraint).other_wordings:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        rendered.append(template.format(**{name: _render(constraint, name) for name in names}))
    return rendered


def probe_wordings(constraint: Constraint) -> list[str]:
    """The constraint's held-out wordings (``Constraint.probe_wordings``), never used by
    ``canonical`` or ``varied``: a probe set's."""
    rendered = []
    for template in type(constraint).probe_wordings:
        names = {name for _, name, _, _ in string.Formatter().parse(template) if name}
        rendered.append(template.format(**{name: _render(constraint, name) for name in names}))
    return rendered


def phrase(constraint: Constraint, rng: random.Random) -> str:
    """One of the constraint's wordings, drawn uniformly with ``rng``."""
    return rng.choice(wordings(constraint))


def _render(constraint: Constraint, name: str) -> str:
    value = getattr(constraint, name)
    if isinstance(value, (tuple, list)):
        words = [f'"{w}"' for w in sorted(set(value))]
        listed = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]
        return ("the word " if len(words) == 1 else "the words ") + listed
    return constraint._render_field(name, value)
