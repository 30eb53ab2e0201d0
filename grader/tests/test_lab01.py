"""Lab 01 graded both ways: the solution scores full marks, the skeleton zero, and each
known-buggy submission loses points on the check that names its bug."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from both_ways import (assert_every_criterion_test_scored, assert_full_marks,
                       assert_loses_on_named_check, assert_points, assert_zero_and_fast,
                       fixture_dirs)
from conftest import checks_by_id

LAB = "01_udp_send"
LAN_CHECKS = {f"{LAB}.broadcast_lan"}
FIXTURE_DIRS = fixture_dirs(LAB)
SKELETON_MAX_S = 30   # every check fails at once on the skeleton: no deadline is waited out


def test_the_solution_scores_full_marks(solution_01: dict[str, Any], lan_available: bool) -> None:
    assert_full_marks(solution_01, LAN_CHECKS, lan_available)


def test_the_points_add_up_to_100(solution_01: dict[str, Any]) -> None:
    assert_points(solution_01, wire_points=75)


def test_every_criterion_test_is_scored(solution_01: dict[str, Any]) -> None:
    assert_every_criterion_test_scored(LAB, solution_01)


def test_the_skeleton_scores_zero_on_every_check(skeleton_01: dict[str, Any]) -> None:
    assert_zero_and_fast(skeleton_01, SKELETON_MAX_S)


def test_there_are_enough_buggy_submissions() -> None:
    assert len(FIXTURE_DIRS) >= 8


@pytest.mark.parametrize("fixture", FIXTURE_DIRS, ids=[p.name for p in FIXTURE_DIRS])
def test_a_buggy_submission_loses_points_on_the_check_naming_its_bug(
        fixture: Path, fixtures_01: dict[str, dict[str, Any]],
        solution_01: dict[str, Any]) -> None:
    assert_loses_on_named_check(LAB, fixture / "udp_send.c", fixtures_01[fixture.name],
                                solution_01)


def test_a_correct_submission_written_another_way_scores_full_marks(lan_available: bool) -> None:
    """examples/kim: inet_pton then getaddrinfo, fgets into a fixed buffer, select()."""
    from conftest import REPO, grade_json
    assert_full_marks(grade_json("--lab", LAB, REPO / "examples" / "kim"), LAN_CHECKS, lan_available)


def test_the_example_buggy_submission_loses_points_where_its_bugs_are() -> None:
    """examples/sam: strlen + 1 on the wire, inet_addr (no names), no SO_BROADCAST."""
    from conftest import REPO, grade_json
    checks = checks_by_id(grade_json("--lab", LAB, REPO / "examples" / "sam"))
    failed = {c.removeprefix(f"{LAB}.") for c, v in checks.items() if not v["passed"]}
    assert {"send_exact_bytes", "broadcast_loopback",
            "api.udp_make_addr.resolves_localhost_by_name"} <= failed
    assert "NUL" in checks[f"{LAB}.send_exact_bytes"]["message"]
    assert "SO_BROADCAST" in checks[f"{LAB}.broadcast_loopback"]["message"]
