"""socklab's speed, in one table: make test and make grade per lab, a whole submission, a
batch with -j1 and -j2, and the reference servers' throughput against socat.

    bench/run [--runs N] [--batch N] [--batch-lab LAB] [--mib N] [--only PART ...]

Every figure is a median of N runs (default 5) measured in this run, on the reference
solutions. Each ratio compares two things measured the same way in the same run: the batch
with -j2 against the same batch with -j1, each server against a socat echo (`socat
TCP-LISTEN:PORT,fork PIPE`, its default block size: larger ones deadlock its pipe) driven by the
same client. `make grade` is timed after one
warm-up run, which fills the machine's cache of trusted objects (its time is shown too).
Speed is measured here, never asserted in a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
GRADE = REPO / "grader" / "grade"
TARGETS = {"make grade": 3.0, "make test": 1.0, "submission": 10.0}
PARTS = ("test", "grade", "submission", "batch", "throughput")
CHUNK = 256 << 10
READY_S = 10.0
ECHO_S = 60.0        # no send or recv of the echo may wait longer (a stuck server fails the run)


def labs() -> list[str]:
    return sorted(p.parent.name for p in (REPO / "labs").glob("[0-9]*/Makefile"))


def student_files(lab: str) -> list[str]:
    text = (REPO / "labs" / lab / "Makefile").read_text()
    return re.search(r"^STUDENT\s*:=\s*(.*)$", text, re.M).group(1).split()


def timed(argv: list[str], cwd: Path | None = None) -> float:
    """Seconds one command takes; it must succeed."""
    start = time.monotonic()
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, argv))} failed:\n{done.stderr[-2000:]}")
    return seconds


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def lab_copy(work: Path, lab: str) -> Path:
    """A private tree in which the lab's student files are the reference solution's."""
    root = work / f"tree-{lab}"
    if not root.exists():
        for part in ("mk", "grader"):
            shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
        for part in ("common", lab):
            shutil.copytree(REPO / "labs" / part, root / "labs" / part,
                            ignore=shutil.ignore_patterns("build"))
        for rel in student_files(lab):
            shutil.copy(REPO / "solutions" / lab / rel, root / "labs" / lab / rel)
    return root / "labs" / lab


# --- the parts ---------------------------------------------------------------------------

def bench_make_test(work: Path, runs: int) -> list[tuple[str, str, str]]:
    rows = []
    for lab in labs():
        lab_dir = lab_copy(work, lab)
        timed(["make", "-s", "tests"], lab_dir)
        seconds = median_of(runs, lambda: timed(["make", "-s", "test"], lab_dir))
        rows.append((f"make test {lab}", f"{seconds:.2f} s", verdict(seconds, "make test")))
    return rows


def bench_make_grade(work: Path, runs: int) -> list[tuple[str, str, str]]:
    rows = []
    for lab in labs():
        lab_dir = lab_copy(work, lab)
        first = timed(["make", "-s", "grade"], lab_dir)
        seconds = median_of(runs, lambda: timed(["make", "-s", "grade"], lab_dir))
        rows.append((f"make grade {lab}", f"{seconds:.2f} s (first run {first:.2f} s)",
                     verdict(seconds, "make grade")))
    return rows


def bench_submission(runs: int) -> list[tuple[str, str, str]]:
    seconds = median_of(runs, lambda: timed([str(GRADE), str(REPO / "solutions")]))
    return [(f"a whole submission ({len(labs())} labs)", f"{seconds:.2f} s",
             verdict(seconds, "submission"))]


def bench_batch(work: Path, count: int, lab: str) -> list[tuple[str, str, str]]:
    root = work / "batch"
    for i in range(count):
        shutil.copytree(REPO / "solutions" / lab, root / f"student{i:02}" / lab,
                        dirs_exist_ok=True)
    seconds = {}
    for jobs in (1, 2):
        out = work / f"batch-out-{jobs}"
        seconds[jobs] = timed([str(GRADE), "--batch", str(root), "--lab", lab, "-j", str(jobs),
                               "-o", str(out)])
    ratio = seconds[1] / seconds[2]
    return [(f"batch of {count} ({lab}) -j1", f"{seconds[1]:.1f} s", ""),
            (f"batch of {count} ({lab}) -j2", f"{seconds[2]:.1f} s",
             f"{ratio:.2f}x -j1 ({'met' if ratio >= 1.8 else 'NOT met'}: target 1.8x)")]


def bench_throughput(mib: int, runs: int) -> list[tuple[str, str, str]]:
    for lab in ("03_tcp", "04_sticky_packets"):
        timed(["make", "-s", "-C", str(REPO / "labs" / lab), "SOLUTION=1", "all"])
    bin_03 = REPO / "labs" / "03_tcp" / "build" / "solution"
    bin_04 = REPO / "labs" / "04_sticky_packets" / "build" / "solution"
    stream = bytes(range(256)) * (CHUNK // 256)
    payload = stream * 4                                  # 1 MiB a frame
    framed = struct.pack(">I", len(payload)) + payload
    rows = []
    for name, server, unit, count in (
            ("tcp_echo_server", [str(bin_03 / "tcp_echo_server"), "0"], stream, mib * 4),
            ("frame_echo_server", [str(bin_04 / "frame_echo_server"), "0"], framed, mib)):
        ours = median_of(runs, lambda: echo_rate(start_ours(server), unit, count))
        socat = median_of(runs, lambda: echo_rate(start_socat(), unit, count))
        ratio = ours / socat
        rows.append((f"{name} ({mib} MiB echoed)", f"{ours:.0f} MiB/s, socat {socat:.0f} MiB/s",
                     f"{ratio:.2f}x socat ({'met' if ratio >= 1.0 else 'NOT met'}: target 1.0x)"))
    return rows


# --- throughput helpers ------------------------------------------------------------------

def start_ours(argv: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    """A reference server on port 0, and the port its `listening on` line gives."""
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    assert server.stdout is not None
    line = server.stdout.readline().decode()
    match = re.search(r"listening on [\d.]+:(\d+)", line)
    if not match:
        server.kill()
        sys.exit(f"bench: {argv[0]} printed {line!r}, not its port")
    return server, int(match.group(1))


def start_socat() -> tuple[subprocess.Popen[bytes], int]:
    """socat echoing on a free port, once it listens (read from /proc/net/tcp: no probe
    connection, no pause)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["socat", f"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork",
                               "PIPE"], stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + READY_S
    listening = f"0100007F:{port:04X} 00000000:0000 0A"
    while listening not in Path("/proc/net/tcp").read_text():
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            sys.exit(f"bench: socat did not listen on port {port}")
        time.sleep(0.005)   # polling the kernel's table for an event, with a deadline
    return server, port


def echo_rate(started: tuple[subprocess.Popen[bytes], int], unit: bytes, count: int) -> float:
    """MiB/s of `count` copies of unit sent to the server and read back, at the same time."""
    server, port = started
    total = len(unit) * count
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=ECHO_S) as conn:
            def send() -> None:
                for _ in range(count):
                    conn.sendall(unit)
                conn.shutdown(socket.SHUT_WR)
            start = time.monotonic()
            writer = threading.Thread(target=send)
            writer.start()
            received = 0
            while received < total:
                data = conn.recv(CHUNK)
                if not data:
                    break
                received += len(data)
            seconds = time.monotonic() - start
            writer.join()
        if received != total:
            sys.exit(f"bench: {received} of {total} bytes came back")
        return total / (1 << 20) / seconds
    finally:
        os.killpg(server.pid, 9)
        server.wait()


def verdict(seconds: float, what: str) -> str:
    target = TARGETS[what]
    return f"{'met' if seconds < target else 'NOT met'}: target < {target:g} s"


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per median (default 5)")
    parser.add_argument("--batch", type=int, default=20, help="submissions in the batch")
    parser.add_argument("--batch-lab", default="03_tcp", help="the lab the batch grades")
    parser.add_argument("--mib", type=int, default=256, help="MiB each server echoes")
    parser.add_argument("--only", choices=PARTS, action="append", help="measure only this")
    args = parser.parse_args()
    chosen = args.only or PARTS
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="socklab-bench-") as tmp:
        work = Path(tmp)
        if "test" in chosen:
            rows += bench_make_test(work, args.runs)
        if "grade" in chosen:
            rows += bench_make_grade(work, args.runs)
        if "submission" in chosen:
            rows += bench_submission(args.runs)
        if "batch" in chosen:
            rows += bench_batch(work, args.batch, args.batch_lab)
        if "throughput" in chosen:
            rows += bench_throughput(args.mib, args.runs)
    print(f"socklab bench, {os.cpu_count()} cores, median of {args.runs} "
          f"({time.strftime('%Y-%m-%d %H:%M')})")
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
