"""Loading a dataset from the Hugging Face Hub, quietly: one clear error line when it cannot be had.

Offline, ``huggingface_hub`` logs every retry of every request (a dozen warning lines before the
exception); those are silenced for the call, since the error adhere raises says it all.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from adhere.errors import InputError, MissingExtraError, first_line

_LOGGERS = ("huggingface_hub", "datasets", "fsspec", "filelock", "urllib3")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def load_hub_dataset(name: str, split: str, *, instead: str) -> Any:
    """``datasets.load_dataset(name, split=split)``; ``instead`` says what to do when it fails."""
    try:
        import datasets
    except ImportError:
        raise MissingExtraError(f"loading {name} from the Hugging Face Hub needs `datasets`: pip install 'adhere[hub]', or {instead}") from None
    try:
        with _quiet():
            return datasets.load_dataset(name, split=split)
    except Exception as error:  # datasets raises many types for "offline" / "not found"
        raise InputError(f"cannot load {name} from the Hugging Face Hub ({first_line(error)[:160]}); {instead}") from None
