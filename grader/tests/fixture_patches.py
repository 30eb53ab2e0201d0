"""The one-bug fixture submissions, kept as small patches against each lab's solution.

fixtures/LAB/NAME.patch is a short preamble, then a unified diff from the solution's student
file(s) to the buggy one(s), each named by its base name (a lab with two student files, such
as frame.c and filexfer.c, may change either or both):

    check=SLUG names='WORD'          the check that must fail, and a word its message holds
    what the bug is, and why a       1 to 4 lines of plain text (patch ignores them)
    student makes it

    --- a/tcp.c
    +++ b/tcp.c
    @@ ...

A fixture that is not derived from the solution stays whole: fixtures/LAB/NAME/<student
files>, the first of them opening with /* socklab fixture: check=SLUG names='WORD' and a
comment saying what the bug is; a student file it does not hold is the solution's.

materialize() turns a lab's fixtures into submission folders that grade --batch can read
(every student file of the lab, flat): the solution copied, then the patch applied strictly
(no fuzz, never reversed); a patch that does not apply raises FixtureError. A helper module,
not a test module.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SOLUTIONS = REPO / "solutions"

if str(REPO / "grader") not in sys.path:
    sys.path.insert(0, str(REPO / "grader"))

from socklab_grader import labs as _labs  # noqa: E402

# --fuzz=0: every context line must match (an offset is allowed, the code may have moved).
# --forward: without it, --batch applies a patch that looks reversed in reverse, silently.
# --reject-file=-: a hunk that fails leaves no .rej file behind.
PATCH_ARGS = ("--fuzz=0", "--forward", "--batch", "--no-backup-if-mismatch", "--reject-file=-")

_PATCH_HEADER = re.compile(r"check=(\w+) names='([^']+)'")
_WHOLE_HEADER = re.compile(r"/\* socklab fixture: check=(\w+) names='([^']+)'")


# Fixtures whose bug is a data race: the program itself behaves differently from run to run,
# so a check beside the one naming its bug may see it one run and not the next. The check
# naming the bug must still catch it every time (test_both_ways, bench/soak).
RACY = {("03_tcp", "connfd_race")}


class FixtureError(Exception):
    """A fixture that cannot be read, or a patch that does not apply to the solution."""


@dataclass(frozen=True)
class Fixture:
    lab: str          # 03_tcp
    name: str         # send_loop_no_advance: the submission's folder name once materialized
    check: str        # the slug of the check that must fail: echo_large
    word: str         # a word the failing check's message holds: advance
    description: str  # what the bug is and why a student makes it, in plain words
    source: Path      # fixtures/LAB/NAME.patch, or the folder fixtures/LAB/NAME of whole files

    @property
    def is_patch(self) -> bool:
        return self.source.suffix == ".patch"


def student_files(lab: str) -> list[str]:
    """The lab's student files, by base name: ["tcp.c"], ["frame.c", "filexfer.c"]."""
    found = _labs.find(lab)
    if found is None or found.name != lab:
        raise FixtureError(f"{lab}: not a lab this grader knows")
    return [PurePosixPath(rel).name for rel in found.student_files]


def solution_files(lab: str) -> dict[str, Path]:
    """The solution of each student file, by base name."""
    found = _labs.find(lab)
    assert found is not None
    return {PurePosixPath(rel).name: SOLUTIONS / lab / rel for rel in found.student_files}


def fixtures(lab: str, root: Path = FIXTURES) -> list[Fixture]:
    """Every fixture of root/LAB, patches and whole-file folders alike, sorted by name."""
    folder = root / lab
    if not folder.is_dir():
        return []
    names = student_files(lab)
    found: dict[str, Fixture] = {}
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            fixture = _read_whole(lab, entry.name, entry, names)
        elif entry.suffix == ".patch":
            fixture = _read_patch(lab, entry.stem, entry, names)
        else:
            raise FixtureError(f"{entry}: neither NAME.patch nor a folder NAME/ of student files")
        if fixture.name in found:
            raise FixtureError(f"{lab}/{fixture.name}: both a patch and a folder")
        found[fixture.name] = fixture
    return [found[name] for name in sorted(found)]


def materialize(lab: str, dest: Path, root: Path = FIXTURES) -> dict[str, Path]:
    """dest/NAME/<student files> for every fixture of the lab: the buggy submission, ready for
    grade --batch dest. By name, each fixture's submission folder. Raises FixtureError at the
    first patch that does not apply, naming it and showing patch's output."""
    dest.mkdir(parents=True, exist_ok=True)
    return {f.name: materialize_one(f, dest) for f in fixtures(lab, root)}


def materialize_one(fixture: Fixture, dest: Path) -> Path:
    """dest/NAME/<student files>, the buggy submission of this one fixture; its folder."""
    folder = dest / fixture.name
    if folder.exists():
        raise FixtureError(f"{fixture.lab}/{fixture.name}: {folder} already exists")
    folder.mkdir(parents=True)
    solutions = solution_files(fixture.lab)
    for name, solution in solutions.items():
        shutil.copyfile(solution, folder / name)
    if not fixture.is_patch:
        for source in fixture.source.iterdir():
            shutil.copyfile(source, folder / source.name)
        return folder
    try:
        done = subprocess.run(["patch", *PATCH_ARGS, "-p1", "--input", str(fixture.source)],
                              cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env={**os.environ, "LC_ALL": "C"}, check=False)
    except FileNotFoundError:
        shutil.rmtree(folder)
        raise FixtureError("GNU patch is not installed (Debian package: patch)") from None
    if done.returncode != 0:
        shutil.rmtree(folder)  # never leave a half-patched submission behind
        raise FixtureError(f"{fixture.lab}/{fixture.name}: {fixture.source.name} does not apply "
                           f"to {', '.join(_shown(p) for p in solutions.values())} "
                           f"(patch exit {done.returncode}):\n{done.stdout.rstrip()}")
    if all((folder / name).read_bytes() == path.read_bytes() for name, path in solutions.items()):
        shutil.rmtree(folder)
        raise FixtureError(f"{fixture.lab}/{fixture.name}: the patch leaves the solution as it is")
    return folder


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _read_patch(lab: str, name: str, path: Path, names: list[str]) -> Fixture:
    lines = path.read_text().splitlines()
    where = f"{lab}/{name}.patch"
    match = _PATCH_HEADER.fullmatch(lines[0]) if lines else None
    if match is None:
        raise FixtureError(f"{where}: the first line must be check=SLUG names='WORD'")
    starts = [i for i, line in enumerate(lines) if line.startswith("--- ")]
    if not starts:
        raise FixtureError(f"{where}: no diff (--- a/{names[0]})")
    for start in starts:
        changed = lines[start][len("--- a/"):]
        if changed not in names or lines[start:start + 2] != [f"--- a/{changed}",
                                                              f"+++ b/{changed}"]:
            raise FixtureError(f"{where}: each diff must go from a/FILE to b/FILE, FILE one of "
                               f"{', '.join(names)}: {lines[start]}")
        end = next((s for s in starts if s > start), len(lines))
        if not any(line.startswith("@@ ") for line in lines[start + 2:end]):
            raise FixtureError(f"{where}: the diff of {changed} has no hunk")
    description = "\n".join(line.strip() for line in lines[1:starts[0]] if line.strip())
    return Fixture(lab, name, match.group(1), match.group(2), description, path)


def _read_whole(lab: str, name: str, folder: Path, names: list[str]) -> Fixture:
    files = sorted(p.name for p in folder.iterdir())
    if not files or any(f not in names for f in files):
        raise FixtureError(f"{lab}/{name}: the folder must hold student files only "
                           f"({', '.join(names)}), not {files}")
    first = folder / files[0]
    text = first.read_text()
    match = _WHOLE_HEADER.match(text)
    if match is None:
        raise FixtureError(f"{lab}/{name}/{first.name}: the first line must be "
                           f"/* socklab fixture: check=SLUG names='WORD' ...")
    comment = text[match.end():].split("*/", 1)[0]
    words = (line.strip().lstrip("*").strip() for line in comment.splitlines())
    description = "\n".join(word for word in words if word)
    return Fixture(lab, name, match.group(1), match.group(2), description, folder)
