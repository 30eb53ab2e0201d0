"""The grader's parts on their own: the runner, the Criterion report reader, the peers, the
reports, and the fallback where network namespaces are not available."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conftest import LAB_IDS, LABS, REPO, grade_json

from socklab_grader import api, build, checks, concepts, peers, pipeline, report, runner, sandbox
from socklab_grader.checks import ShortIO
from socklab_grader.describe import show_bytes
from socklab_grader.model import PlannedCheck, SubmissionResult


# --- runner ----------------------------------------------------------------------------

def test_a_program_that_hangs_is_stopped_with_its_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    # The shell starts a child that ignores SIGTERM; both must be gone after stop().
    script = f"trap '' TERM; sleep 300 & echo $! > {pidfile}; echo ready; wait"
    prog = runner.Program(["sh", "-c", script])
    assert prog.wait_for_line("^ready$", 10)
    ended = prog.wait(0.2)
    assert ended.killed_by_us
    assert _ends_within(int(pidfile.read_text()), 5.0)


def _ends_within(pid: int, timeout: float) -> bool:
    """Whether process pid (not our child) has ended, or ends within timeout: SIGKILL is
    delivered at once, but the process still has to be scheduled to die."""
    import select
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([pidfd], [], [], timeout)[0])   # readable once it exited
    finally:
        os.close(pidfd)


def test_a_crash_is_reported_with_its_signal() -> None:
    ended, _, _ = runner.run(["sh", "-c", "kill -SEGV $$"], timeout=10)
    assert ended.signal == signal.SIGSEGV and ended.code == 128 + signal.SIGSEGV
    assert "SIGSEGV" in ended.describe()


def test_readiness_is_a_printed_line_and_a_silent_program_gives_none() -> None:
    with runner.Program(["sh", "-c", "echo 'bound to 127.0.0.1:4242'; exec cat"], keep_stdin_open=True) as prog:
        match = prog.wait_for_line(r"^bound to ([\d.]+):(\d+)$", 10)
        assert match and match.group(2) == b"4242"
    with runner.Program(["sh", "-c", "exit 0"]) as prog:
        assert prog.wait_for_line("^bound to", 10) is None


def test_output_is_capped() -> None:
    ended, out, _ = runner.run(["head", "-c", str(runner.OUTPUT_CAP + 5000), "/dev/zero"], timeout=20)
    assert ended.code == 0
    assert "5000 more bytes not kept" in out


def test_resource_limits_apply_to_student_programs() -> None:
    ended, out, _ = runner.run(["sh", "-c", "ulimit -t; ulimit -n"], timeout=10)
    assert out.split() == [str(runner.CPU_SECONDS), str(runner.OPEN_FILES)]


# --- Criterion reports -----------------------------------------------------------------

# Messages as a test reports them, student bytes included: quotes, backslashes, the
# report's own punctuation, control bytes, invalid UTF-8, a line break.
NASTY_TESTS = r"""
#include <criterion/criterion.h>
#include <unistd.h>
Test(nasty, quotes) { cr_assert(0, "got \"a\\b\" and \\x00 and ],"); }
Test(nasty, structure) { cr_assert(0, "\"messages\": [\n  ],\n\"x\""); }
Test(nasty, bytes) { cr_assert(0, "tab\there \x01\x7f \xff\xfe end\""); }
Test(nasty, passes) { usleep(120 * 1000); cr_assert(1); }
Test(nasty, crashes) { int *volatile p = NULL; *p = 1; }
"""


@pytest.fixture(scope="module")
def nasty_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """A real Criterion 2.4 program's JSON and TAP reports of the tests above."""
    tmp = tmp_path_factory.mktemp("nasty")
    (tmp / "nasty.c").write_text(NASTY_TESTS)
    subprocess.run(["cc", "-o", tmp / "nasty", tmp / "nasty.c", "-lcriterion"], check=True,
                   timeout=120)
    subprocess.run([tmp / "nasty", f"--json={tmp / 'r.json'}", f"--tap={tmp / 'r.tap'}"],
                   capture_output=True, timeout=60)
    return (api.parse_report((tmp / "r.json").read_bytes()),
            api.parse_tap_durations((tmp / "r.tap").read_bytes()))


def test_an_unescaped_criterion_report_is_read_whatever_its_messages_hold(nasty_report) -> None:
    outcomes, _ = nasty_report
    nasty_source = outcomes["nasty::structure"].messages[0].split(":")[0]
    assert nasty_source.endswith("nasty.c")
    assert outcomes["nasty::passes"].status == "PASSED"
    assert outcomes["nasty::crashes"].status == "ERRORED"
    assert outcomes["nasty::quotes"].messages[0].endswith('got "a\\b" and \\x00 and ],')
    assert [m.strip() for m in outcomes["nasty::structure"].messages] == [
        f'{nasty_source}:5: "messages": [', '],', '"x"']
    assert outcomes["nasty::bytes"].messages[0].endswith('tab\there \x01\x7f \ufffd\ufffd end"')


def test_api_durations_are_criterions_own_or_none(nasty_report) -> None:
    """A duration is measured (Criterion's TAP time) or reported as not measured: the test
    that crashed has none."""
    _, durations = nasty_report
    assert 0.1 <= durations["nasty::passes"] < 5
    assert "nasty::crashes" not in durations


# --- the pipeline ----------------------------------------------------------------------

def test_a_worker_that_stops_early_keeps_every_finished_check() -> None:
    """Checks the worker finished keep their result; only the others get the reason."""
    planned = [PlannedCheck.wire("01_udp_send", f"c{i}", f"check {i}", 5) for i in range(3)]
    first = planned[0].result(True, "ok", 0.25)
    other = PlannedCheck.wire("01_udp_send", "other", "x", 99).result(True, "ok", 0.1)
    output = (json.dumps(asdict(first)) + "\n" + json.dumps(asdict(other)) + "\n"
              + '{"id": "01_udp_send.c1", "name": "check 1", "poi').encode()
    results = pipeline.collect(planned, output, "not graded: the worker was stopped")
    assert [r.id for r in results] == [c.id for c in planned]
    assert results[0] == first
    assert [(r.passed, r.points, r.message, r.duration_s) for r in results[1:]] == [
        (False, 0, "not graded: the worker was stopped", None)] * 2


def test_what_the_worker_reports_cannot_change_points_names_or_crash_the_grader() -> None:
    """Points and names always come from the plan, the first line for a check counts, and a
    line of the wrong shape is passed over."""
    planned = [PlannedCheck.wire("01_udp_send", slug, slug, 5) for slug in ("a", "b", "c")]
    lines = [
        {"id": "01_udp_send.a", "name": "forged", "points": 1000, "max_points": 1000,
         "passed": False, "message": "real", "duration_s": 1},
        {"id": "01_udp_send.a", "passed": True, "message": "later", "duration_s": 1},
        {"id": ["01_udp_send.b"], "passed": True, "message": "x", "duration_s": 1},
        {"id": "01_udp_send.b", "passed": "yes", "message": "truthy", "duration_s": "slow"},
        {"id": "01_udp_send.c", "passed": True, "message": 7, "duration_s": None},
        [1, 2], "text", None,
    ]
    output = "\n".join(json.dumps(line) for line in lines).encode() + b"\n\xff\xfe\n"
    a, b, c = pipeline.collect(planned, output, "unfinished")
    assert (a.name, a.points, a.max_points, a.passed, a.message) == ("a", 0, 5, False, "real")
    assert (b.passed, b.points, b.message, b.duration_s) == (False, 0, "truthy", None)
    assert (c.passed, c.message) == (False, "unfinished")


def test_the_batch_progress_counts_every_submission_once_from_any_thread(capsys) -> None:
    from socklab_grader.progress import Progress
    progress = Progress(400)
    result = SubmissionResult("alice", [])
    threads = [threading.Thread(target=lambda: [progress.finish(result) for _ in range(50)])
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    lines = capsys.readouterr().err.splitlines()
    assert progress.done == 400
    assert sorted(int(line[1:].split("/")[0]) for line in lines) == list(range(1, 401))
    assert "\033" not in "".join(lines)     # not a terminal: plain lines only


def test_a_batch_on_a_terminal_shows_a_progress_bar(tmp_path: Path) -> None:
    """Run as an instructor would, with stderr on a terminal (a pseudo-terminal): the bar is
    drawn and redrawn under the result lines, and gives way to the summary at the end."""
    import pty
    root = tmp_path / "class"
    for name in ("alice", "bob"):
        (root / name / "01_udp_send" / "src").mkdir(parents=True)
        (root / name / "01_udp_send" / "src" / "udp_send.c").write_bytes(
            (REPO / "solutions" / "01_udp_send" / "src" / "udp_send.c").read_bytes())
    controller, terminal = pty.openpty()
    run = subprocess.Popen([sys.executable, str(REPO / "grader" / "grade"), "--batch", str(root),
                            "--lab", "01", "-j", "1", "-o", str(tmp_path / "out")],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:          # the terminal closed: the grader has exited
            break
        if not chunk:
            break
        shown += chunk
    assert run.wait(300) == 0
    os.close(controller)
    text = shown.decode()
    assert "\r\033[K[" in text and "grading alice" in text and "so far" in text
    assert "1/2  " in text and "left" in text          # an estimate once one is done
    assert "[1/2] alice: 100 / 100" in text and "[2/2] bob: 100 / 100" in text
    assert re.search(r"\r\033\[Kgraded 2 of 2 in \d+:\d\d\r?\n", text)


# --- peers and words -------------------------------------------------------------------

def test_peers_never_use_a_port_whose_bytes_are_equal() -> None:
    for _ in range(50):
        with peers.UdpPeer(listen_swapped=True) as peer:
            assert not peers.symmetric(peer.port)
            assert peer.sockets[1].getsockname()[1] == peers.swapped(peer.port)
    assert peers.swapped(8000) == 16415


def test_a_peer_stops_waiting_when_the_sender_exits() -> None:
    with peers.UdpPeer() as peer, runner.Program(["true"]) as prog:
        started = time.monotonic()
        assert peer.wait_for(1, 30, sender=prog) == []
        assert time.monotonic() - started < 20


# --- the short-I/O shim ------------------------------------------------------------------

# Run under the shim: the byte counts the C library's send/recv/write/read really moved.
SHIM_PROBE = """
import json, os, socket
a, b = socket.socketpair()                     # a stream socket: capped
sent = [a.send(bytes(1000)) for _ in range(20)]
got = len(b.recv(1000))
peeked = len(b.recv(1000, socket.MSG_PEEK))    # a peek shows what has arrived: never capped
gathered = [a.sendmsg([bytes(5), bytes(600)]), os.writev(a.fileno(), [bytes(3), bytes(600)])]
scattered = [len(b.recvmsg(1000)[0]), os.readv(b.fileno(), [bytearray(2), bytearray(600)])]
u1, u2 = socket.socket(type=socket.SOCK_DGRAM), socket.socket(type=socket.SOCK_DGRAM)
u2.bind(("127.0.0.1", 0))
udp = u1.sendto(bytes(1000), u2.getsockname())  # a datagram: never cut
r, w = os.pipe()
pipe = os.write(w, bytes(1000))                 # not a socket: never cut
print(json.dumps({"sent": sent, "got": got, "udp": udp, "pipe": pipe, "gathered": gathered,
                  "scattered": scattered, "peeked": peeked}))
"""


@pytest.fixture(scope="module")
def short_io_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    library = tmp_path_factory.mktemp("shim") / build.SHORT_IO_LIBRARY
    build.build_short_io(library)
    return library


def _under_shim(library: Path, short_io: ShortIO) -> dict:
    ended, out, err = runner.run([sys.executable, "-c", SHIM_PROBE], timeout=30,
                                 env=short_io.env(library))
    assert ended.code == 0, err
    return json.loads(out)


def test_the_shim_caps_stream_sockets_only(short_io_library: Path) -> None:
    moved = _under_shim(short_io_library, ShortIO(send=7, recv=3))
    assert moved["sent"] == [7] * 20
    assert moved["got"] == 3
    assert moved["peeked"] == 137                  # the 140 bytes sent, less the 3 taken
    assert moved["gathered"] == [7, 7]          # sendmsg and writev: the list cut to the cap
    assert moved["scattered"] == [3, 3]         # recvmsg and readv
    assert moved["udp"] == 1000 and moved["pipe"] == 1000


def test_a_seeded_shim_varies_its_caps_and_repeats_them_exactly(short_io_library: Path) -> None:
    first = _under_shim(short_io_library, ShortIO(send=512, seed=3))["sent"]
    again = _under_shim(short_io_library, ShortIO(send=512, seed=3))["sent"]
    other = _under_shim(short_io_library, ShortIO(send=512, seed=4))["sent"]
    assert first == again != other
    assert len(set(first)) > 10 and all(1 <= n <= 512 for n in first)


SHIM_REUSE_PROBE = r"""
import json, socket, sys
def sends(sock, peer, count):
    caps = []
    for _ in range(count):
        caps.append(sock.send(bytes(1000)))
        peer.recv(2000)
    return caps
a, b = socket.socketpair()
first = sends(a, b, int(sys.argv[1]))
number = a.fileno()
a.close(); b.close()
c, d = socket.socketpair()     # the lowest free numbers: a's and b's again
assert c.fileno() == number
print(json.dumps({"first": first, "next": sends(c, d, 8)}))
"""


def _reused_descriptor(library: Path, earlier_calls: int) -> dict:
    ended, out, err = runner.run([sys.executable, "-c", SHIM_REUSE_PROBE, str(earlier_calls)],
                                 timeout=30, env=ShortIO(send=512, seed=3).env(library))
    assert ended.code == 0, err
    return json.loads(out)


def test_a_reused_descriptor_starts_the_pattern_again(short_io_library: Path) -> None:
    """However many calls the connection before it took (a matter of timing in a real
    program), the next one on the same descriptor number is cut the same way."""
    after_three, after_eleven = (_reused_descriptor(short_io_library, n) for n in (3, 11))
    assert after_three["next"] == after_eleven["next"] == after_eleven["first"][:8]
    assert len(set(after_three["next"])) > 1


def test_without_the_shim_nothing_is_cut(short_io_library: Path) -> None:
    moved = _under_shim(short_io_library, ShortIO())
    assert moved["sent"] == [1000] * 20 and moved["udp"] == 1000
    assert moved["gathered"] == [605, 603]


def test_the_programs_end_of_a_connection_is_seen_until_it_goes() -> None:
    """peer_socket: its state and queues through sock_diag, the same as /proc/net/tcp shows,
    also for a dual-stack listener; None once it has gone (never the listening socket)."""
    for family, address in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::")):
        with socket.socket(family) as listener:
            listener.bind((address, 0))
            listener.listen()
            ours = socket.create_connection(("127.0.0.1", listener.getsockname()[1]))
            theirs, _ = listener.accept()
            ours.sendall(b"x" * 100)
            theirs.sendall(b"y" * 7)
            ends = peers.connection(ours)
            deadline = time.monotonic() + 5
            while peers.peer_socket(ours) != peers.PeerSocket(1, 0, 100):
                assert time.monotonic() < deadline, peers.peer_socket(ours)
                time.sleep(0.01)        # until our side has acknowledged its 7 bytes
            assert peers._from_proc_net(ends) == peers.PeerSocket(1, 0, 100)
            assert peers.unread_by_peer(ours) == 100
            theirs.shutdown(socket.SHUT_WR)
            assert ours.recv(100) == b"y" * 7 and ours.recv(1) == b""
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ours.close()                # a reset: their end goes at once
            assert peers.peer_socket(ends) is None
            theirs.close()


def test_bytes_are_shown_as_text_or_as_hex() -> None:
    assert show_bytes(b"hello") == "'hello' (5 bytes)"
    assert show_bytes(b"hi\x00").startswith("68 69 00 (3 bytes)")
    assert show_bytes("你好".encode()) == "'你好' (6 bytes)"
    assert show_bytes(bytearray(b"a line\n")) == "'a line\\n' (7 bytes)"


# --- reports ---------------------------------------------------------------------------

def test_gradescope_junit_and_csv_carry_every_check(solution_01: dict) -> None:
    result = SubmissionResult.from_json(solution_01)
    checks = [c for lab in result.labs for c in lab.checks]
    gs = json.loads(report.gradescope(result))
    assert gs["score"] == result.score
    assert {"execution_time", "output", "output_format", "stdout_visibility",
            "visibility"} <= set(gs)
    assert gs["output_format"] == "text" and gs["visibility"] == "visible"
    assert isinstance(gs["execution_time"], int) and "01_udp_send: 100 / 100" in gs["output"]
    assert len(gs["tests"]) == len(checks)
    assert {t["status"] for t in gs["tests"]} <= {"passed", "failed"}
    fields = {"name", "number", "score", "max_score", "status", "output", "output_format",
              "visibility"}
    assert all(fields <= set(t) for t in gs["tests"])
    assert sum(t["max_score"] for t in gs["tests"]) == result.max_score
    cases = ET.fromstring(report.junit(result)).findall(".//testcase")
    assert len(cases) == len(checks)
    csv = report.gradebook_csv([result]).splitlines()
    assert csv[0].startswith("submission,score,max_score,01_udp_send")
    assert csv[1].startswith(f"solutions,{result.score:g},")


def test_a_lab_not_graded_is_a_failed_test_and_a_status_in_the_gradebook() -> None:
    from socklab_grader.model import LabResult
    result = SubmissionResult("bob", [LabResult("01_udp_send", "build_failed", 0, 100,
                                                "udp_send.c:3: error: expected ';'"),
                                      LabResult("02_udp_bind", "missing", 0, 100, "")], "none")
    gs = json.loads(report.gradescope(result))
    assert [(t["number"], t["status"], t["max_score"]) for t in gs["tests"]] == [
        ("01_udp_send", "failed", 100), ("02_udp_bind", "failed", 100)]
    assert "expected ';'" in gs["tests"][0]["output"] and "build failed" in gs["output"]
    rows = report.gradebook_csv([result]).splitlines()
    assert rows == ["submission,score,max_score,01_udp_send,02_udp_bind",
                    "bob,0,200,build_failed,missing"]


def test_the_text_report_marks_each_check(skeleton_01: dict) -> None:
    text = report.text(SubmissionResult.from_json(skeleton_01))
    assert "01_udp_send: 0 / 100" in text
    assert text.count("✗") == len(skeleton_01["labs"][0]["checks"])
    assert "Hint:" in text


# --- no namespaces ---------------------------------------------------------------------

def test_without_namespaces_the_lan_check_is_skipped_never_passed() -> None:
    env = {**os.environ, "SOCKLAB_NO_NETNS": "1"}
    result = grade_json("--lab", "01", REPO / "solutions", env=env)
    lan = next(c for c in result["labs"][0]["checks"] if c["id"] == "01_udp_send.broadcast_lan")
    assert not lan["passed"] and lan["points"] == 0
    assert lan["message"].startswith("skipped: ")
    others = [c for c in result["labs"][0]["checks"] if c["id"] != "01_udp_send.broadcast_lan"]
    assert all(c["passed"] for c in others), [c["id"] for c in others if not c["passed"]]


def test_nothing_a_submission_starts_outlives_the_grading_run(lan_available: bool, tmp_path: Path) -> None:
    """A process that leaves its group with setsid() is still killed with the namespace."""
    import subprocess
    import uuid
    from socklab_grader import sandbox
    isolation = sandbox.probe()
    if not isolation.available:
        pytest.skip(f"no namespaces here ({isolation.reason}); the group kill is all there is")
    marker = str(4000 + uuid.uuid4().int % 1000)
    subprocess.run([*isolation.prefix, "sh", "-c", f"setsid sleep {marker} & echo started"],
                   check=True, capture_output=True, timeout=30)
    left = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert left.stdout == ""


def test_student_objects_that_could_act_on_their_own_are_refused(tmp_path: Path) -> None:
    """vet.py: a constructor, a C library name of its own, Criterion's internals, a raw
    system call: each refused with its reason; plain code passes."""
    from socklab_grader import vet
    sources = {
        "clean": "#include <string.h>\nint api(const char *s) { return (int)strlen(s); }\n",
        "ctor": "__attribute__((constructor)) static void early(void) {}\n",
        "memcmp": "#include <stddef.h>\nint memcmp(const void *a, const void *b, size_t n)"
                  " { (void)a; (void)b; (void)n; return 0; }\n",
        "internals": "void criterion_send_event(void);\nvoid f(void) { criterion_send_event(); }\n",
        "syscall": "long f(void) { long r; __asm__ volatile (\"syscall\" : \"=a\"(r) : \"a\"(39)"
                   " : \"rcx\", \"r11\", \"memory\"); return r; }\n",
    }
    libraries = (Path(subprocess.run(["gcc", "-print-file-name=libc.so.6"], capture_output=True,
                                     text=True, check=True).stdout.strip()),)
    refused = {}
    for name, code in sources.items():
        (tmp_path / f"{name}.c").write_text(code)
        subprocess.run(["gcc", "-std=c17", "-c", f"{name}.c", "-o", f"{name}.o"], cwd=tmp_path,
                       check=True)
        refused[name] = " ".join(vet.refusals(tmp_path / f"{name}.o", libraries))
    assert refused["clean"] == ""
    assert "constructor" in refused["ctor"]
    assert "defines memcmp" in refused["memcmp"]
    assert "criterion_send_event" in refused["internals"]
    assert "system calls of its own" in refused["syscall"]


def test_as_root_student_code_is_an_unprivileged_user_outside_its_sandbox_too() -> None:
    """Root's uid is exempt from the kernel's process limit and owns the machine's files:
    confined code runs as nobody, which its user namespace only names uid 1000."""
    import pwd
    from socklab_grader import confine
    if os.geteuid() != 0:
        pytest.skip("the grader is not root here: student code runs as its user")
    jail = confine.probe()
    if not jail.confined:
        pytest.skip(f"no sandbox here ({jail.reason})")
    from socklab_grader import runner
    with runner.Program(["sleep", "30"], confine=lambda argv, fd: jail.wrap(argv, info_fd=fd),
                        env=None) as prog:
        status = Path(f"/proc/{prog.pid}/status").read_text()
        inside = subprocess.run(jail.wrap(["id", "-u"]), capture_output=True, text=True,
                                timeout=30).stdout.strip()
    real_uid = re.search(r"^Uid:\s+(\d+)", status, re.M)
    assert prog.pid != prog.proc.pid and real_uid is not None
    assert int(real_uid.group(1)) == pwd.getpwnam("nobody").pw_uid
    assert inside == str(confine.SANDBOX_UID)


def test_without_bubblewrap_grading_goes_on_and_says_so() -> None:
    env = {**os.environ, "SOCKLAB_NO_SANDBOX": "1"}
    result = grade_json("--lab", "01", REPO / "solutions", env=env)
    assert result["sandbox"] == "none" and result["score"] == 100
    refused = subprocess.run([sys.executable, str(REPO / "grader" / "grade"), "--lab", "01",
                              str(REPO / "solutions")], capture_output=True, text=True,
                             timeout=120, env={**env, "SOCKLAB_REQUIRE_SANDBOX": "1"})
    assert refused.returncode == 1 and refused.stdout == ""
    assert "SOCKLAB_REQUIRE_SANDBOX=1" in refused.stderr


def test_a_check_ends_what_left_its_group_before_the_next_check() -> None:
    """Inside the run, at the end of each check: a daemon that left its group (as Wine's
    wineserver and services do) is killed and reaped, and the worker itself lives on."""
    import subprocess
    from conftest import GRADER_DIR
    from socklab_grader import sandbox
    isolation = sandbox.probe()
    if not isolation.available:
        pytest.skip(f"no namespaces here ({isolation.reason})")
    code = ("import os, subprocess, time; from socklab_grader import sandbox; "
            "sandbox.mount_private_tmp([]); proc = sandbox.namespace_proc(); "
            "subprocess.run(['sh', '-c', 'setsid sleep 300 & setsid sleep 301 &']); "
            "before = sorted(int(p.name) for p in proc.iterdir() if p.name.isdigit()); "
            "sandbox.end_strays(proc); "
            "after = sorted(int(p.name) for p in proc.iterdir() if p.name.isdigit()); "
            "print(len(before) > 2, after == [os.getpid()] == [1])")
    done = subprocess.run([*isolation.prefix, sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(GRADER_DIR)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_each_grading_run_has_a_tmp_of_its_own() -> None:
    """Criterion's socket is /tmp/criterion_PID.sock and PIDs restart at 1 in each PID
    namespace: parallel runs must not share /tmp."""
    import subprocess
    import uuid
    from conftest import GRADER_DIR
    from socklab_grader import sandbox
    isolation = sandbox.probe()
    if not isolation.available:
        pytest.skip(f"no namespaces here ({isolation.reason}); PIDs are unique on the host")
    marker = f"socklab-private-{uuid.uuid4().hex}"
    code = ("import os; from socklab_grader import sandbox; sandbox.mount_private_tmp([]); "
            f"open('/tmp/{marker}', 'w').close(); print(sorted(os.listdir('/tmp')))")
    done = subprocess.run([*isolation.prefix, sys.executable, "-c", code], capture_output=True,
                          text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(GRADER_DIR)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == repr([marker])      # empty before, ours after
    assert not Path("/tmp", marker).exists()          # and never on the host


def test_what_a_run_needs_from_the_old_tmp_stays_visible(tmp_path: Path) -> None:
    """A grader cloned under /tmp (as CI may do) still finds its own files in its run."""
    import subprocess
    from conftest import GRADER_DIR
    from socklab_grader import sandbox
    isolation = sandbox.probe()
    if not isolation.available:
        pytest.skip(f"no namespaces here ({isolation.reason})")
    kept = Path("/tmp") / f"socklab-kept-{os.getpid()}" / "inner"
    kept.mkdir(parents=True)
    try:
        (kept / "file").write_text("still here")
        code = ("from pathlib import Path; import os; from socklab_grader import sandbox; "
                f"sandbox.mount_private_tmp([Path('{kept}')]); "
                f"print(Path('{kept}/file').read_text(), sorted(os.listdir('/tmp')))")
        done = subprocess.run([*isolation.prefix, sys.executable, "-c", code], capture_output=True,
                              text=True, timeout=30, env={**os.environ, "PYTHONPATH": str(GRADER_DIR)})
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == f"still here ['{kept.parent.name}']"
    finally:
        import shutil
        shutil.rmtree(kept.parent)


# --- the labs' declarations ------------------------------------------------------------

def test_every_lab_folder_declares_itself_readably() -> None:
    """Labs still being built too (no wire checks yet): their Makefile must read cleanly."""
    from socklab_grader import labs
    folders = sorted(p.parent for p in (REPO / "labs").glob("[0-9][0-9]_*/Makefile"))
    assert folders
    for folder in folders:
        lab = labs.declared(folder)
        assert lab.name == folder.name and lab.student_files and lab.programs


@pytest.mark.parametrize("line", ["STUDENT = src/a.c", "override PROGRAMS := x",
                                  "API_POINTS := $(X)", "LAB := a \\", "STUDENT ?= src/a.c"])
def test_a_declaration_the_grader_would_misread_is_refused(line: str, tmp_path: Path) -> None:
    from socklab_grader import labs
    (tmp_path / "Makefile").write_text(f"{line}\n")
    with pytest.raises(labs.DeclarationError, match="Makefile:1"):
        labs.read_makefile(tmp_path / "Makefile")


def test_a_labs_own_make_rules_are_not_the_graders_business(tmp_path: Path) -> None:
    from socklab_grader import labs
    (tmp_path / "Makefile").write_text("STUDENT := src/a.c  # the file\nSTUDENT += src/b.c\n"
                                       "WIN_BIN := $(PROGRAMS:%=win/%.exe)\n"
                                       "win: $(WIN_BIN)\n\t$(CC) $(STUDENT) -o $@\n")
    assert labs.read_makefile(tmp_path / "Makefile") == {"STUDENT": ["src/a.c", "src/b.c"]}


def _tree_digest(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.read_bytes())
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_trusted_objects_hold_no_student_code_and_no_submission_changes_them() -> None:
    """The lab's objects kept per machine: none of a student file, nothing linked; a
    submission's build starts from a copy of them, compiles only its own file, and leaves
    the kept ones as they were, even when it fails."""
    from socklab_grader import labs
    lab = labs.find("03")
    kept = build.trusted_objects(lab)
    assert kept is not None
    names = {p.name for p in kept.rglob("*") if p.is_file()}
    assert "tcp.o" not in names and "test_test_send_all.o" in names
    assert all(n.endswith(".o") or n == build.SHORT_IO_LIBRARY for n in names)
    before = _tree_digest(kept)
    solution = (REPO / "solutions" / "03_tcp" / "src" / "tcp.c").read_bytes()
    # Where the grader builds, as it does: a folder of its own that it hands to the sandbox.
    with tempfile.TemporaryDirectory(dir=sandbox.work_root()) as good:
        built = build.build(lab, {"src/tcp.c": solution}, Path(good))
        assert built.ok and (built.lab_dir / "build" / "tests").exists(), built.log
    with tempfile.TemporaryDirectory(dir=sandbox.work_root()) as bad:
        broken = build.build(lab, {"src/tcp.c": b"int broken(void) { return }\n"}, Path(bad))
        assert not broken.ok and "tcp.c" in broken.log
    assert _tree_digest(kept) == before


def test_trusted_objects_are_new_when_what_makes_them_changes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from socklab_grader import labs
    lab = labs.find("03")
    key = build._trusted_key(lab)
    shim = tmp_path / "short_io.c"
    shim.write_bytes(build.SHORT_IO_SOURCE.read_bytes() + b"\n/* changed */\n")
    monkeypatch.setattr(build, "SHORT_IO_SOURCE", shim)
    assert build._trusted_key(lab) != key


def test_seeded_bytes_are_the_seeds_and_no_mib_repeats() -> None:
    data = peers.seeded_bytes(7, (3 << 20) + 5)
    assert len(data) == (3 << 20) + 5 and data == peers.seeded_bytes(7, (3 << 20) + 5)
    mib = [data[i:i + (1 << 20)] for i in range(0, 3 << 20, 1 << 20)]
    assert len(set(mib)) == 3 and peers.seeded_bytes(8, 64) != data[:64]


def test_a_failed_check_runs_again_and_a_changed_verdict_is_called_flaky(tmp_path: Path) -> None:
    runs: list[int] = []

    def fails_once(ctx: checks.Context) -> None:
        runs.append(1)
        if len(runs) == 1:
            raise checks.CheckFailed("the peer saw nothing", "a hint")

    def always_fails(ctx: checks.Context) -> None:
        raise checks.CheckFailed(f"failure {len(runs)}", "a hint")

    ctx = checks.Context(lab="03_tcp", bin_dir=tmp_path, lab_dir=tmp_path, lan=False)
    ctx.shared["left by the first run"] = True
    flaky = checks.run_check_confirmed("03_tcp", checks.Check("once", "fails once", 4, fails_once, False, False),
                                        ctx)
    assert len(runs) == 2 and flaky.passed and flaky.points == 4 and flaky.flaky
    assert flaky.message.startswith("flaky: ") and "the peer saw nothing" in flaky.message
    assert ctx.shared == {}
    failed = checks.run_check_confirmed("03_tcp", checks.Check("twice", "fails", 4, always_fails, False, False),
                                        ctx)
    assert not failed.passed and not failed.flaky and failed.message.startswith("failure 2")


@pytest.mark.parametrize("lab", LABS, ids=LAB_IDS)
def test_every_check_has_the_concept_it_teaches_and_no_concept_names_a_lost_check(lab) -> None:
    """The class report groups checks by concept (concepts.py): a new check without one would
    land in 'other', a renamed one would leave a stale entry."""
    planned = {concepts.key(lab.name, check.id) for check in checks.plan(lab)}
    assert set(concepts.CONCEPTS[lab.name]) == planned
    assert concepts.OTHER not in concepts.CONCEPTS[lab.name].values()
