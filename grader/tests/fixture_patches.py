"""The one-bug fixture submissions, kept as small patches against each lab's solution.

fixtures/LAB/NAME.patch is a short preamble, then a unified diff from the solution's student
file to the buggy one:

    check=SLUG names='WORD'          the check that must fail, and a word its message holds
    what the bug is, and why a       1 to 4 lines of plain text (patch ignores them)
    student makes it

    --- a/tcp.c
    +++ b/tcp.c
    @@ ...

A fixture that is not derived from the solution stays whole: fixtures/LAB/NAME/<student file>,
whose first line is /* socklab fixture: check=SLUG names='WORD' and whose header comment says
what the bug is.

materialize() turns a lab's fixtures into submission folders that grade --batch can read: the
solution copied, then the patch applied strictly (no fuzz, never reversed); a patch that does
not apply raises FixtureError. A helper module, not a test module.
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


class FixtureError(Exception):
    """A fixture that cannot be read, or a patch that does not apply to the solution."""


@dataclass(frozen=True)
class Fixture:
    lab: str          # 03_tcp
    name: str         # send_loop_no_advance: the submission's folder name once materialized
    check: str        # the slug of the check that must fail: echo_large
    word: str         # a word the failing check's message holds: advance
    description: str  # what the bug is and why a student makes it, in plain words
    source: Path      # fixtures/LAB/NAME.patch, or the whole buggy file fixtures/LAB/NAME/FILE

    @property
    def is_patch(self) -> bool:
        return self.source.suffix == ".patch"


def student_file(lab: str) -> str:
    """The lab's one student file, relative to the lab folder: src/tcp.c."""
    found = _labs.find(lab)
    if found is None or found.name != lab:
        raise FixtureError(f"{lab}: not a lab this grader knows")
    if len(found.student_files) != 1:
        raise FixtureError(f"{lab}: fixtures need a lab with one student file, "
                           f"not {', '.join(found.student_files)}")
    return found.student_files[0]


def solution_file(lab: str) -> Path:
    return SOLUTIONS / lab / student_file(lab)


def fixtures(lab: str, root: Path = FIXTURES) -> list[Fixture]:
    """Every fixture of root/LAB, patches and whole-file folders alike, sorted by name."""
    folder = root / lab
    if not folder.is_dir():
        return []
    filename = PurePosixPath(student_file(lab)).name
    found: dict[str, Fixture] = {}
    for entry in folder.iterdir():
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            fixture = _read_whole(lab, entry.name, entry / filename)
        elif entry.suffix == ".patch":
            fixture = _read_patch(lab, entry.stem, entry, filename)
        else:
            raise FixtureError(f"{entry}: neither NAME.patch nor a folder NAME/{filename}")
        if fixture.name in found:
            raise FixtureError(f"{lab}/{fixture.name}: both a patch and a folder")
        found[fixture.name] = fixture
    return [found[name] for name in sorted(found)]


def materialize(lab: str, dest: Path, root: Path = FIXTURES) -> dict[str, Path]:
    """dest/NAME/<student file> for every fixture of the lab: the buggy submission, ready for
    grade --batch dest. By name, each fixture's submission folder. Raises FixtureError at the
    first patch that does not apply, naming it and showing patch's output."""
    dest.mkdir(parents=True, exist_ok=True)
    return {f.name: materialize_one(f, dest) for f in fixtures(lab, root)}


def materialize_one(fixture: Fixture, dest: Path) -> Path:
    """dest/NAME/<student file>, the buggy submission of this one fixture; its folder."""
    filename = PurePosixPath(student_file(fixture.lab)).name
    folder = dest / fixture.name
    if folder.exists():
        raise FixtureError(f"{fixture.lab}/{fixture.name}: {folder} already exists")
    folder.mkdir(parents=True)
    target = folder / filename
    if not fixture.is_patch:
        shutil.copyfile(fixture.source, target)
        return folder
    solution = solution_file(fixture.lab)
    shutil.copyfile(solution, target)
    try:
        done = subprocess.run(["patch", *PATCH_ARGS, "--input", str(fixture.source), target.name],
                              cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env={**os.environ, "LC_ALL": "C"}, check=False)
    except FileNotFoundError:
        shutil.rmtree(folder)
        raise FixtureError("GNU patch is not installed (Debian package: patch)") from None
    if done.returncode != 0:
        shutil.rmtree(folder)  # never leave a half-patched submission behind
        raise FixtureError(f"{fixture.lab}/{fixture.name}: {fixture.source.name} does not apply "
                           f"to {_shown(solution)} (patch exit {done.returncode}):\n"
                           f"{done.stdout.rstrip()}")
    if target.read_bytes() == solution.read_bytes():
        shutil.rmtree(folder)
        raise FixtureError(f"{fixture.lab}/{fixture.name}: the patch leaves the solution as it is")
    return folder


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def _read_patch(lab: str, name: str, path: Path, filename: str) -> Fixture:
    lines = path.read_text().splitlines()
    where = f"{lab}/{name}.patch"
    match = _PATCH_HEADER.fullmatch(lines[0]) if lines else None
    if match is None:
        raise FixtureError(f"{where}: the first line must be check=SLUG names='WORD'")
    starts = [i for i, line in enumerate(lines) if line.startswith("--- ")]
    if not starts:
        raise FixtureError(f"{where}: no diff (--- a/{filename})")
    start = starts[0]
    if lines[start:start + 2] != [f"--- a/{filename}", f"+++ b/{filename}"]:
        raise FixtureError(f"{where}: the diff must go from a/{filename} to b/{filename}")
    # patch is given the one file to change: a second file's diff would land in it too.
    if any(lines[i + 1:i + 2] and lines[i + 1].startswith("+++ ") for i in starts[1:]):
        raise FixtureError(f"{where}: a diff of more than one file")
    if not any(line.startswith("@@ ") for line in lines[start + 2:]):
        raise FixtureError(f"{where}: a diff with no hunk")
    description = "\n".join(line.strip() for line in lines[1:start] if line.strip())
    return Fixture(lab, name, match.group(1), match.group(2), description, path)


def _read_whole(lab: str, name: str, path: Path) -> Fixture:
    if not path.is_file():
        raise FixtureError(f"{lab}/{name}: no {path.name} in the folder")
    text = path.read_text()
    match = _WHOLE_HEADER.match(text)
    if match is None:
        raise FixtureError(f"{lab}/{name}/{path.name}: the first line must be "
                           f"/* socklab fixture: check=SLUG names='WORD' ...")
    comment = text[match.end():].split("*/", 1)[0]
    words = (line.strip().lstrip("*").strip() for line in comment.splitlines())
    description = "\n".join(word for word in words if word)
    return Fixture(lab, name, match.group(1), match.group(2), description, path)
