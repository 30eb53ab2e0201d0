"""What the grader keeps between runs on one machine, and the lock that lets concurrent
graders make each thing once.

Two things are kept: the Wine prefix (wine.py) and each lab's trusted objects (build.py).
Each lives in a folder named by what it was made from, is made beside its final place and
renamed there, and is never changed after that, so a grader never sees one half made.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

SYSTEM_CACHE = Path("/var/cache/socklab")
CACHE_ENV = "SOCKLAB_CACHE"          # where things are kept (default ~/.cache/socklab)
LOCK_POLL_S = 0.05


def root(user: tuple[int, int] | None = None) -> Path:
    """$SOCKLAB_CACHE, else the user's cache folder, else (as root, for what an unprivileged
    user must own: the Wine prefix) a system folder."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    if user is not None:
        return SYSTEM_CACHE
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "socklab"


class Lock:
    """An exclusive flock on a file, waited for with a deadline; `error` is raised, saying
    what was waited for, when the deadline passes."""

    def __init__(self, path: Path, timeout: float, what: str,
                 error: type[Exception] = TimeoutError) -> None:
        self.path, self.timeout, self.what, self.error = path, timeout, what, error
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise self.error(f"{self.what}: {self.path} stayed locked for "
                                     f"{self.timeout:g} s")
                time.sleep(LOCK_POLL_S)   # polling a lock another process holds

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)     # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> "Lock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
