"""Lab 01 - sending datagrams: what udp_send, udp_ask and udp_broadcast put on the wire."""

from __future__ import annotations

import re

from . import RECEIVE_S, RUN_S, STDERR_HINT, CheckFailed, Context, LabChecks, skeleton_hint
from ..describe import first_difference, plural, show_bytes, show_datagrams, show_output
from ..peers import Datagram, UdpPeer, bind_udp, swapped

# Hints shown under a failed API check (a Criterion test of tests/), by suite.
API_HINTS = {
    "udp_make_addr": "fill sin_family = AF_INET, sin_port = htons(port), and the address from "
                     "getaddrinfo (or inet_pton); return -1 when the host does not resolve",
    "udp_send_once": "one socket, ONE sendto of exactly len bytes (not sizeof(buf), not strlen+1), close",
    "udp_send_lines": "one socket for every line; strip the \\n (and a \\r before it); an empty line "
                      "is an empty datagram; 'stop' ends the loop unsent; a line over 65507 bytes "
                      "is an error (EMSGSIZE)",
    "udp_request": "sendto, then poll() with the timeout before recvfrom; recvfrom fills the "
                   "sender's address (initialise addrlen); do not connect(): replies may come "
                   "from another port",
    "udp_broadcast": "setsockopt(SO_BROADCAST, 1) before sendto: without it a broadcast "
                     "address gives EACCES",
}

CHECKS = LabChecks("01_udp_send", API_HINTS)

UDP_MAX_PAYLOAD = 65507  # the largest datagram over IPv4: 65535 - 20 (IP) - 8 (UDP)

HTONS_HINT = ("a port travels in network byte order: sin_port = htons(port). Without htons, "
              "port {port} becomes {swapped} on this machine.")


# --- helpers ---------------------------------------------------------------------------

def _send(ctx: Context, peer: UdpPeer, *args: object, stdin: bytes | None = None,
          expect: int = 1) -> tuple[str, list[Datagram]]:
    """Run udp_send against the peer and collect what arrived (at either byte order)."""
    prog = ctx.run("udp_send", "127.0.0.1", peer.port, *args, stdin=stdin)
    ended = prog.exit()
    received = peer.wait_for(expect, RECEIVE_S if ended.code == 0 else 0.2, sender=prog)
    if ended.code != 0 or ended.killed_by_us:
        raise CheckFailed(
            f"udp_send {ended.describe()} (expected exit 0).\nIts stderr:\n{show_output(prog.err())}"
            f"\nThe peer received:\n{show_datagrams(received)}",
            skeleton_hint(prog, STDERR_HINT))
    return prog.out(), received


def _wrong_port_note(peer: UdpPeer) -> str:
    if peer.at_swapped_port():
        return (f"\n{plural(len(peer.at_swapped_port()), 'datagram')} arrived at port "
                f"{swapped(peer.port)} instead of {peer.port}: the port's bytes are swapped.")
    return ""


def _length_hint(sent: bytes, got: bytes) -> str:
    if got == sent + b"\0":
        return "the datagram ends with a NUL byte: send strlen(msg) bytes, not strlen(msg) + 1"
    if got.startswith(sent) and len(got) > len(sent):
        return (f"the datagram is {len(got)} bytes: it carries the whole buffer; send exactly "
                f"the message's length, not sizeof(buf)")
    if len(got) == 8 and len(sent) != 8:
        return "8 bytes is sizeof(char *): sizeof a pointer is not the length of the text"
    return "send exactly the message's bytes: the length you pass to sendto is what goes out"


def _expect_line(out: str, template: str, port: int, what: str) -> None:
    """A line of out must be template with {port} filled in. The byte order of the port is
    graded by its own check, so here the swapped port is accepted too."""
    accepted = {template.format(port=p) for p in (port, swapped(port))}
    if not accepted & set(out.splitlines()):
        raise CheckFailed(f"{what} printed:\n{show_output(out)}\nexpected the line:\n"
                          f"  | {template.format(port=port)}",
                          "the provided main prints this line from your function's return value")


# --- udp_send --------------------------------------------------------------------------

@CHECKS.check("send_exact_bytes", "udp_send HOST PORT MESSAGE sends exactly the message's bytes", 8)
def send_exact_bytes(ctx: Context) -> None:
    for message in (b"hello", b"forty bytes of payload, no more, no less"):
        with UdpPeer(listen_swapped=True) as peer:
            out, received = _send(ctx, peer, message.decode())
            if len(received) != 1 or received[0].data != message:
                got = received[0].data if received else b""
                raise CheckFailed(
                    f"udp_send 127.0.0.1 {peer.port} '{message.decode()}'\nexpected one datagram "
                    f"{show_bytes(message)}\nthe peer received {plural(len(received), 'datagram')}:\n"
                    f"{show_datagrams(received)}",
                    _length_hint(message, got) if received else
                    "nothing arrived: does udp_send_once call sendto with the address from udp_make_addr?")
            _expect_line(out, f"sent {len(message)} bytes to 127.0.0.1:{{port}}", peer.port, "udp_send")


@CHECKS.check("send_port_byte_order", "the datagram arrives at the port given (htons)", 10)
def send_port_byte_order(ctx: Context) -> None:
    with UdpPeer(listen_swapped=True) as peer:
        _, received = _send(ctx, peer, "which port?")
        if peer.at_port():
            return
        if peer.at_swapped_port():
            raise CheckFailed(
                f"udp_send 127.0.0.1 {peer.port}: the datagram arrived at port "
                f"{swapped(peer.port)}, not {peer.port}.",
                HTONS_HINT.format(port=peer.port, swapped=swapped(peer.port)))
        raise CheckFailed(f"udp_send 127.0.0.1 {peer.port}: nothing arrived at port {peer.port} "
                          f"(nor at {swapped(peer.port)}).",
                          "udp_make_addr must fill sin_family, sin_port and sin_addr")


def _lines(ctx: Context, stdin: bytes, expected: list[bytes]) -> tuple[UdpPeer, str, list[Datagram]]:
    peer = UdpPeer(listen_swapped=True)
    try:
        out, received = _send(ctx, peer, stdin=stdin, expect=len(expected))
    except CheckFailed:
        peer.close()
        raise
    return peer, out, received


def _show_stdin(stdin: bytes) -> str:
    return show_bytes(stdin, limit=80)


@CHECKS.check("lines_one_datagram_each", "udp_send with no MESSAGE sends one datagram per stdin line", 8)
def lines_one_datagram_each(ctx: Context) -> None:
    stdin = b"alpha\nbravo charlie\nd\n"
    expected = [b"alpha", b"bravo charlie", b"d"]
    peer, out, received = _lines(ctx, stdin, expected)
    with peer:
        got = [d.data for d in received]
        if got != expected:
            raise CheckFailed(
                f"stdin {_show_stdin(stdin)}\nexpected 3 datagrams: "
                + ", ".join(show_bytes(e) for e in expected)
                + f"\nthe peer received {plural(len(got), 'datagram')}:\n{show_datagrams(received)}"
                + _wrong_port_note(peer),
                "read a line (getline), strip its \\n, send exactly its bytes; one sendto per line")
        _expect_line(out, "sent 3 datagrams to 127.0.0.1:{port}", peer.port, "udp_send")


@CHECKS.check("lines_one_source_port", "all lines are sent from one socket (one source port)", 6)
def lines_one_source_port(ctx: Context) -> None:
    stdin = b"one\ntwo\nthree\nfour\n"
    peer, _, received = _lines(ctx, stdin, [b"one", b"two", b"three", b"four"])
    with peer:
        if len(received) < 2:
            raise CheckFailed(f"stdin {_show_stdin(stdin)}\nthe peer received "
                              f"{plural(len(received), 'datagram')}; it needs at least 2 to compare "
                              f"source ports:\n{show_datagrams(received)}",
                              "send one datagram per line")
        ports = sorted({d.source[1] for d in received})
        if len(ports) != 1:
            raise CheckFailed(
                f"stdin {_show_stdin(stdin)}\nthe datagrams came from {len(ports)} source ports "
                f"({', '.join(map(str, ports))}):\n{show_datagrams(received)}",
                "create the socket once, before the loop, and close it after: every new socket "
                "gets a new ephemeral port, so the receiver sees a new sender each line")


@CHECKS.check("lines_empty_line", "an empty line is sent as an empty datagram", 6)
def lines_empty_line(ctx: Context) -> None:
    stdin = b"one\n\nthree\n"
    expected = [b"one", b"", b"three"]
    peer, _, received = _lines(ctx, stdin, expected)
    with peer:
        got = [d.data for d in received]
        if got != expected:
            raise CheckFailed(
                f"stdin {_show_stdin(stdin)}\nexpected 3 datagrams, the middle one empty (0 bytes)"
                f"\nthe peer received:\n{show_datagrams(received)}",
                "UDP can carry a 0-byte datagram: sendto(fd, buf, 0, ...) sends one. Do not skip "
                "empty lines")


@CHECKS.check("lines_stop", "the line 'stop' ends the input unsent", 5)
def lines_stop(ctx: Context) -> None:
    stdin = b"before\nstop\nafter\n"
    peer, out, received = _lines(ctx, stdin, [b"before"])
    with peer:
        got = [d.data for d in received]
        if got != [b"before"]:
            raise CheckFailed(
                f"stdin {_show_stdin(stdin)}\nexpected exactly one datagram 'before' (stop is "
                f"not sent, nothing after it is)\nthe peer received:\n{show_datagrams(received)}",
                "compare the line without its newline: strcmp(line, \"stop\") == 0 ends the loop "
                "before sending")
        _expect_line(out, "sent 1 datagrams to 127.0.0.1:{port}", peer.port, "udp_send")


@CHECKS.check("lines_utf8", "UTF-8 text (你好) is sent as its bytes", 2)
def lines_utf8(ctx: Context) -> None:
    text = "你好".encode()
    stdin = text + b"\n"
    peer, _, received = _lines(ctx, stdin, [text])
    with peer:
        got = [d.data for d in received]
        if got != [text]:
            raise CheckFailed(
                f"stdin {_show_stdin(stdin)}\nexpected one datagram e4 bd a0 e5 a5 bd "
                f"(6 bytes)\nthe peer received:\n{show_datagrams(received)}",
                "a line is bytes: 你好 is 6 bytes in UTF-8, so use the byte length from getline "
                "(or strlen), never a count of characters, and do not stop at bytes >= 0x80")


# --- udp_ask ---------------------------------------------------------------------------

@CHECKS.check("ask_reply_and_sender", "udp_ask prints the reply and its true sender (another port)", 10)
def ask_reply_and_sender(ctx: Context) -> None:
    reply = b"PONG from another port"
    with UdpPeer(listen_swapped=True) as peer, bind_udp()[0] as answerer:
        answer_port = answerer.getsockname()[1]
        prog = ctx.start("udp_ask", "-t", 3000, "127.0.0.1", peer.port, "ping")
        requests = peer.wait_for(1, RECEIVE_S, sender=prog, settle=False)
        if not requests:
            prog.wait(RUN_S)
            raise CheckFailed(f"udp_ask -t 3000 127.0.0.1 {peer.port} ping: no request reached the "
                              f"peer; udp_ask {prog.exit().describe()}, stderr:\n{show_output(prog.err())}",
                              "udp_request must sendto the destination first")
        request = requests[0]
        answerer.sendto(reply, request.source)
        ended = prog.wait(RUN_S)
        expected = (f"reply from 127.0.0.1:{answer_port} ({len(reply)} bytes): "
                    f"{reply.decode()}")
        out = prog.out()
        if expected in out.splitlines() and ended.code == 0:
            return
        raise CheckFailed(
            f"the peer got {show_bytes(request.data)} on port {peer.port} and answered "
            f"{show_bytes(reply)} from ANOTHER socket, 127.0.0.1:{answer_port}.\n"
            f"udp_ask {ended.describe()} and printed:\n{show_output(out)}\n"
            f"stderr:\n{show_output(prog.err())}\nexpected:\n  | {expected}",
            _ask_hint(out, peer.port, answer_port))


@CHECKS.check("ask_large_reply", f"udp_ask prints a reply of {UDP_MAX_PAYLOAD} bytes (the "
                                 f"largest datagram) whole", 2)
def ask_large_reply(ctx: Context) -> None:
    # Printable bytes (no newline) in a pattern that shows a cut, a shift or a repeat.
    reply = bytes(33 + (i * 7 + i // 94) % 94 for i in range(UDP_MAX_PAYLOAD))
    with UdpPeer(listen_swapped=True) as peer:   # the port's byte order is graded elsewhere
        prog = ctx.start("udp_ask", "-t", 3000, "127.0.0.1", peer.port, "big?")
        requests = peer.wait_for(1, RECEIVE_S, sender=prog, settle=False)
        if not requests:
            prog.wait(RUN_S)
            raise CheckFailed(f"udp_ask -t 3000 127.0.0.1 {peer.port} big?: no request reached "
                              f"the peer; udp_ask {prog.exit().describe()}, stderr:\n"
                              f"{show_output(prog.err())}",
                              skeleton_hint(prog, "udp_request must sendto the destination first"))
        answerer = next(s for s in peer.sockets if s.getsockname()[1] == requests[0].port)
        answerer.sendto(reply, requests[0].source)
        ended = prog.wait(RUN_S)
    out = prog.out_bytes()
    # Who the reply came from is ask_reply_and_sender's concern: here, its length and bytes.
    match = re.search(rb"reply from [\d.]+:\d+ \((\d+) bytes\): ", out)
    if (match and int(match.group(1)) == UDP_MAX_PAYLOAD and ended.code == 0
            and out[match.end():] == reply + b"\n"):
        return
    what = f"the peer answered with one datagram of {UDP_MAX_PAYLOAD} bytes, the largest UDP " \
           f"payload over IPv4 (udp_ask's reply buffer holds 65535 bytes).\nudp_ask "
    if match is None:
        raise CheckFailed(
            what + f"{ended.describe()} without a line 'reply from A.B.C.D:PORT (N bytes): "
            f"PAYLOAD'; stdout:\n{show_output(out.decode(errors='replace'))}\nstderr:\n"
            f"{show_output(prog.err())}",
            skeleton_hint(prog, f"a reply may be as long as {UDP_MAX_PAYLOAD} bytes: receive it "
                                f"whole, straight into reply with cap bytes"))
    printed = int(match.group(1))
    payload = out[match.end():match.end() + printed]
    if printed < UDP_MAX_PAYLOAD and reply.startswith(payload):
        raise CheckFailed(
            what + f"printed a reply of {printed} bytes: the {UDP_MAX_PAYLOAD}-byte reply was "
            f"cut after byte {printed}.",
            f"udp_request must receive up to cap bytes (udp_ask passes 65535): a buffer of your "
            f"own smaller than {UDP_MAX_PAYLOAD} bytes (UDP_MAX_PAYLOAD) cuts the largest "
            f"datagrams. recvfrom straight into reply, with cap")
    at = first_difference(reply, payload)
    raise CheckFailed(
        what + f"{ended.describe()} and printed a reply of {printed} bytes, the same as the one "
        f"sent up to byte {at}: expected {show_bytes(reply[at:at + 16])}, printed "
        f"{show_bytes(payload[at:at + 16])}.",
        f"receive the reply whole, straight into reply with cap bytes, and return recvfrom's "
        f"length: a {UDP_MAX_PAYLOAD}-byte datagram is legal")


def _ask_hint(out: str, asked_port: int, answer_port: int) -> str:
    match = re.search(r"reply from ([\d.]+):(\d+)", out)
    if not match:
        return ("wait for a datagram from anyone: a connect()ed UDP socket, or a check that "
                "the reply came from the port you asked, drops this reply")
    ip, port = match.group(1), int(match.group(2))
    if port == swapped(answer_port):
        return ("the sender's port is in the wrong byte order: store the sockaddr that recvfrom "
                "filled as it is (network order); the program calls ntohs when it prints")
    if port == asked_port:
        return ("you reported the address you sent to; report the address recvfrom filled in "
                "(the reply may come from elsewhere)")
    if ip == "0.0.0.0" or port == 0:
        return ("recvfrom did not fill the sender: set addrlen = sizeof(struct sockaddr_in) "
                "before each recvfrom")
    return "print the reply's exact length and bytes: recvfrom's return value is the length"


@CHECKS.check("ask_times_out", "udp_ask gives up after -t MS when no reply comes (exit 1)", 8)
def ask_times_out(ctx: Context) -> None:
    timeout_ms = 200
    with UdpPeer(listen_swapped=True) as peer:
        prog = ctx.start("udp_ask", "-t", timeout_ms, "127.0.0.1", peer.port, "anyone there?")
        requests = peer.wait_for(1, RECEIVE_S, sender=prog, settle=False)
        ended = prog.wait(RUN_S)
        waited_ms = ended.seconds * 1000
        err = prog.err()
        if not requests:
            raise CheckFailed(f"udp_ask -t {timeout_ms}: no request reached the peer; udp_ask "
                              f"{ended.describe()}, stderr:\n{show_output(err)}",
                              "udp_request must send the request before it waits")
        if ended.killed_by_us:
            raise CheckFailed(
                f"the peer stayed silent; udp_ask -t {timeout_ms} was still waiting after "
                f"{RUN_S:g} s.",
                "recvfrom blocks forever on its own: poll() (or select, or SO_RCVTIMEO) with "
                "timeout_ms first, and return -1 with errno = ETIMEDOUT when nothing came")
        expected_err = f"udp_ask: no reply within {timeout_ms} ms"
        if ended.code != 1 or expected_err not in err.splitlines():
            raise CheckFailed(
                f"the peer stayed silent; udp_ask -t {timeout_ms} {ended.describe()} after "
                f"{waited_ms:.0f} ms with stderr:\n{show_output(err)}\nexpected exit 1 and:\n"
                f"  | {expected_err}",
                "when nothing came in time return -1 with errno = ETIMEDOUT (poll returning 0)")
        if waited_ms < timeout_ms * 0.9:
            raise CheckFailed(
                f"udp_ask -t {timeout_ms} gave up after only {waited_ms:.0f} ms.",
                "wait the whole timeout_ms: poll's timeout is in milliseconds")


# --- udp_broadcast ---------------------------------------------------------------------

def _broadcast(ctx: Context, address: str | None) -> None:
    message = b"hello, everyone"
    with UdpPeer("0.0.0.0", listen_swapped=True) as peer:
        args = (["-a", address] if address else []) + [peer.port, message.decode()]
        prog = ctx.run("udp_broadcast", *args)
        ended = prog.exit()
        received = peer.wait_for(1, RECEIVE_S if ended.code == 0 else 0.2, sender=prog)
        shown = address or "255.255.255.255"
        # Either byte order of the port: that is send_port_byte_order's concept, not this one's.
        got = [d.data for d in received]
        if got == [message] and ended.code == 0:
            _expect_line(prog.out(), f"broadcast {len(message)} bytes to {shown}:{{port}}",
                         peer.port, "udp_broadcast")
            return
        err = prog.err()
        hint = "set SO_BROADCAST on the socket before sendto"
        if "Permission denied" in err or "EACCES" in err:
            hint = ("sendto to a broadcast address fails with EACCES (Permission denied) unless "
                    "the socket has SO_BROADCAST: setsockopt(fd, SOL_SOCKET, SO_BROADCAST, "
                    "&one, sizeof one) first")
        elif peer.at_swapped_port():
            hint = HTONS_HINT.format(port=peer.port, swapped=swapped(peer.port))
        raise CheckFailed(
            f"udp_broadcast {' '.join(map(str, args))}: a peer bound to 0.0.0.0:{peer.port} "
            f"expected one datagram {show_bytes(message)}\nit received:\n"
            f"{show_datagrams(received)}{_wrong_port_note(peer)}\nudp_broadcast "
            f"{ended.describe()}, stderr:\n{show_output(err)}", hint)


@CHECKS.check("broadcast_loopback", "udp_broadcast -a 127.255.255.255 reaches a peer on 0.0.0.0", 6)
def broadcast_loopback(ctx: Context) -> None:
    _broadcast(ctx, "127.255.255.255")


@CHECKS.check("broadcast_lan", "udp_broadcast to its default 255.255.255.255 reaches the test LAN", 4,
              lan=True)
def broadcast_lan(ctx: Context) -> None:
    _broadcast(ctx, None)
