"""Every lab graded both ways: the solution and correct submissions written in other styles
score full marks, the skeleton scores zero without waiting out deadlines, and each known-buggy
submission loses points on the check that names its bug (lab 03's send-loop and line-reading
bugs through the short-I/O shim, on every run)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, REPO, Graded, checks_by_id, fixture_header, grade_json

CORRECT = Path(__file__).resolve().parent / "correct"


@dataclass(frozen=True)
class Lab:
    name: str
    student_file: str        # the file each fixture folder holds
    lan_checks: frozenset[str]
    wire_points: float
    skeleton_max_s: float    # every check fails at once on the skeleton


LABS = [
    Lab("01_udp_send", "udp_send.c", frozenset({"broadcast_lan"}), 75, 30),
    Lab("02_udp_bind", "udp_bind.c", frozenset({"recv_lan"}), 75, 30),
    Lab("03_tcp", "tcp.c", frozenset({"reachable_on_lan"}), 74, 60),
]
LAB_IDS = [lab.name for lab in LABS]


def _dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


FIXTURE_CASES = [(lab, d) for lab in LABS for d in _dirs(FIXTURES / lab.name)]
CORRECT_CASES = [(lab, d) for lab in LABS for d in _dirs(CORRECT / lab.name)]


def assert_full_marks(lab: Lab, result: dict[str, Any], lan_available: bool) -> None:
    """Every check passed; without namespaces, only the LAN checks fail, as skipped."""
    graded = result["labs"][0]
    assert graded["status"] == "graded", graded["build_log"]
    failed = {c["id"]: c["message"] for c in graded["checks"] if not c["passed"]}
    if lan_available:
        assert failed == {}
        assert result["score"] == 100
    else:
        assert set(failed) == {f"{lab.name}.{slug}" for slug in lab.lan_checks}
        assert all(message.startswith("skipped: ") for message in failed.values())


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_the_solution_scores_full_marks(lab: Lab, graded: Graded, lan_available: bool) -> None:
    assert_full_marks(lab, graded.solution(lab.name), lan_available)


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_the_points_add_up_to_100(lab: Lab, graded: Graded) -> None:
    checks = graded.solution(lab.name)["labs"][0]["checks"]
    assert graded.solution(lab.name)["labs"][0]["max_score"] == 100
    assert sum(c["max_points"] for c in checks) == 100
    assert sum(c["max_points"] for c in checks if ".api." not in c["id"]) == lab.wire_points


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_every_criterion_test_is_scored(lab: Lab, graded: Graded) -> None:
    """The API checks are exactly the lab's Criterion tests: none unscored, none invented."""
    declared = {f"{lab.name}.api.{suite}.{name}"
                for src in (REPO / "labs" / lab.name / "tests").glob("*.c")
                for suite, name in re.findall(r"^Test\(\s*(\w+)\s*,\s*(\w+)", src.read_text(), re.M)}
    scored = {c for c in checks_by_id(graded.solution(lab.name)) if ".api." in c}
    assert declared and scored == declared


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_the_skeleton_scores_zero_on_every_check_and_fast(lab: Lab, graded: Graded) -> None:
    result = graded.skeleton(lab.name)
    checks = result["labs"][0]["checks"]
    assert result["labs"][0]["status"] == "graded", result["labs"][0]["build_log"]
    assert len(checks) > 15
    assert [c["id"] for c in checks if c["passed"]] == []
    assert result["score"] == 0
    assert sum(c["duration_s"] for c in checks) < lab.skeleton_max_s


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_there_are_enough_buggy_submissions(lab: Lab) -> None:
    assert len(_dirs(FIXTURES / lab.name)) >= 8


@pytest.mark.parametrize("lab,fixture", FIXTURE_CASES,
                         ids=[f"{lab.name[:2]}-{d.name}" for lab, d in FIXTURE_CASES])
def test_a_buggy_submission_loses_points_on_the_check_naming_its_bug(
        lab: Lab, fixture: Path, graded: Graded) -> None:
    """The fixture's first line names the check that must fail and a word its message holds."""
    check_slug, word = fixture_header(fixture / lab.student_file)
    result = graded.fixtures(lab.name)[fixture.name]
    assert result["labs"][0]["status"] == "graded", result["labs"][0]["build_log"]
    check = checks_by_id(result)[f"{lab.name}.{check_slug}"]
    assert not check["passed"] and check["points"] == 0
    assert word.lower() in check["message"].lower(), check["message"]
    assert result["score"] < graded.solution(lab.name)["score"]


@pytest.mark.parametrize("lab,submission", CORRECT_CASES,
                         ids=[f"{lab.name[:2]}-{d.name}" for lab, d in CORRECT_CASES])
def test_a_correct_submission_written_another_way_scores_full_marks(
        lab: Lab, submission: Path, lan_available: bool) -> None:
    """02/threads: sockaddr_in by hand, recvfrom with MSG_TRUNC, the chat on two threads;
    03/fork: a process per client, one byte per recv, inet_pton;
    03/poll: one thread and one poll() loop over every client."""
    assert_full_marks(lab, grade_json("--lab", lab.name, submission), lan_available)
