"""Reference peers: the grader's own sockets that talk to a student's program.

A peer binds before the student's program starts, never sets SO_REUSEADDR on UDP, and only
uses ports whose two bytes differ, so a missing htons/ntohs always shows (0x1F40 and 0x401F
are different ports; 0x2020 is the same port in either byte order).
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import select
import socket
import struct
import termios
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterator, Self

if TYPE_CHECKING:
    from .runner import Program

MAX_DATAGRAM = 65535
CONNECT_S = 3.0        # a TCP connection to a listening program is accepted
QUIET_S = 0.2          # after the expected datagrams, how long to listen for extra ones
QUIET_MAX_S = 1.0      # ... at the most, however many keep coming
FLUSH_S = 2.0          # a marker datagram through a CPU's backlog arrives within this
MAX_KEPT = 10_000      # datagrams a peer keeps
RECV_BUFFER = 1 << 21  # room for several 64 KiB datagrams while the peer is not reading
PEER_POLL_S = 0.002    # how often wait_read_by_peer looks at the program's receive queue


SEEDED_BLOCK = 1 << 20


def seeded_bytes(seed: int, size: int) -> bytes:
    """size bytes that only the seed decides, fast at any size (random.randbytes takes a
    second for 64 MiB): a seeded random block of 1 MiB, each MiB of the result rotated by its
    own seeded offset, so no MiB repeats the one before and a lost, doubled or shifted piece
    shows as a difference."""
    draw = random.Random(seed)
    block = memoryview(draw.randbytes(min(size, SEEDED_BLOCK)))
    pieces = []
    for start in range(0, size, len(block) or 1):
        turn = draw.randrange(len(block) or 1)
        rotated = [block[turn:], block[:turn]]
        if size - start < len(block):           # the last piece, cut to size
            left = size - start
            rotated = [block[turn:turn + left], block[:max(0, left - (len(block) - turn))]]
        pieces += rotated
    return b"".join(pieces)                     # the one copy


def swapped(port: int) -> int:
    """The port a missing htons sends to on a little-endian machine (8000 -> 16415)."""
    return ((port & 0xFF) << 8) | (port >> 8)


def symmetric(port: int) -> bool:
    return swapped(port) == port


# The seed of every seeded chunking, unless SOCKLAB_SEED says otherwise: grading is
# repeatable, and a student replays a failure with the seed its message prints.
SEED_ENV = "SOCKLAB_SEED"
DEFAULT_SEED = 4


@dataclass(frozen=True)
class Chunking:
    """How a peer cuts the bytes it sends into writes. A stream has no message boundaries,
    so a correct reader gives the same result under each: all bytes in one write (messages
    glued together), one byte per write with TCP_NODELAY (every length and header split), or
    writes of random sizes from a seed (the same cuts every run with the same seed)."""

    kind: str                   # "glued" | "dribble" | "random"
    seed: int = 0
    largest: int = 4096         # random: the largest write

    @classmethod
    def seeded(cls, largest: int = 4096) -> "Chunking":
        return cls("random", int(os.environ.get(SEED_ENV, DEFAULT_SEED)), largest)

    def pieces(self, data: bytes) -> Iterator[memoryview]:
        view = memoryview(data)
        if self.kind == "glued":
            yield view
        elif self.kind == "dribble":
            for i in range(len(view)):
                yield view[i:i + 1]
        else:
            draw = random.Random(self.seed)
            at = 0
            while at < len(view):
                size = draw.randint(1, self.largest)
                yield view[at:at + size]
                at += size

    def describe(self) -> str:
        if self.kind == "glued":
            return "all in one write"
        if self.kind == "dribble":
            return "one byte per write (TCP_NODELAY)"
        return (f"writes of 1 to {self.largest} bytes at random, seed {self.seed} "
                f"({SEED_ENV}={self.seed} grader/grade ... makes the same cuts)")


GLUED = Chunking("glued")
DRIBBLE = Chunking("dribble")


class _Closing:
    """A peer for a with block: leaving it, or close(), closes the peer's sockets."""

    def _sockets(self) -> list[socket.socket]:
        raise NotImplementedError

    def close(self) -> None:
        for sock in self._sockets():
            sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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


class UdpPeer(_Closing):
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

    def _read_all_ready(self) -> None:
        while len(self.received) < MAX_KEPT and self._read_ready(0):
            pass

    def wait_for(self, count: int, timeout: float, sender: "Program | None" = None, *,
                 settle: bool = True) -> list[Datagram]:
        """Read until `count` datagrams arrived in all, the deadline passed, or the sender
        program exited; then, unless told not to (more is to come, or extra datagrams are not
        graded), make sure nothing more is on its way (settle). All received so far."""
        if sender is not None and sender.has_exited() and flush_local_delivery():
            self._read_all_ready()  # all it ever sent is here now
            return self.received
        deadline = time.monotonic() + timeout
        exited = [sender.exit_fd()] if sender is not None else []
        while len(self.received) < count and time.monotonic() < deadline:
            if not self._read_ready(deadline - time.monotonic(), exited) and exited:
                if sender is not None and sender.has_exited():
                    break
        if settle:
            self.settle(sender)
        return self.received

    def settle(self, sender: "Program | None" = None) -> None:
        """Take in whatever is still on its way. A sender that has exited sends no more, and
        what it sent is in the kernel already: flush_local_delivery() brings it in, with no
        wait. Of a program still running, nothing says it is done, so silence is listened
        for: QUIET_S, restarted by each datagram, QUIET_MAX_S at the most."""
        if sender is not None and sender.has_exited() and flush_local_delivery():
            self._read_all_ready()
            return
        hard_end = time.monotonic() + QUIET_MAX_S
        quiet_until = time.monotonic() + QUIET_S
        while time.monotonic() < quiet_until and len(self.received) < MAX_KEPT:
            if self._read_ready(quiet_until - time.monotonic()):
                quiet_until = min(time.monotonic() + QUIET_S, hard_end)

    def at_port(self) -> list[Datagram]:
        """What arrived at the port that was asked for."""
        return [d for d in self.received if d.port == self.port]

    def at_swapped_port(self) -> list[Datagram]:
        return [d for d in self.received if d.port != self.port]

    def _sockets(self) -> list[socket.socket]:
        return self.sockets


def flush_local_delivery() -> bool:
    """Wait until every datagram already sent on this machine has reached its socket.

    A local datagram does not reach its socket inside sendto(): it waits in the sending CPU's
    backlog queue for that CPU's softirq, which a loaded machine may put off. Each queue is
    first in, first out, so a marker sent from each CPU in turn (this thread pinned there)
    arrives only after everything queued on that CPU before it. False where that cannot be
    done (the caller then falls back to listening for silence)."""
    try:
        original = os.sched_getaffinity(0)
    except OSError:
        return False
    with _udp_socket() as marks, _udp_socket() as sender:
        marks.bind(("127.0.0.1", 0))
        sent = 0
        try:
            for cpu in range(os.cpu_count() or 1):
                try:
                    os.sched_setaffinity(0, {cpu})
                except OSError:
                    continue    # not a CPU this machine lets us (or anyone here) use
                sender.sendto(b"mark", marks.getsockname())
                sent += 1
        finally:
            os.sched_setaffinity(0, original)
        deadline = time.monotonic() + FLUSH_S
        while sent and select.select([marks], [], [], max(0.0, deadline - time.monotonic()))[0]:
            marks.recv(16)
            sent -= 1
        return sent == 0


# --- TCP ----------------------------------------------------------------------------------

def _tcp_bound(host: str) -> socket.socket:
    """A TCP socket bound to host on a free port whose two bytes differ (the port a program
    will print back, so a missing ntohs shows)."""
    held: list[socket.socket] = []
    try:
        for _ in range(64):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            if not symmetric(sock.getsockname()[1]):
                return sock
            held.append(sock)   # keep it bound so it is not drawn again
        raise OSError("no free TCP port with distinct bytes")
    finally:
        for sock in held:
            sock.close()


def _send_chunked(sock: socket.socket, data: bytes, timeout: float, chunking: Chunking,
                  stall: float | None = None) -> None:
    """sendall of each piece in turn, all within timeout, and (with stall) no piece waiting
    longer than stall for the program to take it; raises OSError (TimeoutError)."""
    deadline = time.monotonic() + timeout
    if chunking.kind != "glued":     # each small write goes out at once, as its own segment
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for piece in chunking.pieces(data):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the program took {len(data)} bytes no faster than "
                               f"{timeout:g} s allowed")
        sock.settimeout(left if stall is None else min(left, stall))
        sock.sendall(piece)


class TcpConn(_Closing):
    """One TCP connection of the grader's: bytes in and out with deadlines, everything
    received kept in `received`, and the ways a real peer ends a connection."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.received = bytearray()
        self.eof = False            # the program closed (or half-closed) its side
        self.error: OSError | None = None

    @classmethod
    def connect(cls, host: str, port: int, timeout: float = CONNECT_S,
                receive_buffer: int | None = None) -> "TcpConn":
        """Connect from a source port whose bytes differ; raises OSError when refused. With
        receive_buffer, SO_RCVBUF is set first (before the handshake fixes the window)."""
        sock = _tcp_bound("127.0.0.1" if host.startswith("127.") else "0.0.0.0")
        try:
            if receive_buffer is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.settimeout(timeout)
            sock.connect((host, port))
        except OSError:
            sock.close()
            raise
        return cls(sock)

    @property
    def local_port(self) -> int:
        return self.sock.getsockname()[1]

    def send(self, data: bytes, timeout: float = CONNECT_S, chunking: Chunking = GLUED,
             stall: float | None = None) -> bool:
        """Send all of data, cut into writes as chunking says; False when the program did
        not take it in time (or, with stall, stopped taking it that long) or has gone."""
        try:
            _send_chunked(self.sock, data, timeout, chunking, stall)
            return True
        except OSError as err:
            self.error = err
            return False

    def send_read_by_read(self, pieces: list[bytes], timeout: float) -> bool:
        """Send each piece only once the program has read every byte sent before it (see
        unread_by_peer), so each of its recv() calls returns one piece at most: a reader
        that takes a short recv for the end of the data shows it on every run. False when
        a piece could not be sent in time."""
        deadline = time.monotonic() + timeout
        for i, piece in enumerate(pieces):
            if i and not self.wait_read_by_peer(deadline):
                break               # it stopped reading: the rest shows what it did with that
            if not self.send(piece, max(0.0, deadline - time.monotonic())):
                return False
        return True

    def wait_read_by_peer(self, deadline: float) -> bool:
        """Wait until the program has read everything this connection sent it (its socket's
        receive queue is empty and nothing is in flight); whether it did by the deadline."""
        while True:
            unread = unread_by_peer(self.sock)
            if unread == 0:
                return True
            if unread is None or time.monotonic() >= deadline:
                return False
            time.sleep(PEER_POLL_S)   # the kernel has no event for "the peer read it"

    def read_until(self, done: Callable[[bytearray], bool], timeout: float) -> bytes:
        """Read until done(everything received) holds, the program closes its side, an error,
        or the deadline (what has already arrived is read even after it). Everything
        received so far."""
        deadline = time.monotonic() + timeout
        while not done(self.received) and not self.eof and self.error is None:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            try:
                chunk = self.sock.recv(1 << 16)
            except OSError as err:
                self.error = err
                break
            if chunk:
                self.received += chunk
            else:
                self.eof = True
        return bytes(self.received)

    def read_line(self, timeout: float) -> bytes:
        """Read until a "\n" came (or EOF, or the deadline); everything received so far."""
        return self.read_until(lambda got: b"\n" in got, timeout)

    def read_count(self, count: int, timeout: float) -> bytes:
        return self.read_until(lambda got: len(got) >= count, timeout)

    def read_to_eof(self, timeout: float) -> bool:
        """Read until the program closes its side; whether it did before the deadline."""
        self.read_until(lambda _: False, timeout)
        return self.eof

    def echo(self, data: bytes, timeout: float, chunking: Chunking = GLUED,
             expect: int | None = None) -> bytes:
        """Send data (cut as chunking says), then half-close, while reading what comes back
        at the same time (a peer that only writes would fill both directions' buffers and
        stall a correct echo server). What came back: `expect` bytes (default len(data)),
        or less at EOF, an error or the deadline."""
        writer_sock = self.sock.dup()   # its own timeout; shutdown acts on the connection

        def write() -> None:
            try:
                _send_chunked(writer_sock, data, timeout, chunking)
            except OSError as err:
                self.error = self.error or err
                return
            try:
                writer_sock.shutdown(socket.SHUT_WR)
            except OSError:
                # The reader had all it expected and ended the connection first (below),
                # and the program may have closed its side since: nothing was lost, and
                # an error here must not make the end of the stream look missing.
                pass

        writer = threading.Thread(target=write, daemon=True)
        writer.start()
        try:
            return self.read_count(len(data) if expect is None else expect, timeout)
        finally:
            if writer.is_alive():   # still blocked in sendall: end it, then close
                try:
                    writer_sock.shutdown(socket.SHUT_RDWR)
                except OSError:     # the connection ended meanwhile: nothing to unblock
                    pass
            writer.join(timeout)
            writer_sock.close()

    def half_close(self) -> None:
        """shutdown(SHUT_WR): the program's recv() returns 0; we can still read."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def abort(self) -> None:
        """Close with SO_LINGER {1, 0}: an RST instead of a FIN, unread data dropped."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def _sockets(self) -> list[socket.socket]:
        return [self.sock]


class TcpListener(_Closing):
    """The grader's TCP server: a listening socket on a port whose bytes differ, for a
    student's client to connect to."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.sock = _tcp_bound(host)
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]

    def accept(self, timeout: float, sender: "Program | None" = None) -> TcpConn | None:
        """The next connection, or None at the deadline (or as soon as sender exited)."""
        watched = [sender.exit_fd()] if sender is not None else []
        ready, _, _ = select.select([self.sock, *watched], [], [], max(0.0, timeout))
        if self.sock not in ready:
            return None
        self.sock.settimeout(max(0.1, timeout))   # ready, but it may have been reset since
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return None
        return TcpConn(conn)

    def _sockets(self) -> list[socket.socket]:
        return [self.sock]


def _proc_net_addresses(address: str, port: int) -> tuple[str, str]:
    """How /proc/net/tcp and /proc/net/tcp6 write an IPv4 address and port: the address as
    hex words in host order (in tcp6, the IPv4-mapped ::ffff:a.b.c.d a dual-stack socket
    has), then the port."""
    word = f"{struct.unpack('=I', socket.inet_aton(address))[0]:08X}"
    mapped = f"{0:08X}{0:08X}{struct.unpack('=I', bytes([0, 0, 0xFF, 0xFF]))[0]:08X}{word}"
    return f"{word}:{port:04X}", f"{mapped}:{port:04X}"


TCP_CLOSE_WAIT = 0x08          # a TCP state (include/net/tcp_states.h): the peer's FIN came


@dataclass(frozen=True)
class PeerSocket:
    """The program's end of one of our connections, as the kernel shows it."""

    state: int      # TCP_ESTABLISHED = 1, TCP_CLOSE_WAIT = 8, ... (include/net/tcp_states.h)
    unsent: int     # bytes it wrote that we have not acknowledged (its tx_queue)
    unread: int     # bytes we sent that it has not read (its rx_queue)


Connection = tuple[tuple[str, int], tuple[str, int]]     # (our address, the program's)


def connection(sock: socket.socket) -> Connection:
    """sock's two ends, to look at the program's end after sock is closed."""
    return sock.getsockname()[:2], sock.getpeername()[:2]


def peer_socket(sock: socket.socket | Connection) -> PeerSocket | None:
    """The program's end of a connection of ours (the peer runs in our network namespace).
    None when it is not there (it has gone, or has been reset)."""
    try:
        ends = connection(sock) if isinstance(sock, socket.socket) else sock
    except OSError:
        return None
    try:
        return _diagnosed(ends)
    except OSError:
        return _from_proc_net(ends)


# The kernel's socket diagnostics (linux/sock_diag.h, linux/inet_diag.h): one socket looked
# up by its four addresses, in microseconds, where reading /proc/net/tcp walks the whole
# table (milliseconds, whatever the namespace holds).
_NETLINK_SOCK_DIAG = 4
_SOCK_DIAG_BY_FAMILY = 20
_NLM_F_REQUEST = 1
_NLMSG_ERROR = 2
_INET_DIAG_NOCOOKIE = 0xFFFFFFFF
_TCP_LISTEN = 10
_NLMSG_HEADER = struct.Struct("=IHHII")           # length, type, flags, sequence, port
_DIAG_REQUEST = struct.Struct("=BBBBI")           # family, protocol, ext, pad, states
_DIAG_ID = struct.Struct("!HH16s16s")             # ports and addresses, network order
_DIAG_ID_TAIL = struct.Struct("=III")             # interface, cookie
_DIAG_MESSAGE = struct.Struct("=BBBB48xIII")      # family, state, timer, retrans, id,
                                                  # expires, rqueue, wqueue


def _diagnosed(ends: Connection) -> PeerSocket | None:
    """peer_socket through sock_diag; OSError where the kernel does not offer it."""
    (our_address, our_port), (their_address, their_port) = ends
    socket_id = (_DIAG_ID.pack(their_port, our_port,
                               socket.inet_aton(their_address).ljust(16, b"\0"),
                               socket.inet_aton(our_address).ljust(16, b"\0"))
                 + _DIAG_ID_TAIL.pack(0, _INET_DIAG_NOCOOKIE, _INET_DIAG_NOCOOKIE))
    request = _DIAG_REQUEST.pack(socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + socket_id
    with socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, _NETLINK_SOCK_DIAG) as diag:
        diag.settimeout(CONNECT_S)
        diag.send(_NLMSG_HEADER.pack(_NLMSG_HEADER.size + len(request), _SOCK_DIAG_BY_FAMILY,
                                     _NLM_F_REQUEST, 1, 0) + request)
        answer = diag.recv(1 << 16)
    _, kind, _, _, _ = _NLMSG_HEADER.unpack_from(answer)
    if kind == _NLMSG_ERROR:
        error = -struct.unpack_from("=i", answer, _NLMSG_HEADER.size)[0]
        if error == errno.ENOENT:
            return None
        raise OSError(error, os.strerror(error))
    _, state, _, _, _, unread, unsent = _DIAG_MESSAGE.unpack_from(answer, _NLMSG_HEADER.size)
    # With no connection of those four addresses, the lookup falls back on the listening
    # socket of the port: that is not the program's end of ours.
    return None if state == _TCP_LISTEN else PeerSocket(state, unsent, unread)


def _from_proc_net(ends: Connection) -> PeerSocket | None:
    """peer_socket from /proc/net/tcp, or tcp6 for a program on a dual-stack socket."""
    try:
        ours, theirs = (_proc_net_addresses(*end) for end in ends)
        for table, form in (("/proc/net/tcp", 0), ("/proc/net/tcp6", 1)):
            with open(table, encoding="ascii") as rows:
                for row in rows:
                    fields = row.split()
                    if fields[1:3] == [theirs[form], ours[form]]:
                        unsent, unread = (int(n, 16) for n in fields[4].split(":"))
                        return PeerSocket(int(fields[3], 16), unsent, unread)
    except (OSError, ValueError, IndexError):
        pass
    return None


def wait_for_peer_state(ends: Connection, state: int | None, timeout: float) -> None:
    """Wait until the program's end of a connection is in state (None: gone, as after a
    reset), or the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        theirs = peer_socket(ends)
        if (theirs.state if theirs is not None else None) == state or \
                time.monotonic() >= deadline:
            return
        time.sleep(PEER_POLL_S)   # no event tells another socket's state


def in_flight(sock: socket.socket) -> int:
    """Bytes sent on sock that the peer's kernel has not acknowledged yet (SIOCOUTQ)."""
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4))[0]


def unread_by_peer(sock: socket.socket) -> int | None:
    """Bytes this socket sent that the program at the other end has not read yet: what is
    still in flight plus the program's receive queue. None when the connection is not found
    (it has gone)."""
    try:
        theirs = peer_socket(sock)
        return None if theirs is None else in_flight(sock) + theirs.unread
    except OSError:
        return None


def refusing_tcp_port() -> socket.socket:
    """A TCP socket bound but not listening: connecting to its port is refused (RST), and
    nobody else can take the port while it is held."""
    return _tcp_bound("127.0.0.1")
