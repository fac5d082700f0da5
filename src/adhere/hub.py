"""Loading a dataset from the Hugging Face Hub, quietly: one clear error line when it cannot be had.

Offline, ``huggingface_hub`` logs every retry of every request (a dozen warning lines before the
exception); those are silenced for the call, since the error adhere raises says it all. And it
retries for about 25 s before giving up, so the Hub is first asked for a connection with a short
timeout: where none comes, the dataset is read from the local cache in offline mode, or the error
comes at once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

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


#: Seconds to wait for a connection to the Hub before working offline.
CONNECT_TIMEOUT = 3.0


def hub_reachable(timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether the Hub (``HF_ENDPOINT``, default huggingface.co) accepts a connection in time."""
    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname or "huggingface.co", port), timeout=timeout).close()
    except OSError:
        return False
    return True


@contextlib.contextmanager
def _offline(datasets: Any) -> Iterator[None]:
    """``datasets`` (and ``huggingface_hub``) in offline mode for the call: the local cache only."""
    from huggingface_hub import constants

    saved = (datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE)
    datasets.config.HF_HUB_OFFLINE = constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE, constants.HF_HUB_OFFLINE = saved


def load_hub_dataset(name: str, split: str, *, instead: str, config: str | None = None) -> Any:
    """``datasets.load_dataset(name, config, split=split)``; ``instead`` says what to do when it fails."""
    try:
        import datasets
    except ImportError:
        raise MissingExtraError(f"loading {name} from the Hugging Face Hub needs `datasets`: pip install 'adhere[hub]', or {instead}") from None
    offline = not datasets.config.HF_HUB_OFFLINE and not hub_reachable()
    try:
        with _quiet(), (_offline(datasets) if offline else contextlib.nullcontext()):
            return datasets.load_dataset(name, config, split=split)
    except Exception as error:  # datasets raises many types for "offline" / "not found"
        if offline:
            raise InputError(f"cannot load {name}: the Hugging Face Hub did not answer within {CONNECT_TIMEOUT:g} s "
                             f"and the dataset is not in the local cache; {instead}") from None  # fmt: skip
        raise InputError(f"cannot load {name} from the Hugging Face Hub ({first_line(error)[:160]}); {instead}") from None
