"""Lab 04 - framing a byte stream: frame_echo_server, frame_client, ft_send and ft_recv.

A stream has no message boundaries, so every framing and transfer check sends the same bytes
in more than one way (peers.Chunking): all in one write, so frames and files arrive glued
together; one byte per write with TCP_NODELAY, so every length prefix and header arrives
split; and writes of random sizes from a seed the message prints (SOCKLAB_SEED replays it).
The student's own programs run under the short-I/O shim as well, so their sends and recvs
are short on every run. A reader that assumes one recv per message fails the same way on
every run.
"""

from __future__ import annotations

import random
import re
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import (RECEIVE_S, RUN_S, STDERR_HINT, CheckFailed, CheckSkipped, Context, LabChecks,
               ShortIO, connect_to, server_state, skeleton_hint, start_tcp_server)
from .. import confine, runner
from ..describe import first_difference, plural, show_bytes, show_output
from ..framing import (FRAME_MAX, FT_HEADER_MAX, ack, frame, frames, header, md5_hex, parse,
                       read_json_object)
from ..peers import DRIBBLE, GLUED, Chunking, TcpConn, TcpListener, seeded_bytes

# Hints shown under a failed API check (a Criterion test of tests/), by suite.
API_HINTS = {
    "recv_exact": "loop on recv() until all n bytes are in, advancing by what each call "
                  "returned; 0 before the first byte is EOF (return 0), 0 after some is "
                  "EPROTO; retry EINTR",
    "frame_send": "the length goes first, as 4 bytes in network byte order (htonl), then "
                  "the payload; check len against FRAME_MAX before writing anything; loop "
                  "until every byte is out",
    "frame_recv": "recv_exact the 4-byte prefix, ntohl it, compare it with cap BEFORE "
                  "reading on (EMSGSIZE: never malloc what the peer announces), then "
                  "recv_exact the payload; a length of 0 is a frame, not EOF",
    "frame_echo_session": "one buffer of FRAME_MAX for the session, frame_recv then "
                          "frame_send until frame_recv returns 0",
    "ft_send_file": "md5 the file first, send the header frame, stream the body in chunks "
                    "(exactly file_size bytes), then read the ack frame (at most FT_ACK_MAX)",
    "ft_recv_file": "header frame (at most FT_HEADER_MAX), parse and check every field and "
                    "the name, then read exactly file_size bytes into DIR/NAME.part with an "
                    "md5 as you go, rename on a match, unlink on every failure, ack",
}

CHECKS = LabChecks("04_sticky_packets", API_HINTS)

# The student's programs under the shim: short sends and recvs on every call. Small
# transfers get a few bytes per call, so a message read with one recv() is cut on every run
# whatever the machine's load; megabytes get a few hundred, varying.
TINY_IO = ShortIO(send=5, recv=3)
BULK_IO = ShortIO(send=700, recv=1500, seed=5)
CHUNKINGS = (GLUED, DRIBBLE, Chunking.seeded(largest=512))
SMALL_FRAMES = 1000
LARGE_S = 20.0               # a FRAME_MAX echo, a 64 MiB file (~1 s here): for a loaded machine
LARGE_FILE = 64 << 20
PEAK_RSS_KIB = 32 << 10      # ft_recv streams the body: its peak resident set stays below
# Body bytes sent after a header declaring more than 4 GiB: more than the FRAME_MAX buffer a
# session may hold, so at least STORED_OF_HUGE of them must reach the .part.
SENT_OF_HUGE = FRAME_MAX + (8 << 20)
STORED_OF_HUGE = SENT_OF_HUGE - FRAME_MAX
ACK_AFTER_BODY_S = 10.0      # the ack, once a large body is all in
CLIENTS = 8
BINARY = bytes([0x00, 0x0A, 0x0D, 0x0A, 0x1A, 0xFF, 0x0D]) * 14_287 + b"\x00\xff"  # odd size

FRAME_HINT = ("a stream has no message boundaries: one recv() may hold several frames, or "
              "part of one. Read exactly 4 bytes of length (recv_exact), ntohl it, then "
              "exactly that many bytes")


# --- helpers ---------------------------------------------------------------------------

def _payloads(count: int, seed: int) -> list[bytes]:
    """count distinct payloads of 0 to 40 bytes (text and binary), the same for a seed."""
    draw = random.Random(seed)
    return [f"#{i}:".encode() + draw.randbytes(draw.randint(0, 34)) for i in range(count)]


def _echo_server(ctx: Context, *args: object,
                 short_io: ShortIO = TINY_IO) -> tuple[runner.Program, int]:
    return start_tcp_server(ctx, "frame_echo_server", *args, short_io=short_io,
                            listen_function="frame_echo_session")


def _echo_frames(ctx: Context, payloads: list[bytes], chunking: Chunking, upper: bool = False,
                 timeout: float = RECEIVE_S, hint: str = "") -> None:
    """Send the payloads as frames to a new frame_echo_server, cut as chunking says, and
    expect exactly the same frames back (upper-cased a-z with upper)."""
    prog, port = _echo_server(ctx, *(["-u"] if upper else []))
    sent = frames(payloads)
    expected = frames([p.upper() if upper else p for p in payloads])
    with connect_to(prog, port) as conn:
        conn.echo(sent, timeout, chunking, expect=len(expected))
        closed = conn.read_to_eof(RECEIVE_S)     # the client half-closed: the session ends
        got = bytes(conn.received)
    if got == expected and closed:
        return
    sent_what = (f"a client sent {plural(len(payloads), 'frame')} ({len(sent)} bytes, "
                 f"{chunking.describe()}; the server under the shim: {TINY_IO.describe()}), "
                 f"then half-closed, and expected the same {plural(len(payloads), 'frame')} "
                 f"back{' upper-cased' if upper else ''} and the end of the stream.\n")
    if got == expected:
        raise CheckFailed(sent_what + f"Every frame came back, but {RECEIVE_S:g} s after the "
                          f"client's EOF the server still held the connection open.\n"
                          f"{server_state(prog)}",
                          skeleton_hint(prog, "frame_recv returns 0 at a clean EOF (recv() "
                                              "returns 0 where a prefix should start): the "
                                              "session ends there", "frame_echo_session"))
    raise CheckFailed(sent_what + f"It got {len(got)} bytes: {_frames_seen(expected, got)}"
                      + (", then the end of the stream" if conn.eof else "")
                      + f".\n{server_state(prog)}",
                      skeleton_hint(prog, hint or _echo_hint(chunking), "frame_echo_session"))


def _frames_seen(expected: bytes, got: bytes) -> str:
    """What came back, against what should have: the first wrong frame, the first byte."""
    wanted, replies = parse(expected).payloads, parse(got).payloads
    at = first_difference(expected, got)
    wrong = next((i for i, (w, g) in enumerate(zip(wanted, replies)) if w != g), None)
    if wrong is not None:
        what = f"frame #{wrong + 1} of {len(wanted)} came back wrong"
    elif len(replies) > len(wanted):
        extra = len(replies) - len(wanted)
        what = (f"the {len(wanted)} frames came back, then {plural(extra, 'more frame')} "
                f"that {'was' if extra == 1 else 'were'} never sent (each frame goes back "
                f"once: when frame_recv returns 0 or -1, nothing is sent)")
    else:
        what = f"{plural(len(replies), 'whole frame')} of {len(wanted)}, all right"
    if at < len(expected):
        return (f"{what}; the bytes differ from byte {at} on: expected "
                f"{show_bytes(expected[at:at + 16])}, got {show_bytes(got[at:at + 16])}")
    return f"{what}; after the expected bytes came {show_bytes(got[at:at + 16])}"


def _echo_hint(chunking: Chunking) -> str:
    if chunking.kind == "glued":
        return (FRAME_HINT + "; after one frame, the next may already be in your buffer or "
                "the socket: never drop what comes after the frame")
    return FRAME_HINT + "; a frame can arrive one byte at a time: keep reading until it is whole"


def _read_frame(conn: TcpConn, start: int, timeout: float,
                limit: int = FRAME_MAX) -> tuple[bytes | None, int]:
    """The frame that starts at offset start of what conn received (reading more as
    needed), and the offset after it; None when the stream ended, failed or timed out first."""
    def whole(got: bytearray) -> bool:
        if len(got) - start < 4:
            return False
        (length,) = struct.unpack_from("!I", got, start)
        return length > limit or len(got) - start - 4 >= length
    conn.read_until(whole, timeout)
    parsed = parse(bytes(conn.received[start:]), limit)
    if not parsed.payloads:
        return None, start
    return parsed.payloads[0], start + 4 + len(parsed.payloads[0])


def _write_file(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


def _workdir(ctx: Context, what: str) -> Path:
    """A fresh folder of this check's own, in the run's scratch folder (the only place its
    programs may write), belonging to the user they run as."""
    folder = Path(tempfile.mkdtemp(prefix=f"{what}-", dir=ctx.scratch or ctx.lab_dir))
    confine.give(ctx.confinement, folder)
    return folder


# --- frame_echo_server -----------------------------------------------------------------

@CHECKS.check("echo_glued", f"{SMALL_FRAMES} small frames in one write come back as "
                            f"{SMALL_FRAMES} frames, in order", 4)
def echo_glued(ctx: Context) -> None:
    _echo_frames(ctx, _payloads(SMALL_FRAMES, 1), GLUED)


@CHECKS.check("echo_dribble", "frames sent one byte per write come back whole", 4)
def echo_dribble(ctx: Context) -> None:
    _echo_frames(ctx, _payloads(25, 2), DRIBBLE)


@CHECKS.check("echo_random_cuts", "frames cut at random places (seeded) come back whole", 3)
def echo_random_cuts(ctx: Context) -> None:
    _echo_frames(ctx, _payloads(300, 3), CHUNKINGS[2])


@CHECKS.check("echo_empty_frame", "a frame of length 0 comes back, and the session goes on", 2)
def echo_empty_frame(ctx: Context) -> None:
    for chunking in (GLUED, DRIBBLE):
        _echo_frames(ctx, [b"", b"after an empty frame", b""], chunking,
                     hint="a length of 0 is a frame with no payload, not the end of the "
                          "stream: only recv() returning 0 where a prefix should start is EOF")


@CHECKS.check("echo_frame_max", "a frame of exactly FRAME_MAX (16 MiB) comes back byte for "
                                "byte (short sends and recvs forced)", 3)
def echo_frame_max(ctx: Context) -> None:
    payload = seeded_bytes(6, FRAME_MAX)
    prog, port = _echo_server(ctx, short_io=BULK_IO)
    chunking = Chunking.seeded(largest=65536)
    with connect_to(prog, port) as conn:
        got = conn.echo(frame(payload), LARGE_S, chunking)
    if got == frame(payload):
        return
    at = first_difference(frame(payload), got)
    raise CheckFailed(
        f"a client sent one frame of FRAME_MAX = {FRAME_MAX} bytes ({chunking.describe()}; the "
        f"server under the shim: {BULK_IO.describe()}) and read the echo at the same time; it "
        f"got {len(got)} of {len(payload) + 4} bytes back, the same up to byte {at}"
        + (" and then the end of the stream" if conn.eof else "")
        + f".\n{server_state(prog)}",
        skeleton_hint(prog, "a FRAME_MAX frame is legal: the session's buffer must hold "
                            "FRAME_MAX bytes, and frame_send must loop until every byte is out "
                            "(send() takes only part of 16 MiB)", "frame_echo_session"))


@CHECKS.check("prefix_big_endian", "the length prefix on the wire is 4 bytes, big-endian", 3)
def prefix_big_endian(ctx: Context) -> None:
    payload = bytes(range(256)) + b"!!"            # 258 bytes: 00 00 01 02 on the wire
    prog, port = _echo_server(ctx)
    with connect_to(prog, port) as conn:
        got = conn.echo(frame(payload), RECEIVE_S)
    if got == frame(payload):
        return
    head = got[:4]
    if head == struct.pack("<I", len(payload)):
        why = (f"the reply's prefix was {show_bytes(head)}: 258 written little-endian (host "
               "order). Lengths go on the wire in network byte order: htonl before sending")
    elif not got and conn.eof:
        why = ("nothing came back and the server closed the connection: 00 00 01 02 is 258 "
               "only as 4 bytes in network byte order. Read in host order it is "
               f"{struct.unpack('<I', frame(payload)[:4])[0]}, and read as 8 bytes it is larger "
               "still: either way over FRAME_MAX")
    elif len(head) == 4 and head != frame(payload)[:4]:
        why = f"the reply's prefix was {show_bytes(head)}, where 00 00 01 02 was expected"
    else:
        why = f"the reply was {show_bytes(got)}"
    raise CheckFailed(f"a client sent one frame of 258 bytes (prefix 00 00 01 02); {why}.\n"
                      f"{server_state(prog)}",
                      skeleton_hint(prog, "the prefix is exactly 4 bytes (uint32_t, not long "
                                          "or int) in network byte order", "frame_send"))


@CHECKS.check("oversized_closes", "a length over FRAME_MAX closes that connection, with a "
                                  "message on stderr, and other clients are still served", 3)
def oversized_closes(ctx: Context) -> None:
    prog, port = _echo_server(ctx)
    with connect_to(prog, port, "a first client") as calm, \
            connect_to(prog, port, "a hostile client") as hostile:
        hostile.send(struct.pack("!I", FRAME_MAX + 1) + b"only a few bytes")
        closed = hostile.read_to_eof(RECEIVE_S)
        if not closed:
            raise CheckFailed(
                f"a client announced a frame of FRAME_MAX + 1 = {FRAME_MAX + 1} bytes and sent "
                f"16 bytes of it; {RECEIVE_S:g} s later the server had not closed the "
                f"connection (it is waiting for bytes that will never come, or allocating what "
                f"the peer asked for).\n{server_state(prog)}",
                skeleton_hint(prog, "compare the length with FRAME_MAX (or cap) as soon as the "
                                    "4 bytes are in, before reading on or allocating: EMSGSIZE, "
                                    "and the session ends", "frame_recv"))
        payload = b"still served after another client misbehaved"
        calm_got = calm.echo(frame(payload), RECEIVE_S)
        if calm_got != frame(payload):
            raise CheckFailed(f"after another client's frame over FRAME_MAX, a client that "
                              f"sent {show_bytes(payload)} as a frame got back "
                              f"{show_bytes(calm_got)}.\n{server_state(prog)}",
                              "a bad frame ends that client's session only: return -1 from "
                              "frame_echo_session, never exit the process")
    if prog.stderr.wait_for(re.compile(rb"\S"), time.monotonic() + RECEIVE_S) is None:
        raise CheckFailed("the server closed the connection of a client that announced a frame "
                          "over FRAME_MAX, but said nothing on stderr.",
                          "frame_echo_session returns -1 with errno set (EMSGSIZE): the "
                          "server prints why")


@CHECKS.check("echo_many_clients", f"{CLIENTS} clients at once each get only their own "
                                   "frames back", 2)
def echo_many_clients(ctx: Context) -> None:
    prog, port = _echo_server(ctx)
    conns = [connect_to(prog, port, f"client {i + 1}") for i in range(CLIENTS)]
    try:
        mine = [_payloads(40, 100 + i) for i in range(CLIENTS)]
        for conn, payloads in zip(conns, mine):     # every client sends before any reads
            conn.send(frames(payloads[:20]), chunking=DRIBBLE if conn is conns[0] else GLUED)
        for i, (conn, payloads) in enumerate(zip(conns, mine)):
            conn.send(frames(payloads[20:]))
            want = frames(payloads)
            got = conn.read_count(len(want), RECEIVE_S)
            if got != want:
                raise CheckFailed(
                    f"{CLIENTS} clients connected at once and each sent 40 frames of its own; "
                    f"client {i + 1} got {len(got)} of {len(want)} bytes, the same up to byte "
                    f"{first_difference(want, got)}.\n{server_state(prog)}",
                    "each client's session keeps its own buffer and state (nothing shared "
                    "between threads, no global buffer)")
    finally:
        for conn in conns:
            conn.close()


@CHECKS.check("echo_upper", "frame_echo_server -u upper-cases ASCII a-z in each payload", 1)
def echo_upper(ctx: Context) -> None:
    for chunking in (GLUED, CHUNKINGS[2]):
        _echo_frames(ctx, [b"hello, World", b"caf\xc3\xa9 \x00z", b""], chunking, upper=True)


# --- frame_client ----------------------------------------------------------------------

@CHECKS.check("client_lines", "frame_client sends each line as a frame and prints each reply, "
                              "even when replies arrive one byte at a time", 3)
def client_lines(ctx: Context) -> None:
    lines = [b"first line", b"", "第二行".encode(), b"x" * 3000]
    with TcpListener() as listener:
        prog = ctx.start("frame_client", "127.0.0.1", listener.port,
                         stdin=b"".join(line + b"\n" for line in lines), short_io=TINY_IO)
        conn = listener.accept(RECEIVE_S, sender=prog)
        if conn is None:
            ended = prog.wait(1.0)
            raise CheckFailed(f"frame_client never connected; it {ended.describe()}.\n"
                              f"stderr:\n{show_output(prog.err())}", STDERR_HINT)
        with conn:
            at = 0
            for i, line in enumerate(lines):
                got, at = _read_frame(conn, at, RECEIVE_S)
                if got != line:
                    died = prog.has_exited() and i > 0     # while reading a reply of ours
                    raise CheckFailed(
                        f"frame_client was given {plural(len(lines), 'line')} on stdin (it "
                        f"runs under the shim: {TINY_IO.describe()}), and the server answered "
                        f"each frame, one byte per write; frame {i + 1} on the wire should "
                        f"have been {show_bytes(line)} (the line without its newline), but it "
                        f"was {'missing' if got is None else show_bytes(got)}; the bytes "
                        f"received from frame {i + 1} on: "
                        f"{show_bytes(bytes(conn.received[at:]))}.\nframe_client "
                        f"{prog.exit().describe() if prog.has_exited() else 'was running'}; "
                        f"stderr:\n{show_output(prog.err())}",
                        skeleton_hint(prog, FRAME_HINT if died else
                                      "one line, one frame: 4 bytes of length (htonl), then "
                                      "the line's bytes", "frame_recv" if died else "frame_send"))
                conn.send(frame(b"re: " + line), chunking=DRIBBLE)
        ended = prog.wait(RUN_S)
    want = "".join(f"re: {line.decode()}\n" for line in lines)
    # At the end of stdin a client may stop at once, or wait for the server, which then
    # closes: both are right.
    printed = prog.out().removesuffix("connection closed by server\n")
    if printed != want or ended.code != 0:
        raise CheckFailed(
            f"the server answered each frame with 're: ' and the line, one byte per write; "
            f"frame_client {ended.describe()} and printed:\n{show_output(prog.out())}\n"
            f"expected:\n{show_output(want)}\nstderr:\n{show_output(prog.err())}",
            skeleton_hint(prog, FRAME_HINT, "frame_recv"))


@CHECKS.check("client_server_closes", "frame_client prints 'connection closed by server' when "
                                      "the server closes (exit 0)", 1)
def client_server_closes(ctx: Context) -> None:
    with TcpListener() as listener:
        prog = ctx.start("frame_client", "127.0.0.1", listener.port, stdin=b"hello\n",
                         keep_stdin_open=True)
        conn = listener.accept(RECEIVE_S, sender=prog)
        if conn is None:
            raise CheckFailed(f"frame_client never connected.\nstderr:\n{show_output(prog.err())}",
                              STDERR_HINT)
        with conn:
            _read_frame(conn, 0, RECEIVE_S)
        ended = prog.wait(RUN_S)
    if ended.code != 0 or "connection closed by server" not in prog.out():
        raise CheckFailed(
            f"the server read one frame and closed the connection; frame_client "
            f"{ended.describe()} and printed:\n{show_output(prog.out())}\nstderr:\n"
            f"{show_output(prog.err())}",
            skeleton_hint(prog, "frame_recv returns 0 at a clean EOF before a frame: that is "
                                "the server closing, not an error", "frame_send and frame_recv"))


# --- ft_send: the student's sender, the grader's receiver ------------------------------

def _receive_file(conn: TcpConn, at: int, timeout: float = RECEIVE_S
                  ) -> tuple[dict | None, bytes | None, bytes | None, int]:
    """Read one file as a receiver: the header frame's raw payload and JSON object, the
    body (file_size bytes), and the offset after it."""
    raw, at = _read_frame(conn, at, timeout, FT_HEADER_MAX)
    fields = read_json_object(raw) if raw is not None else None
    size = fields.get("file_size") if fields else None
    if not isinstance(size, int) or size < 0:
        return fields, raw, None, at
    conn.read_count(at + size, timeout)
    body = bytes(conn.received[at:at + size])
    return fields, raw, body if len(body) == size else None, at + size


def _expect_file(prog: runner.Program, conn: TcpConn, at: int, path: Path,
                 data: bytes) -> int:
    """Read one file from ft_send and check its header and body; ack it; the next offset."""
    fields, raw, body, after = _receive_file(conn, at)
    want = {"file_name": path.name, "file_size": len(data), "md5": md5_hex(data)}
    if fields is None or {k: fields.get(k) for k in want} != want:
        raise CheckFailed(
            f"ft_send {path.name} ({len(data)} bytes): the header frame should hold a JSON "
            f"object with {want}, but it held "
            + ("nothing (no whole frame came)" if raw is None else show_bytes(raw, 200))
            + f".\nft_send's stderr:\n{show_output(prog.err())}",
            skeleton_hint(prog, "the header is ONE frame holding a JSON object with "
                                "file_name (the base name), file_size (a number) and md5 "
                                "(32 lowercase hex digits); build it with cJSON",
                          "ft_send_file"))
    if body != data:
        got = bytes(conn.received[after - len(data) if body else at:])
        raise CheckFailed(
            f"ft_send {path.name}: after its header, the body should be exactly "
            f"{len(data)} raw bytes (not framed), but "
            + (f"only {len(got)} came" if body is None else
               f"they differ from byte {first_difference(data, body)} on")
            + f".\nft_send's stderr:\n{show_output(prog.err())}",
            "stream the file: read a chunk, send exactly the n bytes read (send all of them), "
            "until file_size bytes are out; open it in binary mode")
    conn.send(frame(ack(True, md5_hex(data))), chunking=DRIBBLE)   # the ack arrives in pieces
    return after


@CHECKS.check("send_file", "ft_send sends the header (file_name, file_size, md5) and the body "
                           "byte for byte (binary, odd size)", 4)
def send_file(ctx: Context) -> None:
    folder = _workdir(ctx, "send")
    path = _write_file(folder, "blob.bin", BINARY)
    with TcpListener() as listener:
        prog = ctx.start("ft_send", "127.0.0.1", listener.port, path, short_io=TINY_IO)
        with _accepted(listener, prog) as conn:
            _expect_file(prog, conn, 0, path, BINARY)
            ended = prog.wait(RUN_S)
    _expect_sent(prog, ended, [(path.name, BINARY)])


def _accepted(listener: TcpListener, prog: runner.Program) -> TcpConn:
    conn = listener.accept(RECEIVE_S, sender=prog)
    if conn is None:
        ended = prog.wait(1.0)
        raise CheckFailed(f"ft_send never connected; it {ended.describe()}.\nstderr:\n"
                          f"{show_output(prog.err())}", STDERR_HINT)
    return conn


def _expect_sent(prog: runner.Program, ended: runner.Exit,
                 files: list[tuple[str, bytes]]) -> None:
    want = "".join(f"sent {name} ({len(data)} bytes, md5 {md5_hex(data)})\n"
                   for name, data in files)
    if ended.code != 0 or prog.out() != want:
        raise CheckFailed(
            f"every file was received and acked ok; ft_send {ended.describe()} and printed:\n"
            f"{show_output(prog.out())}\nexpected:\n{show_output(want)}\nstderr:\n"
            f"{show_output(prog.err())}",
            "after the body, read the ack frame: {\"ok\": true, \"md5\": ...} with your md5 "
            "means success (return 0 and fill res)")


@CHECKS.check("send_empty_file", "ft_send sends an empty file: a header with file_size 0 and "
                                 "no body", 1)
def send_empty_file(ctx: Context) -> None:
    folder = _workdir(ctx, "send")
    path = _write_file(folder, "empty.txt", b"")
    with TcpListener() as listener:
        prog = ctx.start("ft_send", "127.0.0.1", listener.port, path, short_io=TINY_IO)
        with _accepted(listener, prog) as conn:
            _expect_file(prog, conn, 0, path, b"")
            ended = prog.wait(RUN_S)
    _expect_sent(prog, ended, [(path.name, b"")])


@CHECKS.check("send_three_files", "ft_send sends three files one after another on one "
                                  "connection", 2)
def send_three_files(ctx: Context) -> None:
    folder = _workdir(ctx, "send")
    files = [(f"part{i}.dat", random.Random(i).randbytes(size))
             for i, size in enumerate((5000, 1, 70001))]
    paths = [_write_file(folder, name, data) for name, data in files]
    with TcpListener() as listener:
        prog = ctx.start("ft_send", "127.0.0.1", listener.port, *paths, short_io=TINY_IO)
        with _accepted(listener, prog) as conn:
            at = 0
            for path, (_, data) in zip(paths, files):
                at = _expect_file(prog, conn, at, path, data)
            ended = prog.wait(RUN_S)
    _expect_sent(prog, ended, files)


@CHECKS.check("send_rejected", "ft_send reports a file the receiver rejects ('failed NAME: "
                               "REASON'), goes on with the next, exits 1", 2)
def send_rejected(ctx: Context) -> None:
    folder = _workdir(ctx, "send")
    first = _write_file(folder, "first.txt", b"the receiver says no to this one\n")
    second = _write_file(folder, "second.txt", b"and yes to this one\n")
    with TcpListener() as listener:
        prog = ctx.start("ft_send", "127.0.0.1", listener.port, first, second, short_io=TINY_IO)
        with _accepted(listener, prog) as conn:
            _, _, body, _ = _receive_file(conn, 0)
            conn.send(frame(ack(False, error="disk full on the receiver")))
            conn.read_to_eof(RECEIVE_S)    # ft_send starts the next file on a new connection
        with _accepted(listener, prog) as again:
            _expect_file(prog, again, 0, second, second.read_bytes())
            ended = prog.wait(RUN_S)
    out = prog.out().splitlines()
    ok = (ended.code == 1 and len(out) == 2 and out[0].startswith("failed first.txt: ")
          and "disk full on the receiver" in out[0]
          and out[1] == f"sent second.txt (20 bytes, md5 {md5_hex(second.read_bytes())})")
    if not ok:
        raise CheckFailed(
            "the receiver acked the first file {\"ok\": false, \"error\": \"disk full on the "
            f"receiver\"}} and the second ok; ft_send {ended.describe()} and printed:\n"
            f"{show_output(prog.out())}\nexpected 'failed first.txt: ...disk full on the "
            "receiver...', then 'sent second.txt ...', and exit status 1",
            "an ok:false ack is a failure: return -1 with res->reason holding the receiver's "
            "error text")


@CHECKS.check("send_receiver_vanishes", "ft_send fails cleanly when the receiver closes before "
                                        "its ack (exit 1, no hang)", 1)
def send_receiver_vanishes(ctx: Context) -> None:
    folder = _workdir(ctx, "send")
    path = _write_file(folder, "lost.bin", BINARY[:5000])
    with TcpListener() as listener:
        prog = ctx.start("ft_send", "127.0.0.1", listener.port, path, short_io=TINY_IO)
        with _accepted(listener, prog) as conn:
            raw, _ = _read_frame(conn, 0, RECEIVE_S, FT_HEADER_MAX)
            if raw is None or read_json_object(raw) is None:
                raise CheckFailed(f"ft_send lost.bin should have sent a header frame first, "
                                  f"but sent {show_bytes(bytes(conn.received))}.\nstderr:\n"
                                  f"{show_output(prog.err())}",
                                  skeleton_hint(prog, "the header is one frame holding a JSON "
                                                      "object", "ft_send_file"))
        ended = prog.wait(RUN_S)
    if ended.killed_by_us or ended.code != 1 or not prog.out().startswith("failed lost.bin: "):
        raise CheckFailed(
            f"the receiver read the header and closed the connection without an ack; ft_send "
            f"{ended.describe()} and printed:\n{show_output(prog.out())}\n"
            "expected 'failed lost.bin: REASON' and exit status 1",
            "EOF where the ack should be is a failure (frame_recv returns 0): return -1 with a "
            "reason; never wait for ever")


# --- ft_recv: the grader's sender, the student's receiver ------------------------------

def _receiver(ctx: Context, *args: object,
              short_io: ShortIO = TINY_IO) -> tuple[runner.Program, int, Path]:
    folder = _workdir(ctx, "recv")
    prog, port = start_tcp_server(ctx, "ft_recv", "-d", folder, *args, short_io=short_io,
                                  listen_function="ft_recv_file")
    return prog, port, folder


def _file_bytes(name: str, data: bytes, md5: str | None = None) -> bytes:
    return frame(header(name, len(data), md5 or md5_hex(data))) + data


def _read_ack(prog: runner.Program, conn: TcpConn, at: int, timeout: float = RECEIVE_S
              ) -> tuple[dict | None, int]:
    raw, after = _read_frame(conn, at, timeout)
    return (read_json_object(raw) if raw is not None else None), after


def _expect_received(ctx: Context, prog: runner.Program, folder: Path, conn: TcpConn,
                     at: int, name: str, data: bytes, how: str, timeout: float = RECEIVE_S
                     ) -> int:
    """The ack says ok with the md5, the file is in folder, whole; the next ack's offset."""
    acked, after = _read_ack(prog, conn, at, timeout)
    stored = folder / name
    problem = ""
    if acked is None:
        problem = (f"no ack frame came back (received {show_bytes(bytes(conn.received[at:]))}"
                   + (", then the end of the stream" if conn.eof else "") + ")")
    elif acked.get("ok") is not True or acked.get("md5") != md5_hex(data):
        problem = f"the ack was {acked}, where {{'ok': True, 'md5': '{md5_hex(data)}'}} was due"
    elif not stored.is_file() or stored.read_bytes() != data:
        content = stored.read_bytes() if stored.is_file() else None
        problem = ("the ack said ok but " + (f"{name} is not in the folder" if content is None
                   else f"{name} holds {len(content)} bytes, the same up to byte "
                        f"{first_difference(data, content)}"))
    if problem:
        raise CheckFailed(
            f"the grader sent {name} ({len(data)} bytes, {how}) to ft_recv, which runs under "
            f"the short-I/O shim (each of its recv() and send() calls moves a few bytes); "
            f"{problem}.\n"
            f"ft_recv's stdout:\n{show_output(prog.out())}\n{server_state(prog)}",
            skeleton_hint(prog, FRAME_HINT + "; then read exactly file_size bytes of body, "
                                "whatever the pieces they come in", "ft_recv_file"))
    return after


def _expect_line(prog: runner.Program, line: str, what: str, hint: str) -> None:
    if prog.wait_for_line(rf"^{re.escape(line)}$", RECEIVE_S) is None:
        raise CheckFailed(f"{what}: ft_recv should have printed '{line}'; its stdout:\n"
                          f"{show_output(prog.out())}", hint)


@CHECKS.check("recv_file", "ft_recv stores a file sent all in one write, one byte per write, "
                           "and in random pieces", 4)
def recv_file(ctx: Context) -> None:
    prog, port, folder = _receiver(ctx)
    for i, chunking in enumerate(CHUNKINGS):
        name, data = f"file{i}.bin", random.Random(10 + i).randbytes(3000 if i == 1 else 40_000)
        with connect_to(prog, port) as conn:
            conn.send(_file_bytes(name, data), RECEIVE_S, chunking)
            _expect_received(ctx, prog, folder, conn, 0, name, data, chunking.describe())
        _expect_line(prog, f"received {name} ({len(data)} bytes, md5 OK)", "after the file",
                     "print what ft_recv_file put in res")


@CHECKS.check("recv_binary_and_empty", "ft_recv stores binary bytes (00 0A 0D 1A FF) of an odd "
                                       "size, and an empty file", 2)
def recv_binary_and_empty(ctx: Context) -> None:
    prog, port, folder = _receiver(ctx)
    for chunking in (GLUED, CHUNKINGS[2]):
        for name, data in ((f"binary-{chunking.kind}.dat", BINARY), (f"empty-{chunking.kind}", b"")):
            with connect_to(prog, port) as conn:
                conn.send(_file_bytes(name, data), RECEIVE_S, chunking)
                _expect_received(ctx, prog, folder, conn, 0, name, data, chunking.describe())


def _transfer_large_file(ctx: Context) -> runner.Program:
    """A 64 MiB file to a new ft_recv, checked stored; the ft_recv, still running."""
    prog, port, folder = _receiver(ctx, short_io=BULK_IO)
    data = seeded_bytes(64, LARGE_FILE)
    chunking = Chunking.seeded(largest=65536)
    with connect_to(prog, port) as conn:
        if not conn.send(_file_bytes("big.bin", data), LARGE_S, chunking, stall=RECEIVE_S):
            raise CheckFailed(f"ft_recv did not take a 64 MiB file within {LARGE_S:g} s "
                              f"({conn.error}).\n{server_state(prog)}",
                              skeleton_hint(prog, "read the body in chunks and write each to "
                                                  "the .part file", "ft_recv_file"))
        # Every byte is in: only the last writes and the md5 are left before the ack.
        _expect_received(ctx, prog, folder, conn, 0, "big.bin", data, chunking.describe(),
                         ACK_AFTER_BODY_S)
    return prog


@dataclass
class _LargeTransfer:
    failure: CheckFailed | None     # why the file was not stored whole
    peak_kib: int | None            # ft_recv's peak resident set once it was


def _large_transfer(ctx: Context) -> _LargeTransfer:
    """The 64 MiB transfer that two checks grade (stored whole; memory while storing): run
    once per lab, by whichever of them comes first."""
    if "large_transfer" not in ctx.shared:
        try:
            prog = _transfer_large_file(ctx)
            ctx.shared["large_transfer"] = _LargeTransfer(None, ctx.peak_memory_kib(prog))
        except CheckFailed as failure:
            ctx.shared["large_transfer"] = _LargeTransfer(failure, None)
    done = ctx.shared["large_transfer"]
    assert isinstance(done, _LargeTransfer)
    return done


@CHECKS.check("recv_large_file", "ft_recv stores a 64 MiB file byte for byte", 2)
def recv_large_file(ctx: Context) -> None:
    failure = _large_transfer(ctx).failure
    if failure is not None:
        raise failure


@CHECKS.check("recv_streams_to_disk", "ft_recv's memory stays under 32 MiB while it stores a "
                                      "64 MiB file (measured)", 2)
def recv_streams_to_disk(ctx: Context) -> None:
    transfer = _large_transfer(ctx)
    if transfer.failure is not None:
        raise transfer.failure
    peak = transfer.peak_kib
    if peak is None:
        raise CheckSkipped("a program's memory cannot be measured on this machine (no procfs "
                           "of the grading namespace)")
    if peak >= PEAK_RSS_KIB:
        raise CheckFailed(
            f"ft_recv stored a 64 MiB file, but its memory peaked at {peak // 1024} MiB "
            f"(resident), where less than {PEAK_RSS_KIB // 1024} MiB is enough.",
            "never hold the whole file: read a chunk (a few KiB), update the md5, write it to "
            "DIR/NAME.part, and go on")


@CHECKS.check("recv_three_files", "ft_recv stores three files sent back to back on one "
                                  "connection (all in one write, then in random pieces)", 2)
def recv_three_files(ctx: Context) -> None:
    prog, port, folder = _receiver(ctx)
    for chunking in (GLUED, CHUNKINGS[2]):
        files = [(f"{chunking.kind}{i}.txt", random.Random(20 + i).randbytes(size))
                 for i, size in enumerate((1, 9000, 0))]
        with connect_to(prog, port) as conn:
            conn.send(b"".join(_file_bytes(name, data) for name, data in files), RECEIVE_S,
                      chunking)
            at = 0
            for name, data in files:
                at = _expect_received(ctx, prog, folder, conn, at, name, data,
                                      f"three files back to back, {chunking.describe()}")


@CHECKS.check("recv_chinese_name", "ft_recv stores and prints a name in UTF-8 (报告 2024.txt)", 1)
def recv_chinese_name(ctx: Context) -> None:
    prog, port, folder = _receiver(ctx)
    data = "这是一份报告。\n".encode() * 10
    for chunking in (DRIBBLE, GLUED):
        name = f"报告 {chunking.kind}.txt"
        with connect_to(prog, port) as conn:
            conn.send(_file_bytes(name, data), RECEIVE_S, chunking)
            _expect_received(ctx, prog, folder, conn, 0, name, data, chunking.describe())
        _expect_line(prog, f"received {name} ({len(data)} bytes, md5 OK)", "after the file",
                     "the header's length is in bytes: a UTF-8 name takes more bytes than it "
                     "has characters")


BAD_NAMES = ("../escaped.txt", "sub/dir.txt", ".", "..", "bad\x01name", "")


@CHECKS.check("recv_bad_names", "ft_recv rejects the names ../x, a/b, ., .., a control "
                                "character and \"\" (ok: false), writing nothing outside DIR", 4)
def recv_bad_names(ctx: Context) -> None:
    prog, port, folder = _receiver(ctx)
    (folder / "sub").mkdir()      # so that sub/dir.txt could be created, were it accepted
    before = set(folder.parent.iterdir())
    for i, name in enumerate(BAD_NAMES):
        data = b"should never be stored\n"
        with connect_to(prog, port) as conn:
            conn.send(_file_bytes(name, data), RECEIVE_S, CHUNKINGS[i % len(CHUNKINGS)])
            acked, _ = _read_ack(prog, conn, 0)
            closed = conn.read_to_eof(RECEIVE_S)
        shown = name.replace("\x01", "?") or "-"
        if acked is not None and acked.get("ok") is False and not closed:
            raise CheckFailed(
                f"the grader sent a file named {name!r}; ft_recv acked ok:false but kept the "
                f"connection open: a bad header ends the connection (ft_recv_file returns -1), "
                f"only a failed write or md5 keeps it.\n{server_state(prog)}",
                "check the name as part of the header, before the body: a name that is not a "
                "base name makes the header bad")
        if acked is None or acked.get("ok") is not False:
            raise CheckFailed(
                f"the grader sent a file named {name!r}; ft_recv answered "
                f"{acked if acked is not None else 'no ack'} where {{'ok': false, 'error': ...}} "
                f"was due.\n{server_state(prog)}",
                skeleton_hint(prog, "a received name is untrusted: accept only a base name "
                                    "(no '/' or '\\\\', not '.' or '..', no control character, "
                                    "1 to 200 bytes) and ack ok:false otherwise",
                              "ft_recv_file"))
        if prog.wait_for_line(rf"^rejected {re.escape(shown)}: .+$", RECEIVE_S) is None:
            raise CheckFailed(f"after a file named {name!r} was rejected, ft_recv should have "
                              f"printed 'rejected {shown}: REASON'; its stdout:\n"
                              f"{show_output(prog.out())}",
                              "res->name is the name as received, even when it is not valid")
    stray = [p.name for p in set(folder.parent.iterdir()) - before]
    inside = [str(p.relative_to(folder)) for p in folder.rglob("*") if p != folder / "sub"]
    if stray or inside:
        raise CheckFailed(f"after rejecting every bad name, files appeared: "
                          f"{stray + inside}.",
                          "check the name before creating anything; never open DIR/NAME "
                          "with a name that holds '/' or is '..'")


@CHECKS.check("recv_md5_mismatch", "ft_recv rejects a body whose md5 does not match (no file "
                                   "left), and the connection goes on", 3)
def recv_md5_mismatch(ctx: Context) -> None:
    prog, port, folder = _receiver(ctx)
    data = random.Random(30).randbytes(20_000)
    corrupted = data[:7000] + bytes([data[7000] ^ 0xFF]) + data[7001:]
    good = b"the next file on the same connection\n"
    for chunking in (GLUED, CHUNKINGS[2]):
        bad_name, next_name = f"corrupt-{chunking.kind}.bin", f"next-{chunking.kind}.txt"
        with connect_to(prog, port) as conn:
            conn.send(_file_bytes(bad_name, corrupted, md5_hex(data)), RECEIVE_S, chunking)
            acked, at = _read_ack(prog, conn, 0)
            # The .part may go just after the ack: look once ft_recv has reported the file.
            prog.wait_for_line(rf"^rejected {re.escape(bad_name)}: .+$", RECEIVE_S)
            left = sorted(p.name for p in folder.iterdir() if p.name.startswith("corrupt"))
            if acked is None or acked.get("ok") is not False or left:
                raise CheckFailed(
                    f"the grader sent {bad_name} ({chunking.describe()}), whose body does not "
                    f"match the header's md5; ft_recv answered "
                    f"{acked if acked is not None else 'no ack'} and the folder holds "
                    f"{left or 'nothing of it'}; expected an ok:false ack and nothing left "
                    f"(not even {bad_name}.part).\n{server_state(prog)}",
                    skeleton_hint(prog, "md5 the body as it arrives; on a mismatch unlink the "
                                        ".part, ack ok:false and keep the connection",
                                  "ft_recv_file"))
            conn.send(_file_bytes(next_name, good), RECEIVE_S, chunking)
            _expect_received(ctx, prog, folder, conn, at, next_name, good,
                             "after a rejected file, on the same connection")


@CHECKS.check("recv_cut_short", "a connection dropped mid-body leaves no .part (and ft_recv "
                                "goes on serving)", 2)
def recv_cut_short(ctx: Context) -> None:
    prog, port, folder = _receiver(ctx)
    data = random.Random(40).randbytes(100_000)
    with connect_to(prog, port) as conn:
        conn.send(_file_bytes("cut.bin", data)[:50_000])
        conn.half_close()
        conn.read_to_eof(RECEIVE_S)
    _expect_rejected_and_gone(prog, folder, "cut.bin", "50,000 of its bytes")
    good = b"served after a cut\n"
    with connect_to(prog, port) as conn:
        conn.send(_file_bytes("after.txt", good))
        _expect_received(ctx, prog, folder, conn, 0, "after.txt", good, "on a new connection")


def _expect_rejected_and_gone(prog: runner.Program, folder: Path, name: str, sent: str) -> None:
    """After a transfer cut short: ft_recv reports it, and by then nothing of it is left."""
    if prog.wait_for_line(rf"^rejected {re.escape(name)}: .+$", RECEIVE_S) is None:
        raise CheckFailed(f"the sender of {name} closed the connection after {sent}; ft_recv "
                          f"should have printed 'rejected {name}: REASON'. Its stdout:\n"
                          f"{show_output(prog.out())}\n{server_state(prog)}",
                          skeleton_hint(prog, "a body cut short is an error (-1): recv_exact "
                                              "sees EOF part-way", "ft_recv_file"))
    left = sorted(p.name for p in folder.iterdir())
    if left:
        raise CheckFailed(f"the sender of {name} closed the connection after {sent}; once "
                          f"ft_recv had reported it, the folder still held {left}.",
                          "on every failure, unlink DIR/NAME.part before you return -1")


@CHECKS.check("recv_size_over_4_gib", "a header declaring 3,000,000,000 bytes is read as a "
                                      "64-bit size", 2)
def recv_size_over_4_gib(ctx: Context) -> None:
    prog, port, folder = _receiver(ctx, short_io=BULK_IO)
    # Over 2^31 (a signed 32-bit int breaks) and over 2^32 (an unsigned one wraps to 1 MB).
    for i, size in enumerate((3_000_000_000, (1 << 32) + 1_000_000)):
        _huge_body_is_stored(prog, port, folder, f"huge{i}.bin", size)


def _part_size(part: Path) -> int | None:
    try:
        return part.stat().st_size
    except OSError:       # not there (yet, or any more)
        return None


def _huge_body_is_stored(prog: runner.Program, port: int, folder: Path, name: str,
                         size: int) -> None:
    """A header declaring size bytes, then SENT_OF_HUGE of them: ft_recv must go on storing
    them (its .part grows past what any write buffer holds) and clean up when cut short."""
    body = seeded_bytes(size, SENT_OF_HUGE)
    part = folder / f"{name}.part"
    with connect_to(prog, port) as conn:
        conn.send(frame(header(name, size, md5_hex(b"not checked"))) + body, LARGE_S,
                  stall=RECEIVE_S)
        # No event tells a file's size: look every 10 ms, up to the deadline. A session may
        # hold FRAME_MAX bytes before it writes them; past that they must be on disk.
        deadline = time.monotonic() + RECEIVE_S
        while (_part_size(part) or 0) < STORED_OF_HUGE:
            if conn.received or conn.eof or conn.error or time.monotonic() > deadline:
                break
            conn.read_until(lambda got: bool(got), 0.01)    # an ack or EOF ends the wait
        stored = _part_size(part)
        answered = bytes(conn.received)
        if answered or conn.eof or conn.error:
            raise CheckFailed(
                f"the grader sent a header declaring {size} bytes (valid: sizes go up to 2^53) "
                f"and {SENT_OF_HUGE >> 20} MiB of body, and kept the connection open; ft_recv "
                + (f"answered {show_bytes(answered, 120)}" if answered else
                   f"closed it ({conn.error})" if conn.error else "closed it")
                + f" before the body was done.\nIts stdout:\n{show_output(prog.out())}",
                skeleton_hint(prog, f"{size} does not fit in 32 bits: hold sizes in uint64_t "
                                    "(cJSON gives a double: check it is whole and in range, "
                                    "then convert)", "ft_recv_file"))
        if stored is None or stored < STORED_OF_HUGE:
            raise CheckFailed(
                f"the grader sent a header declaring {size} bytes and {SENT_OF_HUGE >> 20} MiB of "
                f"body; {RECEIVE_S:g} s later {name}.part held "
                f"{'nothing' if stored is None else f'{stored} bytes'}.\n{server_state(prog)}",
                "write the body to DIR/NAME.part as it arrives, a chunk at a time")
        conn.half_close()
        conn.read_to_eof(RECEIVE_S)
    _expect_rejected_and_gone(prog, folder, name, f"{SENT_OF_HUGE >> 20} MiB of its {size} bytes")


@CHECKS.check("recv_header_too_large", "a header frame over FT_HEADER_MAX is refused without "
                                       "being read", 2)
def recv_header_too_large(ctx: Context) -> None:
    prog, port, folder = _receiver(ctx)
    first = b"a good file first\n"
    with connect_to(prog, port) as conn:
        conn.send(_file_bytes("first.txt", first))
        _expect_received(ctx, prog, folder, conn, 0, "first.txt", first,
                         "before the oversized header, on the same connection")
        conn.send(struct.pack("!I", FT_HEADER_MAX + 1) + b"{")
        if not conn.read_to_eof(RECEIVE_S):
            raise CheckFailed(
                f"the grader announced a header frame of FT_HEADER_MAX + 1 = {FT_HEADER_MAX + 1} "
                f"bytes and sent 1 of them; {RECEIVE_S:g} s later ft_recv still held the "
                f"connection open (waiting for the rest).\n{server_state(prog)}",
                skeleton_hint(prog, "frame_recv with cap FT_HEADER_MAX fails with EMSGSIZE as "
                                    "soon as the length is read: ack ok:false and hang up",
                              "ft_recv_file"))
    left = sorted(p.name for p in folder.iterdir() if p.name != "first.txt")
    if left:
        raise CheckFailed(f"after a refused header the folder holds {left}.",
                          "create nothing before the header is read and valid")
