"""Shared fixtures: run the grader as a user would, once per kind of submission."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

GRADER_DIR = Path(__file__).resolve().parents[1]
REPO = GRADER_DIR.parent
GRADE = GRADER_DIR / "grade"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

sys.path.insert(0, str(GRADER_DIR))

from socklab_grader import sandbox  # noqa: E402

GRADE_TIMEOUT_S = 600


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


@pytest.fixture(scope="session")
def lan_available() -> bool:
    return sandbox.probe().available


@pytest.fixture(scope="session")
def solution_01() -> dict[str, Any]:
    return grade_json("--lab", "01_udp_send", REPO / "solutions")


@pytest.fixture(scope="session")
def skeleton_01() -> dict[str, Any]:
    return grade_json("--lab", "01_udp_send", REPO / "labs")


@pytest.fixture(scope="session")
def fixtures_01(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every buggy lab 01 submission, graded in one batch run."""
    out = tmp_path_factory.mktemp("batch01")
    done = grade("--lab", "01", "--batch", FIXTURES / "01_udp_send", "-o", out, "-j", "2")
    assert done.returncode == 0, done.stderr
    return {p.stem: json.loads(p.read_text()) for p in out.glob("*.json")}
