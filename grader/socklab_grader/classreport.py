"""The class report of a batch (OUTDIR/report.html) and each student's page (OUTDIR/NAME.html).

Static HTML with its style and a little script inline: it opens from disk, with no network.
Per lab: the distribution of scores (an SVG histogram, the median and the mean), then each
check's pass rate across the class grouped by the concept it teaches, worst first. Then a
table of students, sortable and filtered as you type, each linking to the student's own page:
their feedback as grader/grade gives it, failed checks first.

Labs that are missing or did not compile are counted as such, beside the histogram; they are
neither plotted nor counted in the median or the mean as zeros.
"""

from __future__ import annotations

import html
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from . import concepts
from .model import CheckResult, LabResult, SubmissionResult

BINS = 10
CLASS_PAGE = "report.html"
STATUS_WORDS = {"missing": "missing", "build_failed": "did not compile"}

esc = html.escape


def _points(x: float) -> str:
    return f"{x:g}"


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%"


@dataclass
class CheckStats:
    id: str
    name: str
    concept: str
    passed: int = 0
    ran: int = 0          # graded labs where the check was not skipped
    skipped: int = 0
    flaky: int = 0

    @property
    def rate(self) -> float:
        """The share of the class that passed; a check nobody could run sorts last."""
        return self.passed / self.ran if self.ran else 2.0

    def add(self, check: CheckResult) -> None:
        if check.skipped:
            self.skipped += 1
            return
        self.ran += 1
        self.passed += check.passed
        self.flaky += check.flaky


@dataclass
class LabStats:
    lab: str
    max_score: float
    scores: list[float] = field(default_factory=list)
    missing: int = 0
    build_failed: int = 0
    checks: dict[str, CheckStats] = field(default_factory=dict)

    def add(self, lab: LabResult) -> None:
        if lab.status == "missing":
            self.missing += 1
            return
        if lab.status == "build_failed":
            self.build_failed += 1
            return
        self.scores.append(lab.score)
        for check in lab.checks:
            if check.id not in self.checks:
                self.checks[check.id] = CheckStats(check.id, check.name,
                                                   concepts.concept_of(lab.lab, check.id))
            self.checks[check.id].add(check)

    def histogram(self) -> list[int]:
        """How many graded scores fall in each tenth of the range; the top one holds the
        full score."""
        counts = [0] * BINS
        for score in self.scores:
            counts[min(int(score * BINS / self.max_score), BINS - 1)] += 1
        return counts

    def by_concept(self) -> list[tuple[str, list[CheckStats]]]:
        """Concepts, the least passed first, each with its checks, the least passed first."""
        groups: dict[str, list[CheckStats]] = {}
        for stats in self.checks.values():
            groups.setdefault(stats.concept, []).append(stats)
        for members in groups.values():
            members.sort(key=lambda s: (s.rate, s.name))
        return sorted(groups.items(), key=lambda kv: (_group_rate(kv[1]), kv[0]))


def _group_rate(members: list[CheckStats]) -> float:
    ran = sum(s.ran for s in members)
    return sum(s.passed for s in members) / ran if ran else 2.0


def lab_stats(results: Sequence[SubmissionResult]) -> list[LabStats]:
    stats: dict[str, LabStats] = {}
    for result in results:
        for lab in result.labs:
            stats.setdefault(lab.lab, LabStats(lab.lab, lab.max_score)).add(lab)
    return [stats[name] for name in sorted(stats)]


def page_names(results: Sequence[SubmissionResult]) -> dict[str, str]:
    """Each submission's page, NAME.html; a name that would overwrite the class report or
    another page gets a number."""
    taken = {CLASS_PAGE}
    pages: dict[str, str] = {}
    for result in results:
        stem, n = result.submission, 1
        while f"{stem}.html" in taken:
            n += 1
            stem = f"{result.submission}-{n}"
        taken.add(f"{stem}.html")
        pages[result.submission] = f"{stem}.html"
    return pages


def write(results: Sequence[SubmissionResult], outdir: Path) -> None:
    """The class report and every student's page, each written whole or not at all."""
    pages = page_names(results)
    for result in results:
        _write_atomically(outdir / pages[result.submission], student_html(result))
    _write_atomically(outdir / CLASS_PAGE, class_html(results, pages))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; padding: 0 1em;
       color: #222; }
h1 { margin-bottom: .2em; } h2 { margin-top: 2em; border-bottom: 2px solid #ddd; }
table { border-collapse: collapse; } td, th { padding: .25em .6em; text-align: left; }
tbody tr:nth-child(even) { background: #f7f7f7; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
.summary { display: flex; gap: 2em; align-items: flex-end; flex-wrap: wrap; }
.facts div { margin: .2em 0; } .facts b { display: inline-block; min-width: 7em; }
svg text { font: 11px system-ui, sans-serif; fill: #444; }
svg rect { fill: #4a7bd0; }
details.concept { margin: .3em 0; max-width: 64em; }
details.concept summary { background: #eef; padding: .3em .6em; cursor: pointer; }
.concept-name { display: inline-block; width: 26em; font-weight: bold; }
summary .rate { display: inline-block; min-width: 3.5em; text-align: right; font-weight: bold; }
.detail { color: #666; font-size: .9em; }
table.checks { width: 100%; table-layout: fixed; }
table.checks td:first-child { width: 60%; padding-left: 1.6em; } table.checks td:nth-child(2) { width: 4.5em; }
.bar { display: inline-block; width: 8em; height: .8em; background: #f1d0d0; vertical-align: middle; }
.bar span { display: block; height: 100%; background: #5aa35a; }
.flaky, .skipped { color: #a60; font-size: .9em; }
#students th[data-key] { cursor: pointer; user-select: none; }
#students th[aria-sort=ascending]::after { content: " ▲"; }
#students th[aria-sort=descending]::after { content: " ▼"; }
td.full { background: #dfd; } td.part { background: #ffd; } td.zero { background: #fdd; }
td.missing, td.build_failed { background: #eee; color: #666; font-style: italic; }
#filter { font-size: 1em; padding: .3em; margin: .5em 0; width: 20em; }
li.fail { color: #a00; } li.pass { color: #270; } li.skipped { color: #a60; }
pre { background: #f6f6f6; padding: .6em; white-space: pre-wrap; color: #222; }
"""

# Sorting and filtering the table of students. A cell sorts by its data-sort value (a lab
# not graded sorts below every score); a click on the same header again reverses the order.
SCRIPT = """
const table = document.getElementById('students');
const body = table.tBodies[0];
table.querySelectorAll('th[data-key]').forEach((th, column) => {
  th.addEventListener('click', () => {
    const current = th.getAttribute('aria-sort');
    const descending = current ? current === 'ascending' : th.dataset.key !== 'name';
    table.querySelectorAll('th[data-key]').forEach(other => other.removeAttribute('aria-sort'));
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    const value = row => row.cells[column].dataset.sort;
    const rows = Array.from(body.rows).sort((a, b) => {
      const order = th.dataset.key === 'name' ? value(a).localeCompare(value(b))
                                              : Number(value(a)) - Number(value(b));
      return descending ? -order : order;
    });
    rows.forEach(row => body.appendChild(row));
  });
});
const filter = document.getElementById('filter');
const shown = document.getElementById('shown');
filter.addEventListener('input', () => {
  const wanted = filter.value.trim().toLowerCase();
  let count = 0;
  for (const row of body.rows) {
    row.hidden = !row.dataset.student.toLowerCase().includes(wanted);
    count += !row.hidden;
  }
  shown.textContent = count;
});
"""


def class_html(results: Sequence[SubmissionResult], pages: dict[str, str] | None = None) -> str:
    pages = pages or page_names(results)
    stats = lab_stats(results)
    sections = "\n".join(_lab_section(s) for s in stats)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>socklab class report</title><style>{STYLE}</style></head><body>
<h1>socklab class report</h1>
<p>{len(results)} submission{'s' if len(results) != 1 else ''}; labs:
{', '.join(f'<a href="#lab-{esc(s.lab)}">{esc(s.lab)}</a>' for s in stats)};
<a href="#students-section">students</a>.</p>
{sections}
{_students_section(results, [s.lab for s in stats], pages)}
<script>{SCRIPT}</script>
</body></html>
"""


def _lab_section(stats: LabStats) -> str:
    graded = len(stats.scores)
    median = _points(round(statistics.median(stats.scores), 2)) if graded else "–"
    mean = _points(round(statistics.fmean(stats.scores), 2)) if graded else "–"
    return f"""<section class="lab" id="lab-{esc(stats.lab)}" data-lab="{esc(stats.lab)}">
<h2>{esc(stats.lab)}</h2>
<div class="summary">
{_histogram(stats)}
<div class="facts">
<div><b>graded</b> <span class="graded">{graded}</span></div>
<div><b>median</b> <span class="median">{median}</span> / {_points(stats.max_score)}</div>
<div><b>mean</b> <span class="mean">{mean}</span> / {_points(stats.max_score)}</div>
<div><b>missing</b> <span class="missing">{stats.missing}</span></div>
<div><b>did not compile</b> <span class="build-failed">{stats.build_failed}</span></div>
</div></div>
<h3>Pass rate of each check, by concept (least passed first; a concept the whole class passed is folded)</h3>
{_concept_table(stats)}
</section>"""


def _histogram(stats: LabStats) -> str:
    """Bars of the score distribution, with their counts above and their ranges below."""
    counts = stats.histogram()
    width, gap, height, top = 34, 4, 110, 16
    tallest = max(counts) or 1
    step = stats.max_score / BINS
    parts = []
    for i, count in enumerate(counts):
        x = 30 + i * (width + gap)
        bar = round(height * count / tallest)
        y = top + height - bar
        low, high = _points(i * step), _points((i + 1) * step)
        label = f"{low}–{high}" if i < BINS - 1 else f"{low}–{high} (incl.)"
        parts.append(
            f'<rect class="bin" x="{x}" y="{y}" width="{width}" height="{bar}" '
            f'data-bin="{i}" data-count="{count}"><title>{count} with {label}</title></rect>'
            f'<text x="{x + width / 2}" y="{y - 3}" text-anchor="middle">{count or ""}</text>'
            f'<text x="{x}" y="{top + height + 14}" text-anchor="middle">{low}</text>')
    end = 30 + BINS * (width + gap) - gap
    parts.append(f'<text x="{end}" y="{top + height + 14}" text-anchor="middle">'
                 f'{_points(stats.max_score)}</text>')
    parts.append(f'<line x1="26" x2="{end + 4}" y1="{top + height}" y2="{top + height}" '
                 f'stroke="#888"/>')
    return (f'<svg class="histogram" role="img" width="{end + 20}" height="{top + height + 22}" '
            f'aria-label="scores of {esc(stats.lab)}">{"".join(parts)}</svg>')


def _concept_table(stats: LabStats) -> str:
    """A fold per concept, its pass rate on the fold's line: open where someone failed a
    check, closed where the whole class passed every one (a click shows them)."""
    if not stats.checks:
        return "<p>No submission was graded in this lab.</p>"
    folds = []
    for concept, members in stats.by_concept():
        ran = sum(s.ran for s in members)
        passed = sum(s.passed for s in members)
        rate = _percent(passed, ran) if ran else "skipped"
        is_open = " open" if passed < ran else ""
        rows = "\n".join(_check_row(s) for s in members)
        folds.append(
            f'<details class="concept" data-concept="{esc(concept)}"{is_open}>'
            f'<summary><span class="concept-name">{esc(concept)}</span> '
            f'<span class="rate">{rate}</span> {_bar(passed, ran)} '
            f'<span class="detail">{len(members)} check{"s" if len(members) != 1 else ""}'
            f'</span></summary>\n<table class="checks"><tbody>\n{rows}\n</tbody></table></details>')
    return "\n".join(folds)


def _bar(passed: int, ran: int) -> str:
    width = round(100 * passed / ran) if ran else 0
    return f'<span class="bar"><span style="width:{width}%"></span></span>'


def _check_row(s: CheckStats) -> str:
    if not s.ran:
        return (f'<tr class="check" data-check="{esc(s.id)}"><td>{esc(s.name)}</td>'
                f'<td class="rate num">skipped</td><td class="skipped">could not run on this '
                f'machine ({s.skipped})</td></tr>')
    notes = f' <span class="flaky">{s.flaky} flaky</span>' if s.flaky else ""
    if s.skipped:
        notes += f' <span class="skipped">{s.skipped} skipped</span>'
    return (f'<tr class="check" data-check="{esc(s.id)}"><td>{esc(s.name)}</td>'
            f'<td class="rate num">{_percent(s.passed, s.ran)}</td>'
            f'<td>{_bar(s.passed, s.ran)} {s.passed} of {s.ran}{notes}</td></tr>')


def _students_section(results: Sequence[SubmissionResult], lab_names: list[str],
                      pages: dict[str, str]) -> str:
    head = "".join(f'<th data-key="{esc(name)}" class="num">{esc(name)}</th>' for name in lab_names)
    rows = []
    for r in results:
        by_lab = {lab.lab: lab for lab in r.labs}
        cells = "".join(_lab_cell(by_lab.get(name)) for name in lab_names)
        rows.append(f'<tr data-student="{esc(r.submission)}">'
                    f'<td data-sort="{esc(r.submission)}"><a href="{esc(quote(pages[r.submission]))}">'
                    f'{esc(r.submission)}</a></td>'
                    f'<td class="total num" data-sort="{r.score}">{_points(r.score)}</td>{cells}</tr>')
    return f"""<section id="students-section"><h2>Students</h2>
<input id="filter" type="search" placeholder="filter by name" aria-label="filter by name">
<span class="count">showing <span id="shown">{len(results)}</span> of {len(results)}</span>
<table id="students"><thead><tr><th data-key="name">student</th>
<th data-key="total" class="num">total</th>{head}</tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table></section>"""


def _lab_cell(lab: LabResult | None) -> str:
    if lab is None:
        return '<td data-sort="-3"></td>'
    if lab.status != "graded":
        rank = -2 if lab.status == "missing" else -1
        return (f'<td class="{esc(lab.status)} num" data-lab="{esc(lab.lab)}" data-sort="{rank}">'
                f'{esc(STATUS_WORDS.get(lab.status, lab.status))}</td>')
    kind = "full" if lab.score >= lab.max_score else ("part" if lab.score > 0 else "zero")
    return (f'<td class="{kind} num" data-lab="{esc(lab.lab)}" data-sort="{lab.score}">'
            f'{_points(lab.score)}</td>')


def student_html(result: SubmissionResult) -> str:
    """One student's feedback: per lab its score, then its failed checks with their
    messages in full, then the checks that could not run, then those passed."""
    labs = "\n".join(_student_lab(lab) for lab in result.labs)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(result.submission)}: socklab feedback</title><style>{STYLE}</style></head><body>
<p><a href="{CLASS_PAGE}">← class report</a></p>
<h1>{esc(result.submission)}: <span class="score">{_points(result.score)}</span>
/ {_points(result.max_score)}</h1>
{_student_summary(result)}
{labs}
</body></html>
"""


def _student_summary(result: SubmissionResult) -> str:
    """A line per lab: its score, or why it was not graded; each links to its section."""
    rows = []
    for lab in result.labs:
        failed = sum(not c.passed and not c.skipped for c in lab.checks)
        state = (STATUS_WORDS.get(lab.status, lab.status) if lab.status != "graded"
                 else f"{failed} check{'s' if failed != 1 else ''} failed" if failed else "all passed")
        rows.append(f'<tr><td><a href="#lab-{esc(lab.lab)}">{esc(lab.lab)}</a></td>'
                    f'<td class="num">{_points(lab.score)} / {_points(lab.max_score)}</td>'
                    f'<td>{esc(state)}</td></tr>')
    return f'<table class="labs"><tbody>{"".join(rows)}</tbody></table>'


def _student_lab(lab: LabResult) -> str:
    status = "" if lab.status == "graded" else f" ({STATUS_WORDS.get(lab.status, lab.status)})"
    out = [f'<section class="lab" id="lab-{esc(lab.lab)}" data-lab="{esc(lab.lab)}" '
           f'data-status="{esc(lab.status)}">',
           f'<h2>{esc(lab.lab)}: <span class="score">{_points(lab.score)}</span> / '
           f'{_points(lab.max_score)}{esc(status)}</h2>']
    if lab.status == "missing":
        out.append("<p>No student files for this lab were found in the submission.</p>")
    elif lab.status == "build_failed":
        out.append("<p>Your files did not compile (with -Wall -Wextra -Werror):</p>"
                   f"<pre>{esc(lab.build_log or '(no output)')}</pre>")
    failed = [c for c in lab.checks if not c.passed and not c.skipped]
    skipped = [c for c in lab.checks if c.skipped]
    passed = [c for c in lab.checks if c.passed]
    for title, kind, members in (("Failed", "fail", failed), ("Could not run here", "skipped", skipped),
                                 ("Passed", "pass", passed)):
        if members:
            out.append(f"<h3>{title} ({len(members)})</h3><ul>")
            out += [_student_check(c, kind) for c in members]
            out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _student_check(check: CheckResult, kind: str) -> str:
    mark = {"fail": "✗", "skipped": "–", "pass": "✓"}[kind]
    body = "" if kind == "pass" and not check.flaky else f"<pre>{esc(check.message)}</pre>"
    return (f'<li class="{kind}" data-check="{esc(check.id)}">{mark} {esc(check.name)} '
            f'<small>{_points(check.points)}/{_points(check.max_points)}</small>{body}</li>')
