"""Limits on a whole grading run: one cgroup for all its processes together.

Per-process limits (runner.py: CPU time, address space, file size, open files) bound each
program, but not a submission that starts many: five processes of 1.9 GiB each, or a
thousand that sleep. Where the machine lets the grader make a cgroup (as root, with the
cgroup v2 memory and pids controllers, or v1's memory and pids hierarchies), each run gets
one, and everything the run starts - the worker, the student's programs, the test program,
Wine - is counted together: RUN_MEMORY bytes of memory (what its files in tmpfs hold
included) and RUN_PROCESSES processes. Elsewhere the run goes on without, and the reason is
kept for the report.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

RUN_MEMORY = 3 << 30        # bytes: the lab 04 transfers, Wine's processes, with room
RUN_PROCESSES = 1024        # the run's processes and threads at once
CGROUP = Path("/sys/fs/cgroup")
_V2_CONTROLLERS = ("memory", "pids")
CLOSE_S = 5.0


class RunLimits:
    """The cgroup(s) of one run: made at construction, removed by close()."""

    def __init__(self) -> None:
        self.name = f"socklab-{uuid.uuid4().hex[:12]}"
        self.groups: list[Path] = []
        self.reason = ""
        try:
            if (CGROUP / "cgroup.controllers").exists():
                self._make_v2()
            else:
                self._make_v1()
        except OSError as err:
            self.close()
            self.reason = f"no cgroup for the run ({err.strerror or err})"

    def _make_v2(self) -> None:
        available = (CGROUP / "cgroup.controllers").read_text().split()
        if not all(c in available for c in _V2_CONTROLLERS):
            raise OSError(0, "the cgroup v2 memory and pids controllers are not available")
        parent = CGROUP / "socklab"
        parent.mkdir(exist_ok=True)
        for level in (CGROUP, parent):
            enabled = (level / "cgroup.subtree_control").read_text().split()
            missing = [f"+{c}" for c in _V2_CONTROLLERS if c not in enabled]
            if missing:
                (level / "cgroup.subtree_control").write_text(" ".join(missing))
        group = parent / self.name
        group.mkdir()
        self.groups.append(group)
        (group / "memory.max").write_text(str(RUN_MEMORY))
        if (group / "memory.swap.max").exists():
            (group / "memory.swap.max").write_text("0")
        (group / "pids.max").write_text(str(RUN_PROCESSES))

    def _make_v1(self) -> None:
        memory, pids = CGROUP / "memory" / self.name, CGROUP / "pids" / self.name
        memory.mkdir()
        self.groups.append(memory)
        pids.mkdir()
        self.groups.append(pids)
        (memory / "memory.limit_in_bytes").write_text(str(RUN_MEMORY))
        (pids / "pids.max").write_text(str(RUN_PROCESSES))

    @property
    def active(self) -> bool:
        return bool(self.groups) and not self.reason

    def enter(self, argv: list[str]) -> list[str]:
        """argv, started inside the run's cgroup(s): a shell puts itself there, then becomes
        argv, so nothing of the run ever starts outside."""
        if not self.active:
            return argv
        procs = [str(group / "cgroup.procs") for group in self.groups]
        script = ('n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; '
                  'n=$((n - 1)); done; exec "$@"')
        return ["sh", "-c", script, "sh", str(len(procs)), *procs, *argv]

    def close(self) -> None:
        """Remove the cgroups; whatever of the run is still in one is killed first, and
        each is removed once the kernel has let its last process go (within CLOSE_S)."""
        deadline = time.monotonic() + CLOSE_S
        for group in self.groups:
            while True:
                try:
                    for pid in (group / "cgroup.procs").read_text().split():
                        try:
                            os.kill(int(pid), signal.SIGKILL)
                        except ProcessLookupError:
                            pass
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break         # left for the kernel; its name is unique
                    time.sleep(0.01)  # the last processes are still being reaped
        self.groups.clear()
