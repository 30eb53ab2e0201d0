"""API checks: the lab's trusted Criterion tests, built against the student's file.

Outcomes come from Criterion's JSON report, never from its stdout, and each test's
duration from its TAP report, the only one of its reports that
carries a time a test (to 10 ms; a test that crashed has none, and its check says so with
`duration_s: null`).

Criterion 2.4 writes the JSON report without escaping its strings: a message holding a
quote, a backslash or a control byte is written as it is. The report's shape is fixed,
though: each message is one string alone on its line inside a `"messages": [ ... ]` block
(Criterion splits a message at its newlines), so the reader re-escapes those lines by
position and copes with any byte a message holds.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from . import confine, runner, vet
from .build import TESTS_LOG
from .describe import show_output
from .model import FLAKY_PREFIX, CheckResult, PlannedCheck

TEST_TIMEOUT_S = 10       # one test; Criterion reports it as timed out
RUN_TIMEOUT_S = 180       # the whole test program
JOBS = 4                  # tests at once: most of a test is waiting, not computing
REPORT_FDS_ENV = "SOCKLAB_REPORT_FDS"   # read by labs/common/tests/report_guard.c
REPORT_CLOSE_S = 10       # the reports end once the program and its workers have ended


@dataclass
class TestOutcome:
    status: str                 # PASSED | FAILED | ERRORED | SKIPPED
    messages: list[str]
    duration_s: float | None = None


_MESSAGES_START = re.compile(r'^\s*"messages": \[\s*$')
_MESSAGES_END = re.compile(r"^\s*\],?\s*$")
_TAP_RESULT = re.compile(r"^(?:ok|not ok) - (\w+::\w+)\b.*\((\d+(?:\.\d+)?)s\)\s*$", re.M)


def repair(text: str) -> str:
    """The report with every message line re-escaped as a JSON string."""
    lines = text.split("\n")
    fixed = []
    inside = False
    for i, line in enumerate(lines):
        if not inside:
            inside = bool(_MESSAGES_START.match(line))
        elif _MESSAGES_END.match(line):
            inside = False
        else:
            # "BODY", or "BODY" alone when it is the last message of the block.
            last = i + 1 < len(lines) and bool(_MESSAGES_END.match(lines[i + 1]))
            indent = line[:len(line) - len(line.lstrip())]
            body = line.strip()[1:] if last else line.rstrip()[:-1].strip()[1:]
            body = body[:-1] if body.endswith('"') else body
            line = f"{indent}{json.dumps(body, ensure_ascii=False)}{'' if last else ','}"
        fixed.append(line)
    return "\n".join(fixed)


def parse_report(raw: bytes) -> dict[str, TestOutcome]:
    """suite::name -> outcome, from a Criterion JSON report."""
    data = json.loads(repair(raw.decode("utf-8", "replace")))
    outcomes = {}
    for suite in data.get("test_suites", []):
        for test in suite.get("tests", []):
            outcomes[f"{suite['name']}::{test['name']}"] = TestOutcome(
                test.get("status", "ERRORED"), [str(m) for m in test.get("messages", [])])
    return outcomes


def parse_tap_durations(raw: bytes) -> dict[str, float]:
    """suite::name -> seconds, for each test whose TAP line gives its time."""
    return {test: float(seconds)
            for test, seconds in _TAP_RESULT.findall(raw.decode("utf-8", "replace"))}


def run_tests(test_binary: Path, cwd: Path, student_objects: list[Path],
              confinement: confine.Confinement, only: list[str] | None = None
              ) -> tuple[dict[str, TestOutcome], str]:
    """Run the test program (only these tests, "suite::name", if given); its outcomes, or {}
    and why there are none.

    The reports come through two pipes that only the grader reads and only Criterion's
    runner keeps open (labs/common/tests/report_guard.c closes them in the workers, where
    the student's code runs), and they are read once the program and everything it started
    have ended: no file that anything else could write."""
    if not test_binary.exists():
        failed = test_binary.parent / TESTS_LOG
        why = failed.read_text() if failed.exists() else "(no output)"
        return {}, ("the lab's Criterion tests did not build with your files (a function or "
                    "global of yours may have the name of one of the tests' helpers: make your "
                    f"own helpers static):\n{show_output(why, 3000)}")
    refused = _refusals(student_objects, test_binary)
    if refused:
        return {}, "your code was not run with the tests, because " + refused
    json_read, json_write = os.pipe()
    tap_read, tap_write = os.pipe()
    if confinement.user is not None:    # Criterion reopens them by /dev/fd/N, as that user
        for end in (json_write, tap_write):
            os.fchown(end, *confinement.user)
    report = runner.Stream(os.fdopen(json_read, "rb"))
    tap = runner.Stream(os.fdopen(tap_read, "rb"))
    env = {REPORT_FDS_ENV: f"{json_write} {tap_write}"}

    def confined(argv: list[str], info_fd: int) -> list[str]:
        # A PID namespace of its own: when the runner ends, all it started has ended.
        return confinement.wrap(argv, read_only=[cwd], env=env, cwd=cwd, info_fd=info_fd,
                                own_pids=True)
    try:
        prog = runner.Program(
            [str(test_binary), f"--json=/dev/fd/{json_write}", f"--tap=/dev/fd/{tap_write}",
             f"--timeout={TEST_TIMEOUT_S}", f"--jobs={JOBS}", "--ascii", "--color=never",
             *([_criterion_filter(only)] if only else [])],
            cwd=cwd, pass_fds=(json_write, tap_write),
            confine=confined if confinement.confined else None,
            processes=confinement.processes,
            env=None if confinement.confined else {**os.environ, **env})
    finally:
        os.close(json_write)
        os.close(tap_write)
    ended = prog.wait(RUN_TIMEOUT_S)
    deadline = time.monotonic() + REPORT_CLOSE_S
    if not (report.wait_closed(deadline) and tap.wait_closed(deadline)):
        return {}, (f"the test program {ended.describe()}, but its report did not end: "
                    f"something it started kept it open")
    if ended.killed_by_us or ended.signal is not None or not report.raw().strip():
        return {}, (f"the test program {ended.describe()} without writing its whole report; "
                    f"its output:\n{show_output(prog.out() + prog.err())}")
    try:
        outcomes = parse_report(report.raw())
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as err:
        return {}, f"the test report could not be read ({err})"
    durations = parse_tap_durations(tap.raw())
    for test, outcome in outcomes.items():
        outcome.duration_s = durations.get(test)
    return outcomes, ""


def _criterion_filter(tests: list[str]) -> str:
    """--filter for exactly these tests: Criterion's extended glob @(a|b), "suite/name"."""
    return "--filter=@(" + "|".join(test.replace("::", "/") for test in tests) + ")"


def _refusals(student_objects: list[Path], test_binary: Path) -> str:
    """Why the student's object files may not share the test program ("" if they may)."""
    libraries = vet.linked_libraries(test_binary)
    why = [f"{obj.with_suffix('.c').name}: {reason}" for obj in student_objects
           for reason in vet.refusals(obj, libraries)]
    return "; ".join(why)


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


def api_checks(planned: list[PlannedCheck], hints: dict[str, str], test_binary: Path,
               cwd: Path, student_objects: list[Path],
               confinement: confine.Confinement) -> list[CheckResult]:
    """One result per planned API check, from one run of the test program."""
    started = time.monotonic()
    outcomes, why_none = run_tests(test_binary, cwd, student_objects, confinement)
    if not outcomes:
        why_none += f" (after {time.monotonic() - started:.1f} s)"
    # Each test that ran and failed runs once more before it counts (see
    # checks.run_check_confirmed): a pass then is scored, and called flaky.
    failed = [test for test, outcome in outcomes.items() if outcome.status != "PASSED"]
    again = run_tests(test_binary, cwd, student_objects, confinement, only=failed)[0] \
        if failed else {}
    results = []
    for check in planned:
        assert check.criterion_test is not None, f"{check.id} is not an API check"
        suite, test = check.criterion_test
        outcome = outcomes.get(f"{suite}::{test}")
        passed = outcome is not None and outcome.status == "PASSED"
        message = "ok"
        if not passed:
            message = _explain(outcome, why_none)
            if hints.get(suite):
                message += f"\nHint: {hints[suite]}"
            second = again.get(f"{suite}::{test}")
            if second is not None and second.status == "PASSED":
                passed, outcome = True, second
                message = (f"{FLAKY_PREFIX}this test failed, then passed when run again; it "
                           f"counts as passed. The first run said:\n{message}")
        results.append(check.result(passed, message, outcome.duration_s if outcome else None))
    return results
