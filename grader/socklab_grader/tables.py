"""The points table of each lab's walkthrough, generated from the grader's own checks.

Each labs/NN_name/README.md (and README.zh-CN.md, where there is one) holds its table between
the two marker lines below; `make tables` rewrites it there, and the grader's tests fail when
a README's table differs from what the grader really scores.

    python3 -m socklab_grader.tables           rewrite every lab README's table
    python3 -m socklab_grader.tables --check   exit 1 naming each README that is out of date
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from . import checks, labs

BEGIN = "<!-- points table: generated from the grader by `make tables`; do not edit by hand -->"
END = "<!-- end of points table -->"


def _points(x: float) -> str:
    return f"{x:g}"


def render(lab: labs.Lab) -> str:
    """The table: one row per wire check, one per suite of Criterion tests, the total."""
    rows = ["| check | what it grades | points |", "|---|---|---|"]
    wire = checks.load(lab.name).checks
    for check in wire:
        lan = "; needs the test LAN" if check.lan else ""
        name = check.name.replace("|", "\\|")    # a | would end the cell
        rows.append(f"| `{check.slug}` | {name}{lan} | {_points(check.points)} |")
    total = sum(check.points for check in wire)
    per_suite = Counter(suite for suite, _ in lab.api_tests())
    for suite, count in per_suite.items():
        worth = lab.api_worth(suite)
        rows.append(f"| `api.{suite}` | {count} Criterion test{'s' if count != 1 else ''} of "
                    f"`{suite}` in `tests/`, {_points(worth)} each | {_points(count * worth)} |")
        total += count * worth
    rows.append(f"| | **total** | **{_points(total)}** |")
    return "\n".join(rows)


def with_table(readme: str, lab: labs.Lab) -> str:
    """The README's text with its table brought up to date; ValueError without markers."""
    start = readme.find(BEGIN)
    end = readme.find(END, start) if start >= 0 else -1
    if end < 0:
        raise ValueError(f"no points table markers ({BEGIN!r} ... {END!r})")
    return f"{readme[:start]}{BEGIN}\n{render(lab)}\n{readme[end:]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="socklab_grader.tables")
    parser.add_argument("--check", action="store_true", help="only say which tables are stale")
    args = parser.parse_args(argv)
    stale = []
    for lab in labs.available():
        for readme in readmes(lab):
            if _update(readme, lab, args.check):
                stale.append(readme)
    for readme in stale:
        print(f"tables: {readme}: {'out of date' if args.check else 'rewritten'}", file=sys.stderr)
    return 1 if args.check and stale else 0


def readmes(lab: labs.Lab) -> list[Path]:
    """The lab's walkthrough, and its translation when there is one."""
    return [p for p in (lab.trusted_dir / "README.md", lab.trusted_dir / "README.zh-CN.md")
            if p.name == "README.md" or p.exists()]


def _update(readme: Path, lab: labs.Lab, check_only: bool) -> bool:
    """Whether readme's table was out of date (and, unless check_only, rewrite it)."""
    try:
        text = readme.read_text(encoding="utf-8")
        updated = with_table(text, lab)
    except (OSError, ValueError) as err:
        raise SystemExit(f"tables: {readme}: {err}") from err
    if updated != text and not check_only:
        readme.write_text(updated, encoding="utf-8")
    return updated != text


if __name__ == "__main__":
    sys.exit(main())
