"""Lab 05's Windows side: the Wine prefix made once per machine however many graders start
at once, nothing of Wine outliving a check, and the Windows checks skipped - never passed -
where mingw-w64 or Wine is missing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from conftest import GRADER_DIR, REPO, windows_available
from socklab_grader import cache, checks, labs, sandbox, wine
from socklab_grader.checks import lab05

LAB = "05_winsock"
needs_windows = pytest.mark.skipif(not windows_available(), reason="mingw-w64 or Wine missing")


def _wine_processes(prefix: Path) -> list[str]:
    """The processes of this machine that run under the Wine prefix (their environment
    names it): Wine's programs, services and server."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            if f"WINEPREFIX={prefix}".encode() in environ:
                found.append(f"{entry.name} {(entry / 'cmdline').read_bytes()!r}")
        except OSError:
            pass
    return found


@pytest.fixture(scope="module")
def built_solution() -> Iterator[Path]:
    """The lab's solution built for both systems, in a copy of the lab that the confined
    programs (run as nobody, as the grader runs them) can read wherever the checkout is, as
    the grader's own copies are: its build folder."""
    view = Path(tempfile.mkdtemp(prefix="socklab-test-wine-"))
    try:
        view.chmod(0o755)
        for part in ("mk", "labs/common", f"labs/{LAB}", f"solutions/{LAB}"):
            shutil.copytree(REPO / part, view / part, symlinks=True,
                            ignore=shutil.ignore_patterns("build"))
        lab_dir = view / "labs" / LAB
        done = subprocess.run(["make", "-s", "-C", str(lab_dir), "SOLUTION=1", "all", "win"],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        yield lab_dir / "build" / "solution"
    finally:
        shutil.rmtree(view)


def _lab_dir(bin_dir: Path) -> Path:
    """The lab folder a build folder (LAB/build/solution) belongs to."""
    return bin_dir.parents[1]


def _context(bin_dir: Path) -> checks.Context:
    """A context as the worker makes one where there are no namespaces: the machine's
    prefix, shared in turns, and no PID namespace to sweep."""
    return checks.Context(lab=LAB, bin_dir=bin_dir, lab_dir=_lab_dir(bin_dir), lan=False,
                          lan_reason="test", private_tmp=False, own_pids=False)


def _check(slug: str) -> checks.Check:
    return next(c for c in checks.load(LAB).checks if c.slug == slug)


@needs_windows
def test_no_wine_process_outlives_a_windows_check(built_solution: Path) -> None:
    """Without a PID namespace to take them, the wineserver and the services Wine starts
    beside a program still end with the check (`wineserver --kill`)."""
    result = checks.run_check(LAB, _check("win_clients_in_turn"), _context(built_solution))
    assert result.passed, result.message
    assert _wine_processes(wine.cached_prefix()) == []


KEPT_SESSION_SCRIPT = """
import os, subprocess, sys
from pathlib import Path
from socklab_grader import checks, confine, sandbox
bin_dir, lab_dir = Path(sys.argv[1]), Path(sys.argv[2])
sandbox.set_up_network()
assert not sandbox.try_private_tmp(keep=[Path(checks.__file__).parents[1], lab_dir,
                                         Path(sys.prefix)])
proc = sandbox.namespace_proc()
ctx = checks.Context(lab=lab_dir.name, bin_dir=bin_dir, lab_dir=lab_dir, lan=True,
                     proc=proc, private_tmp=True, own_pids=os.getpid() == 1,
                     confinement=confine.probe())
check = next(c for c in checks.load(lab_dir.name).checks if c.slug == "win_clients_in_turn")
def running():
    live = {int(p.name) for p in proc.iterdir()
            if p.name.isdigit() and (p / "stat").read_text().rpartition(")")[2].split()[0] != "Z"}
    return live - {os.getpid()}
first = checks.run_check(ctx.lab, check, ctx)
session = ctx.windows().session_pids()
after_first = running()
stray = subprocess.Popen(["setsid", "sleep", "300"])   # as a program's leftover would be
ctx.stop_all()
stray.wait(10)
second = checks.run_check(ctx.lab, check, ctx)
print(first.passed, second.passed, len(session) > 3, after_first == session,
      running() == session, ctx.windows().session_pids() == session)
"""


@needs_windows
def test_a_run_keeps_wines_session_from_check_to_check_and_nothing_else(
        built_solution: Path) -> None:
    """In a run with a PID namespace of its own, Wine's session (its server, services and
    the keeper) is started once and lives on from one Windows check to the next; whatever
    else a check left behind ends with it."""
    isolation = sandbox.probe()
    if not isolation.available:
        pytest.skip(f"no namespaces here ({isolation.reason})")
    done = subprocess.run([*isolation.prefix, sys.executable, "-c", KEPT_SESSION_SCRIPT,
                           str(built_solution), str(_lab_dir(built_solution))],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(GRADER_DIR)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"] * 6, done.stdout + done.stderr


@pytest.mark.parametrize("absent", ["wine", "mingw"])
def test_the_windows_checks_are_skipped_not_passed_without_wine_or_mingw(
        absent: str, monkeypatch: pytest.MonkeyPatch, built_solution: Path) -> None:
    if absent == "wine":
        monkeypatch.setattr(wine, "missing", lambda: "Wine is not installed (wine not found)")
    else:
        real_which = lab05.shutil.which
        monkeypatch.setattr(lab05.shutil, "which",
                            lambda tool: None if tool == lab05.MINGW else real_which(tool))
    ctx = _context(built_solution)
    windows = [c for c in checks.load(LAB).checks if c.windows]
    assert len(windows) == 9
    for check in windows:
        result = checks.run_check(LAB, check, ctx)
        assert not result.passed and result.points == 0
        assert result.message.startswith("skipped: "), result.message
        assert ("Wine" if absent == "wine" else "mingw-w64") in result.message


@needs_windows
def test_graders_starting_at_once_make_one_prefix(tmp_path: Path) -> None:
    """Two graders on a machine without a prefix: one makes it (under the lock), the other
    waits and uses it; nothing half made is left behind."""
    env = {**os.environ, cache.CACHE_ENV: str(tmp_path), "PYTHONPATH": str(GRADER_DIR)}
    code = "from socklab_grader import wine; print(wine.cached_prefix())"
    runs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=wine.CREATE_S * 2) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    made = {out.strip() for out, _ in outputs}
    assert len(made) == 1
    prefix = Path(made.pop())
    assert (prefix / wine.READY_MARK).exists() and (prefix / "system.reg").exists()
    assert sorted(p.name for p in prefix.parent.iterdir()) == ["create.lock", "prefix"]
    assert _wine_processes(prefix) == []


def test_lab05_declares_the_windows_build() -> None:
    lab = labs.find(LAB)
    assert lab is not None and lab.also_build == ("win",)
