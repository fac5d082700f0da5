"""A response cache keyed by content, in one SQLite file (WAL), shared by runs and processes.

The key hashes exactly what changes a response: the model's identity (for files, their sha256),
the messages, the sampling config and the sample index. Never a secret: API keys are not part of
any key or record. Only successful responses are stored; an error is never cached, so a rerun
retries it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adhere.jsonl import json_text
from adhere.models.base import Completion, ModelCallError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    created REAL NOT NULL,
    record TEXT NOT NULL
)
"""


def default_path() -> Path:
    """``$ADHERE_CACHE_DIR/cache.sqlite``, else the user cache folder (read when called)."""
    folder = os.environ.get("ADHERE_CACHE_DIR")
    if folder:
        return Path(folder) / "cache.sqlite"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "adhere" / "cache.sqlite"


def cache_key(model: dict[str, Any], messages: list[dict[str, str]], config: dict[str, Any], sample: int) -> str:
    """sha256 of the canonical JSON of everything that determines a response."""
    payload = {"model": model, "messages": messages, "config": config, "sample": sample}
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    # surrogatepass: a prompt may hold a lone surrogate (a JSON "\\ud83d" escape); valid text
    # hashes exactly as UTF-8, so existing keys stay the same.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


async def cached_complete(
    backend: Any,
    cache: ResponseCache | None,
    messages: list[dict[str, str]],
    config: Any,
    sample: int,
    *,
    gate: contextlib.AbstractAsyncContextManager[Any] | None = None,
) -> tuple[dict[str, Any], bool]:
    """A completion record for ``messages`` and whether it came from the cache.

    A miss calls the backend (inside ``gate``, e.g. a semaphore bounding calls in flight) and
    caches the result; a ``ModelCallError`` propagates and nothing is cached. The number of
    samples does not change any one sample, so it is not part of the key.
    """
    key_config = {k: v for k, v in config.to_dict().items() if k != "samples"}
    key = cache_key(backend.identity(), messages, key_config, sample)
    # A stored record that is not a valid completion (written by an older adhere that cached
    # whatever a server sent) is a miss, and is replaced.
    stored = Completion.from_record(cache.get(key)) if cache is not None else None
    if stored is not None:
        return dataclasses.asdict(stored), True
    async with gate if gate is not None else contextlib.nullcontext():
        completion = await backend.complete(messages, config, sample)
    if not isinstance(completion, Completion):  # a third-party backend's bug; never cached
        raise ModelCallError(f"{backend.name} returned {type(completion).__name__}, not a Completion")
    record = dataclasses.asdict(completion)
    if cache is not None:
        cache.put(key, backend.name, record)
    return record, False


class ResponseCache:
    """Get and put response records by key. Safe across threads and processes (SQLite WAL)."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60)
        try:
            db.execute("PRAGMA synchronous=NORMAL")
            with db:
                yield db
        finally:
            db.close()

    def get(self, key: str) -> dict[str, Any] | None:
        """The record stored under ``key``; None if there is none or it is not readable JSON."""
        with self._connect() as db:
            row = db.execute("SELECT record FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except (TypeError, ValueError, RecursionError):
            return None

    def put(self, key: str, model: str, record: dict[str, Any]) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO responses (key, model, created, record) VALUES (?, ?, ?, ?)",
                (key, model, time.time(), json_text(record)),
            )

    def info(self) -> dict[str, Any]:
        with self._connect() as db:
            total = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            models = dict(db.execute("SELECT model, COUNT(*) FROM responses GROUP BY model").fetchall())
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {"path": str(self.path), "responses": total, "bytes": size, "models": models}

    def clear(self, model: str | None = None) -> int:
        """Delete every record (or one model's); returns how many were deleted."""
        with self._connect() as db:
            if model is None:
                deleted = db.execute("DELETE FROM responses").rowcount
            else:
                deleted = db.execute("DELETE FROM responses WHERE model = ?", (model,)).rowcount
        with contextlib.closing(sqlite3.connect(self.path)) as db:
            db.execute("VACUUM")
        return deleted
