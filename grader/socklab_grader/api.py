"""API checks: the lab's trusted Criterion tests, built against the student's file.

Results come from Criterion's JSON report (`--json=FILE`), never from its stdout. Criterion
2.4 writes that report without escaping its strings, so a message holding a quote or a
backslash is repaired line by line before parsing.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import runner
from .describe import show_output
from .model import CheckResult

TEST_TIMEOUT_S = 10       # one test; Criterion reports it as timed out
RUN_TIMEOUT_S = 180       # the whole test program
JOBS = 2


@dataclass
class TestOutcome:
    status: str               # PASSED | FAILED | ERRORED | SKIPPED
    messages: list[str]


_STRING_LINE = re.compile(r'^(\s*)"(.*)"(,?)\s*$')
_KEY_LINE = re.compile(r'^\s*"[A-Za-z_]+":')


def _repair(text: str) -> str:
    """Re-escape message lines: each is one string alone on its line, `"...",` or `"..."`."""
    fixed = []
    for line in text.split("\n"):
        match = _STRING_LINE.match(line)
        if match and not _KEY_LINE.match(line):
            indent, body, comma = match.groups()
            line = f"{indent}{json.dumps(body)}{comma}"
        fixed.append(line)
    return "\n".join(fixed)


def parse_report(raw: bytes) -> dict[str, TestOutcome]:
    """suite::name -> outcome, from a Criterion JSON report."""
    text = raw.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = json.loads(_repair(text))
    outcomes = {}
    for suite in data.get("test_suites", []):
        for test in suite.get("tests", []):
            outcomes[f"{suite['name']}::{test['name']}"] = TestOutcome(
                test.get("status", "ERRORED"), [str(m) for m in test.get("messages", [])])
    return outcomes


def run_tests(test_binary: Path, cwd: Path) -> tuple[dict[str, TestOutcome], str]:
    """Run the test program; its outcomes, or {} and why there are none."""
    with tempfile.TemporaryDirectory(prefix="socklab-api-") as tmp:
        report = Path(tmp) / "report.json"
        prog = runner.Program([str(test_binary), f"--json={report}",
                               f"--timeout={TEST_TIMEOUT_S}", f"--jobs={JOBS}",
                               "--ascii", "--color=never"], cwd=cwd)
        ended = prog.wait(RUN_TIMEOUT_S)
        if not report.exists():
            return {}, (f"the test program {ended.describe()} without writing its report; "
                        f"its output:\n{show_output(prog.out() + prog.err())}")
        try:
            return parse_report(report.read_bytes()), ""
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            return {}, f"the test report could not be read ({err})"


def _explain(outcome: TestOutcome | None, why_none: str) -> str:
    if outcome is None:
        return why_none or "this test did not run"
    if outcome.status == "ERRORED" and not outcome.messages:
        return "the test crashed or timed out"
    lines = [m.strip() for m in outcome.messages if m.strip()]
    # Criterion prefixes each assertion with the test file's name and line: not the
    # student's file, so only the message is kept.
    lines = [re.sub(r"^[\w./-]+\.c:\d+: ", "", m) for m in lines]
    return "\n".join(lines) or outcome.status.lower()


def api_checks(lab: str, points: dict[str, float], hints: dict[str, str],
               test_binary: Path, cwd: Path) -> list[CheckResult]:
    """One scored check per test named in points."""
    started = time.monotonic()
    outcomes, why_none = run_tests(test_binary, cwd)
    each_s = round((time.monotonic() - started) / max(1, len(points)), 3)
    results = []
    for test, worth in points.items():
        suite, name = test.split("::")
        outcome = outcomes.get(test)
        passed = outcome is not None and outcome.status == "PASSED"
        message = "ok"
        if not passed:
            message = _explain(outcome, why_none)
            if hints.get(suite):
                message += f"\nHint: {hints[suite]}"
        results.append(CheckResult(
            id=f"{lab}.api.{suite}.{name}", name=f"{suite}: {name.replace('_', ' ')}",
            points=worth if passed else 0, max_points=worth, passed=passed,
            message=message, duration_s=each_s))
    return results
