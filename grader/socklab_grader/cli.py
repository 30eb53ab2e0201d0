"""grader/grade: grade a submission, or a whole class with --batch.

    grader/grade [--lab LAB]... [--format text|json|gradescope|junit] [-o FILE] SUBMISSION
    grader/grade --batch ROOT [-j N] -o OUTDIR [--force]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import build, checks, intake, labs, report, runner, sandbox
from .model import CheckResult, LabResult, SubmissionResult

GRADER_DIR = Path(__file__).resolve().parent.parent
LAB_TIMEOUT_S = 600      # everything one lab's checks may take together
MAX_POINTS = 100


def _grade_built(lab: labs.Lab, built: build.Built, isolation: sandbox.Isolation) -> list[CheckResult]:
    """Run the worker on a built lab, in a fresh namespace where there is one."""
    result_file = built.lab_dir.parent.parent / "result.json"
    where = ["--netns"] if isolation.available else ["--no-lan", isolation.reason]
    argv = [*isolation.prefix, sys.executable, "-m", "socklab_grader.worker", "--lab", lab.name,
            "--lab-dir", str(built.lab_dir), "--result", str(result_file), *where]
    env = {**os.environ, "PYTHONPATH": str(GRADER_DIR)}
    worker = runner.Program(argv, env=env, cwd=GRADER_DIR, limited=False)
    ended = worker.wait(LAB_TIMEOUT_S)
    try:
        return [CheckResult(**c) for c in json.loads(result_file.read_text())]
    except (OSError, ValueError, TypeError) as err:
        why = (f"the grader could not finish grading {lab.name}: its worker {ended.describe()} "
               f"({err}).\n{worker.err()[-2000:]}")
        return _all_failed(lab, why)


def _all_failed(lab: labs.Lab, why: str) -> list[CheckResult]:
    lab_checks = checks.load(lab.name)
    wire = [CheckResult(f"{lab.name}.{c.slug}", c.name, 0, c.points, False, why, 0.0)
            for c in lab_checks.checks]
    api = [CheckResult(f"{lab.name}.api.{t.replace('::', '.')}", t, 0, p, False, why, 0.0)
           for t, p in lab_checks.api_points.items()]
    return wire + api


def grade_lab(lab: labs.Lab, files: dict[str, bytes] | None,
              isolation: sandbox.Isolation) -> LabResult:
    if not files:
        return LabResult(lab.name, "missing", 0, MAX_POINTS, "")
    with tempfile.TemporaryDirectory(prefix=f"socklab-{lab.name}-", dir=sandbox.work_root()) as tmp:
        built = build.build(lab, files, Path(tmp))
        if not built.ok:
            return LabResult(lab.name, "build_failed", 0, MAX_POINTS, built.log)
        return LabResult.from_checks(lab.name, built.log, _grade_built(lab, built, isolation))


def grade(path: Path, chosen: list[labs.Lab], single_lab: bool,
          isolation: sandbox.Isolation) -> SubmissionResult:
    sub = intake.read(path, chosen, single_lab)
    return SubmissionResult(sub.name, [grade_lab(lab, sub.files.get(lab.name), isolation)
                                       for lab in chosen])


def _unreadable(name: str, chosen: list[labs.Lab], why: str) -> SubmissionResult:
    return SubmissionResult(name, [LabResult(lab.name, "missing", 0, MAX_POINTS, why)
                                   for lab in chosen])


def _entries(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir()
                  if not p.name.startswith(".")
                  and (p.is_dir() or p.name.endswith((".zip", ".tar.gz", ".tgz"))))


def batch(root: Path, outdir: Path, jobs: int, force: bool, chosen: list[labs.Lab],
          single_lab: bool, isolation: sandbox.Isolation) -> list[SubmissionResult]:
    outdir.mkdir(parents=True, exist_ok=True)
    entries = _entries(root)
    done = 0

    def one(entry: Path) -> SubmissionResult:
        nonlocal done
        name = intake.submission_name(entry)
        target = outdir / f"{name}.json"
        if target.exists() and not force:
            result = SubmissionResult.from_json(json.loads(target.read_text()))
            note = "already graded"
        else:
            try:
                result = grade(entry, chosen, single_lab, isolation)
            except intake.IntakeError as err:
                result = _unreadable(name, chosen, str(err))
            tmp = target.with_suffix(".json.part")
            tmp.write_text(report.as_json(result))
            tmp.replace(target)
            note = ""
        done += 1
        print(f"[{done}/{len(entries)}] {name}: {result.score:g} / {result.max_score:g}"
              + (f" ({note})" if note else ""), file=sys.stderr, flush=True)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, entries))
    (outdir / "grades.csv").write_text(report.gradebook_csv(results))
    (outdir / "report.html").write_text(report.class_html(results))
    (outdir / "report.txt").write_text(report.class_text(results))
    return results


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grade", description="Grade socklab submissions.")
    p.add_argument("submission", nargs="?", type=Path,
                   help="a folder, .zip, .tar.gz or .tgz holding the student files")
    p.add_argument("--lab", action="append", default=[], metavar="LAB",
                   help="grade only this lab (01_udp_send or 01); may be repeated")
    p.add_argument("--format", choices=["text", *report.FORMATS], default="text")
    p.add_argument("-o", "--output", type=Path, help="write to this file (batch: this folder)")
    p.add_argument("--batch", type=Path, metavar="ROOT", help="grade every entry of ROOT")
    p.add_argument("-j", "--jobs", type=int, default=2, help="batch: submissions at once")
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
    chosen = chosen or labs.available()
    isolation = sandbox.probe()
    if not isolation.available:
        print(f"grade: note: {isolation.reason}; grading on this machine's loopback, "
              "LAN checks skipped", file=sys.stderr)

    if args.batch is not None:
        if args.output is None or not args.batch.is_dir():
            print("grade: --batch needs a folder ROOT and -o OUTDIR", file=sys.stderr)
            return 2
        batch(args.batch, args.output, args.jobs, args.force, chosen, len(args.lab) == 1,
              isolation)
        print(f"grade: wrote {args.output}/grades.csv, report.html and one JSON per submission",
              file=sys.stderr)
        return 0

    try:
        result = grade(args.submission, chosen, len(args.lab) == 1, isolation)
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
