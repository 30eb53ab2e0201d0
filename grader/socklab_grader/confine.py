"""Student code runs confined: bubblewrap shows each step only what it needs.

Every command that runs or reads student code - the build (the compiler reads the student's
files), the programs of the wire checks, the Criterion test program - runs inside `bwrap`:

- a user namespace of its own, in which it is an ordinary user with no capabilities: it
  cannot read the grader's file descriptors through /proc, nor trace or change the grader;
- a file system that holds the system's programs and libraries read-only (/usr and the few
  /etc files that the dynamic linker and name resolution read), this run's lab folder
  (read-only, except for the build), the run's scratch folder, a /proc that shows this run's
  processes only (or none), and an empty /tmp: no home, no repository, no solutions, no
  other run's folder, no /etc/passwd;
- a clean environment: PATH, LANG, and what the step sets itself;
- the grading run's network namespace, which the checks share with it.

It stays in the run's PID namespace (the grader signals a program by its pid, and ends
whatever it leaves behind after each check, see sandbox.end_strays), and in the grader's
process group, so a group kill reaches it.

Where bwrap is missing or cannot make a user namespace, student code runs as before, the
results say `"sandbox": "none"`, and SOCKLAB_REQUIRE_SANDBOX=1 makes the grader refuse.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Mapping, Sequence

REQUIRE_ENV = "SOCKLAB_REQUIRE_SANDBOX"
NO_SANDBOX_ENV = "SOCKLAB_NO_SANDBOX"     # 1: run student code unconfined (tests of the fallback)
SANDBOX_UID = 1000                       # who student code is, inside its user namespace
DROP_TO = "nobody"                       # ... and outside it, when the grader is root
# The process limit of that user, which is one for every run of the machine at once (the
# run's own limit is its cgroup's, see limits.py): a bound for the machine, not for a run.
DROPPED_PROCESSES = 8192
TMP_SIZE = 512 << 20                     # its /tmp (lab 04's tests write files there)
PATH = "/usr/local/bin:/usr/bin:/bin"

# What the dynamic linker, the C library's name resolution, the toolchain and Wine (fonts)
# read in /etc.
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "hosts", "nsswitch.conf", "host.conf",
        "gai.conf", "services", "protocols", "alternatives", "localtime", "fonts")
# The top-level folders that hold programs and libraries (symbolic links into /usr where
# /usr is merged).
_SYSTEM = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


@dataclass(frozen=True)
class Confinement:
    """How student code is confined on this machine: "bubblewrap", or "none" and why; and,
    when the grader is root, the unprivileged user (uid, gid) it runs as."""

    kind: str
    reason: str = ""
    user: tuple[int, int] | None = None

    @property
    def confined(self) -> bool:
        return self.kind == "bubblewrap"

    @property
    def processes(self) -> int | None:
        """The process limit to give student code, where it is not the grader's default."""
        return DROPPED_PROCESSES if self.user is not None else None

    def wrap(self, argv: Sequence[str], *, read_only: Sequence[Path] = (),
             writable: Sequence[Path] = (), binds: Sequence[tuple[Path, str]] = (),
             env: Mapping[str, str] | None = None, cwd: Path | None = None,
             proc: Path | None = None, info_fd: int | None = None,
             own_pids: bool = False) -> list[str]:
        """argv run confined: the folders read_only and writable appear at their own paths,
        each (folder, path) of binds writable at path, env is its whole environment (with
        PATH and LANG), proc is mounted as its /proc, and bwrap writes the program's pid to
        info_fd; with own_pids, it gets a PID namespace and a /proc of its own instead, and
        everything it starts ends when it does. Unconfined: argv itself."""
        if not self.confined:
            return list(argv)
        command = []
        if self.user is not None:   # root's rights end here: bwrap starts as that user
            command = ["setpriv", f"--reuid={self.user[0]}", f"--regid={self.user[1]}",
                       "--clear-groups", "--"]
        command += ["bwrap", "--unshare-user", "--uid", str(SANDBOX_UID), "--gid",
                   str(SANDBOX_UID), "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                   "--die-with-parent", "--cap-drop", "ALL", "--clearenv",
                   "--setenv", "PATH", PATH, "--setenv", "LANG", "C.UTF-8",
                   "--setenv", "HOME", "/tmp"]
        for name, value in (env or {}).items():
            command += ["--setenv", name, value]
        command += _system_view()
        command += ["--dev", "/dev", "--size", str(TMP_SIZE), "--tmpfs", "/tmp"]
        if own_pids:
            command += ["--unshare-pid", "--proc", "/proc"]
        elif proc is not None:
            command += ["--ro-bind", str(proc), "/proc"]
        for folder, path in binds:          # first: one may cover /tmp, where others lie
            command += ["--bind", str(folder), path]
        for folder in read_only:
            command += ["--ro-bind", str(folder), str(folder)]
        for folder in writable:
            command += ["--bind", str(folder), str(folder)]
        if cwd is not None:
            command += ["--chdir", str(cwd)]
        if info_fd is not None:
            command += ["--info-fd", str(info_fd)]
        return command + ["--", *argv]


def _system_view() -> list[str]:
    view = ["--ro-bind", "/usr", "/usr"]
    for name in _SYSTEM:
        path = Path("/") / name
        if path.is_symlink():
            view += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            view += ["--ro-bind", str(path), str(path)]
    for name in _ETC:
        if (Path("/etc") / name).exists():
            view += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    return view


@cache
def probe() -> Confinement:
    """bubblewrap where it works here, else none and why (asked once per process). As root,
    student code runs as the unprivileged user DROP_TO: outside its user namespace too it is
    not root, so the kernel's process limit applies to it and nothing of root's is its."""
    if os.environ.get(NO_SANDBOX_ENV) == "1":
        return Confinement("none", f"{NO_SANDBOX_ENV}=1 is set")
    if shutil.which("bwrap") is None:
        return Confinement("none", "bubblewrap (bwrap) is not installed")
    user = _drop_to() if os.geteuid() == 0 else None
    why = _trial(Confinement("bubblewrap", user=user))
    if why and user is not None:
        # No unprivileged user namespaces here: confined as root's own uid, still without
        # capabilities, the process limit then left to the run's cgroup.
        user, why = None, _trial(Confinement("bubblewrap"))
    if why:
        return Confinement("none", why)
    return Confinement("bubblewrap", user=user)


def _trial(confinement: Confinement) -> str:
    """Why confinement cannot run a program here, or ""."""
    try:
        done = subprocess.run(confinement.wrap(["true"]), capture_output=True, text=True,
                              timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap could not run: {err}"
    if done.returncode != 0:
        return f"bwrap cannot make a sandbox here: {done.stderr.strip()}"
    return ""


def _drop_to() -> tuple[int, int] | None:
    try:
        entry = pwd.getpwnam(DROP_TO)
    except KeyError:
        return None
    return (entry.pw_uid, entry.pw_gid) if shutil.which("setpriv") else None


def give(confinement: Confinement, *paths: Path) -> None:
    """Make paths (recursively) the property of the user student code runs as, where it is
    not the grader's own: what it must write (the build, its scratch, Wine's files)."""
    if confinement.user is None:
        return
    uid, gid = confinement.user
    for path in paths:
        os.chown(path, uid, gid)
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                os.chown(os.path.join(folder, name), uid, gid, follow_symlinks=False)


def required() -> bool:
    """SOCKLAB_REQUIRE_SANDBOX=1: grading without the sandbox is refused."""
    return os.environ.get(REQUIRE_ENV) == "1"
