"""The class report and the students' pages, opened in headless Chromium as an instructor
would: the numbers the pages show are read back and compared with the batch's JSON files,
and the table of students is sorted and filtered with clicks and keystrokes.

The batch is lab 01, graded for real: the solution, three one-bug fixtures, a submission
without the lab (missing) and one that does not compile. Two names are awkward on purpose:
"Zoë Chen" (the solution: a space and a non-ASCII letter in a link) and "report" (the
sizeof_buf fixture, whose page must not overwrite report.html).
"""

from __future__ import annotations

import json
import shutil
import statistics
from pathlib import Path
from typing import Any

import pytest

import browser
import fixture_patches
from conftest import grade
from socklab_grader import concepts

LAB = "01_udp_send"
BUGGY = ("no_htons", "no_timeout")
SOLUTION, REPORT, MISSING, BROKEN = "Zoë Chen", "report", "empty", "broken"
RENAMED = {"sizeof_buf": REPORT}


def _student_files(folder: Path, sources: dict[str, Path]) -> None:
    folder.mkdir(parents=True)
    for name, source in sources.items():
        shutil.copyfile(source, folder / name)


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The batch's output folder and its JSON files, by student."""
    root = tmp_path_factory.mktemp("class")
    solution = fixture_patches.solution_files(LAB)
    _student_files(root / SOLUTION, solution)
    (root / MISSING).mkdir()
    _student_files(root / BROKEN, solution)
    with open(root / BROKEN / sorted(solution)[0], "a") as file:
        file.write("\nint this_does_not_compile = ;\n")
    for fixture in fixture_patches.fixtures(LAB):
        if fixture.name in BUGGY:
            fixture_patches.materialize_one(fixture, root)
        elif fixture.name in RENAMED:
            fixture_patches.materialize_one(fixture, root).rename(root / RENAMED[fixture.name])
    out = tmp_path_factory.mktemp("class-out")
    done = grade("--lab", LAB, "--batch", root, "-o", out, "-j", "2")
    assert done.returncode == 0, done.stderr
    results = {json.loads(p.read_text())["submission"]: json.loads(p.read_text())
               for p in out.glob("*.json")}
    assert set(results) == {SOLUTION, REPORT, MISSING, BROKEN, *BUGGY}
    return out, results


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory):
    why = browser.missing()
    if why:
        pytest.skip(why)
    session = browser.Browser(tmp_path_factory.mktemp("chromium"))
    yield session
    session.close()


def _lab(result: dict[str, Any]) -> dict[str, Any]:
    return result["labs"][0]


def _shown(x: float) -> str:
    return f"{round(x, 2):g}"


def test_the_lab_summary_shows_the_batchs_numbers(batch, chromium) -> None:
    out, results = batch
    chromium.open((out / "report.html").as_uri())
    section = chromium.find(f"section[data-lab='{LAB}']")
    scores = [_lab(r)["score"] for r in results.values() if _lab(r)["status"] == "graded"]
    assert len(scores) == 4
    shown = {name: chromium.text(chromium.find(f".{name}", section))
             for name in ("graded", "median", "mean", "missing", "build-failed")}
    assert shown == {"graded": "4", "median": _shown(statistics.median(scores)),
                     "mean": _shown(statistics.fmean(scores)), "missing": "1",
                     "build-failed": "1"}
    assert {_lab(results[MISSING])["status"], _lab(results[BROKEN])["status"]} == {
        "missing", "build_failed"}


def test_the_histogram_plots_each_graded_score_once(batch, chromium) -> None:
    out, results = batch
    chromium.open((out / "report.html").as_uri())
    bars = chromium.find_all(f"section[data-lab='{LAB}'] svg rect.bin")
    counts = [int(chromium.attribute(bar, "data-count") or -1) for bar in bars]
    expected = [0] * 10
    for r in results.values():
        if _lab(r)["status"] == "graded":
            expected[min(int(_lab(r)["score"] // 10), 9)] += 1
    assert counts == expected
    heights = [chromium.size(bar)[1] for bar in bars]
    assert all((h > 0) == (c > 0) for h, c in zip(heights, counts))
    tallest = max(range(10), key=lambda i: counts[i])
    assert heights[tallest] == max(heights)


def _open_every_fold(chromium) -> list[str]:
    """Click each closed concept open, as a person would; the concepts, in page order."""
    folds = chromium.find_all(f"section[data-lab='{LAB}'] details.concept")
    for fold in folds:
        if chromium.attribute(fold, "open") is None:
            chromium.click(chromium.find("summary", fold))
    return folds


def _rate(text: str) -> float:
    return float(text.rstrip("%")) if text.endswith("%") else 200.0


def test_each_checks_pass_rate_is_the_share_of_graded_students_who_passed_it(batch, chromium) -> None:
    out, results = batch
    chromium.open((out / "report.html").as_uri())
    _open_every_fold(chromium)
    graded = [_lab(r) for r in results.values() if _lab(r)["status"] == "graded"]
    rows = chromium.find_all(f"section[data-lab='{LAB}'] tr.check")
    shown = {chromium.attribute(row, "data-check"): chromium.text(chromium.find(".rate", row))
             for row in rows}
    expected = {}
    for check_id in {c["id"] for lab in graded for c in lab["checks"]}:
        runs = [c for lab in graded for c in lab["checks"]
                if c["id"] == check_id and not c["message"].startswith("skipped: ")]
        passed = sum(c["passed"] for c in runs)
        expected[check_id] = f"{round(100 * passed / len(runs))}%" if runs else "skipped"
    assert shown == expected
    assert any(rate not in ("100%", "skipped") for rate in shown.values())


def test_checks_are_grouped_by_concept_least_passed_first(batch, chromium) -> None:
    out, _ = batch
    chromium.open((out / "report.html").as_uri())
    folds = chromium.find_all(f"section[data-lab='{LAB}'] details.concept")
    closed = [chromium.attribute(fold, "open") is None for fold in folds]
    _open_every_fold(chromium)
    concept_rates = []
    for fold, was_closed in zip(folds, closed):
        concept = chromium.attribute(fold, "data-concept") or ""
        concept_rates.append(_rate(chromium.text(chromium.find("summary .rate", fold))))
        rows = chromium.find_all("tr.check", fold)
        rates = [_rate(chromium.text(chromium.find(".rate", row))) for row in rows]
        assert rates == sorted(rates), concept
        assert was_closed == all(rate in (100.0, 200.0) for rate in rates), concept
        assert all(concepts.concept_of(LAB, chromium.attribute(row, "data-check") or "") == concept
                   for row in rows)
    assert len(folds) > 3 and any(closed) and not all(closed)
    assert concept_rates == sorted(concept_rates)


def _student_rows(chromium) -> list[str]:
    return [chromium.attribute(row, "data-student") or "" for row in chromium.find_all("#students tbody tr")]


def test_the_students_table_shows_each_total_and_why_a_lab_was_not_graded(batch, chromium) -> None:
    out, results = batch
    chromium.open((out / "report.html").as_uri())
    assert sorted(_student_rows(chromium)) == sorted(results)
    for row in chromium.find_all("#students tbody tr"):
        name = chromium.attribute(row, "data-student") or ""
        total = chromium.text(chromium.find(".total", row))
        lab_cell = chromium.text(chromium.find(f"td[data-lab='{LAB}']", row))
        assert total == f"{results[name]['score']:g}"
        status = _lab(results[name])["status"]
        assert lab_cell == {"graded": f"{_lab(results[name])['score']:g}", "missing": "missing",
                            "build_failed": "did not compile"}[status]


def test_sorting_the_students_by_a_column_and_back(batch, chromium) -> None:
    out, results = batch
    chromium.open((out / "report.html").as_uri())
    total = chromium.find("#students th[data-key='total']")
    chromium.click(total)
    totals = [results[name]["score"] for name in _student_rows(chromium)]
    assert totals == sorted(totals, reverse=True) and totals[0] == 100
    chromium.click(total)
    totals = [results[name]["score"] for name in _student_rows(chromium)]
    assert totals == sorted(totals)
    chromium.click(chromium.find(f"#students th[data-key='{LAB}']"))
    last_two = {_lab(results[name])["status"] for name in _student_rows(chromium)[-2:]}
    assert last_two == {"missing", "build_failed"}, "a lab not graded sorts below every score"
    chromium.click(chromium.find("#students th[data-key='name']"))
    assert _student_rows(chromium) == sorted(results, key=str.lower)


def test_the_filter_box_shows_only_the_students_it_matches(batch, chromium) -> None:
    out, _ = batch
    chromium.open((out / "report.html").as_uri())
    chromium.type(chromium.find("#filter"), "ZOË")
    visible = [chromium.attribute(row, "data-student") for row in chromium.find_all("#students tbody tr")
               if chromium.displayed(row)]
    assert visible == [SOLUTION]
    assert chromium.text(chromium.find("#shown")) == "1"


@pytest.mark.parametrize("student", [SOLUTION, REPORT, "no_htons"])
def test_a_students_link_opens_their_feedback_failed_checks_first(batch, chromium, student) -> None:
    out, results = batch
    chromium.open((out / "report.html").as_uri())
    row = chromium.find(f"#students tbody tr[data-student='{student}']")
    chromium.click(chromium.find("a", row))
    page = chromium.url()
    assert page.endswith("report-2.html" if student == REPORT else ".html")
    assert page != (out / "report.html").as_uri()
    result = results[student]
    assert chromium.text(chromium.find("h1 .score")) == f"{result['score']:g}"
    shown = [chromium.attribute(item, "data-check") for item in chromium.find_all("li[data-check]")]
    checks = _lab(result)["checks"]
    failed = [c["id"] for c in checks if not c["passed"] and not c["message"].startswith("skipped: ")]
    assert shown[:len(failed)] == failed
    assert sorted(shown) == sorted(c["id"] for c in checks)
    for check in checks:
        if not check["passed"]:
            item = chromium.find(f"li[data-check='{check['id']}'] pre")
            assert chromium.text(item) == check["message"].strip()


def test_the_class_report_survives_a_student_named_report(batch) -> None:
    out, _ = batch
    assert "<title>socklab class report</title>" in (out / "report.html").read_text()
    assert f"<title>{REPORT}: socklab feedback</title>" in (out / "report-2.html").read_text()
    assert not list(out.glob("*.part"))
