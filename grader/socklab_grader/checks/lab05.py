"""Lab 05 - Winsock: one echo server and client, built for Linux and for Windows.

Every behaviour is checked on both builds: the Linux programs as they are, and the Windows
programs (build/win/*.exe, cross-compiled by mingw-w64) under Wine, inside the run's own
namespaces (see wine.py), their output read with CR LF normalised to LF. Where mingw-w64 or
Wine is missing, the Windows checks are skipped with the reason, never passed.

The Windows mistakes of this lab show on the wire or in the error line: a Winsock never
started fails its first socket call with 10093, a WSACleanup before the end closes every
socket (the next accept fails with 10038), close() on a SOCKET closes nothing (the client
never sees EOF), errno instead of WSAGetLastError gives a code Winsock never set, and
FormatMessage's text keeps its CR LF unless it is cut. The grader's peers send data in
pieces, each only once the program has read the one before (peers.send_read_by_read), so a
short recv taken for the end of the data is caught on every run, on both systems.
"""

from __future__ import annotations

import random
import re
import shutil
import time
from dataclasses import dataclass

from . import (RECEIVE_S, RUN_S, CheckFailed, CheckSkipped, Context, LabChecks, connect_to,
               server_state, start_tcp_server)
from .. import runner
from ..build import also_build_log
from ..describe import first_difference, show_bytes, show_output
from ..peers import Chunking, TcpConn, TcpListener, refusing_tcp_port, seeded_bytes

API_HINTS = {
    "sock_init": "Windows: WSAStartup(MAKEWORD(2, 2), &wsa) returns its error instead of "
                 "setting it; POSIX: nothing to start, return 0",
    "sock_cleanup": "Windows: WSACleanup(); POSIX: nothing",
    "sock_close": "SOCK_INVALID: return -1 without calling anything; closesocket on "
                  "Windows, close on POSIX; 0 or -1",
    "sock_error": "WSAGetLastError() on Windows (Winsock does not set errno), errno on POSIX",
    "sock_strerror": "one line: FormatMessage's text without its trailing CR LF / strerror, "
                     "cut to cap - 1 bytes and NUL-terminated; exactly \"unknown error\" "
                     "where there is no text",
    "wecho_listen": "resolve the host (e.g. getaddrinfo with AI_PASSIVE; NULL, \"\" and "
                    "0.0.0.0 mean any address), socket, SO_REUSEADDR (POSIX) or SO_EXCLUSIVEADDRUSE (Windows) before "
                    "bind, listen; SOCK_INVALID with the error kept when a step fails",
    "wecho_connect": "resolve the host (e.g. getaddrinfo), socket, connect; SOCK_INVALID with connect's error kept "
                     "(close the socket without losing it)",
    "wecho_session": "recv, then send every byte received (loop on send's return), until "
                     "recv returns 0; only 0 is the end, a short recv is not; do not close c",
    "wecho_request": "send all of msg, shutdown the sending side only (SD_SEND / SHUT_WR), "
                     "recv until it returns 0: keep cap - 1 bytes, NUL-terminate, read and "
                     "drop the rest",
}

CHECKS = LabChecks("05_winsock", API_HINTS)

MINGW = "x86_64-w64-mingw32-gcc"
LARGE = 1 << 20               # the large echo and the large reply
LARGE_S = 30.0                # their deadline: Wine on a loaded machine
REPLY_CAP = 65536             # wecho_client's reply buffer (src/wecho_client_main.c)
LINE = b"Hello from the grader: one line, sent in pieces\n"
TURNS = 3                     # clients served in turn with -n
ERROR_LINE = r"^wecho_client: connect: error (-?\d+): (.*)$"
SHORT_RECV_HINT = ("only recv() returning 0 is the end of the session: a recv that returns "
                   "fewer bytes than asked means only that no more had arrived yet; keep reading")
NEXT_CLIENT_HINT = ("after a session the listening socket must still work: sock_close closes "
                    "only the client's socket, and WSACleanup (sock_cleanup) comes once, at the "
                    "very end, because it closes every socket of the program")


@dataclass(frozen=True)
class System:
    """One of the two builds the checks run."""

    slug: str           # check ids: linux_echo_line, win_echo_line
    title: str          # in names and messages
    windows: bool
    refused: int        # the error code of a refused connection
    refused_name: str

    def program(self, name: str) -> str:
        return f"{name}.exe" if self.windows else name


LINUX = System("linux", "Linux", False, 111, "ECONNREFUSED")
WINDOWS = System("win", "Windows", True, 10061, "WSAECONNREFUSED")


# --- what a failure says -----------------------------------------------------------------

# Winsock codes a wrong program prints, and the concept each points to.
_WINSOCK_CODES = {
    10093: "error 10093 is WSANOTINITIALISED: Winsock was never started. sock_init must call "
           "WSAStartup(MAKEWORD(2, 2), &wsa) before any other socket call",
    10038: "error 10038 is WSAENOTSOCK: a socket call got something that is no longer a "
           "socket. WSACleanup closes every socket of the program: call it once, at the very "
           "end (sock_cleanup), never in sock_close or after each client",
}


def _normal(text: str) -> str:
    """Output as the grader compares it: CR LF line ends (Windows text mode) as LF."""
    return text.replace("\r\n", "\n")


def _diagnosis(prog: runner.Program, system: System, otherwise: str) -> str:
    """The hint for a program that failed: what the error code it printed means."""
    if re.search(r"^\S+: sock_init: ", prog.err(), re.M):
        return ("sock_init failed: the skeleton's stubs fail until you write them (WSAStartup "
                "on Windows, nothing but return 0 on POSIX)")
    if system.windows:
        for code in map(int, re.findall(r"error (-?\d+):", prog.err())):
            if code in _WINSOCK_CODES:
                return _WINSOCK_CODES[code]
            if 0 <= code < 10000:
                return (f"error {code} is not a Winsock code: Winsock reports errors through "
                        f"WSAGetLastError(), not errno, so sock_error must return that on "
                        f"Windows")
    return otherwise


def _windows_build(ctx: Context) -> None:
    """Skip where the Windows build cannot exist; fail when it did not compile."""
    if shutil.which(MINGW) is None:
        raise CheckSkipped(f"mingw-w64 ({MINGW}) is not installed, so the Windows programs "
                           f"could not be built")
    log = ctx.bin_dir / also_build_log("win")
    if log.exists():
        raise CheckFailed(f"the Windows build (make win) failed, so its programs could not "
                          f"run:\n{show_output(log.read_text(), 3000)}", _build_hint(log.read_text()))


def _build_hint(log: str) -> str:
    if "type-limits" in log or "unsigned expression" in log:
        return ("SOCKET is unsigned on Windows: a failed socket() is INVALID_SOCKET, never "
                "< 0; compare a sock_t with SOCK_INVALID")
    if re.search(r"implicit declaration of function .(close|read|write)\b", log):
        return ("a SOCKET is not a file descriptor: closesocket() closes it on Windows (and "
                "send/recv move its bytes); keep close() for POSIX under #ifdef")
    return ("the same source must compile for Windows too: #ifdef _WIN32 around what "
            "differs (headers, closesocket, WSAGetLastError, SD_SEND, the (const char *) cast "
            "of setsockopt); `make win` shows these errors")


def _prepare(ctx: Context, system: System) -> None:
    if system.windows:
        _windows_build(ctx)
        ctx.windows()


def _server(ctx: Context, system: System, clients: int) -> tuple[runner.Program, int]:
    """wecho_server -n CLIENTS 0, started and listening; it and its port."""
    _prepare(ctx, system)
    try:
        return start_tcp_server(ctx, "wecho_server", "-n", clients, listen_function="wecho_listen",
                                windows=system.windows)
    except CheckFailed as failed:
        prog = ctx.programs[-1]
        raise CheckFailed(_normal(failed.what), _diagnosis(prog, system, failed.hint)) from None


def _connect(ctx: Context, system: System, prog: runner.Program, port: int,
             what: str = "a client") -> TcpConn:
    try:
        return connect_to(prog, port, what, "wecho_listen must bind and listen() on the port "
                                            "wecho_server prints")
    except CheckFailed as failed:
        raise CheckFailed(_normal(failed.what), _diagnosis(prog, system, failed.hint)) from None


def _state(prog: runner.Program) -> str:
    return _normal(server_state(prog))


def _pieces(data: bytes, count: int) -> list[bytes]:
    step = -(-len(data) // count)
    return [data[i:i + step] for i in range(0, len(data), step)]


def _one_session(ctx: Context, system: System, prog: runner.Program, port: int, message: bytes,
                 who: str) -> None:
    """A client sends message in pieces (each once the server has read the one before),
    half-closes, and must get the whole echo and then EOF."""
    with _connect(ctx, system, prog, port, who) as conn:
        conn.send_read_by_read(_pieces(message, 3), RECEIVE_S)
        conn.half_close()
        conn.read_to_eof(RECEIVE_S)
        got = bytes(conn.received)
        if got == message and conn.eof:
            return
        if not message.startswith(got) or len(got) > len(message):
            raise CheckFailed(f"{who} sent {show_bytes(message)} and got back {show_bytes(got)}"
                              f".\n{_state(prog)}",
                              _diagnosis(prog, system, "wecho_session: send back exactly the "
                                                       "bytes each recv returned"))
        if conn.eof or conn.error is not None:
            # Closed after a short recv, the server resets the connection when the next
            # piece arrives: a reset ends the session as early as an EOF does.
            ended = "closed" if conn.eof else f"reset ({conn.error})"
            raise CheckFailed(
                f"{who} sent {show_bytes(message)} in {len(_pieces(message, 3))} pieces (each "
                f"once the server had read the one before) and then shut down its sending "
                f"side; it got back {show_bytes(got)} and then the server {ended} the "
                f"connection.\n{_state(prog)}",
                _diagnosis(prog, system, SHORT_RECV_HINT))
        raise CheckFailed(
            f"{who} sent {show_bytes(message)}, shut down its sending side and got back "
            f"{show_bytes(got)}, but the server did not close the connection within "
            f"{RECEIVE_S:g} s (no EOF).\n{_state(prog)}",
            _diagnosis(prog, system, SHORT_RECV_HINT if len(got) < len(message) else
                       "echo until recv returns 0, then wecho_server closes the socket with "
                       "sock_close"))


def _expect_exit_0(prog: runner.Program, system: System, what: str) -> None:
    ended = prog.wait(RUN_S)
    if ended.code != 0:
        raise CheckFailed(f"{what}; then wecho_server {ended.describe()}.\nstderr:\n"
                          f"{show_output(_normal(prog.err()))}",
                          _diagnosis(prog, system, "with -n N the server serves N clients one "
                                                   "after another, then cleans up and exits 0"))


# --- the checks, registered once per system ----------------------------------------------

def echo_line(system: System, ctx: Context) -> None:
    prog, port = _server(ctx, system, 1)
    _one_session(ctx, system, prog, port, LINE, "a client")
    _expect_exit_0(prog, system, "one client got its echo")


def echo_large(system: System, ctx: Context) -> None:
    prog, port = _server(ctx, system, 1)
    data = seeded_bytes(5, LARGE)
    with _connect(ctx, system, prog, port) as conn:
        got = conn.echo(data, LARGE_S, Chunking.seeded(largest=65536))
        if got == data:
            return
        at = first_difference(data, got)
        ended = ("then the server closed the connection" if conn.eof else
                 f"then the connection failed ({conn.error})" if conn.error else
                 f"nothing more came within {LARGE_S:g} s")
        raise CheckFailed(
            f"a client sent {LARGE} random bytes in writes of random sizes "
            f"({Chunking.seeded(largest=65536).describe()}), reading the echo at the same time, "
            f"then half-closed. It got back {len(got)} bytes, the first {at} right; {ended}."
            f"\n{_state(prog)}",
            _diagnosis(prog, system, "echo every byte: send() may take fewer bytes than asked "
                                     "(loop until all n are out), and only recv() returning 0 "
                                     "ends the session"))


def clients_in_turn(system: System, ctx: Context) -> None:
    prog, port = _server(ctx, system, TURNS)
    for turn in range(1, TURNS + 1):
        message = f"client {turn} of {TURNS}: hello\n".encode()
        try:
            _one_session(ctx, system, prog, port, message, f"client {turn} of {TURNS}")
        except CheckFailed as failed:
            if turn == 1:
                raise
            raise CheckFailed(f"wecho_server -n {TURNS} served client 1 but not client {turn}: "
                              f"{failed.what}", _diagnosis(prog, system, NEXT_CLIENT_HINT)) from None
    _expect_exit_0(prog, system, f"{TURNS} clients got their echo in turn")


def closes(system: System, ctx: Context) -> None:
    prog, port = _server(ctx, system, 2)
    with _connect(ctx, system, prog, port, "the first client") as conn:
        message = b"the first client's message\n"
        conn.send(message)
        conn.half_close()
        conn.read_to_eof(RECEIVE_S)
        if conn.eof and bytes(conn.received) == message:
            return
        if conn.eof or prog.has_exited():
            raise CheckFailed(f"the first client sent {show_bytes(message)}, half-closed, and "
                              f"got back {show_bytes(bytes(conn.received))}.\n{_state(prog)}",
                              _diagnosis(prog, system, "echo, then close the connection"))
        closer = "closesocket()" if system.windows else "close()"
        raise CheckFailed(
            f"wecho_server -n 2 was started and a first client sent {show_bytes(message)} and "
            f"shut down its sending side. It got back {show_bytes(bytes(conn.received))} but "
            f"never the end of the stream within {RECEIVE_S:g} s, while the server, still "
            f"running, waited for its second client: the first connection was never closed.",
            _diagnosis(prog, system, f"sock_close must really close the socket: {closer}"
                       + (". A SOCKET is not a file descriptor: close() on it fails and the "
                          "connection stays open until the program exits"
                          if system.windows else "")))


def _run_client(ctx: Context, system: System, port: int, message: str) -> runner.Program:
    _prepare(ctx, system)
    return ctx.start("wecho_client", "127.0.0.1", port, message, windows=system.windows)


def _client_request(ctx: Context, system: System, listener: TcpListener,
                    client: runner.Program, message: bytes) -> TcpConn:
    """Accept the client, and read its message to the end (it must half-close)."""
    conn = listener.accept(RUN_S, sender=client)
    if conn is None:
        client.wait(1.0)
        raise CheckFailed(f"wecho_client never connected to the grader's server at "
                          f"127.0.0.1:{listener.port}; it {client.exit().describe()}.\nstderr:\n"
                          f"{show_output(_normal(client.err()))}",
                          _diagnosis(client, system, "wecho_connect: getaddrinfo, socket, "
                                                     "connect to host:port"))
    if not conn.read_to_eof(RECEIVE_S) or bytes(conn.received) != message:
        got = bytes(conn.received)
        conn.close()
        if got != message[:len(got)] or (conn.eof and got != message):
            raise CheckFailed(f"wecho_client was run with the message {show_bytes(message)}; "
                              f"the server received {show_bytes(got)}.",
                              "wecho_request sends every byte of msg (loop on send's return)")
        raise CheckFailed(
            f"wecho_client was run with the message {show_bytes(message)}; the grader's server "
            f"received {show_bytes(got)} and then waited {RECEIVE_S:g} s for the end of the "
            f"message, which never came.",
            "after sending, wecho_request must shut down its sending side only (shutdown(s, "
            "SD_SEND) on Windows, SHUT_WR on POSIX): the server replies once it has seen the "
            "end of the message, and the client still reads the reply")
    return conn


def _expect_reply(client: runner.Program, system: System, shown: bytes, what: str) -> None:
    client.wait(LARGE_S)
    out = _normal(client.out()).encode("utf-8", "surrogateescape")
    expected = b"reply: " + shown + b"\n"
    if out == expected and client.exit().code == 0:
        return
    if out != expected:
        at = first_difference(expected, out)
        raise CheckFailed(
            f"{what}\nwecho_client should print {show_bytes(expected)} ({len(expected)} bytes)"
            f"\nit printed {show_bytes(out)} ({len(out)} bytes), the first {at} right; it "
            f"{client.exit().describe()}.\nstderr:\n{show_output(_normal(client.err()))}",
            _diagnosis(client, system, "wecho_request: recv until it returns 0 (a short recv "
                                       "is not the end), keeping at most cap - 1 bytes and a "
                                       "NUL, reading and dropping the rest"))
    raise CheckFailed(f"{what}\nwecho_client printed the reply but {client.exit().describe()}."
                      f"\nstderr:\n{show_output(_normal(client.err()))}",
                      _diagnosis(client, system, "after the reply, sock_close and exit 0"))


def client_reply(system: System, ctx: Context) -> None:
    message = "a request from wecho_client, all in one argument"
    reply = b"THE GRADER'S REPLY, sent in pieces: " + message.upper().encode()
    with TcpListener() as listener:
        client = _run_client(ctx, system, listener.port, message)
        with _client_request(ctx, system, listener, client, message.encode()) as conn:
            conn.send_read_by_read(_pieces(reply, 4), RECEIVE_S)
        _expect_reply(client, system, reply,
                      f"the grader's server read the request to its end and replied "
                      f"{show_bytes(reply)} in 4 pieces, each once the client had read the "
                      f"one before, then closed the connection.")


def client_large_reply(system: System, ctx: Context) -> None:
    message = "send me a lot"
    letters = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:"
    chooser = random.Random(6)
    reply = bytes(chooser.choice(letters) for _ in range(LARGE))
    with TcpListener() as listener:
        client = _run_client(ctx, system, listener.port, message)
        with _client_request(ctx, system, listener, client, message.encode()) as conn:
            sent = conn.send(reply, LARGE_S, Chunking.seeded(largest=65536), stall=RECEIVE_S)
            # All of it read before the end of the stream: a client that stops reading and
            # closes resets the connection, which ends it here whatever the buffers held.
            drained = sent and conn.wait_read_by_peer(time.monotonic() + RECEIVE_S)
        what = (f"the grader's server replied {LARGE} bytes of text (no newline) and closed; "
                f"wecho_client's buffer holds {REPLY_CAP} bytes.")
        _expect_reply(client, system, reply[:REPLY_CAP - 1], what)
        if not drained:
            raise CheckFailed(
                f"{what} wecho_client printed the first {REPLY_CAP - 1} bytes, but it did "
                f"not read the rest of the reply: "
                f"{conn.error or 'the connection was reset before all of it was read'}.",
                "once the reply buffer is full, wecho_request reads on and drops the rest "
                "until recv returns 0; closing a socket with unread data resets the "
                "connection")


def refused(system: System, ctx: Context) -> None:
    with refusing_tcp_port() as closed_port:
        port = closed_port.getsockname()[1]
        client = _run_client(ctx, system, port, "anyone there?")
        ended = client.wait(RUN_S)
    err = _normal(client.err())
    codes = [int(m.group(1)) for m in re.finditer(ERROR_LINE, err, re.M)]
    if ended.code == 1 and codes == [system.refused]:
        return
    raise CheckFailed(
        f"wecho_client was run against 127.0.0.1:{port}, where nothing listens (the "
        f"connection is refused). It should exit 1 and print `wecho_client: connect: error "
        f"{system.refused}: TEXT` ({system.refused_name}); it {ended.describe()} and printed:"
        f"\nstderr:\n{show_output(err)}\nstdout:\n{show_output(_normal(client.out()))}",
        _diagnosis(client, system, f"wecho_connect returns SOCK_INVALID with connect's error "
                                   f"kept, and sock_error returns it "
                                   f"({'WSAGetLastError()' if system.windows else 'errno'})"))


def _register(system: System, points: dict[str, float]) -> None:
    on = f"({system.title}{', under Wine' if system.windows else ''})"
    checks = [
        ("echo_line", echo_line, f"wecho_server echoes a line sent in pieces, then closes {on}"),
        ("echo_large", echo_large, f"wecho_server echoes 1 MiB byte for byte {on}"),
        ("clients_in_turn", clients_in_turn,
         f"wecho_server -n {TURNS} serves {TURNS} clients in turn and exits 0 {on}"),
        ("closes", closes, f"each connection is really closed: the client sees EOF while the "
                           f"server waits for the next one {on}"),
        ("client_reply", client_reply, f"wecho_client half-closes and prints the whole reply, "
                                       f"which comes in pieces {on}"),
        ("client_large_reply", client_large_reply,
         f"wecho_client keeps the first {REPLY_CAP - 1} bytes of a 1 MiB reply and reads the "
         f"rest {on}"),
        ("refused", refused, f"a refused connection is error {system.refused} and exit 1 {on}"),
    ]
    for slug, func, name in checks:
        CHECKS.check(f"{system.slug}_{slug}", name, points[slug], windows=system.windows)(
            lambda ctx, func=func: func(system, ctx))


# --- Windows only --------------------------------------------------------------------------

@CHECKS.check("win_starts", "the Windows build (mingw-w64, -Werror) compiles, and "
                            "wecho_server.exe starts Winsock and listens (under Wine)", 10,
              windows=True)
def win_starts(ctx: Context) -> None:
    _server(ctx, WINDOWS, 1)


_register(WINDOWS, {"echo_line": 5, "echo_large": 6, "clients_in_turn": 6, "closes": 5,
                    "client_reply": 5, "client_large_reply": 5, "refused": 4})


@CHECKS.check("win_error_line", "the error message is one line: FormatMessage's CR LF cut "
                                "(Windows, under Wine)", 3.5, windows=True)
def win_error_line(ctx: Context) -> None:
    with refusing_tcp_port() as closed_port:
        port = closed_port.getsockname()[1]
        client = _run_client(ctx, WINDOWS, port, "anyone there?")
        ended = client.wait(RUN_S)
    err = _normal(client.err())
    if not re.search(r"^wecho_client: connect: error ", err, re.M):
        raise CheckFailed(f"wecho_client was run against 127.0.0.1:{port}, where nothing listens, "
                          f"and printed no `wecho_client: connect: error CODE: TEXT` line; it "
                          f"{ended.describe()}.\nstderr:\n{show_output(err)}",
                          _diagnosis(client, WINDOWS, "wecho_connect returns SOCK_INVALID when "
                                                      "connect fails"))
    match = re.fullmatch(ERROR_LINE + r"\n", err, re.M)
    if ended.code == 1 and match and match.group(2).strip() and "\r" not in match.group(2):
        return
    raise CheckFailed(
        f"a refused connection should print one line, `wecho_client: connect: error CODE: "
        f"TEXT`, with a text that is not empty; wecho_client {ended.describe()} and its "
        f"stderr, CR LF read as LF, was:\n{show_bytes(err.encode())}",
        "FormatMessage's text ends with \"\\r\\n\": cut every trailing CR and LF in "
        "sock_strerror; where FormatMessage has no text (it returns 0), write exactly "
        "\"unknown error\"")


_register(LINUX, {"echo_line": 3, "echo_large": 4, "clients_in_turn": 4, "closes": 3,
                  "client_reply": 4, "client_large_reply": 4, "refused": 4})
