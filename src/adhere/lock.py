"""One writer per output folder: an exclusive lock that the operating system drops with its holder.

Two ``adhere`` processes writing one run directory at once would mix their rows (and one's
``config.json`` would describe rows the other made). Each command that writes a folder holds
``FOLDER/.lock`` for as long as it writes there; a second one is refused at once with one line.
The lock is an ``flock`` (``fcntl``) on Unix and ``msvcrt.locking`` on Windows: a killed holder
(``kill -9``, a lost node) releases it with its file descriptors, so no stale lock is ever left
to remove by hand. The file itself stays; it holds the last holder's process id, for the message.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from adhere.errors import InputError

LOCK_NAME = ".lock"


class FolderBusyError(InputError):
    """Another process holds the folder's lock."""


class FolderLock:
    """The exclusive lock of ``folder`` (made if missing). ``acquire`` never waits."""

    def __init__(self, folder: str | os.PathLike[str], what: str = "run"):
        self.folder = Path(folder)
        self.what = what
        self._fd: int | None = None
        self._made = False

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if self._fd is not None:
            return
        self._made = not self.folder.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock(fd)
        except OSError:
            holder = _read_holder(fd)
            os.close(fd)
            self._made = False
            by = f" (process {holder})" if holder else ""
            raise FolderBusyError(
                f"{self.folder}: another adhere {self.what} is writing here{by}; wait for it to "
                "finish, or choose another --out-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if self._made:
            # A folder this lock made and nothing else wrote to (the work failed before its
            # first file, e.g. the model would not load) goes again: bad input leaves nothing.
            with contextlib.suppress(OSError):
                if [entry.name for entry in os.scandir(self.folder)] == [LOCK_NAME]:
                    os.unlink(self.folder / LOCK_NAME)
                    self.folder.rmdir()
        with contextlib.suppress(OSError):
            _unlock(fd)
        os.close(fd)

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def locked(folder: str | os.PathLike[str], what: str = "run") -> Iterator[FolderLock]:
    """Hold ``folder``'s lock for the ``with`` block."""
    with FolderLock(folder, what) as lock:
        yield lock


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except (OSError, AttributeError):
        return ""


try:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)

except ImportError:  # pragma: no cover - Windows
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
