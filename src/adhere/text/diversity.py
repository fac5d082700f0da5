"""Lexical diversity: MTLD (McCarthy and Jarvis, 2010), one of InstructMining's quality indicators.

MTLD walks the words and counts "factors": stretches whose type-token ratio (distinct words /
words) falls to the threshold (0.72), after which the count restarts. The stretch left at the end
counts as a partial factor, ``(1 - ttr) / (1 - threshold)``. MTLD is the number of words per
factor, averaged over a forward and a backward pass. Higher means more varied vocabulary; it
depends far less on length than a plain type-token ratio.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

THRESHOLD = 0.72
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")


def words(text: str) -> list[str]:
    """Lower-cased words (letters and digits, inner apostrophes kept)."""
    return [w.lower() for w in _WORD.findall(text)]


def _factors(tokens: Sequence[str], threshold: float) -> float:
    factors = 0.0
    seen: set[str] = set()
    count = 0
    ttr = 1.0
    for token in tokens:
        count += 1
        seen.add(token)
        ttr = len(seen) / count
        if ttr <= threshold:
            factors += 1
            seen, count, ttr = set(), 0, 1.0
    if count:
        factors += (1.0 - ttr) / (1.0 - threshold)
    return factors


def mtld(text: str | Sequence[str], threshold: float = THRESHOLD) -> float:
    """MTLD of a text (or of a list of words). A text that never repeats a word has no factor at
    all; its MTLD is then its length in words (at least as diverse as it is long). Empty: 0."""
    tokens = words(text) if isinstance(text, str) else list(text)
    if not tokens:
        return 0.0
    values = []
    for direction in (tokens, tokens[::-1]):
        factors = _factors(direction, threshold)
        values.append(len(tokens) / factors if factors > 0 else float(len(tokens)))
    return sum(values) / 2
