"""The check framework: a lab's checks register here; the worker runs them and scores them.

A check is a small function of a Context that returns when the behaviour is right and raises
CheckFailed (what happened, what was expected, a hint naming the concept) when it is not, or
CheckSkipped when this machine cannot run it (scored 0, never passed).
"""

from __future__ import annotations

import importlib
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import confine, runner, sandbox, wine
from ..build import SHORT_IO_LIBRARY
from ..describe import show_output
from ..peers import TcpConn, symmetric
from ..labs import Lab, checks_module
from ..model import FLAKY_PREFIX, SKIPPED_PREFIX, CheckResult, PlannedCheck

# Deadlines: generous, so a loaded machine never fails a correct program; a wrong one waits
# them out only when it hangs.
READY_S = 5.0        # a server prints its first line
RUN_S = 5.0          # a short program finishes
RECEIVE_S = 3.0      # a datagram or reply arrives
SYMMETRIC_TRIES = 8  # a server started on port 0 that drew a port with two equal bytes is
                     # started again, at most this often (byte-order mistakes hide there)
STDERR_HINT = "the program prints the errno of the call of yours that failed: see its stderr"
# A TCP server's first line (a Windows program ends its lines with CR LF).
LISTENING = r"^listening on (\d+\.\d+\.\d+\.\d+):(\d+)\r?$"


class CheckFailed(Exception):
    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.hint = hint

    def message(self) -> str:
        return f"{self.what}\nHint: {self.hint}" if self.hint else self.what


class CheckSkipped(Exception):
    pass


def skeleton_hint(prog: runner.Program, otherwise: str, function: str = "the function") -> str:
    """The hint for a program that failed: the skeleton's ENOSYS says so in its stderr."""
    if "Function not implemented" in prog.err():
        return f"the skeleton returns -1 (ENOSYS) until you implement {function}"
    return otherwise


@dataclass(frozen=True)
class ShortIO:
    """Caps for the short-I/O shim (grader/shim/short_io.c): each send/write on a TCP socket
    moves at most `send` bytes, each recv/read at most `recv` (0: no cap). With a seed, each
    call's cap is drawn from 1..cap, in a pattern that repeats exactly run after run."""

    send: int = 0
    recv: int = 0
    seed: int = 0

    def env(self, library: Path) -> dict[str, str]:
        """What the program's environment needs for the shim."""
        return {"LD_PRELOAD": str(library), "SOCKLAB_SHORT_SEND": str(self.send),
                "SOCKLAB_SHORT_RECV": str(self.recv), "SOCKLAB_SHORT_SEED": str(self.seed)}

    def describe(self) -> str:
        caps = [f"{what} at most {cap} bytes" for what, cap in
                (("each send()", self.send), ("each recv()", self.recv)) if cap]
        return " and ".join(caps) + (" (varying)" if self.seed else "")


@dataclass
class Context:
    """What a check may use: the built programs, the network it runs on."""

    lab: str
    bin_dir: Path
    lab_dir: Path
    lan: bool                # the test LAN exists (we run in a namespace of our own)
    lan_reason: str = ""     # why not
    proc: Path | None = Path("/proc")   # a procfs where the programs' pids are valid, if any
    private_tmp: bool = False           # the run has a /tmp of its own (see sandbox.py)
    own_pids: bool = False              # proc is the run's own PID namespace, we its init
    confinement: confine.Confinement = confine.Confinement("none", "not probed")
    scratch: Path | None = None         # the one folder student programs may write in
    programs: list[runner.Program] = field(default_factory=list)
    # What one costly run left for several checks to grade (lab 04's 64 MiB transfer): each
    # check looks here first, so that any of them also works alone.
    shared: dict[str, object] = field(default_factory=dict)
    _wine: wine.Wine | None = None
    _wine_problem: str = ""

    def windows(self) -> wine.Wine:
        """The run's Wine, set up at the first call; CheckSkipped where it cannot run."""
        if self._wine is None and not self._wine_problem:
            try:
                self._wine = wine.Wine.for_run(self.private_tmp, self.confinement,
                                               self.proc if self.own_pids else None,
                                               visible=(self.lab_dir,))
            except wine.WineUnavailable as err:
                self._wine_problem = str(err)
        if self._wine is None:
            raise CheckSkipped(f"the Windows programs cannot run here: {self._wine_problem}")
        return self._wine

    def start(self, program: str, *args: object, stdin: bytes | None = None,
              keep_stdin_open: bool = False, short_io: ShortIO | None = None,
              windows: bool = False) -> runner.Program:
        """Start a built program; with short_io, under the short-I/O shim; with windows,
        the Windows build of it (build/win/PROGRAM.exe) under Wine."""
        env = short_io.env(self.bin_dir / SHORT_IO_LIBRARY) if short_io else {}
        argv, name = [str(self.bin_dir / program), *map(str, args)], program
        if windows:
            run = self.windows()
            try:
                argv = run.argv(self.bin_dir / "win" / f"{program}.exe", *args)
            except wine.WineUnavailable as err:
                raise CheckSkipped(f"the Windows programs cannot run here: {err}") from err
            env, name = run.env, f"{program}.exe"
        confiner = self._confiner(windows, env)
        prog = runner.Program(argv, stdin=stdin, keep_stdin_open=keep_stdin_open,
                              cwd=self.lab_dir, name=name, confine=confiner,
                              env=None if confiner else {**os.environ, **env},
                              processes=self.confinement.processes)
        self.programs.append(prog)
        return prog

    def _confiner(self, windows: bool = False,
                  env: dict[str, str] | None = None) -> runner.Confiner | None:
        """How a program of this run is confined: it reads the lab (its programs, the
        shim), writes in the run's scratch folder only, and a Windows program also writes
        in Wine's prefix and server folders. None where nothing confines it."""
        if not self.confinement.confined:
            return None
        binds: list[tuple[Path, str]] = []
        writable = [self.scratch] if self.scratch else []
        if windows and self._wine is not None:
            writable.append(self._wine.prefix)
            binds = self._wine.sandbox_binds()

        def confined(argv: list[str], info_fd: int) -> list[str]:
            return self.confinement.wrap(
                argv, read_only=[self.lab_dir], writable=writable, binds=binds,
                env=env, cwd=self.lab_dir, info_fd=info_fd,
                proc=self.proc if self.own_pids else None)
        return confined

    def start_server(self, program: str, *args: object, line: str, redraw_symmetric: bool = True,
                     keep_stdin_open: bool = False, short_io: ShortIO | None = None,
                     windows: bool = False) -> tuple[runner.Program, re.Match[bytes] | None]:
        """Start a server and wait for its first line (`line`, whose group 2 is the port):
        the program and the match, None when it printed no such line. With
        redraw_symmetric (it was given port 0), a server that drew a port whose two bytes
        are equal is started again."""
        for _ in range(SYMMETRIC_TRIES):
            prog = self.start(program, *args, keep_stdin_open=keep_stdin_open, short_io=short_io,
                              windows=windows)
            match = prog.wait_for_line(line, READY_S)
            if match is None or not (redraw_symmetric and symmetric(int(match.group(2)))):
                return prog, match
            prog.close_stdin()
            prog.stop()
        raise CheckFailed(
            f"{program} was started {SYMMETRIC_TRIES} times on port 0 and each time it printed "
            f"a port whose two bytes are equal ({int(match.group(2))}), where byte-order "
            f"mistakes cannot be seen.",
            "with port 0, bind port 0: the system picks a free port, a new one each time")

    def run(self, program: str, *args: object, stdin: bytes | None = None,
            timeout: float = RUN_S, short_io: ShortIO | None = None,
            windows: bool = False) -> runner.Program:
        """Start a program and wait for it to end (stopping it at the deadline)."""
        prog = self.start(program, *args, stdin=stdin, short_io=short_io, windows=windows)
        prog.wait(timeout)
        return prog

    def peak_memory_kib(self, prog: runner.Program) -> int | None:
        """The most memory (resident set, VmHWM) a running program has held so far, in KiB;
        None once it has exited or where it cannot be read."""
        if self.proc is None:
            return None
        try:
            status = (self.proc / str(prog.pid) / "status").read_text()
        except OSError:
            return None
        match = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.M)
        return int(match.group(1)) if match else None

    def stop_all(self) -> None:
        """End everything the check started: its programs with their groups, and Wine's
        processes (the wineserver included), which live outside those groups."""
        for prog in self.programs:
            prog.stop()
        self.programs.clear()
        if self.own_pids and self.proc is not None:
            sandbox.end_strays(self.proc, spare=self._wine.session_pids() if self._wine else frozenset())
        if self._wine is not None:
            self._wine.end_check(ended=self.own_pids)


def start_tcp_server(ctx: Context, program: str, *args: object, port: int = 0,
                     short_io: ShortIO | None = None, listen_function: str = "the function",
                     windows: bool = False) -> tuple[runner.Program, int]:
    """Start a TCP server and wait for its `listening on` line; the server and its port
    (with port 0, never one whose two bytes are equal). listen_function names the student
    function that makes the listening socket, for the hint."""
    prog, match = ctx.start_server(program, *args, port, line=LISTENING,
                                   redraw_symmetric=port == 0, short_io=short_io,
                                   windows=windows)
    if match is None:
        ended = prog.wait(1.0)
        raise CheckFailed(
            f"{program} {' '.join(map(str, (*args, port)))} printed no line "
            f"'listening on A.B.C.D:PORT'; it {ended.describe()}.\nstdout:\n"
            f"{show_output(prog.out())}\nstderr:\n{show_output(prog.err())}",
            skeleton_hint(prog, STDERR_HINT, listen_function))
    return prog, int(match.group(2))


def connect_to(prog: runner.Program, port: int, what: str = "a client",
               hint: str = "the server must listen() on the port it prints") -> TcpConn:
    """A grader's connection to a student's server, or CheckFailed saying why not."""
    try:
        return TcpConn.connect("127.0.0.1", port)
    except OSError as err:
        state = prog.exit().describe() if prog.has_exited() else "was running"
        raise CheckFailed(f"{what} could not connect to 127.0.0.1:{port}: "
                          f"{err.strerror or err}; {prog.name} {state}.",
                          hint)


def server_state(prog: runner.Program) -> str:
    """One line on a server after a failure: still running, or how it ended and its stderr."""
    if not prog.has_exited():
        return f"{prog.name} is still running."
    return f"{prog.name} {prog.exit().describe()}; stderr:\n{show_output(prog.err())}"


CheckFunc = Callable[[Context], None]


@dataclass
class Check:
    slug: str
    name: str
    points: float
    func: CheckFunc
    lan: bool           # needs the test LAN: skipped (0 points, with the reason) without it
    windows: bool       # runs the Windows build: skipped where mingw-w64 or Wine is missing

    def planned(self, lab: str) -> PlannedCheck:
        return PlannedCheck.wire(lab, self.slug, self.name, self.points)


class LabChecks:
    """The wire checks of one lab, in the order they run, and the hints of its API checks."""

    def __init__(self, lab: str, api_hints: dict[str, str]) -> None:
        self.lab = lab
        self.checks: list[Check] = []
        self.api_hints = api_hints

    def check(self, slug: str, name: str, points: float, lan: bool = False,
              windows: bool = False) -> Callable[[CheckFunc], CheckFunc]:
        def register(func: CheckFunc) -> CheckFunc:
            self.checks.append(Check(slug, name, points, func, lan, windows))
            return func
        return register


def run_check(lab: str, check: Check, ctx: Context) -> CheckResult:
    started = time.monotonic()
    passed, message = False, ""
    try:
        if check.lan and not ctx.lan:
            raise CheckSkipped(ctx.lan_reason or "no test LAN on this machine")
        check.func(ctx)
        passed, message = True, "ok"
    except CheckFailed as failed:
        message = failed.message()
    except CheckSkipped as skipped:
        message = f"{SKIPPED_PREFIX}{skipped}"
    except Exception:  # a grader bug must show, not pass or crash the run
        message = ("the grader could not finish this check (a bug in the grader, not in "
                   "your code; please report it):\n" + traceback.format_exc(limit=4))
    finally:
        ctx.stop_all()
    return check.planned(lab).result(passed, message, round(time.monotonic() - started, 3))


def run_check_confirmed(lab: str, check: Check, ctx: Context) -> CheckResult:
    """run_check, and a failed check once more, with the same seeds, before it counts: a
    verdict must not depend on the moment. Failed twice, it is reported as it first failed.
    Passed the second time, it is scored as passed and its message starts with "flaky:",
    with the first failure, so that the instability is seen and fixed, never hidden."""
    first = run_check(lab, check, ctx)
    if first.passed or first.skipped:
        return first
    ctx.shared.clear()          # what the failed run left is not reused by the second
    second = run_check(lab, check, ctx)
    if not second.passed:
        return first
    second.message = (f"{FLAKY_PREFIX}this check failed, then passed when run again with the "
                      f"same input; it counts as passed. The first run said:\n{first.message}")
    return second


def load(lab: str) -> LabChecks:
    """The checks of a lab: module checks/labNN.py defines CHECKS."""
    module = importlib.import_module(f"{__name__}.{checks_module(lab)}")
    checks: LabChecks = module.CHECKS
    assert checks.lab == lab, f"{module.__name__} grades {checks.lab}, not {lab}"
    return checks


def plan(lab: Lab) -> list[PlannedCheck]:
    """Every check the lab reports, in order: its wire checks, then one per Criterion test."""
    wire = [check.planned(lab.name) for check in load(lab.name).checks]
    api = [PlannedCheck.api(lab.name, suite, test, lab.api_worth(suite))
           for suite, test in lab.api_tests()]
    return wire + api
