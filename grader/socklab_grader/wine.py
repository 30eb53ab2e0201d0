"""Windows programs under Wine: one prefix per machine, a private view of it per run, and
nothing of Wine outliving a check.

Creating a Wine prefix (wineboot) takes seconds, so one is made per machine and Wine
version, in the cache folder, under a lock so that concurrent graders make it once and none
sees it half made. A grading run in namespaces of its own sees that prefix through an
overlay mount on its private /tmp: whatever Wine or a submission writes there (the
registry, a file under C:\\) stays in the run and disappears with it, and the run's own
wineserver (whose socket lives under /tmp) serves only the run's programs. Where that mount
is not possible, the run uses the cached prefix itself and takes turns with every other
grader on the machine: a lock is held from a check's first Windows program to its end.

At the end of each check that ran a Windows program, every Wine process of the run ends: in
the run's own PID namespace the worker kills all it did not start itself (sandbox.end_strays),
elsewhere the wineserver is told to end its programs and itself, and the grader waits.

    python3 -m socklab_grader.wine smoke BIN_DIR   one echo through the .exe pair (make test)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

from . import cache, confine, runner, sandbox

# No Wine debug chatter on stderr (a program's stderr is graded), no installer dialogs for
# Mono and Gecko, which these console programs never need, and one user name for the prefix
# whoever grades (confined, no /etc/passwd names the user; Wine would make a new profile,
# C:\\users\\NAME, at every start for a name the prefix does not have).
BASE_ENV = {"WINEDEBUG": "-all", "WINEDLLOVERRIDES": "mscoree,mshtml=", "USER": "socklab"}
LAYOUT = "2"                         # the prefix's layout: its folder changes with it
CREATE_S = 180.0                     # making a prefix: seconds on a fast machine
TURN_S = 600.0                       # waiting for another grader's Windows check
SERVER_EXIT_S = 10.0                 # the wineserver exits after `wineserver -k`
READY_MARK = ".socklab-ready"        # written last: a prefix without it is half made
PRIVATE_VIEW = Path(sandbox.PRIVATE_TMP) / ".socklab-wine"
WINDOWS_CC = "x86_64-w64-mingw32-gcc"
KEEPER_SOURCE = Path(__file__).resolve().parents[1] / "shim" / "wine_keeper.c"
KEEPER_READY_S = 30.0                # the keeper prints "ready" within this
KEEPER_IN_VIEW = "/tmp/socklab-keeper.exe"   # where a confined keeper sees its program


class WineUnavailable(Exception):
    """Windows programs cannot run on this machine; the message says why."""


def missing() -> str:
    """Why Wine cannot run here, or "" when it can."""
    absent = [tool for tool in ("wine", "wineserver", "wineboot") if not shutil.which(tool)]
    return f"Wine is not installed ({', '.join(absent)} not found)" if absent else ""


def version() -> str:
    """`wine-8.0` for Debian's `wine-8.0 (Debian 8.0~repack-4)`: one prefix per version."""
    ended, out, err = runner.run(["wine", "--version"], timeout=30, env=_env(None))
    words = out.split()
    if ended.code != 0 or not words:
        raise WineUnavailable(f"`wine --version` failed: {(out + err).strip()}")
    return re.sub(r"[^A-Za-z0-9._-]", "_", words[0])


def _env(prefix: Path | None) -> dict[str, str]:
    env = {**os.environ, **BASE_ENV}
    if prefix is not None:
        env["WINEPREFIX"] = str(prefix)
    return env


def cached_prefix(user: tuple[int, int] | None = None) -> Path:
    """The machine's Wine prefix for this Wine version, made now if there is none yet; with
    user, made by and belonging to that user (Wine runs only in a prefix of its own user's)."""
    if missing():
        raise WineUnavailable(missing())
    root = cache.root(user) / f"{version()}-{LAYOUT}"
    prefix = root / "prefix"
    if (prefix / READY_MARK).exists():
        return prefix
    try:
        root.mkdir(parents=True, exist_ok=True)
        if user is not None:
            os.chown(root, *user)
    except OSError as err:
        raise WineUnavailable(f"no cache folder for the Wine prefix: {err}") from err
    with cache.Lock(root / "create.lock", CREATE_S, "making the Wine prefix", WineUnavailable):
        if not (prefix / READY_MARK).exists():
            _create(root, prefix, user)
    return prefix


def _create(root: Path, prefix: Path, user: tuple[int, int] | None) -> None:
    """wineboot a new prefix beside the final place, then rename it there: no grader ever
    uses a prefix whose creation was cut short."""
    building = root / f"prefix.new-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    as_user = [] if user is None else ["setpriv", f"--reuid={user[0]}", f"--regid={user[1]}",
                                       "--clear-groups", "--"]
    env = {**_env(building), "HOME": str(building)}   # what it writes there stays in the prefix
    ended, out, err = runner.run([*as_user, "wineboot", "--init"], timeout=CREATE_S, env=env)
    waited, _, _ = runner.run([*as_user, "wineserver", "--wait"], timeout=CREATE_S, env=env)
    if ended.code != 0 or waited.code not in (0, 1) or not (building / "system.reg").exists():
        shutil.rmtree(building, ignore_errors=True)
        raise WineUnavailable(f"`wineboot --init` could not make a Wine prefix ({ended.describe()}):"
                              f" {(out + err).strip()[-1000:]}")
    (building / READY_MARK).write_text("made by socklab_grader.wine\n")
    shutil.rmtree(prefix, ignore_errors=True)
    building.rename(prefix)


def keeper_exe() -> Path | None:
    """shim/wine_keeper.c as a Windows program, compiled once per machine and source; None
    where mingw-w64 is not installed (then no session is kept between checks)."""
    source = KEEPER_SOURCE.read_bytes()
    target = cache.root() / f"wine-keeper-{hashlib.sha256(source).hexdigest()[:16]}.exe"
    if target.exists():
        return target
    if not shutil.which(WINDOWS_CC):
        return None
    building = target.with_name(f"{target.name}.new-{os.getpid()}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        ended, _, _ = runner.run([WINDOWS_CC, "-std=c17", "-O2", "-Wall", "-Wextra", "-Werror",
                                  "-o", str(building), str(KEEPER_SOURCE)], timeout=CREATE_S)
        if ended.code != 0:
            return None
        building.rename(target)    # whole or not at all, whoever else builds it meanwhile
    except OSError:
        return None
    finally:
        building.unlink(missing_ok=True)
    return target


class Wine:
    """The Windows side of one grading run: the prefix its programs use and, per check,
    what must end with the check."""

    def __init__(self, prefix: Path, shared: bool,
                 confinement: confine.Confinement = confine.Confinement("none"),
                 server_dir: Path | None = None, proc: Path | None = None,
                 visible: tuple[Path, ...] = ()) -> None:
        self.prefix = prefix
        self.shared = shared     # the machine's prefix itself: take turns with other graders
        # What a Windows program's environment needs (the caller adds the rest, or not).
        self.env = {**BASE_ENV, "WINEPREFIX": str(prefix)}
        self.confinement = confinement
        self.server_dir = server_dir   # confined: the wineserver's socket folder, shared by
        self.proc = proc               # every Wine process of a check (see sandbox_binds)
        self.visible = visible         # what its programs read: the wineserver opens their
                                       # files, so its sandbox must show them too
        self._turn = cache.Lock(prefix.parent / "turn.lock", TURN_S, "waiting for another "
                                "grader's Windows check", WineUnavailable) if shared else None
        self._in_check = False
        # Starting Wine's session takes a second; in a run of its own (a private prefix, a PID
        # namespace that tells Wine's processes from the rest) it is started once and kept
        # from check to check, while everything else a check started still ends with it.
        self.keeps_session = proc is not None and not shared
        self._session: frozenset[int] = frozenset()
        self._keeper: subprocess.Popen[bytes] | None = None

    @classmethod
    def for_run(cls, private_tmp: bool, confinement: confine.Confinement,
                proc: Path | None, visible: tuple[Path, ...] = ()) -> "Wine":
        """The run's Wine: a private overlay view of the machine's prefix where the run has a
        private /tmp and the mount works, else the machine's prefix, shared in turns."""
        prefix = cached_prefix(confinement.user)
        if private_tmp and not sandbox.try_overlay(prefix, PRIVATE_VIEW, confinement.user):
            view, shared = PRIVATE_VIEW, False
            prefix = PRIVATE_VIEW / sandbox.OVERLAY_MERGED
        else:
            view, shared = prefix.parent, True
        server_dir = None
        if confinement.confined:
            server_dir = view / "server"
            server_dir.mkdir(mode=0o700, exist_ok=True)
            confine.give(confinement, server_dir)
        return cls(prefix, shared, confinement, server_dir, proc, visible)

    def sandbox_binds(self) -> list[tuple[Path, str]]:
        """Confined, each Wine process would have a /tmp of its own, and Wine keeps its
        server's socket under /tmp (in a folder of a random name that it finds again from
        there): one folder of the run, bound as /tmp in all of them, makes them one session."""
        if self.server_dir is None:
            return []
        return [(self.server_dir, "/tmp")]

    def command(self, argv: list[str]) -> tuple[list[str], dict[str, str] | None]:
        """A command of Wine's own (wineboot, wineserver), confined as its programs are: the
        command and the environment to start it with."""
        if not self.confinement.confined:
            return argv, {**os.environ, **self.env}
        return self.confinement.wrap(argv, read_only=self.visible, writable=[self.prefix],
                                     binds=self.sandbox_binds(), env=self.env,
                                     proc=self.proc), None

    def argv(self, exe: Path, *args: object) -> list[str]:
        """The command that runs exe under Wine; the first call of a check starts its turn
        and Wine's session."""
        if not self._in_check:
            if self._turn is not None:
                self._turn.acquire()
            self._in_check = True
            if not self._session:
                self._start_session()
        return ["wine", str(exe), *map(str, args)]

    def session_pids(self) -> frozenset[int]:
        """The processes of Wine's session that the end of a check spares (none unless the
        session is kept)."""
        return self._session

    def _is_server(self, pid: int) -> bool:
        assert self.proc is not None
        try:
            program = (self.proc / str(pid) / "cmdline").read_bytes().split(b"\0")[0]
        except OSError:
            return False
        return Path(os.fsdecode(program)).name.startswith("wineserver")

    def _running(self) -> set[int]:
        """The run's live processes (a zombie is a process that has ended, waiting to be
        reaped: not part of any session)."""
        assert self.proc is not None
        running = set()
        for entry in self.proc.iterdir():
            try:
                if entry.name.isdigit() and \
                        (entry / "stat").read_text().rpartition(")")[2].split()[0] != "Z":
                    running.add(int(entry.name))
            except (OSError, IndexError):
                pass                  # ended since the listing
        return running

    def _start_session(self) -> None:
        """Start the wineserver and Wine's own processes (services.exe and the like) before
        the check's first program. Started by that program instead, they would inherit its
        stdout and stderr and hold them open after it exits, so its output would never end;
        started here they get /dev/null."""
        before = self._running() if self.keeps_session else set()
        argv, env = self.command(["wineboot"])
        try:
            subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=CREATE_S, start_new_session=True,
                           check=False)
        except subprocess.TimeoutExpired as err:
            raise WineUnavailable(f"Wine's session did not start within {CREATE_S:g} s") from err
        if self.keeps_session:
            self._keep_session(before)

    def _keep_session(self, before: set[int]) -> None:
        """Start the keeper (wine_keeper.c) and, once it is ready, take every process that
        appeared since `before` as the session; without a keeper none is kept."""
        exe = keeper_exe()
        if exe is None:
            return
        program = str(exe)
        if self.server_dir is not None:      # confined: only what the sandbox shows
            shutil.copyfile(exe, self.server_dir / Path(KEEPER_IN_VIEW).name)
            program = KEEPER_IN_VIEW
        argv, env = self.command(["wine", program])
        keeper = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        assert keeper.stdout is not None
        ready = select.select([keeper.stdout], [], [], KEEPER_READY_S)[0]
        if not ready or not keeper.stdout.readline().startswith(b"ready"):
            keeper.kill()
            keeper.wait()
            return
        self._keeper = keeper
        self._session = frozenset(self._running() - before - {os.getpid()})

    def _end_keeper(self) -> None:
        if self._keeper is not None:
            for pipe in (self._keeper.stdin, self._keeper.stdout):
                if pipe is not None:
                    pipe.close()
            self._keeper.kill()
            self._keeper.wait()
            self._keeper = None

    def linger(self, seconds: int) -> None:
        """Start the prefix's wineserver to stay that long after its last program (where none
        runs yet), detached from our output: a later run within that time finds it, and Wine's
        session, started, and pays a tenth of a second instead of a second and a half."""
        argv, env = self.command(["wineserver", f"-p{seconds}"])
        subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=CREATE_S, start_new_session=True,
                       check=False)

    def end_check(self, ended: bool, keep_server: bool = False) -> None:
        """The check is over: every Wine process of the run (the wineserver too) must end.
        ended: the caller has already killed them (sandbox.end_strays, which is instant),
        but for the session it keeps (session_pids), which goes on to the next check if all
        of it is still there; else `wineserver --kill` stops its programs and itself (about
        0.75 s; with a signal number it would kill the server only and leave its programs
        running, orphaned). keep_server (make test's smoke run): the check's programs have
        ended; the server and its session stay for the time linger gave them."""
        if not self._in_check:
            return
        try:
            if ended and self._session:
                running = self._running()
                self._session &= running        # some of its helpers end by themselves
                if any(self._is_server(pid) for pid in self._session):
                    return                      # kept for the next check
                assert self.proc is not None
                sandbox.end_strays(self.proc)   # its server is gone: end it, start anew
            elif not ended and not keep_server:
                for step in ("--kill", "--wait"):
                    argv, env = self.command(["wineserver", step])
                    runner.run(argv, timeout=SERVER_EXIT_S, env=env)
            self._session = frozenset()
            self._end_keeper()
            if self.server_dir is not None:     # the next session starts from an empty /tmp
                for entry in self.server_dir.iterdir():
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink(missing_ok=True)
        finally:
            self._in_check = False
            if self._turn is not None:
                self._turn.release()


# --- make test: one echo through the .exe pair ------------------------------------------

SMOKE_MESSAGE = "hello from Windows"
# The smoke run leaves Wine's server running this long after its last program: a student runs
# make test again and again, and a warm Wine answers at once (a cold one takes 1.5 s).
SMOKE_LINGER_S = 120


def smoke(bin_dir: Path) -> int:
    """Run bin_dir/wecho_server.exe -n 1 0 and wecho_client.exe against it under Wine, on
    this machine's loopback; 0 when the reply came back, 1 when not, 0 with a note when
    Wine is not installed."""
    if missing():
        print(f"wine smoke run skipped: {missing()}")
        return 0
    try:
        wine = Wine(cached_prefix(), shared=True)
    except WineUnavailable as err:
        print(f"wine smoke run: {err}", file=sys.stderr)
        return 1
    try:
        wine.linger(SMOKE_LINGER_S)
        return _smoke_pair(wine, bin_dir)
    finally:
        wine.end_check(ended=False, keep_server=True)


def _smoke_pair(wine: Wine, bin_dir: Path) -> int:
    listening = r"^listening on [\d.]+:(\d+)\r?$"
    env = {**os.environ, **wine.env}
    with runner.Program(wine.argv(bin_dir / "wecho_server.exe", "-n", 1, 0),
                        env=env) as server:
        match = server.wait_for_line(listening, 30)
        if match is None:
            print(f"wine smoke run: wecho_server.exe printed no listening line; stderr:\n"
                  f"{server.err()}", file=sys.stderr)
            return 1
        ended, out, err = runner.run(
            wine.argv(bin_dir / "wecho_client.exe", "127.0.0.1", int(match.group(1)),
                      SMOKE_MESSAGE), timeout=30, env=env)
        if out.replace("\r\n", "\n") != f"reply: {SMOKE_MESSAGE}\n" or ended.code != 0:
            print(f"wine smoke run: wecho_client.exe {ended.describe()}; stdout:\n{out}\n"
                  f"stderr:\n{err}", file=sys.stderr)
            return 1
    print(f"wine smoke run: wecho_client.exe printed \"reply: {SMOKE_MESSAGE}\" under Wine")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="socklab_grader.wine")
    sub = parser.add_subparsers(dest="command", required=True)
    smoke_parser = sub.add_parser("smoke", help="one echo through wecho_server.exe and "
                                                "wecho_client.exe under Wine")
    smoke_parser.add_argument("bin_dir", type=Path)
    args = parser.parse_args(argv)
    return smoke(args.bin_dir)


if __name__ == "__main__":
    sys.exit(main())
