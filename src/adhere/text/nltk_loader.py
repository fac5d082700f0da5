"""Importing NLTK without SciPy.

adhere uses NLTK's Punkt, word tokenizer and POS tagger, none of which needs SciPy. But
``import nltk`` imports ``nltk.metrics.association``, whose ``from scipy.stats import
fisher_exact`` loads SciPy's statistics whenever SciPy is installed (adhere's ``data`` extra
installs it): 0.8 of the 1.3 s that scoring a 10-row file took here. So NLTK is imported with
SciPy hidden, and ``fisher_exact`` then imports SciPy when someone calls it, as before. NLTK's
other SciPy imports fail the same way with SciPy present (``betai`` is gone from SciPy; ``norm``
is tried after a module that does not exist; the transition parser also needs scikit-learn).
"""

from __future__ import annotations

import functools
import importlib.abc
import sys
from typing import Any


class _HideScipy(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> None:
        if fullname == "scipy" or fullname.startswith("scipy."):
            raise ModuleNotFoundError(f"No module named {fullname!r} (hidden while NLTK imports)", name=fullname)
        return None


def _fisher_exact(*args: Any, **kwargs: Any) -> Any:
    from scipy.stats import fisher_exact

    return fisher_exact(*args, **kwargs)


@functools.cache
def load_nltk() -> Any:
    """The ``nltk`` package, imported without loading SciPy (once per process)."""
    if "nltk" in sys.modules or "scipy" in sys.modules:
        import nltk

        return nltk
    finder = _HideScipy()
    sys.meta_path.insert(0, finder)
    try:
        import nltk
    finally:
        sys.meta_path.remove(finder)
    from nltk.metrics import association

    association.fisher_exact = _fisher_exact
    return nltk
