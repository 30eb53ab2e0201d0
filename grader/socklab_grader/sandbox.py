"""A network namespace of its own for each grading run: loopback plus a test LAN.

A PID namespace comes with it, so nothing a submission starts outlives its grading run.
Inside, a veth pair carries 198.51.100.1/24 with a default route, so 255.255.255.255 and
198.51.100.255 broadcasts reach local sockets bound to 0.0.0.0, AI_ADDRCONFIG resolves, and a
server can be reached on an address that is not 127.0.0.1; no traffic leaves the namespace,
and parallel runs never collide on ports. A mount namespace gives each run a /tmp of its own:
PIDs restart at 1 in every PID namespace, and Criterion names its socket /tmp/criterion_PID.sock,
so parallel runs sharing /tmp would collide on it. Unprivileged user namespaces (`unshare -rn`) are
tried first, then a plain network namespace as root; where neither works the checks run on
the host's loopback and the LAN checks are skipped with the reason, never passed.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

LAN_ADDR = "198.51.100.1"
LAN_BROADCAST = "198.51.100.255"
LAN_PREFIX = 24
LAN_GATEWAY = "198.51.100.2"
LAN_DEVICE = "socklab0"

PRIVATE_TMP = "/tmp"
_MOUNT_TMP = f"mount -t tmpfs -o size=512m,mode=1777 socklab-tmp {PRIVATE_TMP}"
PRIVATE_PROC = "/proc"
PRIVATE_SHM = "/dev/shm"
_MOUNT_SHM = f"mount -t tmpfs -o size=512m,mode=1777 socklab-shm {PRIVATE_SHM}"

# Set to 1 to grade on the host's loopback even where namespaces work (tests of the fallback).
NO_NETNS_ENV = "SOCKLAB_NO_NETNS"


@dataclass(frozen=True)
class Isolation:
    """How grading runs are isolated on this machine."""

    prefix: tuple[str, ...]   # command prefix that enters a fresh namespace; () for none
    kind: str                 # what it is, for reports
    reason: str = ""          # why there is none

    @property
    def available(self) -> bool:
        return bool(self.prefix)


def _works(prefix: list[str]) -> tuple[bool, str]:
    try:
        done = subprocess.run([*prefix, "ip", "link", "set", "lo", "up"], capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as err:
        return False, str(err)
    return done.returncode == 0, done.stderr.strip()


def probe() -> Isolation:
    """Find the strongest isolation this machine allows."""
    if os.environ.get(NO_NETNS_ENV) == "1":
        return Isolation((), "none", f"{NO_NETNS_ENV}=1 is set")
    if not shutil.which("unshare") or not shutil.which("ip"):
        return Isolation((), "none", "unshare or ip (util-linux, iproute2) is not installed")
    # A PID namespace too: the worker is its init, so when the worker ends the kernel kills
    # whatever a submission left behind, even a process that left its group with setsid().
    # As root, no user namespace for the worker: it stays root, so that it can hand student
    # code to an unprivileged user (confine.py), which a user namespace mapping root alone
    # could not name.
    root = ["unshare", "--net", "--mount", "--pid", "--fork", "--"]
    user = ["unshare", "--user", "--map-root-user", "--net", "--mount", "--pid", "--fork", "--"]
    why = ""
    for prefix, kind in ((root, "network, mount and PID namespaces"),
                         (user, "user, network, mount and PID namespaces")):
        if prefix is root and os.geteuid() != 0:
            continue
        ok, why_not = _works(prefix)
        if ok:
            return Isolation(tuple(prefix), kind)
        why = why or why_not
    return Isolation((), "none", f"network namespaces are not available here ({why or 'unshare failed'})")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


def set_up_network() -> str:
    """Inside a fresh namespace: bring up loopback and the test LAN. Returns "" when the LAN
    is up, else why it is not (loopback failing raises: nothing could be graded)."""
    _ip("link", "set", "lo", "up")
    try:
        _ip("link", "add", LAN_DEVICE, "type", "veth", "peer", "name", LAN_DEVICE + "p")
        _ip("addr", "add", f"{LAN_ADDR}/{LAN_PREFIX}", "broadcast", LAN_BROADCAST,
            "dev", LAN_DEVICE)
        _ip("link", "set", LAN_DEVICE, "up")
        _ip("link", "set", LAN_DEVICE + "p", "up")
        _ip("route", "add", "default", "via", LAN_GATEWAY, "dev", LAN_DEVICE, "onlink")
    except subprocess.CalledProcessError as err:
        return f"the test LAN could not be set up: {err.stderr.strip() or err}"
    return ""


def try_private_tmp(keep: Iterable[Path]) -> str:
    """mount_private_tmp where the system allows mounts; else why not (grading goes on with
    the shared /tmp: parallel runs may then clash in Criterion, one run is fine)."""
    try:
        mount_private_tmp(keep)
    except (OSError, subprocess.SubprocessError) as err:
        return f"no private /tmp: {getattr(err, 'stderr', '') or err}"
    return ""


def mount_private_tmp(keep: Iterable[Path]) -> None:
    """Inside a fresh mount namespace: an empty /tmp of this run's own (see the top), and an
    empty /dev/shm too: Criterion's BoxFort names its shared memory /bxfi_PID and
    /bxf_arena_PID there, which clash across PID namespaces just like its socket.

    What the run needs from the old /tmp (the grader itself when it was cloned there, a lab
    built there) is bound back in at the same path, reached through a descriptor of the old
    /tmp opened before the new one covers it."""
    old_tmp = os.open(PRIVATE_TMP, os.O_PATH | os.O_DIRECTORY)
    try:
        _run(_MOUNT_TMP.split())
        for top in sorted({_top_under_tmp(path) for path in keep} - {None}):
            target = Path(PRIVATE_TMP) / top
            if Path(f"/proc/self/fd/{old_tmp}/{top}").is_dir():
                target.mkdir()
            else:
                target.touch()
            # --no-canonicalize: resolved to a path, the source would be /tmp/TOP again,
            # which now names the new, empty entry.
            _run(["mount", "--no-canonicalize", "--bind", f"/proc/self/fd/{old_tmp}/{top}",
                  str(target)], pass_fds=(old_tmp,))
    finally:
        os.close(old_tmp)
    if os.path.isdir(PRIVATE_SHM):
        _run(_MOUNT_SHM.split())


OVERLAY_MERGED = "merged"


def try_overlay(lower: Path, where: Path, owner: tuple[int, int] | None = None) -> str:
    """Inside the run's mount namespace, on its private /tmp: an overlay of the folder lower
    at where/OVERLAY_MERGED, whose writes land in where/upper and never reach lower (lab
    05's Wine prefix), belonging to owner (uid, gid) when given. "" when it is mounted,
    else why not."""
    upper, work, merged = where / "upper", where / "work", where / OVERLAY_MERGED
    try:
        for folder in (where, upper, work, merged):
            folder.mkdir(parents=True, exist_ok=True)
            if owner is not None:
                os.chown(folder, *owner)
        _run(["mount", "-t", "overlay", "socklab-overlay", "-o",
              f"lowerdir={lower},upperdir={upper},workdir={work}", str(merged)])
    except (OSError, subprocess.SubprocessError) as err:
        return f"no overlay mount: {getattr(err, 'stderr', '') or err}"
    return ""


def namespace_proc() -> Path | None:
    """Inside the fresh PID namespace and mount namespace: a procfs of this namespace
    mounted over /proc, which showed the host's processes under the host's pids. The
    grader looks at its programs there (their memory), bubblewrap finds its child there
    (by a pid of this namespace), and student code sees only this run's processes. None
    where that mount fails: then no procfs names the programs by their pids."""
    try:
        _run(["mount", "-t", "proc", "-o", "nosuid,nodev,noexec", "socklab-proc", PRIVATE_PROC])
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(PRIVATE_PROC)


def end_strays(proc: Path, timeout: float = 10.0, spare: frozenset[int] = frozenset()) -> None:
    """Inside the run's own PID namespace, whose init is this worker: SIGKILL every other
    process of the namespace and reap them. What a check started and did not end itself -
    a daemon that left its process group, such as Wine's wineserver and services - ends
    with the check. Each is signalled through a pidfd (a pid reused meanwhile is never
    hit), and its exit is awaited on that pidfd. The namespace is looked at again until
    nothing but the worker is left (a process may have forked while the first were being
    killed), all within the deadline. The processes in `spare` (Wine's session, which the
    run keeps from check to check) are left alone."""
    deadline = time.monotonic() + timeout
    keep = {os.getpid(), *spare}
    while time.monotonic() < deadline:
        others = [int(entry.name) for entry in proc.iterdir()
                  if entry.name.isdigit() and int(entry.name) not in keep]
        if not others:
            return
        _kill_and_wait(others, deadline)
        _reap_children()


def _kill_and_wait(pids: list[int], deadline: float) -> None:
    pidfds: list[int] = []
    try:
        for pid in pids:
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:          # exited since the listing
                continue
            pidfds.append(pidfd)
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except OSError:
                pass
        waiting = select.poll()     # not select(): a fork bomb leaves more than 1024 pidfds
        for pidfd in pidfds:
            waiting.register(pidfd, select.POLLIN)
        left = len(pidfds)
        while left and time.monotonic() < deadline:
            for pidfd, _ in waiting.poll(max(0.0, deadline - time.monotonic()) * 1000):
                waiting.unregister(pidfd)
                left -= 1
    finally:
        for pidfd in pidfds:
            os.close(pidfd)


def _reap_children() -> None:
    """The dead are this init's children now (their parents died too): reap every one."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _top_under_tmp(path: Path) -> str | None:
    """The entry of /tmp that path lies in (/tmp/a/b -> "a"), or None."""
    parts = path.resolve().parts
    return parts[2] if len(parts) > 2 and Path(*parts[:2]) == Path(PRIVATE_TMP) else None


def _run(argv: list[str], pass_fds: tuple[int, ...] = ()) -> None:
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=10, pass_fds=pass_fds)


def work_root() -> str | None:
    """Where to build submissions: outside /tmp, which each run's namespace covers with a
    private one; None (the default temporary folder) when there is no such place."""
    for candidate in ("/var/tmp",):
        if os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return None
