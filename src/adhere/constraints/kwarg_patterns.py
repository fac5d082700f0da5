"""Regular expressions built from kwargs, checked when the constraint is built, bounded in time.

IFEval's reference passes some kwargs to ``re`` unescaped (keywords, forbidden words, the
postscript marker, the section splitter), so a kwarg is a pattern: "cat" matches in
"Concatenate", and "(a+)+$" is a pattern too. adhere keeps those verdicts, but

* a kwarg that is not a valid pattern is refused when the constraint is built (one line naming
  the constraint and the kwarg), where the reference raises ``re.error`` while scoring;
* a kwarg with no pattern syntax in it (every IFEval and IFBench kwarg) is matched by ``re``,
  exactly as the reference matches it; one with pattern syntax is matched by the ``regex``
  module, which reads Python's pattern syntax the same way, avoids most catastrophic
  backtracking (``(a+)+$`` is instant where ``re`` takes minutes on 31 characters) and takes a
  time limit: a match that runs past ``TIMEOUT_S`` raises ``PatternTimeout``, and the check
  fails saying so (``Constraint.check`` turns it into the verdict).
"""

from __future__ import annotations

import functools
import re
import warnings
from typing import TYPE_CHECKING, Any

from adhere.constraints.base import CheckGaveUp

if TYPE_CHECKING:
    from adhere.constraints.base import Constraint

#: Seconds one match of a kwarg's pattern may take on one response.
TIMEOUT_S = 1.0

_SYNTAX = frozenset("\\.^$*+?{}[]|()")


class PatternTimeout(CheckGaveUp):
    """A kwarg's pattern ran past ``TIMEOUT_S`` on a response."""


class KwargPattern:
    """A compiled pattern from a kwarg. ``search``, ``findall`` and ``split`` raise
    ``PatternTimeout`` when they run too long."""

    def __init__(self, source: str, flags: int = 0):
        self.source = source
        with warnings.catch_warnings():  # "possible nested set" and the like: the user's pattern
            warnings.simplefilter("ignore")
            self._re = re.compile(source, flags)  # raises re.error: the caller refuses the kwarg
        self._bounded: Any = None
        if not _SYNTAX.isdisjoint(source):
            import regex

            try:
                self._bounded = regex.compile(source, flags | regex.VERSION0)
            except regex.error:  # a pattern only ``re`` reads: matched by ``re``, unbounded
                self._bounded = None

    def search(self, text: str) -> bool:
        if self._bounded is None:
            return self._re.search(text) is not None
        return self._run(self._bounded.search, text) is not None

    def findall(self, text: str) -> list[Any]:
        if self._bounded is None:
            return self._re.findall(text)
        return self._run(self._bounded.findall, text)

    def split(self, text: str) -> list[Any]:
        if self._bounded is None:
            return self._re.split(text)
        return self._run(self._bounded.split, text)

    def _run(self, method: Any, text: str) -> Any:
        try:
            return method(text, timeout=TIMEOUT_S)
        except TimeoutError:
            raise PatternTimeout(f"matching the pattern {self.source[:40]!r} took over {TIMEOUT_S:g} s") from None


@functools.lru_cache(maxsize=4096)
def kwarg_pattern(source: str, flags: int = 0) -> KwargPattern:
    """The compiled pattern of ``source`` (cached); ``re.error`` if it is not a valid pattern."""
    return KwargPattern(source, flags)


def pattern_problem(source: str, flags: int = 0) -> str | None:
    """Why ``source`` is not a valid pattern, or None if it is."""
    try:
        kwarg_pattern(source, flags)
    except re.error as error:
        return str(error)
    except (OverflowError, RecursionError, ValueError) as error:
        return str(error) or type(error).__name__
    return None


def require_pattern(constraint: Constraint, key: str, source: str, flags: int = 0) -> None:
    """Refuse the kwarg ``key`` (a ``ConstraintError``) if ``source``, built from it, is not a
    valid pattern."""
    problem = pattern_problem(source, flags)
    if problem:
        constraint._fail(
            key, f"is used as a regular expression (as the reference does) and {source[:40]!r} is not one: {problem}"
        )

