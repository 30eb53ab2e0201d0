"""Every lab graded both ways: the solution and correct submissions written in other styles
score full marks, the skeleton scores zero without waiting out deadlines, and each known-buggy
submission loses points on the check that names its bug (lab 03's send-loop and line-reading
bugs through the short-I/O shim, on every run).

The labs, their checks and their points come from the grader itself (each lab's declaration
and checks module): a new lab is tested here as soon as it is declared."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import fixture_patches
from conftest import (CORRECT, LAB_IDS, LABS, REPO, Graded, assert_full_marks, checks_by_id,
                      grade_json)
from socklab_grader import checks, labs, tables
from socklab_grader.model import FLAKY_PREFIX

SKELETON_MAX_S = 60      # every check of a skeleton fails at once: no deadline waited out
ENOUGH_FIXTURES = 8


def _dirs(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []


FIXTURE_CASES = [(lab, f) for lab in LABS for f in fixture_patches.fixtures(lab.name)]
CORRECT_CASES = [(lab, d) for lab in LABS for d in _dirs(CORRECT / lab.name)]


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_the_solution_scores_full_marks(lab: labs.Lab, graded: Graded, lan_available: bool) -> None:
    assert_full_marks(lab, graded.solution(lab.name), lan_available)


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_the_solution_builds_without_a_word(lab: labs.Lab, graded: Graded) -> None:
    """A clean build says nothing: whatever the build log holds, a student reads as a
    warning about their code."""
    assert graded.solution(lab.name)["labs"][0]["build_log"] == ""


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_the_points_add_up_to_100(lab: labs.Lab, graded: Graded) -> None:
    checks = graded.solution(lab.name)["labs"][0]["checks"]
    assert graded.solution(lab.name)["labs"][0]["max_score"] == 100
    assert sum(c["max_points"] for c in checks) == pytest.approx(100)
    assert all(c["max_points"] > 0 for c in checks)


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_a_run_reports_exactly_the_planned_checks_in_order(lab: labs.Lab, graded: Graded) -> None:
    """Check ids are formed in one place: a normal run and a worker failure (which reports
    the plan) name every check alike, so a class report never counts one check twice."""
    ran = [c["id"] for c in graded.solution(lab.name)["labs"][0]["checks"]]
    assert ran == [c.id for c in checks.plan(lab)]


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_every_criterion_test_is_scored(lab: labs.Lab) -> None:
    """The API checks are exactly the tests the lab's test program runs: the grader's reading
    of tests/*.c is compared with the test program's own --list."""
    built = subprocess.run(["make", "-s", "-C", str(lab.trusted_dir), "tests", "SOLUTION=1"],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    listing = subprocess.run([str(lab.trusted_dir / "build" / "solution" / "tests"), "--list"],
                             capture_output=True, text=True, timeout=60)
    listed, suite = set(), ""
    for line in listing.stdout.splitlines():
        if not line.startswith(("├", "└")):
            suite = line.split(":")[0]
        else:
            listed.add((suite, line.split("── ")[1].strip()))
    assert listed and set(lab.api_tests()) == listed


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_the_walkthrough_points_table_is_the_graders(lab: labs.Lab) -> None:
    """Each README's table (in each language) is generated (`make tables`): it can never
    drift from the checks."""
    for path in tables.readmes(lab):
        readme = path.read_text(encoding="utf-8")
        assert tables.with_table(readme, lab) == readme, f"{path.name}: run `make tables`"


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_the_declared_student_files_exist_as_skeleton_and_solution(lab: labs.Lab) -> None:
    for rel in lab.student_files:
        assert (lab.trusted_dir / rel).is_file()
        assert (REPO / "solutions" / lab.name / rel).is_file()
    for program in lab.programs:
        assert (lab.trusted_dir / "src" / f"{program}_main.c").is_file()


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_the_skeleton_scores_zero_on_every_check_and_fast(lab: labs.Lab, graded: Graded) -> None:
    result = graded.skeleton(lab.name)
    checks = result["labs"][0]["checks"]
    assert result["labs"][0]["status"] == "graded", result["labs"][0]["build_log"]
    assert len(checks) > 15
    assert [c["id"] for c in checks if c["passed"]] == []
    assert result["score"] == 0
    assert sum(c["duration_s"] or 0 for c in checks) < SKELETON_MAX_S


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_no_verdict_changed_when_a_failed_check_ran_again(lab: labs.Lab, graded: Graded) -> None:
    """The grader runs every failed check a second time: across the solution, the skeleton
    and every buggy submission but a racy one, none may have passed the second time (flaky)."""
    results = [graded.solution(lab.name), graded.skeleton(lab.name),
               *(result for name, result in graded.fixtures(lab.name).items()
                 if (lab.name, name) not in fixture_patches.RACY)]
    flaky = [f"{result['submission']}: {c['id']}" for result in results
             for c in result["labs"][0]["checks"] if c["message"].startswith(FLAKY_PREFIX)]
    assert flaky == []


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_there_are_enough_buggy_submissions(lab: labs.Lab) -> None:
    assert len(fixture_patches.fixtures(lab.name)) >= ENOUGH_FIXTURES


@pytest.mark.parametrize("lab,fixture", FIXTURE_CASES,
                         ids=[f"{lab.number}-{f.name}" for lab, f in FIXTURE_CASES])
def test_a_buggy_submission_loses_points_on_the_check_naming_its_bug(
        lab: labs.Lab, fixture: fixture_patches.Fixture, graded: Graded) -> None:
    """The fixture's header names the check that must fail and a word its message holds."""
    result = graded.fixtures(lab.name)[fixture.name]
    assert result["labs"][0]["status"] == "graded", result["labs"][0]["build_log"]
    check = checks_by_id(result)[f"{lab.name}.{fixture.check}"]
    assert not check["passed"] and check["points"] == 0
    assert fixture.word.lower() in check["message"].lower(), check["message"]
    assert result["score"] < graded.solution(lab.name)["score"]


@pytest.mark.parametrize("lab,submission", CORRECT_CASES,
                         ids=[f"{lab.number}-{d.name}" for lab, d in CORRECT_CASES])
def test_a_correct_submission_written_another_way_scores_full_marks(
        lab: labs.Lab, submission: Path, lan_available: bool) -> None:
    """02/threads: sockaddr_in by hand, recvfrom with MSG_TRUNC, the chat on two threads;
    03/fork: a process per client, one byte per recv, inet_pton;
    03/poll: one thread and one poll() loop over every client;
    04/buffered: frames found with recv(MSG_PEEK), stdio with large buffers for the files;
    04/waitall: recv(MSG_WAITALL), the prefix and the payload in two send() calls;
    05/handmade: sockaddr_in by hand (inet_pton, gethostbyname), FormatMessage allocating
    its buffer, each system's functions written whole;
    05/wsaio: WSASend/WSARecv on Windows, sendmsg/recvmsg on POSIX, select() before each
    recv of the session, one scatter receive keeping cap - 1 bytes and dropping the rest."""
    assert_full_marks(lab, grade_json("--lab", lab.name, submission), lan_available)
