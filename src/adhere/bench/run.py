"""A run directory: its config, its append-only responses, resumable after any interruption.

``config.json`` is written first and holds everything needed to reproduce the run; a rerun with
other settings into the same folder is refused. One process at a time writes a run directory: it
holds the folder's lock (``adhere.lock``) from the settings check to its last file, so two runs
started together on one folder never mix (the second is refused at once). ``responses.jsonl``
gets one line per finished (key, sample), written as soon as it exists, so a killed run loses
at most the line being written; a torn last line is cut off when the run resumes. When generation ends the file is
rewritten (atomically) in prompt order with exactly one row per (key, sample).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from adhere.errors import InputError
from adhere.jsonl import atomic_write, json_line, remove_stale_temporaries, write_json
from adhere.lock import FolderLock
from adhere.models.reasoning import ReasoningSettings, read_answer
from adhere.resume import refuse_changed

#: Config fields that may change between a run and its resumption. A run resumed on another
#: runtime (another llama.cpp build or CPU, another GPU) keeps the answers it has and lists the
#: runtimes that wrote them in ``earlier_runtimes``.
VOLATILE = ("adhere_version", "command", "executor", "runtime", "earlier_runtimes")


class RowSink:
    """The response rows of a run, appended one by one (``append`` is the subclass's)."""

    #: How a response's answer is read (a reasoning model's reasoning kept apart).
    reading: ReasoningSettings = ReasoningSettings()

    def append(self, row: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def append_response(self, key: Any, sample: int, record: dict[str, Any], cached: bool, **extra: Any) -> str:
        """A finished call's row: the response (the answer: see ``adhere.models.reasoning``), its
        finish reason, tokens, latency, cache hit; and where the model reasoned, ``reasoning``, the
        raw text as ``raw_response`` and, if it never got to answer, ``reasoning_unfinished``.
        Returns the answer."""
        answer = read_answer(record["text"], record.get("reasoning"), self.reading)
        row = {"key": key, "sample": sample, "response": answer.text, "error": None,
               "finish_reason": record["finish_reason"], "prompt_tokens": record["prompt_tokens"],
               "completion_tokens": record["completion_tokens"], "latency_s": record["latency_s"],
               "cached": cached, **extra}  # fmt: skip
        if answer.reasoning is not None:
            row["reasoning"] = answer.reasoning
        if answer.text != record["text"]:
            row["raw_response"] = record["text"]
        if answer.unfinished:
            row["reasoning_unfinished"] = True
        self.append(row)
        return answer.text

    def append_error(self, key: Any, sample: int, error: BaseException) -> None:
        """A failed call's row (retried by the next run)."""
        self.append({"key": key, "sample": sample, "response": None, "error": str(error)})


class Rows(list, RowSink):  # type: ignore[misc]
    """Response rows collected in memory (for remote workers), appended as a run directory appends them."""

    def __init__(self, reading: ReasoningSettings | None = None):
        super().__init__()
        if reading is not None:
            self.reading = reading


class RunDir(RowSink):
    """The files of one run."""

    def __init__(self, path: str | os.PathLike[str], reading: ReasoningSettings | None = None):
        self.path = Path(path)
        if reading is not None:
            self.reading = reading
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: exists and is not a directory; choose another --out-dir")
        self.config_path = self.path / "config.json"
        #: The other runtimes that wrote some of this run's answers (see ``start``).
        self.earlier_runtimes: list[dict[str, Any]] = []
        self.responses_path = self.path / "responses.jsonl"
        self._sink: int | None = None  # the responses file, opened for appending
        self._size = 0
        self._broken: OSError | None = None
        self._lock = FolderLock(self.path)

    def lock(self) -> None:
        """Take the folder's lock (held until ``release``); refused at once if another process
        holds it."""
        if self.path.exists() and not self.path.is_dir():
            raise InputError(f"{self.path}: exists and is not a directory; choose another --out-dir")
        self._lock.acquire()

    def start(self, config: dict[str, Any]) -> None:
        """Take the folder's lock (if not yet taken), then write ``config.json``, or check that an
        existing one describes the same run. The lock is held until ``release``."""
        self.lock()
        try:
            self._start(config)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """Close the responses file and let another process have the folder."""
        self.close()
        self._lock.release()

    def _start(self, config: dict[str, Any]) -> None:
        remove_stale_temporaries(self.path)
        if self.config_path.exists():
            try:
                existing = json.loads(self.config_path.read_text(encoding="utf-8"))
            except (ValueError, RecursionError):
                existing = None
            if not isinstance(existing, dict):
                raise InputError(f"{self.config_path}: unreadable; remove it or choose another --out-dir")
            # A run written before adhere read reasoning read its answers as "strip" does now.
            refuse_changed(self.path, "a run", existing, config, ignore=VOLATILE,
                           defaults={"reading": ReasoningSettings().to_dict()})  # fmt: skip
            earlier = list(existing.get("earlier_runtimes") or [])
            before = existing.get("runtime")
            wrote = self.responses_path.exists() and self.responses_path.stat().st_size > 0
            if wrote and before is not None and before != config.get("runtime") and before not in earlier:
                earlier.append(before)
            if earlier:
                config = {**config, "earlier_runtimes": earlier}
            self.earlier_runtimes = earlier
        write_json(self.config_path, config)

    def finished(self) -> dict[tuple[Any, int], dict[str, Any]]:
        """Rows already written, by (key, sample); the last row of a pair wins. Repairs a torn tail."""
        if not self.responses_path.exists():
            return {}
        data = self.responses_path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # the process died while writing its last line
            with open(self.responses_path, "r+b") as handle:
                handle.truncate(end)
            data = data[:end]
        rows: dict[tuple[Any, int], dict[str, Any]] = {}
        for number, line in enumerate(data.split(b"\n"), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line.decode("utf-8"))
                rows[(row["key"], row["sample"])] = row
            except (ValueError, KeyError, TypeError, RecursionError):
                raise InputError(f"{self.responses_path}:{number}: not a response row; remove the file to start over") from None
        return rows

    def append(self, row: dict[str, Any]) -> None:
        """Append one row as one whole line. A write that fails (a full disk) is undone to the
        last whole line and raised; the file then takes no more rows in this run, so it never
        holds a torn line between whole ones."""
        if self._broken is not None:
            raise self._broken
        data = json_line(row).encode("utf-8")
        if self._sink is None:
            self._sink = os.open(self.responses_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o666)
            self._size = _cut_torn_tail(self._sink)
        try:
            written = 0
            while written < len(data):
                written += os.write(self._sink, data[written:])
        except OSError as error:
            error.filename = error.filename or str(self.responses_path)
            self._broken = error
            with contextlib.suppress(OSError):
                os.ftruncate(self._sink, self._size)
            raise
        self._size += len(data)

    def close(self) -> None:
        if self._sink is not None:
            os.close(self._sink)
            self._sink = None

    def discard_scores(self) -> None:
        """Remove verdicts and summary written from an earlier state of the responses."""
        for name in ("verdicts.jsonl", "summary.json"):
            (self.path / name).unlink(missing_ok=True)

    def compact(self, order: list[tuple[Any, int]]) -> list[dict[str, Any]]:
        """Rewrite responses.jsonl in prompt order, one row per (key, sample); return the rows."""
        self.close()
        rows = self.finished()
        ordered = [rows[pair] for pair in order if pair in rows]
        with atomic_write(self.responses_path) as handle:
            for row in ordered:
                handle.write(json_line(row))
        return ordered


def _cut_torn_tail(fd: int) -> int:
    """Cut a line a killed process left half written at the end of the open file ``fd`` (so the
    next row starts on a line of its own, whether or not the rows were read first); its size."""
    size = os.fstat(fd).st_size
    end = size
    while end > 0:
        start = max(0, end - 65536)
        block = os.pread(fd, end - start, start)
        newline = block.rfind(b"\n")
        if newline >= 0:
            end = start + newline + 1
            break
        end = start
    if end < size:
        os.ftruncate(fd, end)
    return end
