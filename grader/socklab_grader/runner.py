"""Start a student's program, watch it with deadlines, and end it with its whole group.

Every program runs in a process group of its own with resource limits, stdin from /dev/null
unless a check feeds it, and its stdout/stderr read live into capped buffers. Readiness is a
printed line (`bound to ...`, `listening on ...`), never a sleep; every wait has a deadline;
stop() sends SIGTERM to the group, then SIGKILL after a grace period.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Sequence

OUTPUT_CAP = 1 << 20          # bytes kept of each stream; the rest is counted, not kept
STOP_GRACE_S = 1.0            # SIGTERM, then this long, then SIGKILL
KILL_WAIT_S = 10.0            # SIGKILL, then at most this long for the kernel to reap it
TERMINATE_EVERY_S = 0.25      # terminate(): SIGTERM again this often until it exits
ASLEEP_POLL_S = 0.002         # wait_asleep(): how often the program's state is read

# Limits for student programs: generous for the labs, small enough that a runaway loop or a
# fork bomb in a submission cannot take the grading machine down.
CPU_SECONDS = 20
ADDRESS_SPACE = 2 << 30
FILE_SIZE = 256 << 20
OPEN_FILES = 512
EXTRA_PROCESSES = 256


def _count_own_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _limited(argv: Sequence[str], processes: int | None = None) -> list[str]:
    """argv run under util-linux prlimit (rlimits set in the child without preexec_fn,
    which is unsafe while the grader's reader threads run). processes: the process limit,
    counted for the program's user (default: what the grader's user runs, plus a margin)."""
    nproc = processes or _count_own_processes() + EXTRA_PROCESSES
    return ["prlimit", f"--cpu={CPU_SECONDS}", f"--as={ADDRESS_SPACE}",
            f"--fsize={FILE_SIZE}", f"--nofile={OPEN_FILES}", f"--nproc={nproc}",
            "--core=0", "--", *argv]


def _child_pid(info: int) -> int | None:
    """The pid bwrap reports on its --info-fd ({"child-pid": N, ...}); None when it says
    nothing in time (it failed to start the program)."""
    try:
        data = b""
        deadline = time.monotonic() + CHILD_PID_S
        while b"}" not in data:
            ready, _, _ = select.select([info], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(info, 4096) if ready else b""
            if not chunk:
                break
            data += chunk
        match = re.search(rb'"child-pid"\s*:\s*(\d+)', data)
        return int(match.group(1)) if match else None
    finally:
        os.close(info)


class Stream:
    """One output stream read by a thread into a capped buffer, with waiting for content."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self.data = bytearray()
        self.dropped = 0
        self.closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe: IO[bytes]) -> None:
        try:
            while chunk := pipe.read1(65536):
                with self._cond:
                    room = OUTPUT_CAP - len(self.data)
                    self.data += chunk[:room]
                    self.dropped += max(0, len(chunk) - room)
                    self._cond.notify_all()
        except (OSError, ValueError):
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def wait_for(self, pattern: re.Pattern[bytes], deadline: float) -> re.Match[bytes] | None:
        with self._cond:
            while True:
                # Only whole lines: "$" would also match where a half-written line ends.
                end = len(self.data) if self.closed else self.data.rfind(b"\n") + 1
                match = pattern.search(self.data, 0, end)
                if match or self.closed:
                    return match
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def wait_closed(self, deadline: float) -> bool:
        with self._cond:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def raw(self) -> bytes:
        with self._cond:
            return bytes(self.data)

    def text(self) -> str:
        with self._cond:
            shown = self.data.decode("utf-8", "replace")
            if self.dropped:
                shown += f"\n[... {self.dropped} more bytes not kept]"
            return shown


@dataclass
class Exit:
    """How a program ended."""

    code: int | None          # exit status; 128+N when killed by signal N; None: still running
    signal: int | None        # the signal that killed it, if one did
    killed_by_us: bool        # we had to stop it (it did not exit on its own in time)
    seconds: float

    def describe(self) -> str:
        if self.killed_by_us:
            return "did not exit by itself in time, so it was stopped"
        if self.signal is not None:
            return f"was killed by {signal.Signals(self.signal).name} (exit {self.code})"
        return f"exited with status {self.code}"


# Turns a command into the same command run confined (confine.Confinement.wrap), given the
# descriptor on which the confinement reports the real program's pid.
Confiner = Callable[[list[str], int], list[str]]
CHILD_PID_S = 10.0            # the confinement reports the program's pid within this


class Program:
    """A running student program (or any command) under the grader's watch."""

    def __init__(self, argv: Sequence[str], *, stdin: bytes | None = None,
                 keep_stdin_open: bool = False, cwd: Path | None = None,
                 env: dict[str, str] | None = None, limited: bool = True,
                 name: str | None = None, confine: Confiner | None = None,
                 pass_fds: tuple[int, ...] = (), processes: int | None = None) -> None:
        self.argv = [str(a) for a in argv]
        # What messages call it: the program's file name (a Windows program runs as `wine
        # PROGRAM.exe ...`, so its caller names it).
        self.name = name or Path(self.argv[0]).name
        self.started = time.monotonic()
        self._exit: Exit | None = None
        self._stopped_by_us = False
        self._pidfd: int | None = None
        feed = stdin is not None or keep_stdin_open
        self.confined = confine is not None
        command, info_read, info_write = self.argv, -1, -1
        if confine is not None:
            info_read, info_write = os.pipe()
            command = confine(self.argv, info_write)
        try:
            self.proc = subprocess.Popen(
                _limited(command, processes) if limited else command,
                stdin=subprocess.PIPE if feed else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=env,
                start_new_session=True,
                pass_fds=(*pass_fds, *((info_write,) if confine is not None else ())),
            )
        finally:
            if confine is not None:
                os.close(info_write)
        # The pid to signal and to look at: the program itself, also when it runs confined
        # (as a child of bwrap, in the same process group).
        self.pid = self.proc.pid
        if confine is not None:
            self.pid = _child_pid(info_read) or self.proc.pid
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self.stdout = Stream(self.proc.stdout)
        self.stderr = Stream(self.proc.stderr)
        if stdin is not None:
            threading.Thread(target=self._feed, args=(stdin, keep_stdin_open), daemon=True).start()

    def _feed(self, data: bytes, keep_open: bool) -> None:
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            if not keep_open:
                self.proc.stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def exit_fd(self) -> int:
        """A file descriptor that becomes readable when the program exits (a pidfd)."""
        if self._pidfd is None:
            self._pidfd = os.pidfd_open(self.proc.pid)
        return self._pidfd

    def has_exited(self) -> bool:
        return self.proc.poll() is not None

    def write(self, data: bytes) -> bool:
        """Send more input to an interactive program; False if it no longer reads."""
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError, ValueError):
            return False

    def close_stdin(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[bytes] | None:
        """The first stdout match of pattern (a regex over whole lines), or None when the
        program printed no such line before the deadline or before its stdout closed."""
        regex = re.compile(pattern.encode(), re.MULTILINE)
        return self.stdout.wait_for(regex, time.monotonic() + timeout)

    def wait(self, timeout: float) -> Exit:
        """Wait for the program to exit by itself; stop it when the deadline passes."""
        try:
            self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            self.stop()
        return self.exit()

    def wait_asleep(self, timeout: float) -> bool:
        """Wait until every thread of the program sleeps (blocked in a call such as recvfrom
        or poll: state S in /proc), so that a signal sent now interrupts that call rather than
        the work before it. False if the deadline passed or the program exited first."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            try:
                states = [Path(f"/proc/{self.pid}/task/{tid}/stat").read_text().rpartition(")")[2].split()[0]
                          for tid in os.listdir(f"/proc/{self.pid}/task")]
            except (OSError, IndexError):
                states = []
            if states and all(state == "S" for state in states):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(ASLEEP_POLL_S)
        return False

    def exited_within(self, timeout: float) -> Exit | None:
        """How the program ended if it exits by itself before the deadline; None while it
        still runs (it is left running)."""
        try:
            self.proc.wait(timeout=max(0.0, timeout))
        except subprocess.TimeoutExpired:
            return None
        return self.exit()

    def group_asleep(self) -> bool:
        """Whether every thread of every process in the program's group sleeps now (state S,
        or Z: a child that has ended and waits to be reaped): the program, and the children
        a forking server made. False once it has exited."""
        states = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()
                if int(fields[2]) != self.proc.pid:       # its process group
                    continue
                states += [Path(f"/proc/{entry}/task/{tid}/stat").read_text()
                           .rpartition(")")[2].split()[0]
                           for tid in os.listdir(f"/proc/{entry}/task")]
            except (OSError, IndexError, ValueError):
                continue    # gone meanwhile
        return self.proc.poll() is None and bool(states) and all(s in "SZ" for s in states)

    def wait_settled(self, timeout: float) -> None:
        """Wait until group_asleep() holds again, or the program has exited, or the deadline."""
        deadline = time.monotonic() + timeout
        while not self.has_exited() and not self.group_asleep() and time.monotonic() < deadline:
            time.sleep(ASLEEP_POLL_S)

    def terminate(self, timeout: float) -> Exit:
        """SIGTERM to the program (not its group), again every TERMINATE_EVERY_S until it
        exits by itself or the deadline passes (then stop()). Resending matters: a signal
        that lands between a program's look at its stop flag and its blocking call is only
        noticed at the next one, and one lost signal must never fail a check."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                try:
                    os.kill(self.pid, signal.SIGTERM)
                except ProcessLookupError:   # exited; its bwrap is about to
                    pass
                self.proc.wait(timeout=min(TERMINATE_EVERY_S, max(0.0, deadline - time.monotonic())))
            except subprocess.TimeoutExpired:
                pass
        return self.exit() if self.proc.poll() is not None else self.stop()

    def stop(self) -> Exit:
        """SIGTERM to the whole group, SIGKILL after a grace period; idempotent."""
        if self.proc.poll() is None:
            self._stopped_by_us = True
            self._signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                pass
        # Whatever the leader did, nothing of the group may outlive the check.
        self._signal_group(signal.SIGKILL)
        try:
            self.proc.wait(timeout=KILL_WAIT_S)
        except subprocess.TimeoutExpired:
            pass   # stuck in the kernel (state D): the namespace's end takes it with it
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return self.exit()

    def _signal_group(self, sig: signal.Signals) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def exit(self) -> Exit:
        if self._exit is None and self.proc.returncode is not None:
            rc = self.proc.returncode
            sig = -rc if rc < 0 else None
            if self.confined and 128 < rc < 128 + signal.NSIG:
                sig = rc - 128      # bwrap exits 128+N when its program died of signal N
            self._exit = Exit(code=128 + sig if sig else rc, signal=sig,
                              killed_by_us=self._stopped_by_us,
                              seconds=time.monotonic() - self.started)
            self.stdout.wait_closed(time.monotonic() + 2)
            self.stderr.wait_closed(time.monotonic() + 2)
        return self._exit or Exit(None, None, False, time.monotonic() - self.started)

    def out(self) -> str:
        return self.stdout.text()

    def err(self) -> str:
        return self.stderr.text()

    def out_bytes(self) -> bytes:
        """stdout exactly as written (payloads may hold NULs or bytes that are not UTF-8)."""
        return self.stdout.raw()

    def __enter__(self) -> "Program":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run(argv: Sequence[str], *, stdin: bytes | None = None, timeout: float,
        cwd: Path | None = None, env: dict[str, str] | None = None) -> tuple[Exit, str, str]:
    """Run a program to its end (or stop it at the deadline): its exit, stdout and stderr."""
    with Program(argv, stdin=stdin, cwd=cwd, env=env) as prog:
        ended = prog.wait(timeout)
        return ended, prog.out(), prog.err()
