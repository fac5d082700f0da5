"""What IFEval's constraint classes draw their synthesized kwargs from (``sample_kwargs``).

The ranges follow the reference's own ``build_description`` defaults (IFEval's
``instructions.py``), so a sampled instruction reads like one of IFEval's. Every draw takes an
explicit ``random.Random``: the same seed always gives the same constraints.
"""

from __future__ import annotations

import random

#: Everyday words for keyword constraints (written for adhere; not IFEval's list).
WORDS = (
    "river", "garden", "window", "morning", "signal", "balance", "journey", "harbor", "lantern",
    "market", "pattern", "silver", "thunder", "bridge", "puzzle", "compass", "meadow", "engine",
    "whisper", "mirror", "canvas", "orbit", "ladder", "anchor", "feather", "village", "rhythm",
    "candle", "summit", "crystal", "network", "ticket", "orchard", "shadow", "blanket", "voyage",
    "kitchen", "galaxy", "pillow", "tunnel",
)  # fmt: skip
LANGUAGES = ("fr", "de", "es", "it", "pt", "ru")
END_PHRASES = ("Is there anything else I can help with?", "Any other questions?", "Let me know if you have additional questions.")
#: What a prompt-bound constraint (``Constraint.quotes_prompt``) holds until the prompt's writer
#: puts the request in.
STAND_IN = "(the request)"
_RELATIONS = ("less than", "at least")


def relation(rng: random.Random) -> str:
    """``less than`` or ``at least``."""
    return rng.choice(_RELATIONS)


def a_word(field: str):
    """The draw of a constraint whose one kwarg ``field`` is a word of ``WORDS``."""

    def draw(rng: random.Random) -> dict[str, object]:
        return {field: rng.choice(WORDS)}

    return draw


def no_kwargs(rng: random.Random) -> dict[str, object]:
    """The draw of a constraint without kwargs."""
    return {}
