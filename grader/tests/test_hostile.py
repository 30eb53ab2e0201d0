"""Hostile submissions, graded in one batch beside an honest one: each scores what it earns
(nothing for a forgery), with a message saying what was refused; the honest one scores what
it scores alone; nothing is left running, and nothing outside the runs changed.

hostile/LAB/NAME.c is a student file: `/*@SOLUTION@*/` in it stands for the reference
solution's text (so a fixture can wrap one function of it), `@REPO@` for this repository's
path and `@CANARY@` for a file outside every run that the fixtures try to change. Every loop
and every allocation in a fixture is bounded, so that none can harm the machine running the
tests, with or without the sandbox."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import REPO, grade
from socklab_grader import confine

LAB = "03_tcp"
HOSTILE = Path(__file__).resolve().parent / "hostile" / LAB
SOLUTION = REPO / "solutions" / LAB / "src" / "tcp.c"
CANARY_TEXT = "the canary, as the test suite wrote it\n"
MARKERS = ("sl-hostile-dmn", "sl-hostile-frk", "sl-hostile-mem")   # names its processes take

needs_sandbox = pytest.mark.skipif(not confine.probe().confined,
                                   reason=f"no sandbox here: {confine.probe().reason}")


def _fingerprint(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def _materialize(root: Path, canary: Path) -> list[str]:
    solution = SOLUTION.read_text()
    names = []
    for fixture in sorted(HOSTILE.glob("*.c")):
        text = (fixture.read_text().replace("/*@SOLUTION@*/", solution)
                .replace("@REPO@", str(REPO)).replace("@CANARY@", str(canary)))
        (root / fixture.stem).mkdir()
        (root / fixture.stem / "tcp.c").write_text(text)
        names.append(fixture.stem)
    (root / "honest").mkdir()
    (root / "honest" / "tcp.c").write_text(solution)
    return names


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every hostile fixture and an honest submission, graded in one batch at -j 2."""
    root = tmp_path_factory.mktemp("hostile")
    out = tmp_path_factory.mktemp("hostile-out")
    canary = tmp_path_factory.mktemp("outside") / "canary.txt"
    canary.write_text(CANARY_TEXT)
    guarded = (REPO / "grader" / "socklab_grader", REPO / "solutions")
    before = _fingerprint(*guarded)
    names = _materialize(root, canary)
    done = grade("--lab", LAB, "--batch", root, "-o", out, "-j", "2")
    assert done.returncode == 0, done.stderr
    results = {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
    assert set(results) == {*names, "honest"}
    return {"results": results, "canary": canary, "before": before,
            "after": _fingerprint(*guarded)}


def _checks(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"].split(".", 1)[1]: c for c in result["labs"][0]["checks"]}


def _points(result: dict[str, Any], api: bool) -> float:
    return sum(c["points"] for name, c in _checks(result).items()
               if name.startswith("api.") == api)


def _max_wire(result: dict[str, Any]) -> float:
    return sum(c["max_points"] for name, c in _checks(result).items()
               if not name.startswith("api."))


@needs_sandbox
def test_the_honest_submission_grades_as_if_alone(batch: dict[str, Any]) -> None:
    honest = batch["results"]["honest"]
    assert honest["score"] == 100, [c["message"] for c in honest["labs"][0]["checks"]
                                    if not c["passed"]]
    assert honest["sandbox"] == "bubblewrap"


@needs_sandbox
@pytest.mark.parametrize("name", ["include_solution", "include_passwd"])
def test_the_build_sees_no_file_outside_the_run(name: str, batch: dict[str, Any]) -> None:
    lab = batch["results"][name]["labs"][0]
    assert lab["status"] == "build_failed" and lab["score"] == 0
    assert "No such file" in lab["build_log"]
    assert "root:x:0:0" not in lab["build_log"]


@needs_sandbox
def test_a_program_reads_nothing_outside_the_run(batch: dict[str, Any]) -> None:
    result = batch["results"]["reads_files"]
    shown = "\n".join(c["message"] for c in result["labs"][0]["checks"])
    first_line = SOLUTION.read_text().splitlines()[0]
    assert first_line not in shown and "CHECKS = LabChecks" not in shown
    assert "root:x:0:0" not in shown
    assert "No such file or directory" in shown
    assert _checks(result)["echo_line"]["points"] == 0     # its server refused to start


@needs_sandbox
def test_a_report_written_from_a_test_is_never_read(batch: dict[str, Any]) -> None:
    """Its tcp_listen fails, and the start of a report saying its tests passed, written to
    the report descriptors, never reaches the grader: they are closed in the workers. Had
    it reached the pipe, the report would not parse and every API check would fail; here
    the real report is read whole: the other suites' tests pass."""
    checks = _checks(batch["results"]["forges_report_in_api"])
    listen = {n: c for n, c in checks.items() if n.startswith("api.tcp_listen.")}
    others = {n: c for n, c in checks.items()
              if n.startswith("api.") and n not in listen and "tcp_echo_serve" not in n}
    assert listen and not any(c["passed"] for c in listen.values())
    assert others and all(c["passed"] for c in others.values()), [
        c["message"] for c in others.values() if not c["passed"]][:1]
    assert _points(batch["results"]["forges_report_in_api"], api=False) == _max_wire(
        batch["results"]["forges_report_in_api"])


@needs_sandbox
@pytest.mark.parametrize("name,refused", [
    ("forges_report_ctor", "constructor"),
    ("kills_the_runner", "without writing its whole report"),
])
def test_a_forged_report_earns_nothing(name: str, refused: str, batch: dict[str, Any]) -> None:
    """The forgery loses every API check and says why; the wire checks still grade the
    programs, which are the solution's."""
    result = batch["results"][name]
    api = [c for n, c in _checks(result).items() if n.startswith("api.")]
    assert api and _points(result, api=True) == 0
    assert all(refused in c["message"] for c in api), api[0]["message"]
    assert _points(result, api=False) == _max_wire(result)


@needs_sandbox
@pytest.mark.parametrize("name", ["write_outside", "daemon", "fork_bomb", "proc_snoop",
                                  "memory_bomb"])
def test_what_a_submission_tries_changes_nothing_outside_its_run(
        name: str, batch: dict[str, Any]) -> None:
    """Each does the solution's work besides its attack. The canary, the grader and the
    solutions are as they were, /var/tmp holds nothing of it, and none of its processes is
    left. Those whose attack fails quietly earn the solution's score; a bomb earns what
    its programs still manage under the run's limits (a fork bomb takes the processes its
    own server needs)."""
    result = batch["results"][name]
    assert result["labs"][0]["status"] == "graded"
    if name not in ("fork_bomb", "memory_bomb"):
        assert result["score"] == 100, [c["message"] for c in result["labs"][0]["checks"]
                                        if not c["passed"]][:2]
    assert batch["canary"].read_text() == CANARY_TEXT
    assert batch["after"] == batch["before"]
    assert not (REPO / "grader" / "socklab_grader" / "pwned.py").exists()
    assert not Path("/var/tmp/socklab-hostile-was-here").exists()
    for marker in MARKERS:
        left = subprocess.run(["pgrep", "-x", marker], capture_output=True, text=True)
        assert left.stdout == "", f"{marker} still running: {left.stdout}"
