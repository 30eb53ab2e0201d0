"""Lab 03 - TCP: what tcp_echo_server, tcp_client and tcp_send do on a byte stream.

The bugs of this lab hide on loopback, where send() is rarely short and one recv() often
holds one whole message. The checks that move many bytes or read lines therefore run the
student's program under the short-I/O shim (ShortIO): each send moves at most a few hundred
bytes, each recv a few kilobytes, on every run, so an ignored return value or a loop that
forgets where it was fails every time.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import time

from . import (LISTENING, READY_S, RECEIVE_S, RUN_S, STDERR_HINT, CheckFailed, Context,
               LabChecks, ShortIO, connect_to, server_state, skeleton_hint, start_tcp_server)
from .. import runner
from ..describe import first_difference, plural, show_bytes, show_output
from ..peers import (PEER_POLL_S, TCP_CLOSE_WAIT, TcpConn, TcpListener, connection, in_flight,
                     peer_socket, refusing_tcp_port, seeded_bytes, swapped, wait_for_peer_state)

# Hints shown under a failed API check (a Criterion test of tests/), by suite.
API_HINTS = {
    "tcp_listen": "socket, setsockopt(SO_REUSEADDR, 1) BEFORE bind, bind (getaddrinfo with "
                  "AI_PASSIVE; NULL, \"\" and 0.0.0.0 mean any address), listen; close the "
                  "socket when a step fails",
    "tcp_connect": "getaddrinfo, socket, connect; return -1 with connect's errno "
                   "(ECONNREFUSED) and close the socket when it fails",
    "send_all": "send() may take fewer bytes than asked: loop, advancing by what it "
                "returned, retry EINTR, and pass MSG_NOSIGNAL so a vanished peer is EPIPE "
                "instead of a fatal SIGPIPE",
    "recv_line": "a TCP stream has no message boundaries: read until the \"\\n\" and no "
                 "further (MSG_PEEK, or one byte per recv), keep up to cap - 1 bytes, "
                 "straight into buf (no smaller buffer of your own), and a NUL; "
                 "recv() returning 0 is end of stream",
    "tcp_echo_session": "loop: recv, then send_all exactly the n bytes received (uppercase "
                        "a-z only), until recv returns 0; -1 on errors; do not close fd",
    "tcp_echo_serve": "serve each client concurrently (a thread, fork, or poll); print "
                      "connected/disconnected with inet_ntop and ntohs; close each client's "
                      "socket; look at *stop at least every 0.5 s",
}

CHECKS = LabChecks("03_tcp", API_HINTS)

LARGE = 8 << 20               # bytes in the large echo
LARGE_S = 30.0                # its deadline: generous for a loaded machine
IDLE_SERVED_S = 3.0           # a second client is answered while the first sits idle
CLIENTS = 50
VANISH_ATTEMPTS = 3           # client_vanishes: tries to get the server stuck sending
VANISH_PIECE = 16 << 10       # ... fed this much at a time
VANISH_RECEIVE_BUFFER = 4096  # ... by a client whose small window stops the echo early
STOP_S = 3.0                  # SIGTERM to exit: the contract allows 0.5 s
VANISH_HINT = ("sending on a connection the peer has reset raises SIGPIPE, whose default "
               "action kills the whole server: send with MSG_NOSIGNAL (send_all) and end only "
               "that session when send fails with EPIPE or ECONNRESET")

# Sends capped well below any sensible read size (and varying), receives at a few KiB: a
# server that reads 4 KiB gets a short send on nearly every echo, so a send loop that
# ignores send's return value or does not advance fails on every run.
BULK_IO = ShortIO(send=512, recv=4096, seed=3)
# For reading lines: a few bytes per recv, so any line spans several of them.
LINE_IO = ShortIO(send=2, recv=3)


# --- helpers ---------------------------------------------------------------------------

def _server(ctx: Context, *args: object, port: int = 0,
            short_io: ShortIO | None = None) -> tuple[runner.Program, int]:
    """Start tcp_echo_server; it and its port."""
    return start_tcp_server(ctx, "tcp_echo_server", *args, port=port, short_io=short_io,
                            listen_function="tcp_listen")


def _connect(prog: runner.Program, port: int, what: str = "a client") -> TcpConn:
    return connect_to(prog, port, what, "tcp_listen must bind and listen() on the port it prints")


def _expect_echo(prog: runner.Program, conn: TcpConn, sent: bytes, expected: bytes,
                 what: str, hint: str) -> None:
    got = conn.read_count(len(expected), RECEIVE_S)
    if got[:len(expected)] != expected:
        raise CheckFailed(
            f"{what} sent {show_bytes(sent)}\nexpected back {show_bytes(expected)}\n"
            f"got back {show_bytes(got)}{' and then the end of the stream' if conn.eof else ''}"
            f"\n{server_state(prog)}", hint)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _large_hint(sent: bytes, got: bytes, at: int) -> str:
    probe = got[at:at + 32]
    if len(probe) == 32 and sent.rfind(probe, max(0, at - (1 << 20)), at + 31) >= 0:
        return ("the bytes from there repeat bytes already sent: when send() takes only part "
                "of the buffer, the loop must advance its pointer past what was sent "
                "(buf + sent) and send the rest, not start again from the beginning")
    if len(probe) == 32 and sent.find(probe, at + 1) >= 0:
        return ("bytes are missing from there: send() took only part of the buffer (a short "
                "send) and the rest was never sent; use send's return value and loop until "
                "every byte is out (send_all)")
    if len(got) < len(sent):
        return ("the echo stopped short: send() may take fewer bytes than asked (a short "
                "send); loop on its return value until every byte is out (send_all), and "
                "echo exactly the n bytes each recv returned")
    return "echo exactly the n bytes each recv() returned, in order (send_all(fd, buf, n))"


# --- tcp_echo_server: echo -------------------------------------------------------------

@CHECKS.check("echo_line", "tcp_echo_server echoes a line back", 5)
def echo_line(ctx: Context) -> None:
    prog, port = _server(ctx)
    with _connect(prog, port) as conn:
        line = b"hello, echo server\n"
        conn.send(line)
        _expect_echo(prog, conn, line, line, "a client",
                     "tcp_echo_session: recv what came, send_all exactly those n bytes back")


@CHECKS.check("upper", "tcp_echo_server -u upper-cases ASCII letters only", 3)
def upper(ctx: Context) -> None:
    prog, port = _server(ctx, "-u")
    with _connect(prog, port) as conn:
        line = "Mixed case: abc xyz, é 中 ß, 123!\n".encode()
        expected = bytes(b - 32 if 0x61 <= b <= 0x7A else b for b in line)
        conn.send(line)
        _expect_echo(prog, conn, line, expected, "a client of tcp_echo_server -u",
                     "upper-case the bytes a-z only (c - 'a' + 'A'); bytes of UTF-8 text "
                     "(>= 0x80) and everything else stay as they are; toupper() depends on "
                     "the locale")


@CHECKS.check("echo_large", "echoes 8 MiB byte for byte while the client sends and reads "
                            "at once (short sends forced)", 10)
def echo_large(ctx: Context) -> None:
    prog, port = _server(ctx, short_io=BULK_IO)
    data = seeded_bytes(3, LARGE)
    with _connect(prog, port) as conn:
        got = conn.echo(data, LARGE_S)
        if got == data:
            return
        at = first_difference(data, got)
        if len(got) == len(data):
            ended = "as many bytes as were sent, but not the same bytes"
        elif conn.eof:
            ended = "then the server closed the connection"
        elif conn.error:
            ended = f"then the connection failed ({conn.error.strerror})"
        else:
            ended = f"nothing more came within {LARGE_S:g} s"
        raise CheckFailed(
            f"the client sent {LARGE} random bytes (sha256 {_sha(data)}...) and then "
            f"half-closed, reading the echo at the same time, with tcp_echo_server under the "
            f"grader's short-I/O shim ({BULK_IO.describe()}).\nIt got back {len(got)} bytes "
            f"(sha256 {_sha(got)}...); {ended}.\nThe first {at} bytes were right; from byte "
            f"{at} on:\n  sent {show_bytes(data[at:at + 16])}\n  got  "
            f"{show_bytes(got[at:at + 16])}\n{server_state(prog)}",
            _large_hint(data, got, at))


# --- tcp_echo_server: many clients -----------------------------------------------------

@CHECKS.check("idle_client", "a second client is served while the first stays idle", 7)
def idle_client(ctx: Context) -> None:
    prog, port = _server(ctx)
    with _connect(prog, port, "the first client") as first:
        first.send(b"first\n")
        _expect_echo(prog, first, b"first\n", b"first\n", "the first client",
                     "tcp_echo_session: recv, then send_all the bytes back")
        # The first client now stays connected and silent.
        with _connect(prog, port, "the second client") as second:
            second.send(b"second\n")
            got = second.read_count(7, IDLE_SERVED_S)
            if got != b"second\n":
                raise CheckFailed(
                    f"a first client got its echo and then stayed connected, sending nothing. "
                    f"A second client connected and sent {show_bytes(b'second' + bytes([10]))}; "
                    f"within {IDLE_SERVED_S:g} s it got back {show_bytes(got)}.\n"
                    f"{server_state(prog)}",
                    "an iterative server serves one client at a time, so an idle client holds "
                    "up every other: serve clients concurrently (a thread per client, fork(), "
                    "or one poll() loop over all sockets)")


@CHECKS.check("many_clients", f"{CLIENTS} clients at once, each gets its own data back", 4)
def many_clients(ctx: Context) -> None:
    prog, port = _server(ctx, "-b", 2 * CLIENTS)
    conns: list[TcpConn] = []
    try:
        for _ in range(CLIENTS):     # all connected first, in a burst: accept() runs hot
            conns.append(_connect(prog, port, f"client {len(conns) + 1}"))
        messages = [f"client {i:02d} says {'hello ' * (i % 7 + 1)}\n".encode() for i in range(CLIENTS)]
        for conn, message in zip(conns, messages):
            conn.send(message)
        wrong = []
        deadline = time.monotonic() + RECEIVE_S   # one for all: the echoes come in parallel
        for i, (conn, message) in enumerate(zip(conns, messages)):
            got = conn.read_count(len(message), deadline - time.monotonic())
            if got != message:
                wrong.append(f"client {i + 1} sent {show_bytes(message)}, got back {show_bytes(got)}")
        if wrong:
            raise CheckFailed(
                f"{CLIENTS} clients connected at once, then each sent its own line; "
                f"{plural(len(wrong), 'client')} did not get their own line back:\n  "
                + "\n  ".join(wrong[:5]) + ("\n  ..." if len(wrong) > 5 else "")
                + f"\n{server_state(prog)}",
                "each client needs its own socket for its whole session: a thread given "
                "&connfd reads it after accept() has overwritten it for the next client; "
                "pass the fd by value (or a malloc'ed copy); fork() and poll() servers must "
                "keep each client's fd apart too")
    finally:
        for conn in conns:
            conn.close()


# --- tcp_echo_server: ends of connections ----------------------------------------------

@CHECKS.check("client_vanishes", "a client that vanishes mid-echo does not kill the server "
                                 "(SIGPIPE), and the next client is served", 7)
def client_vanishes(ctx: Context) -> None:
    prog, port = _server(ctx)
    # A reset only makes the server's send fail with EPIPE (and, without MSG_NOSIGNAL, raise
    # SIGPIPE) if the server sends after it. So the reset is sent only once the server is
    # stuck sending an echo nobody reads, with input still unread, and has had the FIN
    # first (in CLOSE_WAIT the error is EPIPE; in ESTABLISHED the first one is ECONNRESET).
    stuck = False
    for attempt in range(VANISH_ATTEMPTS):
        try:
            gone = TcpConn.connect("127.0.0.1", port, receive_buffer=VANISH_RECEIVE_BUFFER)
        except OSError as err:
            # The previous attempt's next client was served, and the server died after it:
            # a connection refused or reset while it is still on its way out.
            died = prog.wait(RUN_S)
            raise CheckFailed(
                f"{_vanished(stuck)} The next client could not connect ({err.strerror or err}) "
                f"(attempt {attempt + 1}).\ntcp_echo_server {died.describe()}; stderr:\n"
                f"{show_output(prog.err())}", VANISH_HINT) from None
        with gone:
            stuck = _feed_until_stuck_sending(prog, gone)
            ends = connection(gone.sock)
            gone.half_close()
            if stuck:
                wait_for_peer_state(ends, TCP_CLOSE_WAIT, RECEIVE_S)
            gone.abort()
        # Let the reset land (it may take a retransmission) and the server act on it, before
        # a next client could be served by another of its threads in the meantime.
        wait_for_peer_state(ends, None, RECEIVE_S)
        prog.wait_settled(RECEIVE_S)
        try:
            nxt: TcpConn | None = TcpConn.connect("127.0.0.1", port)
        except OSError as err:   # the server died before it could accept again
            nxt, refused = None, err
        with nxt or contextlib.nullcontext():
            if nxt is not None and nxt.send(b"still there?\n") and \
                    nxt.read_count(13, RECEIVE_S) == b"still there?\n":
                if stuck:
                    return
                continue    # it never got stuck sending: that attempt proved nothing
            died = prog.exited_within(RECEIVE_S)     # dying of SIGPIPE takes a moment
            why = (f"tcp_echo_server {died.describe()}" if died else
                   "tcp_echo_server is running but did not echo")
            then = (f"could not connect ({refused.strerror or refused})" if nxt is None else
                    f"sent 'still there?' and got back {show_bytes(nxt.received)}")
            raise CheckFailed(
                f"{_vanished(stuck)} A next client {then} (attempt {attempt + 1}).\n{why}; "
                f"stderr:\n{show_output(prog.err())}", VANISH_HINT)


def _vanished(stuck: bool) -> str:
    """What the last vanishing client did, for a message."""
    until = " until tcp_echo_server was stuck sending it back" if stuck else ""
    return (f"a client sent data without reading its echo{until}, then half-closed and reset "
            f"the connection (SO_LINGER 0).")


def _feed_until_stuck_sending(prog: runner.Program, conn: TcpConn) -> bool:
    """Send to the server, a piece at a time and never reading the echo, until it is stuck
    in send(): every thread of it asleep, its echo unacknowledged (our window is shut), and
    bytes of ours it has not read. Each piece goes only once the last is in its receive
    queue, so its window stays open for the FIN. Whether it got stuck before the deadline."""
    deadline = time.monotonic() + RECEIVE_S
    while time.monotonic() < deadline:
        theirs = peer_socket(conn.sock)
        if theirs is None or conn.error is not None:
            return False
        if in_flight(conn.sock) == 0:
            if theirs.unread == 0:
                if not conn.send(bytes(VANISH_PIECE), max(0.0, deadline - time.monotonic())):
                    return False
                continue
            # Asleep with input waiting: not in recv (data wakes it), so in send. Looked at
            # twice around the look at its threads, so nothing moved meanwhile.
            if theirs.unsent > 0 and prog.group_asleep() and peer_socket(conn.sock) == theirs:
                return True
        time.sleep(PEER_POLL_S)   # no event tells "the peer is blocked"
    return False


@CHECKS.check("disconnect_on_eof", "a session ends when its client closes (recv returns 0)", 4)
def disconnect_on_eof(ctx: Context) -> None:
    prog, port = _server(ctx)
    with _connect(prog, port) as conn:
        client_port = conn.local_port
        conn.send(b"bye\n")
        _expect_echo(prog, conn, b"bye\n", b"bye\n", "a client",
                     "tcp_echo_session: recv, then send_all the bytes back")
    pattern = rf"^disconnected [\d.]+:({client_port}|{swapped(client_port)})$"
    if prog.wait_for_line(pattern, RECEIVE_S) is None:
        raise CheckFailed(
            f"a client (port {client_port}) got its echo and closed the connection; within "
            f"{RECEIVE_S:g} s tcp_echo_server printed no 'disconnected 127.0.0.1:{client_port}'."
            f"\nIts stdout:\n{show_output(prog.out())}\n{server_state(prog)}",
            "when the client closes, recv() returns 0: that is the end of the stream, not "
            "'no data yet'. End the session there (a loop that calls recv again spins "
            "forever), close the socket and print 'disconnected'")


@CHECKS.check("server_closes_on_eof", "after the client half-closes, the server echoes the "
                                      "rest and closes the connection", 4)
def server_closes_on_eof(ctx: Context) -> None:
    prog, port = _server(ctx)
    with _connect(prog, port) as conn:
        conn.send(b"last words\n")
        conn.half_close()
        if conn.read_to_eof(RECEIVE_S) and bytes(conn.received) == b"last words\n":
            return
        raise CheckFailed(
            f"a client sent 'last words\\n' and half-closed (shutdown SHUT_WR). It got back "
            f"{show_bytes(conn.received)} and "
            + ("then the end of the stream." if conn.eof else
               f"the connection was still open after {RECEIVE_S:g} s.")
            + f"\n{server_state(prog)}",
            "when recv() returns 0 the session is over: close the client's socket. The "
            "connection ends only when every copy of the fd is closed: after fork(), the "
            "parent must close its copy of the client's fd (the child serves it)")


@CHECKS.check("restart_same_port", "the server restarts on the same port at once after it "
                                   "closed a connection first (SO_REUSEADDR)", 5)
def restart_same_port(ctx: Context) -> None:
    prog, port = _server(ctx)
    with _connect(prog, port) as conn:
        conn.send(b"hi\n")
        conn.read_count(3, RECEIVE_S)
        prog.stop()               # the server's end closes first ...
        conn.read_to_eof(RECEIVE_S)
    # ... so its side of that connection now waits in TIME_WAIT, holding the port.
    again = ctx.start("tcp_echo_server", port)
    match = again.wait_for_line(LISTENING, READY_S)
    if match is not None and int(match.group(2)) == port:
        return
    if match is None:
        ended = again.wait(1.0) if again.has_exited() else again.stop()
        raise CheckFailed(
            f"tcp_echo_server ran on port {port}, served a client, and was stopped while the "
            f"connection was open (so the server's end closed first). Started again at once "
            f"on port {port}, it {ended.describe()}; stderr:\n{show_output(again.err())}",
            "after the server closes a connection first, that connection waits in TIME_WAIT "
            "and bind() on the port fails with EADDRINUSE; setsockopt(SO_REUSEADDR, 1) "
            "before bind() lets the server restart at once"
            if "in use" in again.err() else skeleton_hint(again, STDERR_HINT, "tcp_listen"))
    raise CheckFailed(f"tcp_echo_server {port} printed {match.group(0).decode()}",
                      "bind the port you are given (htons(port))")


@CHECKS.check("connected_lines", "prints connected/disconnected with the client's true "
                                 "address", 4)
def connected_lines(ctx: Context) -> None:
    prog, port = _server(ctx)
    with _connect(prog, port) as conn:
        client_port = conn.local_port
        conn.send(b"x\n")
        conn.read_count(2, RECEIVE_S)
        connected = prog.wait_for_line(r"^connected .*$", RECEIVE_S)
    expected = f"connected 127.0.0.1:{client_port}"
    wrong_order = f"connected 127.0.0.1:{swapped(client_port)}"
    shown = connected.group(0).decode(errors="replace") if connected else None
    if shown != expected:
        hint = "print the client's address from accept(): inet_ntop for the IP, ntohs(sin_port) for the port"
        if shown == wrong_order:
            hint = (f"the port's bytes are swapped ({swapped(client_port)} instead of "
                    f"{client_port}): sin_port is in network byte order, print ntohs(sin_port)")
        elif shown is None:
            hint = "print 'connected A.B.C.D:P' (and flush stdout) when accept() returns a client"
        raise CheckFailed(
            f"a client connected from 127.0.0.1:{client_port}; tcp_echo_server printed:\n"
            f"{show_output(prog.out())}\nexpected the line:\n  | {expected}", hint)
    # The "disconnected" line's existence is disconnect_on_eof's concept; its address is ours.
    gone = prog.wait_for_line(r"^disconnected .*$", RECEIVE_S)
    if gone is not None and gone.group(0).decode(errors="replace") != f"dis{expected}":
        raise CheckFailed(
            f"a client from 127.0.0.1:{client_port} closed; tcp_echo_server printed:\n"
            f"{show_output(prog.out())}\nexpected the line:\n  | dis{expected}",
            "print the same address in 'disconnected' as in 'connected' (ntohs for the port)")


@CHECKS.check("stops_on_sigterm", "SIGTERM stops the server (exit 0) while a client sits "
                                  "idle", 2)
def stops_on_sigterm(ctx: Context) -> None:
    prog, port = _server(ctx)
    with _connect(prog, port) as idle:
        idle.send(b"hi\n")
        idle.read_count(3, RECEIVE_S)
        prog.wait_asleep(STOP_S)   # blocked in accept/recv/poll, where the signal must reach it
        ended = prog.terminate(STOP_S)
    if ended.code == 0 and not ended.killed_by_us:
        return
    raise CheckFailed(
        f"with one client connected and idle, tcp_echo_server got SIGTERM (again every "
        f"{runner.TERMINATE_EVERY_S:g} s); it {ended.describe()}; expected exit 0 within "
        f"{STOP_S:g} s.\nstderr:\n{show_output(prog.err())}",
        "the handler sets *stop: the accept loop must look at it at least every 0.5 s "
        "(poll() on the listening socket with a timeout, or EINTR from accept) and return 0; "
        "the process exits without waiting for open sessions")


@CHECKS.check("reachable_on_lan", "the server is reachable on the test LAN (default host "
                                  "0.0.0.0)", 2, lan=True)
def reachable_on_lan(ctx: Context) -> None:
    prog, port = _server(ctx)
    try:
        conn = TcpConn.connect("198.51.100.1", port)
    except OSError as err:
        raise CheckFailed(
            f"tcp_echo_server {port} printed '{prog.out().splitlines()[0]}', but a client on the "
            f"test LAN could not connect to 198.51.100.1:{port}: {err.strerror or err}.",
            "with no -H the server must bind the any address (INADDR_ANY, host NULL/\"\"/"
            "0.0.0.0 with AI_PASSIVE), not 127.0.0.1, or only this machine can reach it")
    with conn:
        conn.send(b"lan\n")
        _expect_echo(prog, conn, b"lan\n", b"lan\n", "a client on 198.51.100.1",
                     "tcp_echo_session: recv, then send_all the bytes back")


# --- tcp_client ------------------------------------------------------------------------

def _client_failed(prog: runner.Program, what: str, hint: str) -> CheckFailed:
    name = prog.name
    return CheckFailed(f"{what}\n{name} {prog.exit().describe()}; stdout:\n"
                       f"{show_output(prog.out())}\nstderr:\n{show_output(prog.err())}", hint)


def _accept(server: TcpListener, prog: runner.Program) -> TcpConn:
    conn = server.accept(READY_S, sender=prog)
    if conn is None:
        prog.wait(RUN_S)
        raise CheckFailed(
            f"{prog.name} never connected to the grader's server on 127.0.0.1:{server.port}; it "
            f"{prog.exit().describe()}, stderr:\n{show_output(prog.err())}",
            skeleton_hint(prog, STDERR_HINT, "tcp_connect"))
    return conn


@CHECKS.check("client_chat", "tcp_client prints one reply line per line it sends, even when "
                             "two lines come at once (short reads forced)", 5)
def client_chat(ctx: Context) -> None:
    stdin = b"hello\nsecond\nthird\nexit\n"
    expected = "HELLO, YOU\nand one more line\nSECOND\n"
    with TcpListener() as server:
        prog = ctx.start("tcp_client", "127.0.0.1", server.port, stdin=stdin, short_io=LINE_IO)
        with _accept(server, prog) as conn:
            # The reply to the first line is two lines in one send: the second belongs to the
            # next line the client sends, and must wait in the socket until then.
            # (The first "\n" is not at a multiple of LINE_IO.recv: a reader taking 3 bytes per
            # recv() takes it together with the next line's first bytes.)
            replies = [b"HELLO, YOU\nand one more line\n", b"SECOND\n", b"THIRD\n"]
            for count, reply in enumerate(replies, start=1):
                got = conn.read_until(lambda data, n=count: data.count(b"\n") >= n, RECEIVE_S)
                if got.count(b"\n") < count:
                    break
                conn.send(reply)
            ended = prog.wait(RUN_S)
            got_lines = bytes(conn.received)
    if prog.out() == expected and ended.code == 0:
        return
    if not got_lines.startswith(b"hello\n"):
        raise _client_failed(
            prog, f"under the short-I/O shim ({LINE_IO.describe()}) tcp_client was to send "
                  f"{show_bytes(b'hello' + bytes([10]))}; the server received "
                  f"{show_bytes(got_lines)}.",
            "send() may take only part of the line: loop on its return value until every "
            "byte is sent (send_all), advancing past what was sent")
    raise _client_failed(
        prog, f"stdin {show_bytes(stdin)}; the server answered the first line with TWO lines "
              f"in one send ({show_bytes(replies[0])}) and each later line with one, while "
              f"each recv() returned at most {LINE_IO.recv} bytes.\nexpected stdout (one "
              f"reply line per line sent):\n{show_output(expected)}",
        "recv_line must stop right after the \"\\n\": one recv() can return the start of the "
        "next line too (TCP is a byte stream, not messages) and those bytes would be lost or "
        "printed too early. Peek (MSG_PEEK) or read one byte per recv, and loop until the "
        "\"\\n\": a line can also arrive in pieces")


@CHECKS.check("client_exit", "tcp_client ends on the line 'exit' without sending it", 3)
def client_exit(ctx: Context) -> None:
    with TcpListener() as server:
        prog = ctx.start("tcp_client", "127.0.0.1", server.port, stdin=b"ping\nexit\nnot sent\n")
        with _accept(server, prog) as conn:
            conn.read_line(RECEIVE_S)
            conn.send(b"PONG\n")
            saw_eof = conn.read_to_eof(RUN_S)
            ended = prog.wait(RUN_S)
            sent = bytes(conn.received)
    if sent == b"ping\n" and saw_eof and ended.code == 0 and prog.out() == "PONG\n":
        return
    raise _client_failed(
        prog, f"stdin 'ping\\nexit\\nnot sent\\n'; the server replied PONG to ping. It received "
              f"{show_bytes(sent)} and {'then' if saw_eof else 'never saw'} the end of the "
              f"stream.\nexpected: the server gets only 'ping\\n', tcp_client prints PONG and "
              f"exits 0",
        skeleton_hint(prog, STDERR_HINT, "recv_line") if ended.code != 0 else
        "recv_line returns the line with its \"\\n\"; the client stops at 'exit' and closes")


@CHECKS.check("client_server_closed", "tcp_client prints 'connection closed by server' when "
                                      "the server closes", 3)
def client_server_closed(ctx: Context) -> None:
    with TcpListener() as server:
        prog = ctx.start("tcp_client", "127.0.0.1", server.port, stdin=b"anyone?\nmore\n")
        with _accept(server, prog) as conn:
            conn.read_line(RECEIVE_S)
        ended = prog.wait(RUN_S)   # the server closed without a reply
    if "connection closed by server" in prog.out().splitlines() and ended.code == 0:
        return
    if ended.killed_by_us:
        hint = ("recv() returning 0 means the peer closed: recv_line must return 0 then, not "
                "call recv again and wait")
    else:
        hint = skeleton_hint(prog, "recv_line returns 0 at the end of the stream (recv() "
                                   "returned 0), not -1", "recv_line")
    raise _client_failed(
        prog, "the server read the first line and closed the connection without replying; "
              "expected tcp_client to print 'connection closed by server' and exit 0.", hint)


@CHECKS.check("client_refused", "tcp_client exits 1 with a message when the connection is "
                                "refused", 1.5)
def client_refused(ctx: Context) -> None:
    holder = refusing_tcp_port()
    try:
        port = holder.getsockname()[1]
        prog = ctx.run("tcp_client", "127.0.0.1", port, stdin=b"hello\n")
    finally:
        holder.close()
    ended, err = prog.exit(), prog.err()
    if ended.code == 1 and re.search(rf"^tcp_client: connect 127\.0\.0\.1:{port}: .*refused",
                                     err, re.M | re.I):
        return
    raise _client_failed(
        prog, f"nobody listens on 127.0.0.1:{port} (connecting is refused); expected exit 1 "
              f"and 'tcp_client: connect 127.0.0.1:{port}: Connection refused' on stderr.",
        skeleton_hint(prog, "tcp_connect must return -1 when connect() fails, with errno still "
                            "ECONNREFUSED (close the socket without losing it), not a socket "
                            "that is not connected", "tcp_connect"))


# --- tcp_send --------------------------------------------------------------------------

@CHECKS.check("send_half_close", "tcp_send sends the message, half-closes, and prints all "
                                 "that comes back until EOF (short sends forced)", 4)
def send_half_close(ctx: Context) -> None:
    message = ("the whole message, " * 150).strip()
    reply = [b"got it: ", str(len(message)).encode(), b" bytes\n", b"and a second line\n"]
    with TcpListener() as server:
        prog = ctx.start("tcp_send", "127.0.0.1", server.port, message, short_io=LINE_IO)
        with _accept(server, prog) as conn:
            saw_eof = conn.read_to_eof(RECEIVE_S)
            got = bytes(conn.received)
            if saw_eof and got == message.encode():
                for piece in reply:     # several sends: the reply is read until EOF
                    conn.send(piece)
        ended = prog.wait(RUN_S)
    if not saw_eof or got != message.encode():
        raise _client_failed(
            prog, f"tcp_send was to send a {len(message)}-byte message under the short-I/O shim "
                  f"({LINE_IO.describe()}), then half-close. The server received {len(got)} "
                  f"bytes ({show_bytes(got, limit=40)}) and "
                  + ("then the end of the stream." if saw_eof else
                     f"no end of stream within {RECEIVE_S:g} s."),
            "send() may take only part of the buffer (a short send): send_all must loop on "
            "send's return value, advancing past what was sent, until all len bytes are out"
            if saw_eof or got else skeleton_hint(prog, STDERR_HINT, "tcp_connect and send_all"))
    if prog.out() != b"".join(reply).decode() or ended.code != 0:
        raise _client_failed(
            prog, f"the server got the whole message and the end of the stream, then sent "
                  f"{show_bytes(b''.join(reply))} in {len(reply)} pieces and closed.",
            "tcp_send prints what recv returns until recv returns 0")

