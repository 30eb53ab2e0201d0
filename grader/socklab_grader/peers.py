"""Reference peers: the grader's own sockets that talk to a student's program.

A peer binds before the student's program starts, never sets SO_REUSEADDR on UDP, and only
uses ports whose two bytes differ, so a missing htons/ntohs always shows (0x1F40 and 0x401F
are different ports; 0x2020 is the same port in either byte order).
"""

from __future__ import annotations

import select
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .runner import Program

MAX_DATAGRAM = 65535
QUIET_S = 0.2          # after the expected datagrams, how long to listen for extra ones
RECV_BUFFER = 1 << 21  # room for several 64 KiB datagrams while the peer is not reading


def swapped(port: int) -> int:
    """The port a missing htons sends to on a little-endian machine (8000 -> 16415)."""
    return ((port & 0xFF) << 8) | (port >> 8)


def symmetric(port: int) -> bool:
    return swapped(port) == port


@dataclass
class Datagram:
    data: bytes
    source: tuple[str, int]
    port: int               # the peer's port it arrived at
    at: float = field(default_factory=time.monotonic)


def _udp_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECV_BUFFER)
    except OSError:
        pass
    return sock


def bind_udp(host: str = "127.0.0.1", *, with_swapped: bool = False) -> list[socket.socket]:
    """A UDP socket bound to host on a free port whose bytes differ; with_swapped, a second
    socket bound to the byte-swapped port as well (where a missing htons delivers)."""
    held: list[socket.socket] = []
    try:
        for _ in range(64):
            sock = _udp_socket()
            sock.bind((host, 0))
            port = sock.getsockname()[1]
            held.append(sock)   # keep rejected ones bound so they are not drawn again
            if symmetric(port):
                continue
            if not with_swapped:
                held.remove(sock)
                return [sock]
            twin = _udp_socket()
            try:
                twin.bind((host, swapped(port)))
            except OSError:
                twin.close()
                continue
            held.remove(sock)
            return [sock, twin]
        raise OSError("no free UDP port with distinct bytes")
    finally:
        for sock in held:
            sock.close()


class UdpPeer:
    """Receives (and may answer) datagrams on a port of its own.

    With listen_swapped, it also listens on the byte-swapped port, so a datagram sent without
    htons is seen and named rather than just missing.
    """

    def __init__(self, host: str = "127.0.0.1", *, listen_swapped: bool = False) -> None:
        self.sockets = bind_udp(host, with_swapped=listen_swapped)
        self.host = host
        self.port: int = self.sockets[0].getsockname()[1]
        self.received: list[Datagram] = []

    @property
    def main(self) -> socket.socket:
        return self.sockets[0]

    def _read_ready(self, timeout: float, also: list[int] | None = None) -> bool:
        """Read what is ready; False when nothing was (or only an `also` fd became ready)."""
        ready, _, _ = select.select([*self.sockets, *(also or [])], [], [], max(0.0, timeout))
        got = False
        for sock in ready:
            if isinstance(sock, socket.socket):
                data, source = sock.recvfrom(MAX_DATAGRAM)
                self.received.append(Datagram(data, source, sock.getsockname()[1]))
                got = True
        return got

    def wait_for(self, count: int, timeout: float, sender: "Program | None" = None) -> list[Datagram]:
        """Read until `count` datagrams arrived in all, the deadline passed, or the sender
        program exited; then keep listening QUIET_S for extra ones. All received so far."""
        deadline = time.monotonic() + timeout
        exited = [sender.exit_fd()] if sender is not None else []
        while len(self.received) < count and time.monotonic() < deadline:
            if not self._read_ready(deadline - time.monotonic(), exited) and exited:
                if sender is not None and sender.has_exited():
                    break
        quiet_until = time.monotonic() + QUIET_S
        while time.monotonic() < quiet_until:
            if self._read_ready(quiet_until - time.monotonic()):
                quiet_until = time.monotonic() + QUIET_S
        return self.received

    def at_port(self) -> list[Datagram]:
        """What arrived at the port that was asked for."""
        return [d for d in self.received if d.port == self.port]

    def at_swapped_port(self) -> list[Datagram]:
        return [d for d in self.received if d.port != self.port]

    def close(self) -> None:
        for sock in self.sockets:
            sock.close()

    def __enter__(self) -> "UdpPeer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
