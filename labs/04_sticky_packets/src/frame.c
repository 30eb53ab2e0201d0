/* frame.c - lab 04: length-prefixed frames over a TCP byte stream.
 *
 * One of the two files you edit in this lab (the other is src/filexfer.c). Each function
 * below compiles and fails with ENOSYS until you write it; the TODO in it says what to do.
 * The prototypes and the exact contract are in include/frame.h (and
 * docs/labs.md#04_sticky_packets). Run `make test` to see which behaviours already work.
 *
 * Add the system headers you need (for example <arpa/inet.h> for htonl/ntohl, <stdlib.h>,
 * <string.h>, <sys/socket.h>, <sys/uio.h>, <unistd.h>) and small static helpers of your own.
 *
 * The one rule of this lab: TCP is a stream of bytes. One recv() is not one message: it may
 * return part of what the peer sent in one send(), or the end of one send() glued to the
 * start of the next. Count bytes, never calls.
 */
#include "frame.h"

#include <errno.h>

int recv_exact(int fd, void *buf, size_t n)
{
    /* TODO(lab04): n == 0: return 1 at once (do not call recv: recv of 0 bytes returns 0,
     * which looks like EOF). Otherwise loop until `got` reaches n:
     * r = recv(fd, (char *)buf + got, n - got, 0); r > 0: got += r (the next recv() goes on
     * from where this one stopped, not from buf again); r < 0 with errno EINTR (a signal
     * came before any byte): try again; r < 0 otherwise: return -1; r == 0 is EOF: return 0
     * when got is still 0 (a clean end), else set errno = EPROTO and return -1 (the stream
     * ended in the middle). Return 1 when all n bytes are in. */
    (void)fd;
    (void)buf;
    (void)n;
    errno = ENOSYS;
    return -1;
}

int frame_send(int fd, const void *payload, uint32_t len)
{
    /* TODO(lab04): len > FRAME_MAX: errno = EMSGSIZE, return -1, before writing anything.
     * The prefix is the 4 bytes of htonl(len) (network byte order, big-endian: the same on
     * every machine; never sizeof(long), never text). Send the prefix, then the len bytes of
     * payload, each with a loop that carries on after a short send() and after EINTR (like
     * lab 03's send_all; MSG_NOSIGNAL is a good habit). Return 0.
     * Better: sendmsg() with two struct iovec (prefix, payload) sends both in one call, which
     * avoids a stall between two small writes (Nagle's algorithm and delayed ACKs: see the
     * walkthrough); after a short sendmsg() move the iovecs past the bytes already sent. */
    (void)fd;
    (void)payload;
    (void)len;
    errno = ENOSYS;
    return -1;
}

int frame_recv(int fd, void *buf, uint32_t cap, uint32_t *len)
{
    /* TODO(lab04): recv_exact() the 4-byte prefix: 0 means a clean EOF (return 0), -1 an
     * error (return -1). The length is ntohl() of those 4 bytes (copy them into a uint32_t
     * with memcpy). A length over cap: errno = EMSGSIZE, return -1, and read nothing more
     * (never malloc a length the peer chose: 0xFFFFFFFF would ask for 4 GiB). Then
     * recv_exact() the payload into buf: 1 means it is all there; 0 (EOF right after the
     * prefix) is a truncated frame: errno = EPROTO, return -1. Set *len and return 1; a
     * length of 0 is a valid, empty frame. */
    (void)fd;
    (void)buf;
    (void)cap;
    (void)len;
    errno = ENOSYS;
    return -1;
}

int frame_echo_session(int fd, int upper)
{
    /* TODO(lab04): malloc() one buffer of FRAME_MAX bytes for the whole session (not one per
     * frame, and never one of a size the peer chose). Loop: frame_recv(fd, buf, FRAME_MAX,
     * &len); 0: the peer closed cleanly: free, return 0; -1: free (keep errno), return -1.
     * When upper, turn bytes 'a'..'z' into 'A'..'Z' and leave every other byte alone (not
     * toupper(): it depends on the locale). Then frame_send(fd, buf, len): exactly len
     * bytes; if it fails, free and return -1. Never close fd here: the caller does. */
    (void)fd;
    (void)upper;
    errno = ENOSYS;
    return -1;
}
