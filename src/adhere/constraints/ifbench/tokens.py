"""The small text operations IFBench's checkers share, written once.

IFBench splits on whitespace and trims ASCII punctuation in many slightly different ways; each
checker names the exact operation it uses, so the differences stay visible.
"""

from __future__ import annotations

import string
import unicodedata

#: ``string.punctuation + " "``: what the reference strips from word edges.
PUNCT_SPACE = string.punctuation + " "

_DELETE_PUNCT = str.maketrans("", "", string.punctuation)


def without_punctuation(text: str) -> str:
    """``text`` with every ASCII punctuation character deleted (``str.translate``)."""
    return text.translate(_DELETE_PUNCT)


def ascii_fold(text: str) -> str:
    """NFKD, then drop what is not ASCII: "São Tomé" becomes "Sao Tome"."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
