"""adhere's exceptions: a small tree, each message one line saying what, where and what to do.

The CLI prints ``str(error)`` for any ``AdhereError`` and exits with ``exit_code``; everything
else is a bug and keeps its traceback.
"""

from __future__ import annotations


class AdhereError(Exception):
    """Base of every error adhere raises on purpose."""

    exit_code = 1


class InputError(AdhereError, ValueError):
    """Bad user input: a file, a row, an argument. Exit code 2."""

    exit_code = 2


class ConstraintError(InputError):
    """An unknown constraint id, or kwargs that do not fit its schema."""


class MissingExtraError(AdhereError, ImportError):
    """An optional dependency is not installed; the message names the install command."""

    exit_code = 2


def first_line(error: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none), for one-line errors."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


class MissingResourceError(AdhereError):
    """A data file a checker needs (e.g. NLTK's POS tagger) is not on this machine. Exit code 2."""

    exit_code = 2
