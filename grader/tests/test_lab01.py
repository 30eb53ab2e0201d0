"""Lab 01 graded both ways: the solution scores full marks, the skeleton zero, and each
known-buggy submission loses points on the check that names its bug."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, checks_by_id, fixture_header

LAB = "01_udp_send"
FIXTURE_DIRS = sorted(p for p in (FIXTURES / LAB).iterdir() if p.is_dir())


def test_the_solution_scores_full_marks(solution_01: dict[str, Any], lan_available: bool) -> None:
    lab = solution_01["labs"][0]
    assert lab["status"] == "graded", lab["build_log"]
    assert len(lab["checks"]) > 11
    failed = {c["id"]: c["message"] for c in checks_by_id(solution_01).values() if not c["passed"]}
    if lan_available:
        assert failed == {}
        assert solution_01["score"] == 100
    else:
        assert set(failed) == {f"{LAB}.broadcast_lan"}
        assert failed[f"{LAB}.broadcast_lan"].startswith("skipped: ")


def test_the_points_add_up_to_100(solution_01: dict[str, Any]) -> None:
    lab = solution_01["labs"][0]
    assert lab["max_score"] == 100
    assert sum(c["max_points"] for c in lab["checks"]) == 100


def test_every_criterion_test_is_scored(solution_01: dict[str, Any]) -> None:
    """The API checks are exactly the lab's Criterion tests: none unscored, none invented."""
    sources = (Path(__file__).resolve().parents[2] / "labs" / LAB / "tests").glob("*.c")
    declared = {f"{LAB}.api.{suite}.{name}"
                for src in sources
                for suite, name in re.findall(r"^Test\(\s*(\w+)\s*,\s*(\w+)", src.read_text(), re.M)}
    scored = {c for c in checks_by_id(solution_01) if ".api." in c}
    assert declared and scored == declared


def test_the_skeleton_scores_zero_on_every_check(skeleton_01: dict[str, Any]) -> None:
    lab = skeleton_01["labs"][0]
    assert lab["status"] == "graded", lab["build_log"]
    assert len(lab["checks"]) > 11
    passed = [c["id"] for c in lab["checks"] if c["passed"]]
    assert passed == []
    assert skeleton_01["score"] == 0


def test_there_are_enough_buggy_submissions() -> None:
    assert len(FIXTURE_DIRS) >= 8


@pytest.mark.parametrize("fixture", FIXTURE_DIRS, ids=[p.name for p in FIXTURE_DIRS])
def test_a_buggy_submission_loses_points_on_the_check_naming_its_bug(
        fixture: Path, fixtures_01: dict[str, dict[str, Any]],
        solution_01: dict[str, Any]) -> None:
    check_slug, word = fixture_header(fixture / "udp_send.c")
    result = fixtures_01[fixture.name]
    assert result["labs"][0]["status"] == "graded", result["labs"][0]["build_log"]
    check = checks_by_id(result)[f"{LAB}.{check_slug}"]
    assert not check["passed"] and check["points"] == 0
    assert word.lower() in check["message"].lower(), check["message"]
    assert result["score"] < solution_01["score"]


def test_a_correct_submission_written_another_way_scores_full_marks(lan_available: bool) -> None:
    """examples/kim: inet_pton then getaddrinfo, fgets into a fixed buffer, select()."""
    from conftest import REPO, grade_json
    result = grade_json("--lab", LAB, REPO / "examples" / "kim")
    failed = [c["id"] for c in checks_by_id(result).values() if not c["passed"]]
    assert failed == ([] if lan_available else [f"{LAB}.broadcast_lan"])
    assert len(checks_by_id(result)) > 11


def test_the_example_buggy_submission_loses_points_where_its_bugs_are() -> None:
    """examples/sam: strlen + 1 on the wire, inet_addr (no names), no SO_BROADCAST."""
    from conftest import REPO, grade_json
    checks = checks_by_id(grade_json("--lab", LAB, REPO / "examples" / "sam"))
    failed = {c.removeprefix(f"{LAB}.") for c, v in checks.items() if not v["passed"]}
    assert {"send_exact_bytes", "broadcast_loopback",
            "api.udp_make_addr.resolves_localhost_by_name"} <= failed
    assert "NUL" in checks[f"{LAB}.send_exact_bytes"]["message"]
    assert "SO_BROADCAST" in checks[f"{LAB}.broadcast_loopback"]["message"]
