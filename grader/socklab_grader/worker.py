"""Grade one built lab: run its wire checks and API checks, and write each result as it ends.

Runs inside the grading run's own network namespace when there is one (see sandbox.py), so
that everything it starts - the student's programs, the test program, the grader's peers -
sees only that namespace's loopback and test LAN.

Each finished check is appended to the result file at once, one JSON object a line, so a
worker stopped at its deadline loses only the checks it had not finished (pipeline.py marks
those with the reason).

    python3 -m socklab_grader.worker --lab LAB --lab-dir DIR --result FILE [--netns | --no-lan WHY]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from . import api, checks, labs, sandbox
from .model import CheckResult


def grade_built_lab(lab: labs.Lab, lab_dir: Path, lan_reason: str,
                    emit: Callable[[CheckResult], None]) -> None:
    """Run every check of the lab, handing each result to emit as soon as it is known."""
    lab_checks = checks.load(lab.name)
    ctx = checks.Context(lab=lab.name, bin_dir=lab_dir / "build", lab_dir=lab_dir,
                         lan=not lan_reason, lan_reason=lan_reason)
    for check in lab_checks.checks:
        emit(checks.run_check(lab.name, check, ctx))
    planned_api = [c for c in checks.plan(lab) if ".api." in c.id]
    for result in api.api_checks(lab, planned_api, lab_checks.api_hints,
                                 lab_dir / "build" / "tests", lab_dir):
        emit(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="socklab_grader.worker")
    parser.add_argument("--lab", required=True)
    parser.add_argument("--lab-dir", required=True, type=Path)
    parser.add_argument("--result", required=True, type=Path)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--netns", action="store_true", help="set up loopback and the test LAN")
    where.add_argument("--no-lan", metavar="WHY", help="no namespace: grade on the host")
    args = parser.parse_args(argv)
    lab = labs.find(args.lab)
    if lab is None:
        parser.error(f"unknown lab {args.lab}")

    lan_reason = args.no_lan or ""
    if args.netns:
        lan_reason = sandbox.set_up_network()
        # This package, the lab and the result file stay where they are, even under /tmp.
        why_not = sandbox.try_private_tmp(keep=[Path(__file__).parent, args.lab_dir,
                                                args.result.parent, Path(sys.prefix)])
        if why_not:
            print(f"socklab worker: {why_not}", file=sys.stderr)
    with args.result.open("a", encoding="utf-8") as out:
        def emit(result: CheckResult) -> None:
            out.write(json.dumps(asdict(result)) + "\n")
            out.flush()
        grade_built_lab(lab, args.lab_dir.resolve(), lan_reason, emit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
