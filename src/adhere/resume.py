"""Resume, or refuse: the one rule for every output folder adhere writes into again (a run
directory, a training folder, a recipe run). A folder that holds the same work resumes; one that
holds other settings, or something that is not adhere's, is refused with one line saying what
differs and what to do."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.lock import LOCK_NAME


def changed(before: Mapping[str, Any], now: Mapping[str, Any], *, ignore: Iterable[str] = (),
            defaults: Mapping[str, Any] | None = None) -> list[str]:  # fmt: skip
    """The settings whose values differ, sorted. A setting ``before`` lacks counts as its default
    (it was added to adhere after the folder was written), where ``defaults`` knows it."""
    skip = set(ignore)
    defaults = defaults or {}
    return sorted(key for key in set(before) | set(now)
                  if key not in skip and before.get(key, defaults.get(key)) != now.get(key))  # fmt: skip


def refuse_changed(folder: str | Path, what: str, before: Mapping[str, Any], now: Mapping[str, Any], **options: Any) -> None:
    """Raise if ``folder``'s saved settings ``before`` differ from ``now`` (see :func:`changed`)."""
    differ = changed(before, now, **options)
    if differ:
        raise InputError(f"{folder} holds {what} with other settings ({', '.join(differ)}); "
                         "rerun with the same settings to resume, or choose another --out-dir")  # fmt: skip


def refuse_foreign(folder: str | Path, marker: str, what: str) -> None:
    """Raise if ``folder`` holds files but not ``marker`` (the file adhere's ``what`` writes first)."""
    path = Path(folder)
    if path.exists() and not (path / marker).exists() and any(p.name != LOCK_NAME for p in path.iterdir()):
        raise InputError(f"{path} is not empty and holds no {what}; use a new --out-dir")
