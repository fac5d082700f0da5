"""The default number of scoring processes counts only idle cores."""

from __future__ import annotations

import os

import pytest

from adhere.bench import scoring


@pytest.mark.parametrize(
    ("rows", "cores", "load", "now", "expected"),
    [
        (100, 8, 0.0, 0.0, 1),  # small files: starting processes costs more than it saves
        (20_000, 2, 0.0, 0.1, 2),
        (20_000, 2, 0.0, 1.0, 1),  # one core busy: two processes would share the other
        (20_000, 2, 0.0, 2.3, 1),
        (20_000, 8, 0.0, 3.0, 5),
        (20_000, 32, 0.0, 0.0, 8),
        (None, 8, 0.0, 0.0, 1),
        (20_000, 2, 0.0, 1.9, 1),  # a job started a moment ago: the load average does not show it yet
        (20_000, 2, 1.4, 0.0, 2),  # the load of this process's own run just before does not count
        (20_000, 2, 0.1, None, 2),  # no /proc/stat: the load average
        (20_000, 2, 1.0, None, 1),
        (20_000, 1, 0.0, 0.0, 1),
    ],
)
def test_auto_workers(monkeypatch, rows, cores, load, now, expected):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(scoring, "busy_now", lambda: now)
    assert scoring.auto_workers(rows) == expected


def test_busy_now_reads_the_machine():
    now = scoring.busy_now(0.05)
    if not os.path.exists("/proc/stat"):
        assert now is None
    else:
        assert 0.0 <= now <= (os.cpu_count() or 1) + 0.01
