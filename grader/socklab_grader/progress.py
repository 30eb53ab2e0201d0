"""A batch's progress on stderr, from any pool thread.

Each finished submission gets a line, `[done/total] NAME: SCORE / MAX`. On a terminal a bar
stays under those lines and is redrawn as work starts and ends: how many are done, which
submissions are being graded, the time so far and an estimate of the time left. Elsewhere (a
log file, CI) there are only the plain lines.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from typing import TextIO

from .model import SubmissionResult

BAR_WIDTH = 24
CLEAR_LINE = "\r\033[K"


def clock(seconds: float) -> str:
    """0:42, 12:05, 1:02:09."""
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.stream = stream or sys.stderr
        self.on_terminal = self.stream.isatty()
        self.started = time.monotonic()
        self.grading: list[str] = []
        self._lock = threading.Lock()

    def start(self, name: str) -> None:
        with self._lock:
            self.grading.append(name)
            self._draw_bar()

    def finish(self, result: SubmissionResult, note: str = "") -> None:
        with self._lock:
            self.done += 1
            if result.submission in self.grading:
                self.grading.remove(result.submission)
            line = (f"[{self.done}/{self.total}] {result.submission}: {result.score:g} / "
                    f"{result.max_score:g}" + (f" ({note})" if note else ""))
            self.stream.write((CLEAR_LINE if self.on_terminal else "") + line + "\n")
            self._draw_bar()

    def close(self) -> None:
        """Take the bar away; say how long it all took."""
        with self._lock:
            elapsed = clock(time.monotonic() - self.started)
            self.stream.write((CLEAR_LINE if self.on_terminal else "")
                              + f"graded {self.done} of {self.total} in {elapsed}\n")
            self.stream.flush()

    def bar(self) -> str:
        """`[#######.........] 7/20  grading alice, bob  0:42 so far, ~1:10 left`."""
        filled = BAR_WIDTH * self.done // max(1, self.total)
        elapsed = time.monotonic() - self.started
        left = (f", ~{clock(elapsed / self.done * (self.total - self.done))} left"
                if self.done else "")
        now = f"  grading {', '.join(self.grading)}" if self.grading else ""
        return (f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self.done}/{self.total}{now}"
                f"  {clock(elapsed)} so far{left}")

    def _draw_bar(self) -> None:
        if self.on_terminal:
            width = shutil.get_terminal_size((80, 24)).columns
            self.stream.write(CLEAR_LINE + self.bar()[:max(1, width - 1)])
        self.stream.flush()
