"""The walkthroughs stay true and stay in step.

- Every walkthrough exists in two languages: the top-level README.md and each lab's README.md
  have a README.zh-CN.md beside them, and each file of a pair links to the other in its first
  lines.
- A README.zh-CN.md has the same sections, in the same order and at the same levels, and the
  same code blocks (commands and their output, byte for byte) as its README.md. Only the prose
  is translated.
- What a walkthrough cites from its lab's Criterion tests exists: a test named `suite::name`
  is a Test(suite, name) of the lab's tests/*.c; a `tests/FILE.c:LINE` (as Criterion prints
  it above a failed assertion) names a file of the lab's tests/ with an assertion at LINE;
  a `--filter 'PATTERN'` selects at least one of the lab's tests; a transcript of a run of
  all the tests (`make test`, `./build/tests`) counts as many tests as the lab has.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

from conftest import LABS, REPO
from socklab_grader.labs import Lab

LABS_DIR = REPO / "labs"
# The top level and every lab (the folders the Makefile takes for labs: labs/[0-9]*/).
WALKTHROUGHS = [REPO, *sorted(p.parent for p in LABS_DIR.glob("[0-9]*/Makefile"))]
WALKTHROUGH_IDS = ["top" if d == REPO else d.name for d in WALKTHROUGHS]
LINK_LINES = 10    # each file of a pair links to the other within its first lines

_FENCE = re.compile(r"^```[^\n]*\n.*?^```$", re.S | re.M)


def _outline(text: str) -> list[str]:
    """The heading levels, in order (outside code blocks)."""
    prose = _FENCE.sub("", text)
    return [line.split(" ", 1)[0] for line in prose.splitlines() if re.match(r"#{1,6} ", line)]


def _code_blocks(text: str) -> list[str]:
    return _FENCE.findall(text)


def _pair(folder: Path) -> tuple[str, str]:
    """The English and the Chinese walkthrough of a folder; a missing one fails, by name."""
    english, chinese = folder / "README.md", folder / "README.zh-CN.md"
    missing = [str(p.relative_to(REPO)) for p in (english, chinese) if not p.is_file()]
    assert not missing, f"missing: {', '.join(missing)} (every walkthrough has both languages)"
    return english.read_text(encoding="utf-8"), chinese.read_text(encoding="utf-8")


# ---- the pair in step ------------------------------------------------------------------------

@pytest.mark.parametrize("folder", WALKTHROUGHS, ids=WALKTHROUGH_IDS)
def test_the_chinese_walkthrough_has_the_english_sections_and_commands(folder: Path) -> None:
    english, chinese = _pair(folder)
    assert _outline(chinese) == _outline(english)
    english_blocks, chinese_blocks = _code_blocks(english), _code_blocks(chinese)
    assert len(chinese_blocks) == len(english_blocks)
    for i, (en, zh) in enumerate(zip(english_blocks, chinese_blocks), 1):
        assert zh == en, f"code block {i} differs"


def _links_to(text: str, target: str) -> bool:
    """A Markdown link to TARGET (a file beside this one) in the first LINK_LINES lines."""
    head = "\n".join(text.splitlines()[:LINK_LINES])
    return re.search(r"\]\((?:\./)?" + re.escape(target) + r"\)", head) is not None


@pytest.mark.parametrize("folder", WALKTHROUGHS, ids=WALKTHROUGH_IDS)
def test_each_language_links_to_the_other_at_the_top(folder: Path) -> None:
    english, chinese = _pair(folder)
    assert _links_to(english, "README.zh-CN.md"), (
        f"{folder.relative_to(REPO) / 'README.md'}: no link to README.zh-CN.md in its first "
        f"{LINK_LINES} lines (write [简体中文](README.zh-CN.md))")
    assert _links_to(chinese, "README.md"), (
        f"{folder.relative_to(REPO) / 'README.zh-CN.md'}: no link to README.md in its first "
        f"{LINK_LINES} lines (write [English](README.md))")


def test_the_outline_and_code_blocks_are_read_as_a_person_sees_them() -> None:
    text = "# A\n\n```sh\n# not a heading\nmake\n```\n\n## B\ntext\n### C\n"
    assert _outline(text) == ["#", "##", "###"]
    assert _code_blocks(text) == ["```sh\n# not a heading\nmake\n```"]


def test_a_link_counts_only_near_the_top_and_only_to_the_other_file() -> None:
    assert _links_to("# Lab\n\n[简体中文](README.zh-CN.md)\n", "README.zh-CN.md")
    assert _links_to("[English](./README.md) · 简体中文\n", "README.md")
    assert not _links_to("# Lab\n\nsee README.zh-CN.md\n", "README.zh-CN.md")        # no link
    assert not _links_to("[x](../01/README.md)\n", "README.md")                       # not beside
    assert not _links_to("\n" * LINK_LINES + "[简体中文](README.zh-CN.md)\n", "README.zh-CN.md")


# ---- what a walkthrough cites from its lab's tests -----------------------------------------

_C_TOKEN = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
_TEST_MACRO = re.compile(
    r"^[ \t]*(?:Test\s*\(|ParameterizedTest\s*\([^,()]*,|Theory\s*\(\s*\([^()]*\)\s*,)"
    r"\s*(\w+)\s*,\s*(\w+)\s*[,)]", re.M)
_ASSERTION = re.compile(r"\bcr_(?:assert|expect|fail|fatal)\w*\s*\(")
# `suite::name`, as Criterion prints a test; not a piece of an IPv6 address (2001:db8::ff00).
_CITED_TEST = re.compile(r"(?<![\w:.])([A-Za-z_]\w*)::([A-Za-z_]\w*)\b")
_PLACEHOLDER_SUITES = {"suite", "SUITE"}            # "named `suite::test`" explains the form
# `tests/FILE.c:LINE`, as Criterion prints an assertion's place (`[----] tests/x.c:57: ...`),
# optionally under a folder: `../common/tests/testutil.c:12`, `labs/03_tcp/tests/x.c:5`, or
# the absolute path Criterion prints for labs/common/tests/ (the build names it so).
_CITED_LINE = re.compile(r"(?<![\w/.-])(/?(?:[\w.-]+/)*tests/[\w.-]+\.c):(\d+)\b")
_FILTER = re.compile(r"--filter(?:=|\s+)(['\"]?)([^\s'\"`)]+)\1")
# A transcript's command that runs every test of the lab, and Criterion's last line.
_FULL_RUN = re.compile(r"\$ (?:make test\b|\./build/(?:solution/)?tests\b)(?!.*--filter)")
_SYNTHESIS = re.compile(r"Synthesis: Tested: (\d+)\b")


def _blank_c(source: str) -> str:
    """SOURCE with its comments, strings and character constants blanked: what the compiler
    parses, at the same lines (a `Test(` in a comment is no test, a `)` in a string ends
    nothing)."""
    def blank(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith(("//", "/*")):
            return re.sub(r"[^\n]", " ", token)
        return token[0] + re.sub(r"[^\n]", " ", token[1:-1]) + token[-1]
    return _C_TOKEN.sub(blank, source)


def _test_names(source: str) -> set[str]:
    """`suite::name` of every Criterion test (Test, ParameterizedTest, Theory) in a C file."""
    return {f"{suite}::{name}" for suite, name in _TEST_MACRO.findall(_blank_c(source))}


def _lab_test_names(lab: Path) -> set[str]:
    """`suite::name` of every test in LAB's tests/*.c."""
    names: set[str] = set()
    for source in (lab / "tests").glob("*.c"):
        names |= _test_names(source.read_text(encoding="utf-8"))
    return names


def _assertion_lines(source: str) -> set[int]:
    """Every line of a C file that belongs to a Criterion assertion (cr_assert..., cr_expect...,
    cr_fail, cr_fatal), from the macro's name to its closing parenthesis: GCC reports the
    first, a reader may point anywhere in it."""
    code = _blank_c(source)
    lines: set[int] = set()
    for match in _ASSERTION.finditer(code):
        depth, end = 1, match.end()
        while depth and end < len(code):
            depth += {"(": 1, ")": -1}.get(code[end], 0)
            end += 1
        first = code.count("\n", 0, match.start()) + 1
        lines.update(range(first, first + code.count("\n", match.start(), end) + 1))
    return lines


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _cited_tests(text: str) -> list[tuple[int, str]]:
    """(line in TEXT, `suite::name`) of every test a README names."""
    return [(_line_of(text, m.start()), f"{m.group(1)}::{m.group(2)}")
            for m in _CITED_TEST.finditer(text) if m.group(1) not in _PLACEHOLDER_SUITES]


def _cited_places(text: str) -> list[tuple[int, str, int]]:
    """(line in TEXT, path, line) of every `tests/FILE.c:LINE` a README shows."""
    return [(_line_of(text, m.start()), m.group(1), int(m.group(2)))
            for m in _CITED_LINE.finditer(text)]


def _filters(text: str) -> list[tuple[int, str]]:
    """(line in TEXT, PATTERN) of every `--filter PATTERN` a README gives, but the ones that
    are no pattern of one lab (`--filter=...`, Criterion's @(...) lists)."""
    return [(_line_of(text, m.start()), m.group(2)) for m in _FILTER.finditer(text)
            if "..." not in m.group(2) and "(" not in m.group(2)]


def _full_run_counts(text: str) -> list[tuple[int, int]]:
    """(line in TEXT, N) of every `Synthesis: Tested: N` a transcript shows under a command that
    runs all of the lab's tests (`make test`, `./build/tests`, without --filter)."""
    counts, command = [], ""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("$ ") or line.startswith("```"):
            command = line
        synthesis = _SYNTHESIS.search(line)
        if synthesis and _FULL_RUN.match(command):
            counts.append((number, int(synthesis.group(1))))
    return counts


def _tests_folder(cited: str, lab: Path | None, labs_dir: Path) -> Path | None:
    """The tests/ folder a cited path means: the lab's own, or labs/common/tests or another
    lab's when the path names one; None at the top level, where `tests/` means no lab."""
    parts = cited.split("/")
    if len(parts) >= 3 and (labs_dir / parts[-3] / "tests").is_dir():
        return labs_dir / parts[-3] / "tests"
    return lab / "tests" if lab is not None else None


def _citation_problems(text: str, lab: Path | None, labs_dir: Path = LABS_DIR) -> list[str]:
    """What TEXT (a walkthrough of LAB, or of the top level when LAB is None: any lab's test
    then counts) cites that its tests do not hold, one line each; [] when all is true."""
    folders = [lab] if lab is not None else sorted(p.parent for p in labs_dir.glob("*/tests"))
    names = set().union(*map(_lab_test_names, folders))
    where = f"{lab.name}'s tests/" if lab is not None else "any lab's tests/"
    problems = [f"line {line}: `{test}` is no Test() in {where}"
                for line, test in _cited_tests(text) if test not in names]
    for line, cited, number in _cited_places(text):
        folder = _tests_folder(cited, lab, labs_dir)
        source = folder / cited.rsplit("/", 1)[-1] if folder is not None else None
        if source is None or not source.is_file():
            problems.append(f"line {line}: `{cited}:{number}`: there is no such file")
        elif number not in _assertion_lines(source.read_text(encoding="utf-8")):
            problems.append(f"line {line}: `{cited}:{number}`: no Criterion assertion at that "
                            f"line of {source.relative_to(labs_dir.parent)}")
    for line, pattern in _filters(text):
        paths = [name.replace("::", "/") for name in names]
        if not fnmatch.filter(paths, pattern):
            problems.append(f"line {line}: `--filter {pattern}` selects none of {where}")
    return problems


def _count_problems(text: str, lab: Path) -> list[str]:
    """Each transcript of a run of all LAB's tests that counts another number of tests."""
    names = _lab_test_names(lab)
    return [f"line {line}: a run of all the tests says `Tested: {count}`; {lab.name} has "
            f"{len(names)} tests" for line, count in _full_run_counts(text) if count != len(names)]


def _readmes() -> list[Path]:
    return [p for folder in WALKTHROUGHS
            for p in (folder / "README.md", folder / "README.zh-CN.md") if p.is_file()]


@pytest.mark.parametrize("readme", _readmes(), ids=[str(p.relative_to(REPO)) for p in _readmes()])
def test_the_tests_a_walkthrough_cites_exist(readme: Path) -> None:
    lab = None if readme.parent == REPO else readme.parent
    problems = _citation_problems(readme.read_text(encoding="utf-8"), lab)
    assert not problems, f"{readme.relative_to(REPO)}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("readme", [p for p in _readmes() if p.parent != REPO],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_a_transcript_of_all_the_tests_counts_every_test(readme: Path) -> None:
    problems = _count_problems(readme.read_text(encoding="utf-8"), readme.parent)
    assert not problems, f"{readme.relative_to(REPO)}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("lab", LABS, ids=[lab.name for lab in LABS])
def test_the_parser_finds_the_tests_the_grader_scores(lab: Lab) -> None:
    """The walkthrough checks and the grader agree on what the lab's tests are."""
    assert _lab_test_names(LABS_DIR / lab.name) == {f"{s}::{n}" for s, n in lab.api_tests()}


_MADE_UP_TESTS = """\
#include <criterion/criterion.h>
/* Test(commented, out) is no test, and neither is "Test(in, a_string)" */
Test(frame_recv, reads_one_frame, .timeout = 5)
{
    int got = 0;
    cr_assert(got == 0, "a ( in a message, then %d",
              got);
    cr_expect(got >= 0);
}

Test(frame_recv,
     reads_an_empty_frame)
{
    cr_assert_eq(1, 1); // cr_assert( in a comment
}
"""


def test_the_c_parser_reads_tests_and_assertions_as_the_compiler_does() -> None:
    assert _test_names(_MADE_UP_TESTS) == {"frame_recv::reads_one_frame",
                                           "frame_recv::reads_an_empty_frame"}
    assert _assertion_lines(_MADE_UP_TESTS) == {6, 7, 8, 14}
    assert _blank_c('x = "a)b"; // c\n').count("\n") == 1


def test_citations_are_found_where_a_reader_sees_them() -> None:
    text = ("A test is named `suite::test`, e.g. `frame_recv::reads_one_frame`;\n"
            "[FAIL] frame_recv::gone: (0.00s)\n"
            "::1 and 2001:db8::ff00 are addresses; std::vector is C++.\n"
            "[----] tests/test_frame.c:6: Assertion Failed, ../common/tests/testutil.c:12:\n"
            "[----] /home/me/socklab/labs/common/tests/testutil.c:3: Assertion Failed\n"
            "run ./build/tests --filter 'frame_*/*' or make test TEST_FLAGS=--filter=x/* or "
            "--filter=... or --filter='@(a|b)'\n")
    assert _cited_tests(text) == [(1, "frame_recv::reads_one_frame"), (2, "frame_recv::gone"),
                                  (3, "std::vector")]
    assert _cited_places(text) == [(4, "tests/test_frame.c", 6),
                                   (4, "../common/tests/testutil.c", 12),
                                   (5, "/home/me/socklab/labs/common/tests/testutil.c", 3)]
    assert _filters(text) == [(6, "frame_*/*"), (6, "x/*")]


def test_a_wrong_citation_is_caught(tmp_path: Path) -> None:
    """A made-up lab: its walkthrough's true citations pass, each wrong one is named."""
    lab = tmp_path / "labs" / "09_made_up"
    (lab / "tests").mkdir(parents=True)
    (lab / "tests" / "test_frame.c").write_text(_MADE_UP_TESTS, encoding="utf-8")
    (tmp_path / "labs" / "common" / "tests").mkdir(parents=True)
    (tmp_path / "labs" / "common" / "tests" / "testutil.c").write_text(
        "void f(void)\n{\n    cr_assert(1);\n}\n", encoding="utf-8")
    true = ("[----] tests/test_frame.c:6: Assertion Failed\n"
            "[FAIL] frame_recv::reads_one_frame: (0.00s)\n"
            "`frame_recv::reads_an_empty_frame` (tests/test_frame.c:7, tests/test_frame.c:14)\n"
            "../common/tests/testutil.c:3 and ./build/tests --filter 'frame_recv/*'\n"
            "the form is `suite::test`\n")
    assert _citation_problems(true, lab, tmp_path / "labs") == []
    wrong = ("[FAIL] frame_recv::reads_two_frames: (0.00s)\n"      # no such test
             "`frame_send::reads_one_frame`\n"                     # the name of another suite
             "[----] tests/lab09_test.c:6: Assertion Failed\n"     # no such file
             "[----] tests/test_frame.c:5: Assertion Failed\n"     # a line with no assertion
             "[----] tests/test_frame.c:99: Assertion Failed\n"    # past the end
             "../common/tests/testutil.c:1\n"                      # not an assertion there
             "./build/tests --filter 'frame_send/*'\n")            # selects nothing
    problems = _citation_problems(wrong, lab, tmp_path / "labs")
    assert [p.split(":", 1)[0] for p in problems] == [f"line {n}" for n in (1, 2, 3, 4, 5, 6, 7)]
    assert "`frame_recv::reads_two_frames` is no Test() in 09_made_up's tests/" in problems[0]
    assert "`tests/lab09_test.c:6`: there is no such file" in problems[2]
    assert "no Criterion assertion at that line of labs/09_made_up/tests/test_frame.c" in (
        problems[3])
    assert "labs/common/tests/testutil.c" in problems[5]
    assert "`--filter frame_send/*` selects none" in problems[6]


def test_only_a_run_of_all_the_tests_is_counted(tmp_path: Path) -> None:
    lab = tmp_path / "09_made_up"
    (lab / "tests").mkdir(parents=True)
    (lab / "tests" / "test_frame.c").write_text(_MADE_UP_TESTS, encoding="utf-8")
    text = ("```\n$ make test\n...\n[====] Synthesis: Tested: 2 | Passing: 0 | Failing: 2\n"
            "$ ./build/tests --filter 'frame_recv/*'\n[====] Synthesis: Tested: 1 | Passing: 1\n"
            "$ make test TEST_FLAGS='--filter=x/*'\n[====] Synthesis: Tested: 1 | Passing: 1\n"
            "```\n\n```\n$ make test SAN=1\n[====] Synthesis: Tested: 3 | Passing: 3\n```\n"
            "```\n[====] Synthesis: Tested: 5 (no command: not counted)\n```\n")
    assert _full_run_counts(text) == [(4, 2), (13, 3)]
    assert _count_problems(text, lab) == [
        "line 13: a run of all the tests says `Tested: 3`; 09_made_up has 2 tests"]


# CommonMark: a closing ** right after punctuation must be followed by a space or punctuation,
# so `**检查点：**你` shows its asterisks. Write `**检查点**：你` instead.
_UNCLOSED_BOLD = re.compile(r"\*\*[^*\n]+?[：，。；！？、）」]\*\*(?=[^\s\W]|[\u4e00-\u9fff])")


def _unclosed_bold(text: str) -> list[str]:
    prose = _FENCE.sub("", text)
    return [match.group(0) for match in _UNCLOSED_BOLD.finditer(prose)]


@pytest.mark.parametrize("readme", [p for p in _readmes() if p.name == "README.zh-CN.md"],
                         ids=lambda p: str(p.relative_to(REPO)))
def test_bold_text_closes_where_a_chinese_reader_sees_it(readme: Path) -> None:
    assert _unclosed_bold(readme.read_text(encoding="utf-8")) == []


def test_bold_that_ends_in_punctuation_before_a_letter_is_caught() -> None:
    assert _unclosed_bold("**检查点：**你能说出") == ["**检查点：**"]
    assert _unclosed_bold("**检查点**：你能说出 **完成。** 下一步") == []
