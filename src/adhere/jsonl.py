"""Reading JSONL with errors that name the file and line; writing files atomically."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from adhere.errors import InputError, first_line


def read_jsonl(path: str | os.PathLike[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, row)`` for each non-blank line, streaming.

    A line that is not UTF-8, not JSON, or not a JSON object raises ``InputError`` naming
    ``path:line``.
    """
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a JSONL file") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise InputError(
                    f"{path}:{number}: not valid UTF-8 (byte {error.start}); "
                    "re-encode the file as UTF-8"
                ) from None
            if number == 1:
                line = line.removeprefix("\ufeff")
            if not line.strip():
                continue
            row = loads(line, f"{path}:{number}")
            if not isinstance(row, dict):
                raise InputError(
                    f"{path}:{number}: expected a JSON object, got {type(row).__name__}"
                )
            yield number, row


def _decode_problem(error: json.JSONDecodeError) -> str:
    # Some of json's messages end in "at" and expect a position after them.
    message = error.msg.removesuffix(" at")
    return f"{message} at column {error.colno}"


def _value_problem(error: BaseException) -> str:
    """One line about a JSON text Python refuses although it is well-formed."""
    if isinstance(error, RecursionError):
        return "nested too deeply"
    return first_line(error)


def loads(text: str, where: str) -> Any:
    """``json.loads`` whose every failure is an ``InputError`` naming ``where`` (a file:line)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"{where}: malformed JSON ({_decode_problem(error)})") from None
    except (ValueError, RecursionError) as error:
        raise InputError(f"{where}: unreadable JSON ({_value_problem(error)})") from None


#: Characters json.dumps(ensure_ascii=False) leaves raw that break a line-based reader or a
#: UTF-8 encoder: NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR (``str.splitlines`` and some JSONL
#: readers end a line at each), and lone surrogates (not encodable as UTF-8).
_UNSAFE = re.compile("[\u0085\u2028\u2029\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(value: Any, **options: Any) -> str:
    """``json.dumps`` with non-ASCII kept readable, but never a character that ends a line for
    some reader or that UTF-8 cannot encode: those are written as ``\\uXXXX`` escapes, which
    read back as the same string. They can only occur inside JSON strings, so escaping them in
    the text is exact."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def json_line(row: Any) -> str:
    """One JSONL line: ``row`` as JSON on a single line (see ``json_text``), newline included."""
    return json_text(row) + "\n"


def split_lines(text: str) -> list[str]:
    """The non-blank lines of a JSONL text, split at ``\\n`` only: the one line end JSONL has
    (``str.splitlines`` also splits at U+2028 and other characters a JSON string may hold raw)."""
    return [line for line in text.split("\n") if line.strip()]


def count_lines(path: str | os.PathLike[str]) -> int:
    """Number of newline-terminated lines (plus a final unterminated one), for progress bars."""
    count = 0
    last = b"\n"
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


#: Temporary files of ``atomic_write``: ``.NAME.PID.RANDOM.tmp`` beside the file they become.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, but belongs to someone else
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str], name: str | None = None) -> int:
    """Delete the temporary files that writers killed mid-write left in ``folder`` (those of
    ``name`` only, if given); a live process's are kept. Returns how many were deleted."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry.name)
        if match is None or (name is not None and match["name"] != name):
            continue
        if int(match["pid"]) == os.getpid() or _alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed += 1
    return removed


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Write ``path`` through a temporary file in the same folder, renamed into place on success.

    On any error the temporary file is removed and an existing ``path`` is left untouched. A
    temporary file that a killed writer left (its name holds the dead writer's process id) is
    removed by the next write of the same file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, path.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    # mkstemp makes the file private (0600); give it the permissions any new file gets here.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(fd, 0o666 & ~umask)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_write(path) as handle:
        handle.write(json_text(data, indent=2) + "\n")


def read_run_rows(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """JSON lines of a run's file, read-only; a torn last line (a killed writer) is skipped."""
    path = Path(path)
    rows = []
    lines = path.read_bytes().split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line.decode("utf-8")))
        except (ValueError, RecursionError):
            if number == len(lines):  # no newline after it: the writer was killed mid-line
                break
            raise InputError(f"{path}:{number}: not valid JSON; is this an adhere run directory?") from None
    return rows
