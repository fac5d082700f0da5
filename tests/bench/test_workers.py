"""The default number of scoring processes counts only idle cores."""

from __future__ import annotations

import os

import pytest

from adhere.bench import scoring


@pytest.mark.parametrize(
    ("rows", "cores", "load", "expected"),
    [
        (100, 8, 0.0, 1),  # small files: starting processes costs more than it saves
        (20_000, 2, 0.1, 2),
        (20_000, 2, 1.0, 1),  # one core busy: two processes would share the other
        (20_000, 2, 2.3, 1),
        (20_000, 8, 3.0, 5),
        (20_000, 32, 0.0, 8),
        (None, 8, 0.0, 1),
    ],
)
def test_auto_workers(monkeypatch, rows, cores, load, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert scoring.auto_workers(rows) == expected
