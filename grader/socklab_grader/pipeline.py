"""The grading pipeline: read a submission, build each lab, run the worker, gather results.

    grade(path, labs, single_lab, isolation) -> SubmissionResult
    batch(root, outdir, jobs, force, labs, single_lab, isolation) -> [SubmissionResult]

Every lab reports exactly the checks checks.plan() names, in that order: a check the worker
did not finish (it crashed or ran out of time) is reported failed with the reason, and the
checks it did finish keep their results.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import build, checks, classreport, confine, intake, labs, limits, report, runner, sandbox
from .model import CheckResult, LabResult, PlannedCheck, SubmissionResult
from .progress import Progress

GRADER_DIR = Path(__file__).resolve().parent.parent
LAB_TIMEOUT_S = 600      # everything one lab's checks may take together
MAX_POINTS = 100


def collect(planned: list[PlannedCheck], lines: bytes, unfinished: str) -> list[CheckResult]:
    """One result per planned check, in order, from the worker's output (one JSON object a
    line): only whether it passed, its message and its duration are taken, the first line
    for each planned id, so points and names always come from the plan. A check with no
    such line failed with the reason `unfinished`; lines that are cut short or malformed, or
    that name no planned check, are passed over."""
    by_id = {check.id: check for check in planned}
    finished: dict[str, CheckResult] = {}
    for line in lines.decode("utf-8", "replace").splitlines():
        try:
            data = json.loads(line)
            check = by_id.get(data["id"]) if isinstance(data["id"], str) else None
            passed, message, duration = data["passed"], data["message"], data["duration_s"]
        except (ValueError, TypeError, KeyError):
            continue
        if check is None or check.id in finished or not isinstance(message, str):
            continue
        measured = float(duration) if isinstance(duration, (int, float)) else None
        finished[check.id] = check.result(passed is True, message, measured)
    return [finished.get(check.id) or check.result(False, unfinished, None) for check in planned]


def _run_worker(lab: labs.Lab, built: build.Built, isolation: sandbox.Isolation) -> list[CheckResult]:
    """Run the lab's checks on a built lab: two workers side by side, one for the wire
    checks and one for the API checks, each in fresh namespaces of its own where there are
    some, both in the run's cgroup."""
    where = ["--netns"] if isolation.available else ["--no-lan", isolation.reason]
    env = {**os.environ, "PYTHONPATH": str(GRADER_DIR)}
    planned = checks.plan(lab)
    parts = {"wire": [c for c in planned if c.criterion_test is None],
             "api": [c for c in planned if c.criterion_test is not None]}
    run_limits = limits.RunLimits()
    try:
        workers = {part: runner.Program(run_limits.enter(
                       [*isolation.prefix, sys.executable, "-m", "socklab_grader.worker",
                        "--lab", lab.name, "--lab-dir", str(built.lab_dir), "--part", part,
                        *where]), env=env, cwd=GRADER_DIR, limited=False)
                   for part, of_part in parts.items() if of_part}
        deadline = time.monotonic() + LAB_TIMEOUT_S
        endings = {part: worker.wait(deadline - time.monotonic())
                   for part, worker in workers.items()}
    finally:
        run_limits.close()
    results: dict[str, CheckResult] = {}
    for part, worker in workers.items():
        unfinished = (f"not graded: the grader's worker {endings[part].describe()} before this "
                      f"check ended (a lab's checks may take {LAB_TIMEOUT_S} s in all).")
        errors = worker.err().strip()
        if errors:
            unfinished += f"\nIts stderr:\n{errors[-2000:]}"
        for result in collect(parts[part], worker.out_bytes(), unfinished):
            results[result.id] = result
    return [results[check.id] for check in planned]


def grade_lab(lab: labs.Lab, files: dict[str, bytes] | None,
              isolation: sandbox.Isolation) -> LabResult:
    if not files:
        return LabResult(lab.name, "missing", 0, MAX_POINTS, "")
    with tempfile.TemporaryDirectory(prefix=f"socklab-{lab.name}-", dir=sandbox.work_root()) as tmp:
        built = build.build(lab, files, Path(tmp))
        if not built.ok:
            return LabResult(lab.name, "build_failed", 0, MAX_POINTS, built.log)
        return LabResult.from_checks(lab.name, built.log, _run_worker(lab, built, isolation))


def grade(path: Path, chosen: list[labs.Lab], single_lab: bool,
          isolation: sandbox.Isolation, lab_jobs: int = 1) -> SubmissionResult:
    """Grade one submission, lab_jobs of its labs at a time (each lab a run of its own)."""
    sub = intake.read(path, chosen, single_lab)
    with ThreadPoolExecutor(max_workers=max(1, lab_jobs)) as pool:
        results = list(pool.map(lambda lab: grade_lab(lab, sub.files.get(lab.name), isolation),
                                chosen))
    return SubmissionResult(sub.name, results, confine.probe().kind)


def _unreadable(name: str, chosen: list[labs.Lab], why: str) -> SubmissionResult:
    return SubmissionResult(name, [LabResult(lab.name, "missing", 0, MAX_POINTS, why)
                                   for lab in chosen], confine.probe().kind)


def _entries(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir()
                  if not p.name.startswith(".")
                  and (p.is_dir() or p.name.endswith((".zip", ".tar.gz", ".tgz"))))


def batch(root: Path, outdir: Path, jobs: int, force: bool, chosen: list[labs.Lab],
          single_lab: bool, isolation: sandbox.Isolation) -> list[SubmissionResult]:
    outdir.mkdir(parents=True, exist_ok=True)
    entries = _entries(root)
    progress = Progress(len(entries))

    def one(entry: Path) -> SubmissionResult:
        name = intake.submission_name(entry)
        target = outdir / f"{name}.json"
        if target.exists() and not force:
            result = SubmissionResult.from_json(json.loads(target.read_text()))
            progress.finish(result, "already graded")
            return result
        progress.start(name)
        try:
            result = grade(entry, chosen, single_lab, isolation)
        except intake.IntakeError as err:
            result = _unreadable(name, chosen, str(err))
        tmp = target.with_suffix(".json.part")
        tmp.write_text(report.as_json(result))
        tmp.replace(target)
        progress.finish(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, entries))
    progress.close()
    (outdir / "grades.csv").write_text(report.gradebook_csv(results))
    classreport.write(results, outdir)
    (outdir / "report.txt").write_text(report.class_text(results))
    return results
