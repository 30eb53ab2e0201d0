"""What every lab's self-tests assert, in both directions: the solution and correct
submissions in other styles score full marks, the skeleton scores zero without waiting out
deadlines, and each buggy fixture loses points on the check that names its bug."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from conftest import FIXTURES, REPO, checks_by_id, fixture_header

CORRECT = Path(__file__).resolve().parent / "correct"


def fixture_dirs(lab: str) -> list[Path]:
    return sorted(p for p in (FIXTURES / lab).iterdir() if p.is_dir())


def correct_dirs(lab: str) -> list[Path]:
    return sorted(p for p in (CORRECT / lab).iterdir() if p.is_dir())


def assert_full_marks(result: dict[str, Any], lan_checks: set[str], lan_available: bool) -> None:
    """Every check passed; without namespaces, only the LAN checks fail, as skipped."""
    lab = result["labs"][0]
    assert lab["status"] == "graded", lab["build_log"]
    failed = {c["id"]: c["message"] for c in lab["checks"] if not c["passed"]}
    if lan_available:
        assert failed == {}
        assert result["score"] == 100
    else:
        assert set(failed) == lan_checks
        assert all(message.startswith("skipped: ") for message in failed.values())


def assert_points(result: dict[str, Any], wire_points: float) -> None:
    lab = result["labs"][0]
    assert lab["max_score"] == 100
    assert sum(c["max_points"] for c in lab["checks"]) == 100
    assert sum(c["max_points"] for c in lab["checks"] if ".api." not in c["id"]) == wire_points


def assert_every_criterion_test_scored(lab: str, result: dict[str, Any]) -> None:
    """The API checks are exactly the lab's Criterion tests: none unscored, none invented."""
    declared = {f"{lab}.api.{suite}.{name}"
                for src in (REPO / "labs" / lab / "tests").glob("*.c")
                for suite, name in re.findall(r"^Test\(\s*(\w+)\s*,\s*(\w+)", src.read_text(), re.M)}
    scored = {c for c in checks_by_id(result) if ".api." in c}
    assert declared and scored == declared


def assert_zero_and_fast(result: dict[str, Any], max_seconds: float) -> None:
    lab = result["labs"][0]
    assert lab["status"] == "graded", lab["build_log"]
    assert len(lab["checks"]) > 15
    assert [c["id"] for c in lab["checks"] if c["passed"]] == []
    assert result["score"] == 0
    assert sum(c["duration_s"] for c in lab["checks"]) < max_seconds


def assert_loses_on_named_check(lab: str, source: Path, result: dict[str, Any],
                                solution: dict[str, Any]) -> None:
    """The fixture's header names the check that must fail and a word its message holds."""
    check_slug, word = fixture_header(source)
    assert result["labs"][0]["status"] == "graded", result["labs"][0]["build_log"]
    check = checks_by_id(result)[f"{lab}.{check_slug}"]
    assert not check["passed"] and check["points"] == 0
    assert word.lower() in check["message"].lower(), check["message"]
    assert result["score"] < solution["score"]
