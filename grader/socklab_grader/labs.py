"""The labs this grader knows, read from each lab's one declaration: its Makefile.

A lab's Makefile (labs/NN_name/Makefile) names the lab, its student files, its provided
programs and libraries, and what each of its Criterion tests is worth. The build
(mk/lab.mk), this grader and the grader's own tests all read it from there, so adding a lab
means writing its files, that declaration and its wire checks (checks/labNN.py). The API
checks are the lab's Criterion tests, found in its tests/*.c (the trusted copy, never a
submission's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LABS_DIR = REPO / "labs"
CHECKS_DIR = Path(__file__).resolve().parent / "checks"

# A make assignment, in any of make's forms; a declaration uses `NAME := words` and
# `NAME += words` only.
_ANY_ASSIGNMENT = re.compile(r"^(?P<prefix>(?:override|export)\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
                             r"\s*(?P<op>::=|:=|\+=|\?=|!=|=)\s*(?P<value>.*?)\s*$")
# What the grader reads; make would understand more, the grader must not guess.
DECLARED = ("LAB", "STUDENT", "PROGRAMS", "API_POINTS", "ALSO_BUILD")
# `Test(suite, name` (also `Test(suite, name, .timeout = ...)`) at the start of a line.
_CRITERION_TEST = re.compile(r"^Test\(\s*(\w+)\s*,\s*(\w+)\s*[,)]", re.M)


class DeclarationError(Exception):
    """A lab's Makefile lacks something the grader needs: a bug in the tree, not a submission."""


@dataclass(frozen=True)
class Lab:
    name: str                          # 03_tcp
    student_files: tuple[str, ...]     # src/tcp.c, relative to the lab's folder
    programs: tuple[str, ...]          # tcp_echo_server ...: program P is built from src/P_main.c
    api_points: float                  # what each Criterion test is worth...
    api_points_by_suite: tuple[tuple[str, float], ...]   # ...but the tests of these suites
    also_build: tuple[str, ...] = ()   # make targets built after the programs (lab 05: win)

    @property
    def number(self) -> str:
        return self.name[:2]

    @property
    def trusted_dir(self) -> Path:
        return LABS_DIR / self.name

    def api_worth(self, suite: str) -> float:
        """The points of one Criterion test of this suite."""
        return dict(self.api_points_by_suite).get(suite, self.api_points)

    def api_tests(self) -> list[tuple[str, str]]:
        """(suite, name) of every Criterion test of the lab, in file and line order."""
        found = []
        for source in sorted((self.trusted_dir / "tests").glob("*.c")):
            found += _CRITERION_TEST.findall(source.read_text(encoding="utf-8"))
        return found


def checks_module(lab_name: str) -> str:
    """The name of the lab's wire-check module in checks/: lab03 for 03_tcp."""
    return f"lab{lab_name[:2]}"


def read_makefile(path: Path) -> dict[str, list[str]]:
    """The variables a lab's Makefile assigns, each as its words (`+=` appends). A declared
    name (DECLARED) assigned in a form the grader does not read - `=`, `?=`, `override`, a
    continued line, a `$(...)` - is an error, never a guess; other variables (a lab's own
    make rules) are none of the grader's business."""
    variables: dict[str, list[str]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.split("#", 1)[0].rstrip()
        match = _ANY_ASSIGNMENT.match(line)
        if match is None:
            continue
        name, op, value = match.group("name"), match.group("op"), match.group("value")
        plain = (match.group("prefix") is None and op in (":=", "+=") and "$" not in value
                 and not line.endswith("\\"))
        if name in DECLARED and not plain:
            raise DeclarationError(f"{path}:{number}: write `{name} := words` (or `+=`), "
                                   f"without $(...) or a continued line: {line.strip()}")
        if plain:
            words = value.split()
            variables[name] = variables.get(name, []) + words if op == "+=" else words
    return variables


def declared(lab_dir: Path) -> Lab:
    """The lab declared by lab_dir/Makefile."""
    variables = read_makefile(lab_dir / "Makefile")

    def one(name: str) -> str:
        words = variables.get(name, [])
        if len(words) != 1:
            raise DeclarationError(f"{lab_dir}/Makefile: {name} must be one word, not {words}")
        return words[0]

    if one("LAB") != lab_dir.name:
        raise DeclarationError(f"{lab_dir}/Makefile: LAB is {one('LAB')}, not the folder's name")
    if not variables.get("STUDENT"):
        raise DeclarationError(f"{lab_dir}/Makefile: STUDENT names no student file")
    # API_POINTS := 0.5 udp_broadcast=1: every test 0.5, the udp_broadcast suite's 1 each.
    words = variables.get("API_POINTS", [])
    try:
        api_points = float(words[0])
        by_suite = tuple((suite, float(worth)) for suite, worth in
                         (word.split("=", 1) for word in words[1:]))
    except (IndexError, ValueError) as err:
        raise DeclarationError(f"{lab_dir}/Makefile: API_POINTS is not `N [SUITE=N]...`") from err
    lab = Lab(name=lab_dir.name, student_files=tuple(variables["STUDENT"]),
              programs=tuple(variables.get("PROGRAMS", [])),
              api_points=api_points, api_points_by_suite=by_suite,
              also_build=tuple(variables.get("ALSO_BUILD", [])))
    suites = {suite for suite, _ in lab.api_tests()}
    unknown = [suite for suite, _ in by_suite if suite not in suites]
    if unknown:
        raise DeclarationError(f"{lab_dir}/Makefile: API_POINTS names no suite of tests/*.c: "
                               f"{', '.join(unknown)}")
    return lab


@cache
def available() -> tuple[Lab, ...]:
    """Every lab of this tree that has a declaration and wire checks, in order."""
    found = []
    for makefile in sorted(LABS_DIR.glob("[0-9][0-9]_*/Makefile")):
        # A lab still being built (no wire checks yet) is not graded, nor read.
        if (CHECKS_DIR / f"{checks_module(makefile.parent.name)}.py").exists():
            found.append(declared(makefile.parent))
    return tuple(found)


def find(name: str) -> Lab | None:
    """A lab by its full name (01_udp_send) or its number (01, 1)."""
    for lab in available():
        if name == lab.name or (re.fullmatch(r"\d{1,2}", name) and int(name) == int(lab.number)):
            return lab
    return None
