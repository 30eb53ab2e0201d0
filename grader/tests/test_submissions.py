"""Submissions that are not what they should be get a clear verdict, and the three layouts
and three archive kinds are all read."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from pathlib import Path

import pytest

from conftest import REPO, grade, grade_json
from socklab_grader import intake, labs

LAB01 = labs.find("01_udp_send")
SOLUTION = (REPO / "solutions" / LAB01.name / LAB01.student_files[0]).read_bytes()


def _write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_a_submission_that_does_not_compile_scores_zero_with_the_compiler_output(tmp_path: Path) -> None:
    _write(tmp_path, "labs/01_udp_send/src/udp_send.c", SOLUTION + b"\nint broken(void) { return }\n")
    result = grade_json("--lab", "01", tmp_path)
    lab = result["labs"][0]
    assert lab["status"] == "build_failed" and lab["score"] == 0
    assert "src/udp_send.c" in lab["build_log"] and "error" in lab["build_log"]
    assert str(tmp_path) not in lab["build_log"]


def test_a_warning_fails_the_build_as_with_werror(tmp_path: Path) -> None:
    _write(tmp_path, "src/udp_send.c", SOLUTION + b"\nstatic int unused_helper(void) { return 0; }\n")
    lab = grade_json("--lab", "01", tmp_path)["labs"][0]
    assert lab["status"] == "build_failed"
    assert "unused" in lab["build_log"]


def test_a_name_that_clashes_with_a_test_helper_costs_only_the_api_checks(tmp_path: Path) -> None:
    """The programs build and are graded; the API checks say why the tests could not."""
    _write(tmp_path, "src/udp_send.c", SOLUTION + b"\nint describe_bytes = 0;\n")
    lab = grade_json("--lab", "01", tmp_path)["labs"][0]
    assert lab["status"] == "graded", lab["build_log"]
    wire = [c for c in lab["checks"] if ".api." not in c["id"]]
    api = [c for c in lab["checks"] if ".api." in c["id"]]
    assert all(c["passed"] for c in wire if not c["message"].startswith("skipped: "))
    assert api and not any(c["passed"] for c in api)
    assert all("did not build" in c["message"] and "describe_bytes" in c["message"] for c in api)


def test_a_submission_without_the_files_is_missing(tmp_path: Path) -> None:
    _write(tmp_path, "notes/readme.c", b"int x;\n")
    result = grade_json(tmp_path)
    assert {lab["status"] for lab in result["labs"]} == {"missing"}
    assert result["score"] == 0


@pytest.mark.parametrize("content", [b"", b"this is not a zip archive"])
def test_an_unreadable_archive_exits_2_with_a_reason(tmp_path: Path, content: bytes) -> None:
    archive = tmp_path / "alice.zip"
    archive.write_bytes(content)
    done = grade(archive)
    assert done.returncode == 2
    assert "alice.zip" in done.stderr and "zip" in done.stderr


def test_a_path_that_does_not_exist_exits_2(tmp_path: Path) -> None:
    done = grade(tmp_path / "nobody")
    assert done.returncode == 2 and "nobody" in done.stderr


def test_usage_errors_exit_2() -> None:
    assert grade().returncode == 2
    assert grade("--lab", "99_nothing", ".").returncode == 2
    assert grade("--format", "yaml", ".").returncode == 2


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def _targz(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w:gz") as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))


LAYOUTS = {
    "labs": ("alice/labs/01_udp_send/src/udp_send.c", []),
    "lab": ("01_udp_send/src/udp_send.c", []),
    "src": ("src/udp_send.c", ["--lab", "01_udp_send"]),
    "flat": ("udp_send.c", ["--lab", "01"]),
}


@pytest.mark.parametrize("kind", ["zip", "tar.gz", "tgz"])
@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_the_student_file_is_found_in_every_layout_and_archive(tmp_path: Path, kind: str, layout: str) -> None:
    member, lab_args = LAYOUTS[layout]
    archive = tmp_path / f"alice.{kind}"
    # Decoys that must never be taken: another file, a traversal, a deeper copy.
    members = {member: SOLUTION, "../escape/udp_send.c": b"evil", "alice/notes.c": b"int x;"}
    (_zip if kind == "zip" else _targz)(archive, members)
    chosen = [LAB01]
    sub = intake.read(archive, chosen, single_lab=bool(lab_args))
    assert sub.name == "alice"
    assert sub.files == {"01_udp_send": {"src/udp_send.c": SOLUTION}}


def test_a_zipped_submission_is_graded_like_a_folder(tmp_path: Path, solution_01: dict) -> None:
    archive = tmp_path / "bob.zip"
    _zip(archive, {"bob/labs/01_udp_send/src/udp_send.c": SOLUTION})
    result = grade_json("--lab", "01", archive)
    assert result["submission"] == "bob"
    assert result["score"] == solution_01["score"]


def test_only_the_student_files_are_taken(tmp_path: Path) -> None:
    """A submission that ships its own tests or main cannot change what is graded."""
    _write(tmp_path, "01_udp_send/src/udp_send.c", SOLUTION)
    _write(tmp_path, "01_udp_send/tests/test_udp_send.c", b"#error not ours\n")
    _write(tmp_path, "01_udp_send/src/udp_send_main.c", b"#error not ours\n")
    lab = grade_json("--lab", "01", tmp_path)["labs"][0]
    assert lab["status"] == "graded", lab["build_log"]


def test_the_json_has_the_contract_shape(solution_01: dict) -> None:
    """The contract's fields, and "sandbox": what confined the student's code."""
    assert set(solution_01) == {"submission", "score", "max_score", "sandbox", "labs"}
    assert solution_01["sandbox"] in {"bubblewrap", "none"}
    for lab in solution_01["labs"]:
        assert set(lab) == {"lab", "status", "score", "max_score", "build_log", "checks"}
        assert lab["status"] in {"graded", "missing", "build_failed"}
        for check in lab["checks"]:
            assert set(check) == {"id", "name", "points", "max_points", "passed", "message", "duration_s"}
            assert isinstance(check["passed"], bool) and isinstance(check["message"], str)
            assert check["id"].startswith(lab["lab"] + ".")
            assert 0 <= check["points"] <= check["max_points"]
            # Measured, never made up: null only where Criterion gave no time (a crash).
            assert isinstance(check["duration_s"], (int, float)) and check["duration_s"] >= 0
        assert lab["score"] == pytest.approx(sum(c["points"] for c in lab["checks"]))
    assert solution_01["score"] == pytest.approx(sum(l["score"] for l in solution_01["labs"]))
    json.dumps(solution_01)
