"""Lab 03 graded both ways: the solution scores full marks, the skeleton zero (fast), and each
known-buggy submission loses points on the check that names its bug - the send-loop and
line-reading bugs through the short-I/O shim, on every run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, REPO, Graded, checks_by_id, fixture_header

LAB = "03_tcp"
FIXTURE_DIRS = sorted(p for p in (FIXTURES / LAB).iterdir() if p.is_dir())
SKELETON_MAX_S = 60   # every check fails at once on the skeleton: no deadline is waited out


def test_the_solution_scores_full_marks(graded: Graded, lan_available: bool) -> None:
    result = graded.solution(LAB)
    lab = result["labs"][0]
    assert lab["status"] == "graded", lab["build_log"]
    failed = {c["id"]: c["message"] for c in lab["checks"] if not c["passed"]}
    if lan_available:
        assert failed == {}
        assert result["score"] == 100
    else:
        assert set(failed) == {f"{LAB}.reachable_on_lan"}
        assert failed[f"{LAB}.reachable_on_lan"].startswith("skipped: ")


def test_the_points_add_up_to_100(graded: Graded) -> None:
    lab = graded.solution(LAB)["labs"][0]
    assert lab["max_score"] == 100
    assert sum(c["max_points"] for c in lab["checks"]) == 100


def test_every_criterion_test_is_scored(graded: Graded) -> None:
    sources = (REPO / "labs" / LAB / "tests").glob("*.c")
    declared = {f"{LAB}.api.{suite}.{name}"
                for src in sources
                for suite, name in re.findall(r"^Test\(\s*(\w+)\s*,\s*(\w+)", src.read_text(), re.M)}
    scored = {c for c in checks_by_id(graded.solution(LAB)) if ".api." in c}
    assert declared and scored == declared


def test_the_skeleton_scores_zero_on_every_check_and_fast(graded: Graded) -> None:
    lab = graded.skeleton(LAB)["labs"][0]
    assert lab["status"] == "graded", lab["build_log"]
    assert len(lab["checks"]) > 15
    assert [c["id"] for c in lab["checks"] if c["passed"]] == []
    assert sum(c["duration_s"] for c in lab["checks"]) < SKELETON_MAX_S


def test_there_are_enough_buggy_submissions() -> None:
    assert len(FIXTURE_DIRS) >= 8


@pytest.mark.parametrize("fixture", FIXTURE_DIRS, ids=[p.name for p in FIXTURE_DIRS])
def test_a_buggy_submission_loses_points_on_the_check_naming_its_bug(
        fixture: Path, graded: Graded) -> None:
    check_slug, word = fixture_header(fixture / "tcp.c")
    result = graded.fixtures(LAB)[fixture.name]
    assert result["labs"][0]["status"] == "graded", result["labs"][0]["build_log"]
    check = checks_by_id(result)[f"{LAB}.{check_slug}"]
    assert not check["passed"] and check["points"] == 0
    assert word.lower() in check["message"].lower(), check["message"]
    assert result["score"] < graded.solution(LAB)["score"]


CORRECT_DIRS = sorted(p for p in (Path(__file__).resolve().parent / "correct" / LAB).iterdir()
                      if p.is_dir())


@pytest.mark.parametrize("submission", CORRECT_DIRS, ids=[p.name for p in CORRECT_DIRS])
def test_a_correct_submission_written_another_way_scores_full_marks(
        submission: Path, lan_available: bool) -> None:
    """correct/03_tcp/fork: a process per client, one byte per recv, inet_pton;
    correct/03_tcp/poll: one thread and one poll() loop over every client."""
    from conftest import grade_json
    result = grade_json("--lab", LAB, submission)
    failed = [c["id"] for c in result["labs"][0]["checks"] if not c["passed"]]
    assert failed == ([] if lan_available else [f"{LAB}.reachable_on_lan"])
