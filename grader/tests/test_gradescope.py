"""`make gradescope` builds autograder.zip, and the package works as Gradescope runs it: unpacked
into a folder shaped like /autograder (a temporary one stands in for it), setup.sh once,
then run_autograder per submission, whose results.json is read back."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

import fixture_patches
from conftest import REPO

LAB = "01_udp_send"
RUN_S = 600


def _unpack(package: Path, dest: Path) -> None:
    """As unzip does: the files, with the modes the archive records."""
    with zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            path = Path(archive.extract(info, dest))
            mode = info.external_attr >> 16
            if mode:
                path.chmod(mode & 0o777)


@pytest.fixture(scope="module")
def autograder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/autograder after Gradescope built the image: source/ unpacked, setup.sh run,
    run_autograder copied to the top."""
    root = tmp_path_factory.mktemp("autograder")
    package = root / "autograder.zip"
    done = subprocess.run(["make", "--no-print-directory", "gradescope", f"LAB={LAB}",
                           f"GRADESCOPE_ZIP={package}"], cwd=REPO, capture_output=True,
                          text=True, timeout=RUN_S)
    assert done.returncode == 0, done.stderr
    _unpack(package, root / "source")
    setup = subprocess.run(["sh", str(root / "source" / "setup.sh")], cwd=root / "source",
                           capture_output=True, text=True, timeout=RUN_S)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    assert "warm-up grading failed" not in setup.stderr
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return root


def _run(autograder: Path, submission: dict[str, Path] | None) -> dict[str, Any]:
    """run_autograder on these student files (None: no submission folder at all)."""
    folder = autograder / "submission"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(autograder / "results", ignore_errors=True)
    if submission is not None:
        folder.mkdir()
        for name, source in submission.items():
            shutil.copyfile(source, folder / name)
    done = subprocess.run([str(autograder / "run_autograder")], cwd=autograder,
                          env={**os.environ, "AUTOGRADER_ROOT": str(autograder)},
                          capture_output=True, text=True, timeout=RUN_S)
    assert done.returncode == 0, done.stderr
    return json.loads((autograder / "results" / "results.json").read_text())


def test_the_package_holds_the_grader_and_the_labs_and_no_solution() -> None:
    package = REPO / "build" / "test-autograder.zip"
    done = subprocess.run(["make", "--no-print-directory", "gradescope",
                           f"GRADESCOPE_ZIP={package}"], cwd=REPO, capture_output=True,
                          text=True, timeout=RUN_S)
    assert done.returncode == 0, done.stderr
    try:
        with zipfile.ZipFile(package) as archive:
            names = archive.namelist()
            modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
    finally:
        package.unlink()
    assert {"setup.sh", "run_autograder", "socklab/grader/grade",
            f"socklab/labs/{LAB}/Makefile"} <= set(names)
    assert all(modes[name] & 0o111 for name in ("setup.sh", "run_autograder", "socklab/grader/grade"))
    assert not [n for n in names if n.startswith(("socklab/solutions", "socklab/examples",
                                                  "socklab/grader/tests"))
                or "/build/" in n or "__pycache__" in n]


def test_a_correct_submission_gets_full_marks_in_gradescopes_format(autograder: Path) -> None:
    result = _run(autograder, fixture_patches.solution_files(LAB))
    assert result["score"] == 100
    assert {"score", "execution_time", "output", "output_format", "stdout_visibility",
            "visibility", "tests"} <= set(result)
    assert result["tests"] and all(t["status"] == "passed" for t in result["tests"])
    for test in result["tests"]:
        assert {"name", "number", "score", "max_score", "status", "output", "output_format",
                "visibility"} <= set(test)
    assert sum(t["max_score"] for t in result["tests"]) == 100


def test_a_one_bug_submission_loses_the_points_of_its_check(autograder: Path, tmp_path: Path) -> None:
    fixture = next(f for f in fixture_patches.fixtures(LAB) if f.name == "no_htons")
    folder = fixture_patches.materialize_one(fixture, tmp_path)
    result = _run(autograder, {p.name: p for p in folder.iterdir()})
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    assert 0 < result["score"] < 100
    assert f"{LAB}.send_port_byte_order" in {t["number"] for t in failed}
    assert all(t["output"] and t["score"] == 0 for t in failed)


def test_an_empty_submission_is_one_failed_test_saying_so(autograder: Path) -> None:
    result = _run(autograder, {})
    assert result["score"] == 0
    assert [t["status"] for t in result["tests"]] == ["failed"]
    assert "missing" in result["tests"][0]["name"]


def test_a_submission_the_grader_cannot_read_gets_0_and_the_reason(autograder: Path) -> None:
    result = _run(autograder, None)
    assert result["score"] == 0 and result["tests"] == []
    assert "could not grade your submission" in result["output"]
    assert "submission" in result["output"].split("\n", 1)[1]
