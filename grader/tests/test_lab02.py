"""Lab 02 graded both ways: the solution scores full marks, the skeleton zero (fast), and each
known-buggy submission loses points on the check that names its bug."""

from __future__ import annotations

from pathlib import Path

import pytest

from both_ways import (assert_every_criterion_test_scored, assert_full_marks,
                       assert_loses_on_named_check, assert_points, assert_zero_and_fast,
                       correct_dirs, fixture_dirs)
from conftest import Graded, grade_json

LAB = "02_udp_bind"
LAN_CHECKS = {f"{LAB}.recv_lan"}
FIXTURE_DIRS = fixture_dirs(LAB)
CORRECT_DIRS = correct_dirs(LAB)
SKELETON_MAX_S = 30   # every check fails at once on the skeleton: no deadline is waited out


def test_the_solution_scores_full_marks(graded: Graded, lan_available: bool) -> None:
    assert_full_marks(graded.solution(LAB), LAN_CHECKS, lan_available)


def test_the_points_add_up_to_100(graded: Graded) -> None:
    assert_points(graded.solution(LAB), wire_points=75)


def test_every_criterion_test_is_scored(graded: Graded) -> None:
    assert_every_criterion_test_scored(LAB, graded.solution(LAB))


def test_the_skeleton_scores_zero_on_every_check_and_fast(graded: Graded) -> None:
    assert_zero_and_fast(graded.skeleton(LAB), SKELETON_MAX_S)


def test_there_are_enough_buggy_submissions() -> None:
    assert len(FIXTURE_DIRS) >= 8


@pytest.mark.parametrize("fixture", FIXTURE_DIRS, ids=[p.name for p in FIXTURE_DIRS])
def test_a_buggy_submission_loses_points_on_the_check_naming_its_bug(
        fixture: Path, graded: Graded) -> None:
    assert_loses_on_named_check(LAB, fixture / "udp_bind.c", graded.fixtures(LAB)[fixture.name],
                                graded.solution(LAB))


@pytest.mark.parametrize("submission", CORRECT_DIRS, ids=[p.name for p in CORRECT_DIRS])
def test_a_correct_submission_written_another_way_scores_full_marks(
        submission: Path, lan_available: bool) -> None:
    """correct/02_udp_bind/threads: sockaddr_in filled by hand, recvfrom with MSG_TRUNC, and
    the chat on two threads instead of poll()."""
    assert_full_marks(grade_json("--lab", LAB, submission), LAN_CHECKS, lan_available)
