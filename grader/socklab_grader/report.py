"""Ways to show results: text for people, JSON (docs/grader.md), Gradescope, JUnit, CSV
(the class report in HTML is classreport.py)."""

from __future__ import annotations

import csv
import io
import json
from typing import Sequence
from xml.etree import ElementTree as ET

from .model import CheckResult, LabResult, SubmissionResult

GREEN, RED, YELLOW, BOLD, DIM, RESET = "\033[32m", "\033[31m", "\033[33m", "\033[1m", "\033[2m", "\033[0m"


def _points(x: float) -> str:
    return f"{x:g}"


def _indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.split("\n"))


def text(result: SubmissionResult, colour: bool = False) -> str:
    def paint(code: str, s: str) -> str:
        return f"{code}{s}{RESET}" if colour else s

    out = [paint(BOLD, f"{result.submission}: {_points(result.score)} / {_points(result.max_score)}")]
    for lab in result.labs:
        out.append("")
        out.append(paint(BOLD, f"{lab.lab}: {_points(lab.score)} / {_points(lab.max_score)}"
                               + ("" if lab.status == "graded" else f" ({lab.status.replace('_', ' ')})")))
        if lab.status == "missing":
            out.append("  no student files for this lab were found in the submission")
        elif lab.status == "build_failed":
            out.append("  your files did not compile (with -Wall -Wextra -Werror):")
            out.append(_indent(lab.build_log or "(no output)", "  | "))
        for check in lab.checks:
            out.append(_check_line(check, paint))
    return "\n".join(out) + "\n"


def _check_line(check: CheckResult, paint) -> str:
    score = f"{_points(check.points)}/{_points(check.max_points)}"
    if check.flaky:
        return f"  {paint(YELLOW, '✓')} {check.name} {paint(DIM, score)}\n{_indent(check.message)}"
    if check.passed:
        return f"  {paint(GREEN, '✓')} {check.name} {paint(DIM, score)}"
    mark = paint(YELLOW, "-") if check.skipped else paint(RED, "✗")
    return f"  {mark} {check.name} {paint(DIM, score)}\n{_indent(check.message)}"


def as_json(result: SubmissionResult) -> str:
    return json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n"


def gradescope(result: SubmissionResult) -> str:
    """Gradescope's results.json: the score, a summary line per lab shown above the tests,
    and one test per check (a lab that was not graded is one failed test worth the lab).
    Everything is visible to the student at once; the grader's own stdout is not."""
    tests = []
    for lab in result.labs:
        if lab.status != "graded":
            tests.append(_gradescope_test(
                f"{lab.lab}: {lab.status.replace('_', ' ')}", lab.lab, 0, lab.max_score, False,
                lab.build_log or "no student files for this lab were found in the submission"))
        for check in lab.checks:
            tests.append(_gradescope_test(f"{lab.lab}: {check.name}", check.id, check.points,
                                          check.max_points, check.passed,
                                          check.message if not check.passed else "passed"))
    seconds = sum(c.duration_s or 0 for lab in result.labs for c in lab.checks)
    summary = "\n".join(f"{lab.lab}: {_points(lab.score)} / {_points(lab.max_score)}"
                        + ("" if lab.status == "graded" else f" ({lab.status.replace('_', ' ')})")
                        for lab in result.labs)
    return json.dumps({"score": result.score, "execution_time": round(seconds),
                       "output": summary, "output_format": "text",
                       "stdout_visibility": "hidden", "visibility": "visible",
                       "tests": tests}, indent=2, ensure_ascii=False) + "\n"


def _gradescope_test(name: str, number: str, score: float, max_score: float, passed: bool,
                     output: str) -> dict[str, object]:
    return {"name": name, "number": number, "score": score, "max_score": max_score,
            "status": "passed" if passed else "failed", "output": output,
            "output_format": "text", "visibility": "visible"}


def junit(result: SubmissionResult) -> str:
    """JUnit XML: a testsuite per lab, a testcase per check."""
    root = ET.Element("testsuites", name=result.submission)
    for lab in result.labs:
        failures = sum(not c.passed and not c.skipped for c in lab.checks)
        suite = ET.SubElement(root, "testsuite", name=lab.lab, tests=str(len(lab.checks) or 1),
                              failures=str(failures), skipped=str(sum(c.skipped for c in lab.checks)))
        if lab.status != "graded":
            case = ET.SubElement(suite, "testcase", classname=lab.lab, name=lab.status)
            ET.SubElement(case, "failure", message=lab.status).text = lab.build_log
            suite.set("failures", "1")
        for check in lab.checks:
            case = ET.SubElement(suite, "testcase", classname=lab.lab, name=check.id)
            if check.duration_s is not None:     # unmeasured: no time rather than a made-up one
                case.set("time", f"{check.duration_s:.3f}")
            if check.skipped:
                ET.SubElement(case, "skipped", message=check.message)
            elif not check.passed:
                ET.SubElement(case, "failure", message=check.name).text = check.message
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


FORMATS = {"json": as_json, "gradescope": gradescope, "junit": junit}


def gradebook_csv(results: Sequence[SubmissionResult]) -> str:
    """A header row, one row per submission: its total, then each lab's score; where a lab
    was not graded its cell says why (missing, build_failed), so no one reads it as a 0."""
    labs = sorted({lab.lab for r in results for lab in r.labs})
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["submission", "score", "max_score", *labs])
    for r in results:
        by_lab = {lab.lab: lab for lab in r.labs}
        writer.writerow([r.submission, _points(r.score), _points(r.max_score),
                         *(_lab_cell(by_lab.get(name)) for name in labs)])
    return buf.getvalue()


def _lab_cell(lab: LabResult | None) -> str:
    if lab is None:
        return ""
    return _points(lab.score) if lab.status == "graded" else lab.status


def class_text(results: Sequence[SubmissionResult]) -> str:
    """The class at a glance: a line per submission, then the checks most often failed."""
    if not results:
        return "no submissions\n"
    width = max(len(r.submission) for r in results)
    lines = [f"{r.submission:<{width}}  {_points(r.score):>6} / {_points(r.max_score)}"
             + "".join(f"  {lab.lab}: {_points(lab.score)}"
                       + ("" if lab.status == "graded" else f" ({lab.status})") for lab in r.labs)
             for r in results]
    failing = _most_failed(results)
    if failing:
        lines += ["", "checks failed most often:"]
        lines += [f"  {n:>3} × {name}" for name, n in failing]
    return "\n".join(lines) + "\n"


def _most_failed(results: Sequence[SubmissionResult], top: int = 10) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for r in results:
        for lab in r.labs:
            for c in lab.checks:
                if not c.passed:
                    counts[f"{lab.lab}: {c.name}"] = counts.get(f"{lab.lab}: {c.name}", 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
