"""Grade one built lab: run its wire checks and API checks, and write each result as it ends.

Runs inside the grading run's own network namespace when there is one (see sandbox.py), so
that everything it starts - the student's programs, the test program, the grader's peers -
sees only that namespace's loopback and test LAN.

Each finished check is written at once to the worker's standard output, one JSON object a
line, so a worker stopped at its deadline loses only the checks it had not finished
(pipeline.py marks those with the reason). Nothing else is written there: stray prints go
to stderr, and every program the worker starts gets pipes of its own, so results never pass
through a file a submission could reach.

    python3 -m socklab_grader.worker --lab LAB --lab-dir DIR [--netns | --no-lan WHY]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from . import api, checks, confine, labs, sandbox
from .model import CheckResult

MESSAGE_CAP = 8000
PARTS = ("wire", "api")   # the two kinds of check, which two workers may run side by side


def grade_built_lab(lab: labs.Lab, lab_dir: Path, lan_reason: str, proc: Path | None,
                    private_tmp: bool, emit: Callable[[CheckResult], None],
                    parts: tuple[str, ...] = PARTS) -> None:
    """Run the checks of the lab (of these parts: the wire checks, the API checks), handing
    each result to emit as soon as it is known."""
    lab_checks = checks.load(lab.name)
    confinement = confine.probe()
    # Where student programs may write: in the run's private /tmp, else beside the lab.
    scratch = Path(tempfile.mkdtemp(prefix="socklab-scratch-",
                                    dir=sandbox.PRIVATE_TMP if private_tmp else lab_dir.parent))
    confine.give(confinement, scratch)
    ctx = checks.Context(lab=lab.name, bin_dir=lab_dir / "build", lab_dir=lab_dir,
                         lan=not lan_reason, lan_reason=lan_reason, proc=proc,
                         private_tmp=private_tmp,
                         own_pids=private_tmp and proc is not None and os.getpid() == 1,
                         confinement=confinement, scratch=scratch)
    if "wire" in parts:
        for check in lab_checks.checks:
            emit(checks.run_check_confirmed(lab.name, check, ctx))
    if "api" not in parts:
        return
    planned_api = [c for c in checks.plan(lab) if c.criterion_test is not None]
    student_objects = [lab_dir / "build" / "obj" / f"{Path(rel).stem}.o"
                       for rel in lab.student_files]
    for result in api.api_checks(planned_api, lab_checks.api_hints,
                                 lab_dir / "build" / "tests", lab_dir, student_objects,
                                 confinement):
        emit(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="socklab_grader.worker")
    parser.add_argument("--lab", required=True)
    parser.add_argument("--lab-dir", required=True, type=Path)
    parser.add_argument("--part", choices=PARTS, action="append",
                        help="grade only this part (may be repeated; default: all)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--netns", action="store_true", help="set up loopback and the test LAN")
    where.add_argument("--no-lan", metavar="WHY", help="no namespace: grade on the host")
    args = parser.parse_args(argv)
    lab = labs.find(args.lab)
    if lab is None:
        parser.error(f"unknown lab {args.lab}")

    # Results go out on the stdout the grader reads; fd 1 itself now leads to stderr.
    results = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.set_inheritable(results.fileno(), False)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    lan_reason = args.no_lan or ""
    proc: Path | None = Path("/proc")    # without namespaces, pids are the host's
    private_tmp = False
    if args.netns:
        lan_reason = sandbox.set_up_network()
        # This package and the lab stay where they are, even under /tmp.
        why_not = sandbox.try_private_tmp(keep=[Path(__file__).parent, args.lab_dir,
                                                Path(sys.prefix)])
        proc = None if why_not else sandbox.namespace_proc()
        private_tmp = not why_not
        if why_not:
            print(f"socklab worker: {why_not}", file=sys.stderr)
    def emit(result: CheckResult) -> None:
        # Every message cut to a size that keeps a lab's results within what the grader
        # reads of this stream (runner.OUTPUT_CAP).
        if len(result.message) > MESSAGE_CAP:
            result.message = result.message[:MESSAGE_CAP] + "\n[... message cut]"
        results.write(json.dumps(asdict(result)) + "\n")
        results.flush()

    with results:
        grade_built_lab(lab, args.lab_dir.resolve(), lan_reason, proc, private_tmp, emit,
                        tuple(args.part or PARTS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
