"""The one-bug fixtures are patches that still apply to the current solutions: a change to a
solution that breaks one fails here, naming it; each names the check its bug must fail."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from fixture_patches import (FIXTURES, Fixture, FixtureError, fixtures, materialize,
                             materialize_one, solution_files, student_files)
from socklab_grader import checks

LABS = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
ALL = [f for lab in LABS for f in fixtures(lab)]
IDS = [f"{f.lab[:2]}-{f.name}" for f in ALL]
PATCHES = [f for f in ALL if f.is_patch]


def _filename(lab: str) -> str:
    """The student file of a lab that has one."""
    [name] = student_files(lab)
    return name


def _declared_checks(lab: str) -> set[str]:
    return {check.slug for check in checks.load(lab).checks}


def test_every_lab_with_fixtures_has_some_and_a_solution() -> None:
    assert LABS
    for lab in LABS:
        assert fixtures(lab), lab
        assert all(path.is_file() for path in solution_files(lab).values()), lab


@pytest.mark.parametrize("fixture", ALL, ids=IDS)
def test_the_fixture_applies_to_the_current_solution(fixture: Fixture, tmp_path: Path) -> None:
    folder = materialize_one(fixture, tmp_path)
    solutions = solution_files(fixture.lab)
    assert folder == tmp_path / fixture.name
    assert sorted(p.name for p in folder.iterdir()) == sorted(solutions)  # no .orig, no .rej
    assert any((folder / name).read_bytes() != path.read_bytes()
               for name, path in solutions.items())


@pytest.mark.parametrize("lab", LABS)
def test_materialize_builds_a_submission_folder_per_fixture(lab: str, tmp_path: Path) -> None:
    built = materialize(lab, tmp_path / "batch")
    assert built == {f.name: tmp_path / "batch" / f.name for f in fixtures(lab)}
    assert sorted(p.name for p in (tmp_path / "batch").iterdir()) == sorted(built)
    assert all((folder / name).is_file() for folder in built.values()
               for name in student_files(lab))


@pytest.mark.parametrize("fixture", ALL, ids=IDS)
def test_the_fixture_names_a_check_of_its_lab_a_word_and_its_bug(fixture: Fixture) -> None:
    assert fixture.check in _declared_checks(fixture.lab)
    assert fixture.word.strip() == fixture.word and fixture.word
    assert 1 <= len(fixture.description.splitlines()) <= 4, fixture.description


@pytest.mark.parametrize("fixture", PATCHES, ids=[f"{f.lab[:2]}-{f.name}" for f in PATCHES])
def test_the_patch_shows_the_bug_and_nothing_else(fixture: Fixture) -> None:
    """The diff adds no header comment or title claiming to be the reference solution."""
    diff = fixture.source.read_text().split("\n--- a/", 1)[1]
    added = [line for line in diff.splitlines() if line.startswith("+")]
    assert not any("socklab fixture" in line or "reference solution" in line for line in added)


# --- materialize fails loudly ----------------------------------------------------------

LAB = "03_tcp"


def _a_real_patch() -> Fixture:
    return next(f for f in fixtures(LAB) if f.is_patch)


def _broken_context(real: Fixture, tmp_path: Path) -> str:
    """The real patch, with its first context line no longer what the solution says."""
    lines = real.source.read_text().splitlines(keepends=True)
    first_hunk = next(i for i, line in enumerate(lines) if line.startswith("@@ "))
    context = next(i for i in range(first_hunk + 1, len(lines)) if lines[i].startswith(" "))
    lines[context] = lines[context].rstrip("\n") + " /* not in the solution */\n"
    return "".join(lines)


def _reversed(real: Fixture, tmp_path: Path) -> str:
    """From the buggy file back to the solution: patch --batch alone would apply it reversed."""
    buggy = materialize_one(real, tmp_path / "real") / _filename(LAB)
    name = _filename(LAB)
    diff = subprocess.run(["diff", "-u", "--label", f"a/{name}", "--label", f"b/{name}",
                           str(buggy), str(solution_files(LAB)[name])], capture_output=True,
                          text=True)
    assert diff.returncode == 1, diff.stderr
    return f"check={real.check} names='{real.word}'\nthe bug, undone\n\n{diff.stdout}"


@pytest.mark.parametrize("make,says", [(_broken_context, "FAILED"), (_reversed, "Reversed")],
                         ids=["context-changed", "reversed"])
def test_a_patch_that_does_not_apply_makes_materialize_raise(
        make: Callable[[Fixture, Path], str], says: str, tmp_path: Path) -> None:
    root = tmp_path / "fixtures"
    (root / LAB).mkdir(parents=True)
    (root / LAB / "broken.patch").write_text(make(_a_real_patch(), tmp_path))
    dest = tmp_path / "batch"
    with pytest.raises(FixtureError) as raised:
        materialize(LAB, dest, root=root)
    message = str(raised.value)
    assert f"{LAB}/broken" in message and "does not apply" in message
    assert says in message  # patch's own output
    assert not (dest / "broken").exists()


@pytest.mark.parametrize("text", [
    "check=echo_large names='short'\nno diff at all\n",
    "check=echo_large names='short'\nheaders, no hunk\n--- a/tcp.c\n+++ b/tcp.c\n",
    "check=echo_large names='short'\nthe wrong file\n--- a/udp_send.c\n+++ b/udp_send.c\n@@ -1 +1 @@\n",
    "echo_large short\nno header line\n--- a/tcp.c\n+++ b/tcp.c\n@@ -1 +1 @@\n",
], ids=["no-diff", "no-hunk", "wrong-file", "no-header"])
def test_a_malformed_patch_is_refused(text: str, tmp_path: Path) -> None:
    (tmp_path / LAB).mkdir()
    (tmp_path / LAB / "odd.patch").write_text(text)
    with pytest.raises(FixtureError, match=f"{LAB}/odd"):
        fixtures(LAB, root=tmp_path)


def test_a_whole_file_fixture_is_copied_as_it_is(tmp_path: Path) -> None:
    root = tmp_path / "fixtures"
    (root / LAB / "from_scratch").mkdir(parents=True)
    source = root / LAB / "from_scratch" / _filename(LAB)
    source.write_text("/* socklab fixture: check=echo_large names='short'\n"
                      " * BUG: written from scratch, send() once. */\nint x;\n")
    [fixture] = fixtures(LAB, root=root)
    assert (fixture.name, fixture.check, fixture.word, fixture.is_patch) == \
        ("from_scratch", "echo_large", "short", False)
    assert fixture.description == "BUG: written from scratch, send() once."
    built = materialize(LAB, tmp_path / "batch", root=root)
    assert (built["from_scratch"] / _filename(LAB)).read_bytes() == source.read_bytes()


def test_a_patch_may_change_several_student_files_of_a_lab(tmp_path: Path) -> None:
    """Lab 04 has two student files: one patch may change both, each by its base name."""
    lab = "04_sticky_packets"
    solutions = solution_files(lab)
    assert sorted(solutions) == ["filexfer.c", "frame.c"]
    diffs = []
    for name, path in solutions.items():
        changed = tmp_path / f"changed-{name}"
        changed.write_text(path.read_text() + f"/* changed: {name} */\n")
        done = subprocess.run(["diff", "-u", "--label", f"a/{name}", "--label", f"b/{name}",
                               str(path), str(changed)], capture_output=True, text=True)
        diffs.append(done.stdout)
    root = tmp_path / "fixtures"
    (root / lab).mkdir(parents=True)
    (root / lab / "both.patch").write_text("check=echo_glued names='frame'\nboth files\n\n"
                                           + "".join(diffs))
    built = materialize(lab, tmp_path / "batch", root=root)["both"]
    for name, path in solutions.items():
        assert (built / name).read_text() == path.read_text() + f"/* changed: {name} */\n"
