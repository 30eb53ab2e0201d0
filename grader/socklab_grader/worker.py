"""Grade one built lab: run its wire checks and API checks, write the checks as JSON.

Runs inside the grading run's own network namespace when there is one (see sandbox.py), so
that everything it starts - the student's programs, the test program, the grader's peers -
sees only that namespace's loopback and test LAN.

    python3 -m socklab_grader.worker --lab LAB --lab-dir DIR --result FILE [--netns | --no-lan WHY]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from . import api, checks, sandbox


def grade_built_lab(lab: str, lab_dir: Path, lan_reason: str) -> list[dict[str, object]]:
    lab_checks = checks.load(lab)
    ctx = checks.Context(lab=lab, bin_dir=lab_dir / "build", lab_dir=lab_dir,
                         lan=not lan_reason, lan_reason=lan_reason)
    results = [checks.run_check(lab, check, ctx) for check in lab_checks.checks]
    results += api.api_checks(lab, lab_checks.api_points, lab_checks.api_hints,
                              lab_dir / "build" / "tests", lab_dir)
    return [asdict(r) for r in results]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="socklab_grader.worker")
    parser.add_argument("--lab", required=True)
    parser.add_argument("--lab-dir", required=True, type=Path)
    parser.add_argument("--result", required=True, type=Path)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--netns", action="store_true", help="set up loopback and the test LAN")
    where.add_argument("--no-lan", metavar="WHY", help="no namespace: grade on the host")
    args = parser.parse_args(argv)

    lan_reason = args.no_lan or ""
    if args.netns:
        lan_reason = sandbox.set_up_network()
        # This package, the lab and the result file stay where they are, even under /tmp.
        why_not = sandbox.try_private_tmp(keep=[Path(__file__).parent, args.lab_dir,
                                                args.result.parent, Path(sys.prefix)])
        if why_not:
            print(f"socklab worker: {why_not}", file=sys.stderr)
    results = grade_built_lab(args.lab, args.lab_dir.resolve(), lan_reason)
    args.result.write_text(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
