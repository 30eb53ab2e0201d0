"""Lab 02 - binding and receiving: what udp_recv, udp_echo, udp_whoami and udp_chat do with
the datagrams a reference peer sends them, and what they send back."""

from __future__ import annotations

import json
import re
import shlex
import socket
import time
from dataclasses import dataclass
from typing import Any

from . import (READY_S, RECEIVE_S, RUN_S, SYMMETRIC_TRIES, CheckFailed, Context, LabChecks,
               skeleton_hint)
from .. import runner, sandbox
from ..describe import show_bytes, show_datagrams, show_output
from ..peers import Datagram, UdpPeer, bind_udp, swapped, symmetric

# Hints shown under a failed API check (a Criterion test of tests/), by suite.
API_HINTS = {
    "udp_bind": "getaddrinfo with AF_INET, SOCK_DGRAM and AI_PASSIVE, a NULL node for NULL, \"\" "
                "or \"0.0.0.0\" (the any address, INADDR_ANY) and the port as a decimal service "
                "string; socket, then bind; never SO_REUSEADDR; when bind fails, close the socket "
                "but keep bind's errno (EADDRINUSE)",
    "udp_local_port": "getsockname with addrlen = sizeof(struct sockaddr_in) first; the port it "
                      "gives is in network byte order: return ntohs(sin_port)",
    "udp_implicit_port": "a socket that is never bound; sendto exactly the 4 bytes \"ping\"; only "
                         "after that first send does getsockname show the port; close the socket",
    "udp_recv_from": "recvmsg (msg_namelen = sizeof the address) and MSG_TRUNC in msg_flags: a "
                     "datagram longer than cap is -1 with EMSGSIZE, never silently cut; 0 is an "
                     "empty datagram, not an end; fill *from in both cases; no retry on EINTR",
    "udp_echo_serve": "sendto the n bytes received (never strlen) back to the address this "
                      "datagram came from, empty datagrams too; upper-case only ASCII a-z; return "
                      "0 when a call fails with EINTR and *stop is set",
    "udp_chat": "poll() the socket and in_fd together; read() in_fd and split the lines "
                "yourself; build the JSON with cJSON (it escapes); parse what arrives with cJSON "
                "and require string \"name\" and \"msg\", else print '! invalid message from "
                "A.B.C.D:PORT'; 'stop', EOF and EINTR return 0",
}

CHECKS = LabChecks("02_udp_bind", API_HINTS)

LOOPBACK = "127.0.0.1"
UDP_MAX_PAYLOAD = 65507  # the largest datagram over IPv4: 65535 - 20 (IP) - 8 (UDP)
ANY = "0.0.0.0"
LOOPBACK_BROADCAST = "127.255.255.255"
NOT_THERE_S = 0.5        # how long to wait for a datagram that should not, or cannot, arrive
STOP_S = 3.0             # a server exits this soon after SIGTERM

BOUND_LINE = r"^bound to (\d+\.\d+\.\d+\.\d+):(\d+)\n"
HTONS_HINT = ("a port travels in network byte order: when you fill a sockaddr_in yourself, "
              "sin_port = htons(port) (getaddrinfo with the port as a decimal service string "
              "does it for you), and a port read back from the kernel needs ntohs. Without them "
              "port {port} becomes {swapped} on this machine.")
ANY_HINT = ("udp_bind(NULL, \"\" or \"0.0.0.0\", port) must bind the any address, INADDR_ANY "
            "(getaddrinfo with a NULL node and AI_PASSIVE): a socket bound to 127.0.0.1 only "
            "gets datagrams sent to 127.0.0.1, never a broadcast or a datagram from the LAN")
POLL_HINT = ("wait for the socket and stdin at once with poll() (or a thread for each "
             "direction): a chat that sits in read() or getline() on stdin sees the network "
             "only after a line is typed")


# --- helpers: starting programs ----------------------------------------------------------

@dataclass
class Server:
    """A program that printed its `bound to A.B.C.D:PORT` line."""

    prog: runner.Program
    ip: str
    port: int
    command: str


def _command(program: str, args: tuple[object, ...]) -> str:
    return " ".join([program, *(shlex.quote(str(a)) for a in args)])


def _ended_note(prog: runner.Program, name: str) -> str:
    """How the program ended, with its stderr; "" while it runs."""
    if not prog.has_exited():
        return ""
    return f"\n{name} {prog.wait(0).describe()}; its stderr:\n{show_output(prog.err())}"


def _not_started(prog: runner.Program, command: str) -> CheckFailed:
    ended = prog.wait(RUN_S) if prog.stdout.closed else prog.stop()
    return CheckFailed(
        f"{command} {ended.describe()} without printing 'bound to A.B.C.D:PORT'.\n"
        f"Its stdout:\n{show_output(prog.out())}\nIts stderr:\n{show_output(prog.err())}",
        skeleton_hint(prog, "udp_bind must return a socket bound to HOST:PORT (socket, then "
                            "bind); the program prints the address getsockname reports"))


def _start(ctx: Context, program: str, *args: object, keep_stdin_open: bool = False,
           redraw_symmetric: bool = True) -> Server:
    """Start a server and wait for its `bound to` line (see Context.start_server)."""
    command = _command(program, args)
    prog, match = ctx.start_server(program, *args, line=BOUND_LINE, keep_stdin_open=keep_stdin_open,
                                   redraw_symmetric=redraw_symmetric)
    if match is None:
        raise _not_started(prog, command)
    ip, port = match.group(1).decode(), int(match.group(2))
    if port == 0:
        raise CheckFailed(f"{command} printed 'bound to {ip}:0': its socket has no port.",
                          "udp_bind must bind() the socket: a socket that was never bound "
                          "has port 0")
    return Server(prog, ip, port, command)


def _sender(host: str = LOOPBACK, *, broadcast: bool = False) -> socket.socket:
    """A fresh UDP socket of the grader's, bound to a port whose two bytes differ."""
    sock = bind_udp(host)[0]
    if broadcast:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    return sock


# --- helpers: what udp_recv printed --------------------------------------------------------

_HEAD = re.compile(rb"from (\d+\.\d+\.\d+\.\d+):(\d+) \((\d+) bytes\): ")
_DROPPED = re.compile(rb"from (\d+\.\d+\.\d+\.\d+):(\d+): datagram larger than (\d+) bytes, dropped\n")
_BOUND = re.compile(rb"bound to \S+\n")


@dataclass
class Printed:
    """One datagram as udp_recv printed it."""

    ip: str
    port: int
    data: bytes | None      # None: reported as too large and dropped
    limit: int = 0          # the BUFSIZE a dropped line names


def _printed(out: bytes) -> tuple[list[Printed], bytes]:
    """The datagrams in udp_recv's output (payloads are raw bytes of the length the line
    names, so a payload may hold newlines), and whatever output was not of that shape."""
    items: list[Printed] = []
    pos = 0
    while pos < len(out):
        if match := _BOUND.match(out, pos):
            pos = match.end()
        elif match := _DROPPED.match(out, pos):
            items.append(Printed(match.group(1).decode(), int(match.group(2)), None,
                                 int(match.group(3))))
            pos = match.end()
        elif (match := _HEAD.match(out, pos)) and out[match.end() + int(match.group(3)):][:1] == b"\n":
            end = match.end() + int(match.group(3))
            items.append(Printed(match.group(1).decode(), int(match.group(2)),
                                 out[match.end():end]))
            pos = end + 1
        else:
            return items, out[pos:]
    return items, b""


def _show_printed(items: list[Printed], rest: bytes = b"") -> str:
    lines = []
    for p in items:
        if p.data is None:
            lines.append(f"  | from {p.ip}:{p.port}: datagram larger than {p.limit} bytes, dropped")
        else:
            lines.append(f"  | from {p.ip}:{p.port}: {show_bytes(p.data)}")
    if rest:
        lines.append(f"  | (and output of another shape: {show_bytes(rest)})")
    return "\n".join(lines) or "  (nothing)"


def _wait_printed(prog: runner.Program, last: bytes, timeout: float) -> tuple[list[Printed], bytes]:
    """Wait (to the deadline, or until udp_recv exits) for the datagram `last` to be printed;
    what udp_recv printed by then."""
    pattern = re.compile(rb"\(\d+ bytes\): " + re.escape(last) + rb"\n")
    prog.stdout.wait_for(pattern, time.monotonic() + timeout)
    return _printed(prog.out_bytes())


def _pattern(size: int, seed: int) -> bytes:
    """size bytes of every value, NUL and newline included, that differ with the seed."""
    return bytes((i * 7 + seed) % 256 for i in range(size))


# --- udp_recv ----------------------------------------------------------------------------

@CHECKS.check("recv_port_0", "udp_recv 0 prints the port the system gave it and receives there", 4)
def recv_port_0(ctx: Context) -> None:
    srv = _start(ctx, "udp_recv", 0)
    payload = b"hello, port 0"
    with _sender() as sender:
        sender.sendto(payload, (LOOPBACK, srv.port))
        items, rest = _wait_printed(srv.prog, payload, RECEIVE_S)
    if any(p.data == payload for p in items):
        return
    raise CheckFailed(
        f"udp_recv 0 printed 'bound to {srv.ip}:{srv.port}'; the peer sent "
        f"{show_bytes(payload)} to {LOOPBACK}:{srv.port}.\nudp_recv printed:\n"
        f"{_show_printed(items, rest)}{_ended_note(srv.prog, 'udp_recv')}\nexpected the line:\n"
        f"  | from {LOOPBACK}:PORT ({len(payload)} bytes): {payload.decode()}",
        skeleton_hint(srv.prog, "udp_recv_from must take one datagram (recvfrom or recvmsg) "
                                "into buf and return its length"))


@CHECKS.check("recv_given_port", "udp_recv PORT binds exactly the port it is given (htons)", 3)
def recv_given_port(ctx: Context) -> None:
    with bind_udp(ANY)[0] as probe:   # a free port whose two bytes differ
        port = probe.getsockname()[1]
    prog = ctx.start("udp_recv", port)
    match = prog.wait_for_line(BOUND_LINE, READY_S)
    if match is None:
        raise _not_started(prog, f"udp_recv {port}")
    ip, got = match.group(1).decode(), int(match.group(2))
    if got != port:
        raise CheckFailed(
            f"udp_recv {port} printed 'bound to {ip}:{got}': it bound port {got}, not {port}.",
            HTONS_HINT.format(port=port, swapped=swapped(port)) if got == swapped(port) else
            "bind the port you are given: only port 0 means 'the system picks'")
    payload = b"to the port I chose"
    with _sender() as sender:
        sender.sendto(payload, (LOOPBACK, port))
        items, rest = _wait_printed(prog, payload, RECEIVE_S)
    if not any(p.data == payload for p in items):
        raise CheckFailed(
            f"udp_recv {port} printed 'bound to {ip}:{got}'; the peer sent {show_bytes(payload)} "
            f"to {LOOPBACK}:{port}.\nudp_recv printed:\n{_show_printed(items, rest)}"
            f"{_ended_note(prog, 'udp_recv')}",
            "udp_recv_from must take one datagram into buf and return its length")


def _sender_hint(shown: list[tuple[int, Printed | None]]) -> str:
    printed = [(want, p) for want, p in shown if p is not None]
    if any(p.port == swapped(want) for want, p in printed):
        return ("the sender's port came out byte-swapped: keep the address the kernel filled "
                "as it is (network order); the program calls ntohs when it prints it")
    if any(p.ip == ANY or p.port == 0 for _, p in printed):
        return ("the sender was never filled in: set addrlen (msg_namelen for recvmsg) to "
                "sizeof(struct sockaddr_in) before each call - the kernel reads it first and "
                "writes at most that many bytes of the address")
    if len({(p.ip, p.port) for _, p in printed}) < len(printed):
        return "copy each datagram's own sender into *from, every time"
    return "udp_recv_from must take one datagram into buf and fill *from with its sender"


@CHECKS.check("recv_two_senders", "udp_recv prints the true address of each of two senders", 4)
def recv_two_senders(ctx: Context) -> None:
    srv = _start(ctx, "udp_recv", 0)
    with _sender() as first, _sender() as second:
        sent = [(first, b"from the first sender"), (second, b"from the second sender")]
        for sock, data in sent:
            sock.sendto(data, (LOOPBACK, srv.port))
        items, rest = _wait_printed(srv.prog, sent[-1][1], RECEIVE_S)
        shown: list[tuple[int, Printed | None]] = []
        wrong = []
        for sock, data in sent:
            want = sock.getsockname()[1]
            p = next((p for p in items if p.data == data), None)
            shown.append((want, p))
            if p is None:
                wrong.append(f"  {show_bytes(data)} from {LOOPBACK}:{want} was not printed")
            elif (p.ip, p.port) != (LOOPBACK, want):
                wrong.append(f"  {show_bytes(data)} came from {LOOPBACK}:{want} but was printed "
                             f"as from {p.ip}:{p.port}")
    if wrong:
        raise CheckFailed(
            "the peer sent one datagram from each of two sockets:\n" + "\n".join(wrong)
            + f"\nudp_recv printed:\n{_show_printed(items, rest)}"
            + _ended_note(srv.prog, "udp_recv"),
            skeleton_hint(srv.prog, _sender_hint(shown)))


@CHECKS.check("recv_large", "1472- and 65507-byte datagrams are printed whole, byte for byte", 4)
def recv_large(ctx: Context) -> None:
    srv = _start(ctx, "udp_recv", 0)
    payloads = [_pattern(1472, 1), _pattern(65507, 2)]
    marker = b"that was all"
    with _sender() as sender:
        for data in [*payloads, marker]:
            sender.sendto(data, (LOOPBACK, srv.port))
        items, rest = _wait_printed(srv.prog, marker, RECEIVE_S)
    for data in payloads:
        if any(p.data == data for p in items):
            continue
        sizes = [len(p.data) for p in items if p.data is not None and p.data != marker]
        if any(p.data is None for p in items):
            hint = (f"a {len(data)}-byte datagram fits in udp_recv's buffer (65535 bytes): report "
                    f"EMSGSIZE only when the kernel says the datagram was cut (MSG_TRUNC)")
        elif sizes and max(sizes) < len(data):
            hint = (f"the datagram was cut to {max(sizes)} bytes: receive into buf with the cap "
                    f"you are given, not a smaller buffer of your own or sizeof a pointer")
        else:
            hint = "receive the datagram whole, one recvfrom/recvmsg into buf, cap bytes"
        raise CheckFailed(
            f"the peer sent datagrams of {len(payloads[0])} and {len(payloads[1])} bytes (every "
            f"byte value, NUL and newline included), then {show_bytes(marker)}.\nexpected "
            f"{show_bytes(data)} printed exactly; udp_recv printed:\n{_show_printed(items, rest)}"
            f"{_ended_note(srv.prog, 'udp_recv')}",
            skeleton_hint(srv.prog, hint))


@CHECKS.check("recv_empty", "an empty datagram is printed as (0 bytes) and udp_recv goes on", 4)
def recv_empty(ctx: Context) -> None:
    srv = _start(ctx, "udp_recv", 0)
    after = b"after the empty one"
    with _sender() as sender:
        sender.sendto(b"", (LOOPBACK, srv.port))
        sender.sendto(after, (LOOPBACK, srv.port))
        items, rest = _wait_printed(srv.prog, after, RECEIVE_S)
    got = [p.data for p in items]
    if got == [b"", after]:
        return
    raise CheckFailed(
        f"the peer sent an empty datagram (0 bytes), then {show_bytes(after)}.\nudp_recv "
        f"printed:\n{_show_printed(items, rest)}{_ended_note(srv.prog, 'udp_recv')}\nexpected:\n"
        f"  | from {LOOPBACK}:PORT (0 bytes): \n"
        f"  | from {LOOPBACK}:PORT ({len(after)} bytes): {after.decode()}",
        skeleton_hint(srv.prog, "an empty datagram is a real datagram: recvfrom/recvmsg returns "
                                "0 for it, and 0 does not mean the other side closed (UDP has no "
                                "connection to close). Return 0 and keep receiving"))


@CHECKS.check("recv_too_large", "a datagram larger than -b BUFSIZE is reported dropped, not cut", 5)
def recv_too_large(ctx: Context) -> None:
    bufsize = 100
    srv = _start(ctx, "udp_recv", "-b", bufsize, 0)
    big = _pattern(300, 3)
    after = b"a small one after it"
    with _sender() as sender:
        sender.sendto(big, (LOOPBACK, srv.port))
        sender.sendto(after, (LOOPBACK, srv.port))
        items, rest = _wait_printed(srv.prog, after, RECEIVE_S)
    if [(p.data, p.limit) for p in items] == [(None, bufsize), (after, 0)]:
        return
    expected = (f"  | from {LOOPBACK}:PORT: datagram larger than {bufsize} bytes, dropped\n"
                f"  | from {LOOPBACK}:PORT ({len(after)} bytes): {after.decode()}")
    if any(p.data is not None and p.data == big[:len(p.data)] and p.data for p in items):
        hint = ("recvfrom cuts a datagram longer than cap without a word: use recvmsg and test "
                "MSG_TRUNC in msg_flags (or pass MSG_TRUNC to recvfrom, which then returns the "
                "datagram's real length), and return -1 with errno EMSGSIZE")
    else:
        hint = ("a datagram longer than cap is consumed and reported: -1 with errno EMSGSIZE "
                "(recvmsg's msg_flags has MSG_TRUNC); the next datagram is received as usual")
    raise CheckFailed(
        f"udp_recv -b {bufsize}: the peer sent {show_bytes(big)}, then {show_bytes(after)}.\n"
        f"udp_recv printed:\n{_show_printed(items, rest)}{_ended_note(srv.prog, 'udp_recv')}\n"
        f"expected:\n{expected}",
        skeleton_hint(srv.prog, hint))


def _arrives_on_any_address(ctx: Context, destinations: list[str], what: str) -> None:
    """udp_recv with its default host must print a datagram sent to each destination."""
    srv = _start(ctx, "udp_recv", 0)
    marker = b"and one to 127.0.0.1"
    with _sender(ANY, broadcast=True) as sender:
        payloads = [f"to {dst}".encode() for dst in destinations]
        for data, dst in zip(payloads, destinations):
            sender.sendto(data, (dst, srv.port))
        sender.sendto(marker, (LOOPBACK, srv.port))
        items, rest = _wait_printed(srv.prog, marker, RECEIVE_S)
        # Datagrams to other addresses may be delivered after the marker: wait for the last,
        # but not long when the bound line already shows they cannot arrive.
        _wait_printed(srv.prog, payloads[-1], RECEIVE_S if srv.ip == ANY else NOT_THERE_S)
        items, rest = _printed(srv.prog.out_bytes())
    missing = [dst for data, dst in zip(payloads, destinations)
               if not any(p.data == data for p in items)]
    if not missing:
        return
    raise CheckFailed(
        f"udp_recv 0 (default host) printed 'bound to {srv.ip}:{srv.port}'. The peer sent "
        + ", ".join(f"{show_bytes(d)} to {dst}:{srv.port}" for d, dst in zip(payloads, destinations))
        + f" ({what}), then {show_bytes(marker)}.\nNothing arrived from the datagram to "
        + " and ".join(missing) + f"; udp_recv printed:\n{_show_printed(items, rest)}"
        + _ended_note(srv.prog, "udp_recv"),
        skeleton_hint(srv.prog, ANY_HINT if srv.ip != ANY else
                      "udp_recv_from must take each datagram that arrives, whatever its "
                      "destination address"))


@CHECKS.check("recv_broadcast",
               "a broadcast to 127.255.255.255 reaches udp_recv on its default host", 4)
def recv_broadcast(ctx: Context) -> None:
    _arrives_on_any_address(ctx, [LOOPBACK_BROADCAST], "a broadcast on the loopback network")


@CHECKS.check("recv_lan",
               "udp_recv on its default host receives on the test LAN (unicast and broadcast)", 3,
               lan=True)
def recv_lan(ctx: Context) -> None:
    _arrives_on_any_address(ctx, [sandbox.LAN_ADDR, sandbox.LAN_BROADCAST],
                            "this host's LAN address and the LAN's broadcast address")


@CHECKS.check("recv_count", "udp_recv -n 3 exits 0 after 3 datagrams", 1)
def recv_count(ctx: Context) -> None:
    srv = _start(ctx, "udp_recv", "-n", 3, 0)
    payloads = [b"one", b"two", b"three"]
    with _sender() as sender:
        for data in payloads:
            sender.sendto(data, (LOOPBACK, srv.port))
        ended = srv.prog.wait(RUN_S)
    items, rest = _printed(srv.prog.out_bytes())
    if ended.code == 0 and not ended.killed_by_us and [p.data for p in items] == payloads:
        return
    raise CheckFailed(
        f"udp_recv -n 3: the peer sent 'one', 'two', 'three'; udp_recv {ended.describe()} "
        f"and printed:\n{_show_printed(items, rest)}\nits stderr:\n{show_output(srv.prog.err())}"
        f"\nexpected the 3 datagrams printed, then exit status 0",
        skeleton_hint(srv.prog, "udp_recv_from returns once per datagram: one call, one "
                                "datagram, its length (or -1 with errno set)"))


def _expect_in_use(ctx: Context, port: int, holder: str) -> None:
    """udp_recv PORT, with the port taken, must exit 1 saying so."""
    prog = ctx.start("udp_recv", port)
    bound = prog.wait_for_line(BOUND_LINE, READY_S)
    ended = prog.stop() if bound is not None else prog.wait(RUN_S)
    err = prog.err()
    if bound is None and ended.code == 1 and not ended.killed_by_us and "Address already in use" in err:
        return
    what = (f"{holder} holds UDP port {port} (without SO_REUSEADDR). udp_recv {port} "
            + ("printed:\n" + show_output(prog.out()) + "\nso it bound the taken port too"
               if bound is not None else f"{ended.describe()}")
            + f"; its stderr:\n{show_output(err)}\nexpected exit status 1 and "
              f"'udp_recv: bind 0.0.0.0:{port}: Address already in use' on stderr")
    if bound is not None:
        hint = ("never set SO_REUSEADDR on a UDP socket: with it two programs share the port "
                "and split its datagrams between them; a taken port must fail with EADDRINUSE")
    elif ended.signal is not None or ended.killed_by_us:
        hint = "when bind fails, return -1 at once: the program reports it and exits 1"
    else:
        hint = skeleton_hint(prog, "return -1 with errno as bind left it (EADDRINUSE): close() "
                                   "on the way out may change errno, so save it and put it back")
    raise CheckFailed(what, hint)


@CHECKS.check("recv_port_taken", "a taken port: udp_recv exits 1 with 'Address already in use'", 4)
def recv_port_taken(ctx: Context) -> None:
    # The grader's own sockets hold the port, and its byte-swapped twin so that a missing
    # htons (graded elsewhere) meets a taken port as well.
    held = bind_udp(ANY, with_swapped=True)
    try:
        _expect_in_use(ctx, held[0].getsockname()[1], "the grader")
    finally:
        for sock in held:
            sock.close()
    # Then a first udp_recv holds it: SO_REUSEADDR set on both would let the second in.
    first = _start(ctx, "udp_recv", 0)
    twin = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        try:
            twin.bind((ANY, swapped(first.port)))
        except OSError:
            pass    # taken already: a missing htons fails there too
        _expect_in_use(ctx, first.port, f"a first udp_recv ({first.command})")
    finally:
        twin.close()


# --- udp_echo ----------------------------------------------------------------------------

def _exchange(client: UdpPeer, srv: Server, data: bytes, timeout: float = RECEIVE_S) -> list[Datagram]:
    """Send data from client to the server; the datagrams the client received for it so far
    (a reply sent twice may still be on its way: _last_replies takes it in)."""
    before = len(client.received)
    client.main.sendto(data, (LOOPBACK, srv.port))
    return client.wait_for(before + 1, timeout, sender=srv.prog, settle=False)[before:]


def _last_replies(srv: Server, *clients: UdpPeer) -> str:
    """Stop the server once its exchanges are done and take in every reply it sent (a server
    back in its receive call has sent all it will for them, an exited one sends no more, so
    nothing is waited out); how it had ended before we stopped it, for the message ("" if
    it was still serving)."""
    note = _ended_note(srv.prog, "udp_echo")
    # Stopped only once it sleeps again, waiting for the next datagram: stopped at once, it
    # could be killed between the first reply and a second one.
    srv.prog.wait_asleep(STOP_S)
    srv.prog.stop()
    for client in clients:
        client.settle(srv.prog)
    return note


@CHECKS.check("echo_two_clients", "udp_echo answers each of two clients at its own address", 5)
def echo_two_clients(ctx: Context) -> None:
    srv = _start(ctx, "udp_echo", 0)
    with UdpPeer() as a, UdpPeer() as b:
        plan = [(a, b"I am client A"), (b, b"I am client B"), (a, b"client A again")]
        for client, data in plan:
            if not _exchange(client, srv, data):
                break   # no reply: waiting out the rest would show nothing more
        ended_note = _last_replies(srv, a, b)   # a reply sent to the wrong client included
        want_a, want_b = [plan[0][1], plan[2][1]], [plan[1][1]]
        if [d.data for d in a.received] == want_a and [d.data for d in b.received] == want_b:
            return
        raise CheckFailed(
            f"two clients of udp_echo (port {srv.port}), each its own socket, took turns:\n"
            f"  A at {LOOPBACK}:{a.port} sent {show_bytes(want_a[0])}, later {show_bytes(want_a[1])}\n"
            f"  B at {LOOPBACK}:{b.port} sent {show_bytes(want_b[0])}\n"
            f"A received:\n{show_datagrams(a.received)}\nB received:\n{show_datagrams(b.received)}"
            f"{ended_note}\nexpected each client to get back exactly "
            f"what it sent, each at its own address",
            skeleton_hint(srv.prog, "send each reply to the address recvfrom (recvmsg) filled "
                                    "for THAT datagram: every client has its own address and "
                                    "port; never a saved, fixed or first client's address"))


@CHECKS.check("echo_binary", "udp_echo echoes binary bytes with NULs exactly", 4)
def echo_binary(ctx: Context) -> None:
    srv = _start(ctx, "udp_echo", 0)
    payload = b"bin\x00ary" + bytes(range(256)) + b"\xff\x00"
    with UdpPeer() as client:
        _exchange(client, srv, payload)
        ended_note = _last_replies(srv, client)
        got = client.received
    if [d.data for d in got] == [payload]:
        return
    reply = got[0].data if got else None
    if len(got) > 1 and reply == payload:
        hint = ("one datagram in, one reply out: call sendto once for each datagram "
                "recvfrom returns")
    elif reply == payload[:payload.index(0)]:
        hint = ("the reply stops where the first NUL (0x00) byte was: reply with n bytes, "
                "recvfrom's return value, never strlen(buf)")
    elif reply is not None and reply.startswith(payload):
        hint = (f"the reply is {len(reply)} bytes: it carries the whole buffer; reply with n "
                f"bytes, recvfrom's return value, not sizeof(buf)")
    else:
        hint = "reply with exactly the n bytes received: n from recvfrom, never strlen or sizeof"
    raise CheckFailed(
        f"the peer sent {show_bytes(payload)} to udp_echo and received:\n{show_datagrams(got)}"
        f"{ended_note}\nexpected the same {len(payload)} bytes back",
        skeleton_hint(srv.prog, hint))


@CHECKS.check("echo_empty", "udp_echo echoes an empty datagram and keeps serving", 4)
def echo_empty(ctx: Context) -> None:
    srv = _start(ctx, "udp_echo", 0)
    after = b"still there?"
    with UdpPeer() as client:
        _exchange(client, srv, b"")
        _exchange(client, srv, after, RECEIVE_S if not srv.prog.has_exited() else 0)
        ended_note = _last_replies(srv, client)
        got = [d.data for d in client.received]
        if got == [b"", after]:
            return
        raise CheckFailed(
            f"the peer sent an empty datagram (0 bytes) to udp_echo, then {show_bytes(after)}; "
            f"it received:\n{show_datagrams(client.received)}{ended_note}"
            f"\nexpected an empty datagram back, then {show_bytes(after)}",
            skeleton_hint(srv.prog, "an empty datagram is a real datagram: recvfrom returns 0, "
                                    "which does not mean closed; echo it with sendto(fd, buf, 0, "
                                    "...) and keep serving"))


@CHECKS.check("echo_upper", "udp_echo -u upper-cases ASCII a-z only (UTF-8 bytes unchanged)", 3)
def echo_upper(ctx: Context) -> None:
    srv = _start(ctx, "udp_echo", "-u", 0)
    payload = "hello, World! az {`} é中 ÿ".encode() + bytes([0x80, 0xE0, 0xFA, 0xFF, 0x00, 0x7A])
    expected = bytes(b - 32 if ord("a") <= b <= ord("z") else b for b in payload)
    with UdpPeer() as client:
        _exchange(client, srv, payload)
        ended_note = _last_replies(srv, client)
        got = client.received
    if [d.data for d in got] == [expected]:
        return
    raise CheckFailed(
        f"udp_echo -u: the peer sent {show_bytes(payload, 80)}\nand received:\n"
        f"{show_datagrams(got)}{ended_note}\nexpected "
        f"{show_bytes(expected, 80)}",
        skeleton_hint(srv.prog, "upper-case only ASCII a-z ('a'..'z' minus 32); leave every "
                                "other byte alone: é and 中 are bytes >= 0x80 in UTF-8, and "
                                "toupper() on a negative char is undefined"))


@CHECKS.check("echo_stops_on_signal", "udp_echo exits 0 on SIGTERM", 2)
def echo_stops_on_signal(ctx: Context) -> None:
    srv = _start(ctx, "udp_echo", 0)
    with UdpPeer() as client:   # so that it is blocked in its serve loop (the reply is not graded)
        _exchange(client, srv, b"are you serving?", NOT_THERE_S)
        # The signal must find it blocked in its next recvfrom, not on its way there.
        srv.prog.wait_asleep(STOP_S)
    if srv.prog.has_exited():
        raise CheckFailed("udp_echo exited before it was signalled."
                          + _ended_note(srv.prog, "udp_echo"),
                          skeleton_hint(srv.prog, "udp_echo_serve returns only once *stop is set"))
    ended = srv.prog.terminate(STOP_S)
    if ended.code == 0 and not ended.killed_by_us:
        return
    stderr = "" if ended.killed_by_us else f"; its stderr:\n{show_output(srv.prog.err())}"
    if ended.killed_by_us:
        hint = ("the handler sets *stop and the blocked recvfrom fails with EINTR: "
                "udp_echo_serve must then return 0. Do not retry on EINTR without looking at "
                "*stop (udp_recv_from must not retry at all)")
    else:
        hint = ("a call that fails with EINTR while *stop is set is the way out, not an error: "
                "udp_echo_serve returns 0 then")
    raise CheckFailed(
        f"udp_echo was sent SIGTERM (again every {runner.TERMINATE_EVERY_S:g} s) and {ended.describe()}"
        f"{stderr}\nexpected exit status 0 within {STOP_S:g} s", hint)


# --- udp_whoami --------------------------------------------------------------------------

@CHECKS.check("whoami_port", "udp_whoami prints the source port the peer really saw", 4)
def whoami_port(ctx: Context) -> None:
    for _ in range(SYMMETRIC_TRIES):
        with UdpPeer() as peer:
            prog = ctx.run("udp_whoami", LOOPBACK, peer.port)
            ended = prog.exit()
            received = peer.wait_for(1, NOT_THERE_S, sender=prog)
        out = prog.out()
        if not received:
            raise CheckFailed(
                f"udp_whoami {LOOPBACK} {peer.port}: nothing reached the peer; udp_whoami "
                f"{ended.describe()}, stdout:\n{show_output(out)}\nstderr:\n{show_output(prog.err())}",
                skeleton_hint(prog, "udp_implicit_port must sendto \"ping\" to dst"))
        seen = received[0].source[1]
        if symmetric(seen):
            continue    # equal bytes: a missing ntohs would not show; run it again
        match = re.search(r"^local port (-?\d+)$", out, re.M)
        printed = int(match.group(1)) if match else None
        if printed == seen and ended.code == 0:
            return
        if printed == swapped(seen):
            hint = (f"getsockname gives the port in network byte order: return "
                    f"ntohs(sin_port). Without ntohs, port {seen} reads as {swapped(seen)}")
        elif printed == 0:
            hint = ("port 0: getsockname was asked before the first sendto; the system binds "
                    "the socket (and picks its port) during that send")
        elif printed is None:
            hint = skeleton_hint(prog, "udp_implicit_port returns the port, or -1 with errno set")
        else:
            hint = ("report the port of the socket that sent \"ping\" (getsockname on it, after "
                    "the send), not of another socket")
        raise CheckFailed(
            f"udp_whoami {LOOPBACK} {peer.port}: the peer received {show_bytes(received[0].data)} "
            f"from {LOOPBACK}:{seen}. udp_whoami {ended.describe()} and printed:\n"
            f"{show_output(out)}\nstderr:\n{show_output(prog.err())}\nexpected:\n  | local port {seen}",
            hint)
    raise CheckFailed(f"udp_whoami was run {SYMMETRIC_TRIES} times and each time its datagram "
                      f"came from a port whose two bytes are equal.",
                      "udp_implicit_port must not bind: let the first sendto pick the port")


# --- udp_chat ----------------------------------------------------------------------------

def _chat(ctx: Context, peer: UdpPeer, name: str) -> Server:
    """udp_chat -n NAME 0 127.0.0.1 PEER_PORT, its stdin open for lines."""
    return _start(ctx, "udp_chat", "-n", name, 0, LOOPBACK, peer.port, keep_stdin_open=True)


def _parse_chat(data: bytes) -> tuple[Any, str]:
    """A chat datagram parsed (strict JSON in UTF-8), or None and why it is not one."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as err:
        return None, f"not UTF-8 ({err})"
    except json.JSONDecodeError as err:
        return None, f"not valid JSON ({err})"
    if not isinstance(obj, dict):
        return None, f"valid JSON, but a {type(obj).__name__}, not an object"
    return obj, ""


def _wait_output(prog: runner.Program, expected: bytes, timeout: float) -> bool:
    """Wait for a whole stdout line (to the deadline, or until stdout closes)."""
    pattern = re.compile(rb"^" + re.escape(expected) + rb"\n", re.M)
    return prog.stdout.wait_for(pattern, time.monotonic() + timeout) is not None


@CHECKS.check("chat_sends_json", "udp_chat sends each line as a JSON object {name, msg}, escaped", 6)
def chat_sends_json(ctx: Context) -> None:
    name = 'Zoë "Z" \\ 中文'
    lines = ["hello", 'she said "hi" \\o/', "a tab\there, 中文 too"]
    with UdpPeer() as peer:
        srv = _chat(ctx, peer, name)
        for count, line in enumerate(lines, 1):   # one at a time: each is its own concern
            srv.prog.write(line.encode() + b"\n")
            # Only the first datagram for each line is graded: no need to listen for more.
            if len(peer.wait_for(count, RECEIVE_S, sender=srv.prog, settle=False)) < count:
                break
        srv.prog.close_stdin()
        problems = []
        for i, line in enumerate(lines):
            if i >= len(peer.received):
                problems.append(f"  line {i + 1} {show_bytes(line.encode())}: no datagram")
                continue
            obj, why = _parse_chat(peer.received[i].data)
            if obj is None:
                problems.append(f"  datagram #{i + 1}: {why}")
            elif obj.get("name") != name or obj.get("msg") != line:
                problems.append(f"  datagram #{i + 1} parses to name={obj.get('name')!r}, "
                                f"msg={obj.get('msg')!r}")
        if not problems:
            return
        raise CheckFailed(
            f"{srv.command}, then the lines " + ", ".join(show_bytes(line.encode()) for line in lines)
            + f" on stdin, one by one.\nThe peer received:\n{show_datagrams(peer.received)}\n"
            + "\n".join(problems) + f"{_ended_note(srv.prog, 'udp_chat')}\nexpected, for each "
            f"line, one datagram: a JSON object with \"name\": {json.dumps(name, ensure_ascii=False)} "
            f"and \"msg\": the line (compared parsed: any key order or spacing)",
            skeleton_hint(srv.prog, "build the object with cJSON (cJSON_CreateObject, "
                                    "cJSON_AddStringToObject, cJSON_PrintUnformatted): it escapes "
                                    "quotes, backslashes and control characters such as a tab. "
                                    "sprintf does not escape anything: a \" in the text ends the "
                                    "JSON string early"))


@CHECKS.check("chat_prints_incoming",
               "a message that comes in while stdin is idle is printed as [NAME] MSG", 5)
def chat_prints_incoming(ctx: Context) -> None:
    with UdpPeer() as peer:
        srv = _chat(ctx, peer, "me")
        message = {"name": 'Bob "B"', "msg": "hi 中文 \\ there"}
        data = json.dumps(message, ensure_ascii=False).encode()
        expected = f"[{message['name']}] {message['msg']}".encode()
        peer.main.sendto(data, (LOOPBACK, srv.port))
        if _wait_output(srv.prog, expected, RECEIVE_S):
            srv.prog.close_stdin()
            return
        out = srv.prog.out()
        after_typing = ""
        if not srv.prog.has_exited():
            srv.prog.write(b"a line typed later\n")
            if _wait_output(srv.prog, expected, 1.0):
                after_typing = ("\nIt was printed only once a line was typed on stdin: the chat "
                                "was waiting for the keyboard, not for the network.")
        srv.prog.close_stdin()
        raise CheckFailed(
            f"{srv.command}, stdin open and idle. The peer sent {show_bytes(data, 80)} to "
            f"{LOOPBACK}:{srv.port}; within {RECEIVE_S:g} s udp_chat printed:\n"
            f"{show_output(out)}{_ended_note(srv.prog, 'udp_chat')}\nexpected the "
            f"line:\n  | {expected.decode()}{after_typing}",
            skeleton_hint(srv.prog, POLL_HINT))


@CHECKS.check("chat_large_message", f"a message of {UDP_MAX_PAYLOAD} bytes (the largest "
                                    f"datagram) is printed whole", 1)
def chat_large_message(ctx: Context) -> None:
    name = "Big"
    room = UDP_MAX_PAYLOAD - len(json.dumps({"name": name, "msg": ""}).encode())
    text = bytes(b"0123456789abcdefghijklmnopqrstuvwxyz"[(i * 7 + i // 36) % 36]
                 for i in range(room)).decode()   # no byte that JSON escapes: the sizes add up
    data = json.dumps({"name": name, "msg": text}).encode()
    expected = f"[{name}] {text}".encode()
    with UdpPeer() as peer:
        srv = _chat(ctx, peer, "me")
        peer.main.sendto(data, (LOOPBACK, srv.port))
        printed = _wait_output(srv.prog, expected, RECEIVE_S)
        srv.prog.close_stdin()
        if printed:
            return
        lines = [line for line in srv.prog.out_bytes().split(b"\n")
                 if line.startswith((b"! invalid message", b"["))]
    what = (f"{srv.command}. The peer sent one chat message of {UDP_MAX_PAYLOAD} bytes, the "
            f"largest UDP payload over IPv4: {show_bytes(data, 60)}, a \"msg\" of {room} "
            f"bytes.\n")
    cut = next((line for line in lines if line.startswith(f"[{name}] ".encode())), None)
    if cut is not None and expected.startswith(cut):
        what += (f"udp_chat printed only {len(cut) - len(name) - 3} bytes of its msg: the "
                 f"datagram was cut.")
    elif any(line.startswith(b"! invalid message") for line in lines):
        what += ("udp_chat printed '! invalid message from ...': it did not get the datagram "
                 "whole, so it could not parse it.")
    else:
        what += (f"within {RECEIVE_S:g} s udp_chat printed:\n"
                 f"{show_output(srv.prog.out_bytes()[:300].decode(errors='replace'))}")
    raise CheckFailed(
        what + _ended_note(srv.prog, "udp_chat") + f"\nexpected the line '[{name}] MSG' with "
        f"the whole msg ({room} bytes)",
        skeleton_hint(srv.prog, f"a chat message may be as long as any datagram: receive into a "
                                f"buffer of {UDP_MAX_PAYLOAD} bytes (UDP_MAX_PAYLOAD) or more "
                                f"(on the heap), with that cap; a smaller buffer of your own "
                                f"cuts the largest datagrams, or makes udp_recv_from refuse "
                                f"them (EMSGSIZE)"))


@CHECKS.check("chat_invalid", "an invalid datagram prints '! invalid message from A.B.C.D:PORT' "
                               "and the chat goes on", 3)
def chat_invalid(ctx: Context) -> None:
    with UdpPeer() as peer:
        srv = _chat(ctx, peer, "me")
        sent = [b"this is not JSON", b'{"name": "Ann", "msg": 42}',
                json.dumps({"name": "Ann", "msg": "still here"}).encode()]
        for data in sent:
            peer.main.sendto(data, (LOOPBACK, srv.port))
            # A line typed after each one: a chat that looks at the network only after a line
            # (graded by chat_prints_incoming) still shows what it does with the datagram.
            srv.prog.write(b"nudge\n")
        _wait_output(srv.prog, b"[Ann] still here", RECEIVE_S)
        srv.prog.close_stdin()
        # What it did with each datagram (other output is not graded here).
        lines = [line for line in srv.prog.out().splitlines()
                 if line.startswith(("! invalid message", "["))]
        accepted = {f"! invalid message from {LOOPBACK}:{p}" for p in (peer.port, swapped(peer.port))}
        if len(lines) == 3 and {lines[0], lines[1]} <= accepted and lines[2] == "[Ann] still here":
            return
        raise CheckFailed(
            f"{srv.command}. The peer ({LOOPBACK}:{peer.port}) sent, one after another:\n"
            + "\n".join(f"  #{i}: {show_bytes(d)}" for i, d in enumerate(sent, 1))
            + f"\nudp_chat printed:\n{show_output(srv.prog.out())}"
            f"{_ended_note(srv.prog, 'udp_chat')}\nexpected:\n"
            f"  | ! invalid message from {LOOPBACK}:{peer.port}\n"
            f"  | ! invalid message from {LOOPBACK}:{peer.port}\n  | [Ann] still here",
            skeleton_hint(srv.prog, "parse each datagram (cJSON_ParseWithLength) and require an "
                                    "object whose \"name\" and \"msg\" are strings "
                                    "(cJSON_IsObject, cJSON_IsString); anything else prints "
                                    "'! invalid message from A.B.C.D:PORT' with the sender "
                                    "recvfrom filled, and the chat goes on"))


@CHECKS.check("chat_stop_eof", "the line 'stop' (not sent) or EOF ends udp_chat with exit 0", 2)
def chat_stop_eof(ctx: Context) -> None:
    with UdpPeer() as peer:
        srv = _chat(ctx, peer, "me")
        srv.prog.write(b"before stop\n")
        peer.wait_for(1, RECEIVE_S, sender=srv.prog, settle=False)
        srv.prog.write(b"stop\n")
        ended = srv.prog.wait(RUN_S)
        received = peer.wait_for(2, 0, sender=srv.prog)   # 'stop' sent would be there now
        if ended.code != 0 or ended.killed_by_us or len(received) != 1:
            raise CheckFailed(
                f"{srv.command}: stdin 'before stop', then 'stop' (stdin stays open). udp_chat "
                f"{ended.describe()}; the peer received:\n{show_datagrams(received)}\nits stderr:\n"
                f"{show_output(srv.prog.err())}\nexpected one datagram (for 'before stop') and "
                f"exit status 0",
                skeleton_hint(srv.prog, "compare each line without its \\n (and \\r): the line "
                                        "\"stop\" ends the chat, unsent, and udp_chat returns 0"))
    with UdpPeer() as peer:
        srv = _chat(ctx, peer, "me")
        srv.prog.write(b"last words\n")
        peer.wait_for(1, RECEIVE_S, sender=srv.prog, settle=False)
        srv.prog.close_stdin()
        ended = srv.prog.wait(RUN_S)
        if ended.code == 0 and not ended.killed_by_us:
            return
        raise CheckFailed(
            f"{srv.command}: stdin 'last words', then end of input (EOF). udp_chat "
            f"{ended.describe()}; its stderr:\n{show_output(srv.prog.err())}\nexpected exit status 0",
            skeleton_hint(srv.prog, "read() returning 0 is the end of input: the chat ends and "
                                    "udp_chat returns 0"))
