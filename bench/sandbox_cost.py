#!/usr/bin/python3
"""What confining student code costs: one program started under bubblewrap against the same
program started plainly, and one lab's build confined against the same build plain, both
measured in this run on this machine (issue 10).

    bench/sandbox_cost.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "grader"))

from socklab_grader import confine  # noqa: E402


def _seconds(argv: list[str], runs: int, cwd: Path | None = None) -> float:
    """The median wall time of argv over runs."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=cwd)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]


def _lab_copy(root: Path) -> Path:
    shutil.copytree(REPO / "mk", root / "mk")
    shutil.copytree(REPO / "labs" / "common", root / "labs" / "common")
    lab = root / "labs" / "03_tcp"
    shutil.copytree(REPO / "labs" / "03_tcp", lab, ignore=shutil.ignore_patterns("build"))
    shutil.copy(REPO / "solutions" / "03_tcp" / "src" / "tcp.c", lab / "src" / "tcp.c")
    return lab


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    jail = confine.probe()
    if not jail.confined:
        print(f"no sandbox here: {jail.reason}")
        return 1
    program = ["/usr/bin/true"]
    plain = _seconds(program, args.runs)
    confined = _seconds(jail.wrap(program), args.runs)
    print(f"one program:  plain {plain * 1000:6.1f} ms   confined {confined * 1000:6.1f} ms"
          f"   +{(confined - plain) * 1000:.1f} ms ({confined / plain:.1f}x)")
    builds = max(3, args.runs // 5)
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        lab = _lab_copy(Path(tmp))
        make = ["make", "-C", str(lab), "-s", "-j2", "all", "tests"]
        clean = ["make", "-C", str(lab), "-s", "clean"]
        times = {}
        for kind, argv in (("plain", make),
                           ("confined", jail.wrap(make, writable=[Path(tmp)], own_pids=True))):
            samples = []
            for _ in range(builds):
                subprocess.run(clean, check=True, capture_output=True)
                if kind == "confined":
                    confine.give(jail, Path(tmp))    # as root, the build runs as nobody
                samples.append(_seconds(argv, 1))
            times[kind] = sorted(samples)[len(samples) // 2]
    print(f"lab 03 build: plain {times['plain']:6.2f} s    confined {times['confined']:6.2f} s"
          f"    +{times['confined'] - times['plain']:.2f} s "
          f"({times['confined'] / times['plain']:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
