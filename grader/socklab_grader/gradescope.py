"""The autograder package for Gradescope: `make gradescope [LAB=NN_name]`.

    python3 -m socklab_grader.gradescope [--lab LAB]... -o autograder.zip

Gradescope unpacks autograder.zip into /autograder/source, runs its setup.sh once as root
to build the image, and runs run_autograder for each submission: the student's files are
in /autograder/submission and the results go to /autograder/results/results.json. The zip
holds the grader and the trusted lab trees under socklab/ (never the solutions, the
examples or the grader's own tests), setup.sh and run_autograder.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import zipfile
from pathlib import Path

from . import labs

TOP = "socklab"
# What grading reads, from the repository: the grader, the shims it compiles, the labs'
# trusted trees and the make rules they include.
INCLUDED = ("grader/grade", "grader/shim", "grader/socklab_grader", "labs", "mk")
LEFT_OUT = {"build", "__pycache__"}
EXECUTABLE = 0o755 << 16
FILE = 0o644 << 16

SETUP = """#!/bin/sh
# Gradescope runs this once, as root, in /autograder/source, when it builds the image.
set -eu
cd "$(dirname "$0")"
sh {top}/mk/deps.sh --grader
# Grade the skeleton once: the image then holds the compiled trusted objects and Wine's
# prefix, and no student's run pays for them.
{top}/grader/grade {labs}--format json {top}/labs > /dev/null ||
    echo "setup.sh: the warm-up grading failed; grading still works, only slower" >&2
"""

RUN = """#!/bin/sh
# Gradescope runs this for each submission: grade /autograder/submission and write
# /autograder/results/results.json. AUTOGRADER_ROOT stands in for /autograder in a test.
set -u
root=${{AUTOGRADER_ROOT:-/autograder}}
mkdir -p "$root/results"
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
"$root/source/{top}/grader/grade" {labs}--format gradescope \\
    -o "$root/results/results.json" "$root/submission" 2> "$errors"
status=$?
cat "$errors" >&2        # the autograder's output, which only the staff sees
[ "$status" -eq 0 ] && exit 0
# The grader could not grade the submission (say, an archive it cannot read): the student
# sees why, with a score of 0, rather than Gradescope's "the autograder failed".
/usr/bin/python3 - "$errors" "$root/results/results.json" <<'PYTHON'
import json, sys
reason = open(sys.argv[1], encoding="utf-8", errors="replace").read().strip()
result = {{"score": 0, "output": "The grader could not grade your submission:\\n" + reason,
          "output_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
          "tests": []}}
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(result, out, indent=2, ensure_ascii=False)
PYTHON
"""


def _lab_args(lab_names: list[str]) -> str:
    return "".join(f"--lab {shlex.quote(name)} " for name in lab_names)


def _files(repo: Path) -> list[Path]:
    found = []
    for top in INCLUDED:
        path = repo / top
        candidates = [path] if path.is_file() else sorted(path.rglob("*"))
        found += [p for p in candidates if p.is_file()
                  and not LEFT_OUT & set(p.relative_to(repo).parts)
                  and not p.name.endswith((".pyc", ".part"))]
    return found


def _add(archive: zipfile.ZipFile, name: str, data: bytes, executable: bool) -> None:
    info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
    info.external_attr = EXECUTABLE if executable else FILE
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def build(lab_names: list[str], out: Path, repo: Path = labs.REPO) -> Path:
    """Write the package to out (whole or not at all); its path."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w") as archive:
            _add(archive, "setup.sh",
                 SETUP.format(top=TOP, labs=_lab_args(lab_names)).encode(), True)
            _add(archive, "run_autograder",
                 RUN.format(top=TOP, labs=_lab_args(lab_names)).encode(), True)
            for path in _files(repo):
                _add(archive, f"{TOP}/{path.relative_to(repo).as_posix()}", path.read_bytes(),
                     path.stat().st_mode & 0o111 != 0)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="socklab_grader.gradescope",
                                     description="build autograder.zip for Gradescope")
    parser.add_argument("--lab", action="append", default=[],
                        help="grade only this lab (repeatable; default: every lab)")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the zip to write")
    args = parser.parse_args(argv)
    known = {lab.name for lab in labs.available()}
    unknown = [name for name in args.lab if name not in known]
    if unknown:
        print(f"gradescope: no such lab: {', '.join(unknown)} (labs: {', '.join(sorted(known))})",
              file=sys.stderr)
        return 2
    try:
        out = build(args.lab, args.output)
    except OSError as err:
        print(f"gradescope: {args.output}: {err.strerror or err}", file=sys.stderr)
        return 1
    print(f"gradescope: wrote {out}: upload it as the assignment's autograder "
          f"({', '.join(args.lab) if args.lab else 'every lab'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
