"""Shared fixtures and helpers: run the grader as a user would, once per kind of submission.

Test modules import what they share from here (or from fixture_patches.py), never from
each other. What a lab is - its student files, points and checks - comes from the grader
(socklab_grader.labs and .checks), which reads each lab's declaration: nothing about a lab is
written down again here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

GRADER_DIR = Path(__file__).resolve().parents[1]
REPO = GRADER_DIR.parent
GRADE = GRADER_DIR / "grade"
CORRECT = Path(__file__).resolve().parent / "correct"

sys.path.insert(0, str(GRADER_DIR))

from socklab_grader import checks, labs, sandbox, wine  # noqa: E402
from socklab_grader.checks.lab05 import MINGW  # noqa: E402

import fixture_patches  # noqa: E402

GRADE_TIMEOUT_S = 600
LABS = labs.available()
LAB_IDS = [lab.name for lab in LABS]


def grade(*args: object, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """grader/grade with these arguments, as a user runs it."""
    return subprocess.run([sys.executable, str(GRADE), *map(str, args)], capture_output=True,
                          text=True, timeout=GRADE_TIMEOUT_S, env=env)


def grade_json(*args: object, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = grade("--format", "json", *args, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def checks_by_id(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for lab in result["labs"] for c in lab["checks"]}


def lan_check_ids(lab: labs.Lab) -> set[str]:
    return {c.planned(lab.name).id for c in checks.load(lab.name).checks if c.lan}


def windows_check_ids(lab: labs.Lab) -> set[str]:
    return {c.planned(lab.name).id for c in checks.load(lab.name).checks if c.windows}


def windows_available() -> bool:
    """mingw-w64 and Wine are installed (`make deps` installs both)."""
    return not wine.missing() and shutil.which(MINGW) is not None


def assert_full_marks(lab: labs.Lab, result: dict[str, Any], lan_available: bool) -> None:
    """Every check passed; only those this machine cannot run failed, as skipped: the LAN
    checks without namespaces, the Windows checks without mingw-w64 or Wine."""
    graded = result["labs"][0]
    assert graded["status"] == "graded", graded["build_log"]
    failed = {c["id"]: c["message"] for c in graded["checks"] if not c["passed"]}
    cannot_run = (set() if lan_available else lan_check_ids(lab)) | (
        set() if windows_available() else windows_check_ids(lab))
    assert set(failed) == cannot_run
    assert all(message.startswith("skipped: ") for message in failed.values())
    if not cannot_run:
        assert result["score"] == 100


@pytest.fixture(scope="session")
def lan_available() -> bool:
    return sandbox.probe().available


class Graded:
    """Each lab graded once per test session: its solution, its skeleton, its buggy fixtures."""

    def __init__(self, tmp: pytest.TempPathFactory) -> None:
        self._tmp = tmp
        self._cache: dict[tuple[str, str], Any] = {}

    def _once(self, key: tuple[str, str], make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def solution(self, lab: str) -> dict[str, Any]:
        return self._once((lab, "solution"), lambda: grade_json("--lab", lab, REPO / "solutions"))

    def skeleton(self, lab: str) -> dict[str, Any]:
        return self._once((lab, "skeleton"), lambda: grade_json("--lab", lab, REPO / "labs"))

    def fixtures(self, lab: str) -> dict[str, dict[str, Any]]:
        """Every buggy submission of the lab (its patches applied to the solution), graded
        in one batch run, by fixture name."""
        def batch() -> dict[str, dict[str, Any]]:
            root = self._tmp.mktemp(f"fixtures{lab[:2]}")
            fixture_patches.materialize(lab, root)
            out = self._tmp.mktemp(f"batch{lab[:2]}")
            done = grade("--lab", lab, "--batch", root, "-o", out, "-j", "2")
            assert done.returncode == 0, done.stderr
            return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
        return self._once((lab, "fixtures"), batch)


@pytest.fixture(scope="session")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Graded:
    return Graded(tmp_path_factory)


@pytest.fixture(scope="session")
def solution_01(graded: Graded) -> dict[str, Any]:
    return graded.solution("01_udp_send")


@pytest.fixture(scope="session")
def skeleton_01(graded: Graded) -> dict[str, Any]:
    return graded.skeleton("01_udp_send")
