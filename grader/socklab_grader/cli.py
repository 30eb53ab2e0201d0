"""grader/grade: the command line. It reads the arguments and shows the results;
pipeline.py does the grading. docs/grader.md describes the options, outputs and exit statuses.

    grader/grade [--lab LAB]... [--format text|json|gradescope|junit] [-o FILE] SUBMISSION
    grader/grade --batch ROOT [-j N] -o OUTDIR [--force]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import confine, intake, labs, pipeline, report, sandbox


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grade", description="Grade socklab submissions.")
    p.add_argument("submission", nargs="?", type=Path,
                   help="a folder, .zip, .tar.gz or .tgz holding the student files")
    p.add_argument("--lab", action="append", default=[], metavar="LAB",
                   help="grade only this lab (01_udp_send or 01); may be repeated")
    p.add_argument("--format", choices=["text", *report.FORMATS], default="text")
    p.add_argument("-o", "--output", type=Path, help="write to this file (batch: this folder)")
    p.add_argument("--batch", type=Path, metavar="ROOT", help="grade every entry of ROOT")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                   help="batch: submissions at once (default: the number of cores)")
    p.add_argument("--force", action="store_true", help="batch: grade again what was graded")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if (args.batch is None) == (args.submission is None):
        parser.print_usage(sys.stderr)
        print("grade: give one SUBMISSION, or --batch ROOT -o OUTDIR", file=sys.stderr)
        return 2
    chosen = []
    for name in args.lab:
        lab = labs.find(name)
        if lab is None:
            known = ", ".join(l.name for l in labs.available())
            print(f"grade: unknown lab {name!r} (labs: {known})", file=sys.stderr)
            return 2
        chosen.append(lab)
    chosen = chosen or list(labs.available())
    isolation = sandbox.probe()
    if not isolation.available:
        print(f"grade: note: {isolation.reason}; grading on this machine's loopback, "
              "LAN checks skipped", file=sys.stderr)
    confinement = confine.probe()
    if not confinement.confined:
        if confine.required():
            print(f"grade: {confine.REQUIRE_ENV}=1, and student code cannot be confined "
                  f"here: {confinement.reason}", file=sys.stderr)
            return 1
        print(f"grade: note: {confinement.reason}; student code runs unconfined "
              f'("sandbox": "none")', file=sys.stderr)

    if args.batch is not None:
        if args.output is None or not args.batch.is_dir():
            print("grade: --batch needs a folder ROOT and -o OUTDIR", file=sys.stderr)
            return 2
        pipeline.batch(args.batch, args.output, args.jobs, args.force, chosen, len(args.lab) == 1,
              isolation)
        print(f"grade: wrote {args.output}/report.html (the class report), grades.csv, "
              f"and a NAME.json and a NAME.html per submission",
              file=sys.stderr)
        return 0

    try:
        # One submission: its labs side by side, as many as there are cores (a batch runs
        # submissions side by side instead, -j).
        result = pipeline.grade(args.submission, chosen, len(args.lab) == 1, isolation,
                                lab_jobs=os.cpu_count() or 1)
    except intake.IntakeError as err:
        print(f"grade: {err}", file=sys.stderr)
        return 2
    if args.format == "text":
        colour = args.output is None and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        shown = report.text(result, colour)
    else:
        shown = report.FORMATS[args.format](result)
    if args.output:
        args.output.write_text(shown)
    else:
        sys.stdout.write(shown)
    return 0
