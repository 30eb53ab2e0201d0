"""Lab 01's bundled examples (test_both_ways.py grades every lab's solution, skeleton and
fixtures): a correct submission in another style scores full marks, and a realistic buggy one
loses points where its bugs are."""

from __future__ import annotations

from conftest import REPO, assert_full_marks, checks_by_id, grade_json
from socklab_grader import labs

LAB = labs.find("01_udp_send")


def test_a_correct_submission_written_another_way_scores_full_marks(lan_available: bool) -> None:
    """examples/kim: inet_pton then getaddrinfo, fgets into a fixed buffer, select()."""
    assert_full_marks(LAB, grade_json("--lab", LAB.name, REPO / "examples" / "kim"), lan_available)


def test_the_example_buggy_submission_loses_points_where_its_bugs_are() -> None:
    """examples/sam: strlen + 1 on the wire, inet_addr (no names), no SO_BROADCAST."""
    checks = checks_by_id(grade_json("--lab", LAB.name, REPO / "examples" / "sam"))
    failed = {c.removeprefix(f"{LAB.name}.") for c, v in checks.items() if not v["passed"]}
    assert {"send_exact_bytes", "broadcast_loopback",
            "api.udp_make_addr.resolves_localhost_by_name"} <= failed
    assert "NUL" in checks[f"{LAB.name}.send_exact_bytes"]["message"]
    assert "SO_BROADCAST" in checks[f"{LAB.name}.broadcast_loopback"]["message"]
