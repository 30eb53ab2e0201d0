"""The grader's results, shaped as the JSON of docs/grader.md; check ids are formed here only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


SKIPPED_PREFIX = "skipped: "
FLAKY_PREFIX = "flaky: "


@dataclass
class CheckResult:
    id: str
    name: str
    points: float
    max_points: float
    passed: bool
    message: str
    duration_s: float | None        # None: not measured (a Criterion test that crashed)

    @property
    def skipped(self) -> bool:
        return self.message.startswith(SKIPPED_PREFIX)

    @property
    def flaky(self) -> bool:
        """Passed only when run a second time (checks.run_check_confirmed)."""
        return self.passed and self.message.startswith(FLAKY_PREFIX)


@dataclass(frozen=True)
class PlannedCheck:
    """A check a lab will report, before it runs: every result is made from one of these."""

    id: str
    name: str
    max_points: float
    criterion_test: tuple[str, str] | None = None    # (suite, test) of an API check

    @classmethod
    def wire(cls, lab: str, slug: str, name: str, points: float) -> "PlannedCheck":
        return cls(f"{lab}.{slug}", name, points)

    @classmethod
    def api(cls, lab: str, suite: str, test: str, points: float) -> "PlannedCheck":
        return cls(f"{lab}.api.{suite}.{test}", f"{suite}: {test.replace('_', ' ')}", points,
                   (suite, test))

    def result(self, passed: bool, message: str, duration_s: float | None) -> CheckResult:
        return CheckResult(self.id, self.name, self.max_points if passed else 0,
                           self.max_points, passed, message, duration_s)


@dataclass
class LabResult:
    lab: str
    status: str                     # graded | missing | build_failed
    score: float
    max_score: float
    build_log: str
    checks: list[CheckResult] = field(default_factory=list)

    @classmethod
    def from_checks(cls, lab: str, build_log: str, checks: list[CheckResult],
                    max_score: float = 100) -> "LabResult":
        score = round(sum(c.points for c in checks), 2)
        return cls(lab, "graded", score, max_score, build_log, checks)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "LabResult":
        checks = [CheckResult(**c) for c in data.get("checks", [])]
        return cls(data["lab"], data["status"], data["score"], data["max_score"],
                   data.get("build_log", ""), checks)


@dataclass
class SubmissionResult:
    submission: str
    labs: list[LabResult]
    sandbox: str = "none"        # what confined the student's code: "bubblewrap" or "none"

    @property
    def score(self) -> float:
        return round(sum(lab.score for lab in self.labs), 2)

    @property
    def max_score(self) -> float:
        return sum(lab.max_score for lab in self.labs)

    def to_json(self) -> dict[str, Any]:
        return {
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "sandbox": self.sandbox,
            "labs": [asdict(lab) for lab in self.labs],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SubmissionResult":
        return cls(data["submission"], [LabResult.from_json(lab) for lab in data["labs"]],
                   str(data.get("sandbox", "none")))
