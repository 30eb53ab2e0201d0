"""Grade every buggy fixture (and each lab's solution) N times while stress-ng keeps the
cores busy, and report every check whose verdict was not the same in all N runs.

    bench/soak [--runs N] [--lab LAB ...] [--no-stress]

A verdict that changes under load is a flaky check: fix it at its cause. The grader's own
second run of a failed check (`flaky:` in a message) is counted too: it hides nothing, but
each one is a check that failed once on a correct path. A fixture whose bug is a data race
(fixture_patches.RACY) counts only on the check naming its bug; its other changes are listed
apart.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "grader" / "tests"))
import fixture_patches  # noqa: E402

GRADE = REPO / "grader" / "grade"


def submissions(labs: list[str], where: Path) -> dict[str, Path]:
    """lab -> a batch folder holding its solution and every fixture."""
    roots = {}
    for lab in labs:
        root = where / lab
        fixture_patches.materialize(lab, root)
        shutil.copytree(REPO / "solutions" / lab / "src", root / "solution")
        roots[lab] = root
    return roots


def grade_all(roots: dict[str, Path], out: Path) -> dict[tuple[str, str, str], tuple[bool, bool]]:
    """(lab, submission, check id) -> (passed, flaky), for one run of every batch."""
    verdicts = {}
    for lab, root in roots.items():
        target = out / lab
        done = subprocess.run([str(GRADE), "--batch", str(root), "--lab", lab, "-o",
                               str(target)], capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"soak: grading {lab} failed:\n{done.stderr[-2000:]}")
        for result_file in sorted(target.glob("*.json")):
            result = json.loads(result_file.read_text())
            for check in result["labs"][0]["checks"]:
                verdicts[(lab, result["submission"], check["id"])] = (
                    check["passed"], check["message"].startswith("flaky: "))
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--lab", action="append", help="only this lab (default: all)")
    parser.add_argument("--no-stress", action="store_true", help="without stress-ng")
    args = parser.parse_args()
    labs = args.lab or sorted(p.parent.name for p in (REPO / "labs").glob("[0-9]*/Makefile"))
    stress = None
    if not args.no_stress:
        if not shutil.which("stress-ng"):
            sys.exit("soak: stress-ng is not installed (make deps installs it)")
        stress = subprocess.Popen(["stress-ng", "--cpu", "2", "--quiet"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict[tuple[str, str, str], set[bool]] = defaultdict(set)
    flaky: dict[tuple[str, str, str], int] = defaultdict(int)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="socklab-soak-") as tmp:
            roots = submissions(labs, Path(tmp) / "in")
            for run in range(args.runs):
                for key, (passed, was_flaky) in grade_all(roots, Path(tmp) / f"out{run}").items():
                    seen[key].add(passed)
                    flaky[key] += was_flaky
                print(f"soak: run {run + 1}/{args.runs} done", file=sys.stderr, flush=True)
    finally:
        if stress is not None:
            stress.terminate()
            stress.wait()
    counted, racy = _split_racy(labs, seen)
    changed = sorted(key for key in counted if len(seen[key]) > 1)
    rerun = sorted(key for key in counted if flaky[key])
    print(f"soak: {args.runs} runs of {len({k[:2] for k in seen})} submissions "
          f"({len(seen)} checks each run){' under stress-ng --cpu 2' if stress else ''}, "
          f"{time.monotonic() - started:.0f} s")
    print(f"verdicts that changed between runs: {len(changed)}")
    for lab, submission, check in changed:
        print(f"  {submission}: {check}")
    print(f"checks that passed only when run again (flaky:): {len(rerun)}")
    for key in rerun:
        print(f"  {key[1]}: {key[2]} ({flaky[key]} of {args.runs} runs)")
    racy_changed = sorted(key for key in racy if len(seen[key]) > 1 or flaky[key])
    if racy_changed:
        print(f"not counted, beside the check naming the bug of a racy fixture: "
              f"{len(racy_changed)}")
        for key in racy_changed:
            print(f"  {key[1]}: {key[2]}")
    return 1 if changed or rerun else 0


def _split_racy(labs: list[str], seen: dict[tuple[str, str, str], set[bool]]
                ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """The checks to count, and the others: those of a fixture whose bug is a data race
    (fixture_patches.RACY) but the check naming its bug, which must never change."""
    named = {(f.lab, f.name): f"{f.lab}.{f.check}" for lab in labs
             for f in fixture_patches.fixtures(lab)}
    counted, racy = [], []
    for key in seen:
        lab, submission, check = key
        is_racy = (lab, submission) in fixture_patches.RACY and check != named[(lab, submission)]
        (racy if is_racy else counted).append(key)
    return counted, racy


if __name__ == "__main__":
    sys.exit(main())
