/* frame.c - lab 04 reference solution: length-prefixed frames over a TCP byte stream.
 *
 * TCP carries bytes, not messages: one send() may arrive as several recv()s, and several
 * send()s as one recv() (the "sticky packet" problem, 粘包). A frame puts the boundaries
 * back: a 4-byte length in network byte order, then that many payload bytes. The receiver
 * reads exactly 4 bytes, learns the length, then reads exactly that many: recv_exact() is
 * the building block, and every loop below counts bytes, never calls.
 */
#include "frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* The prefix: a uint32_t in network byte order (big-endian), the same on every machine.
 * Not sizeof(long) (8 bytes on Linux, 4 on Windows) and not text. */
#define PREFIX_LEN 4

/* ---- reading: exactly n bytes --------------------------------------------------------- */

int recv_exact(int fd, void *buf, size_t n)
{
    char *next = buf; /* the first byte not received yet */
    size_t left = n;

    /* n == 0 asks for nothing: done. (recv() of 0 bytes would return 0, which reads like
     * EOF.) */
    while (left > 0) {
        ssize_t got = recv(fd, next, left, 0);
        if (got < 0) {
            if (errno == EINTR) /* a signal came before any byte: wait again */
                continue;
            return -1;
        }
        if (got == 0) {
            if (left == n)
                return 0; /* EOF before the first byte: a clean end */
            errno = EPROTO; /* EOF in the middle: the peer cut it short */
            return -1;
        }
        /* Fewer bytes than asked for is normal on a stream: go on from where it stopped. */
        next += got;
        left -= (size_t)got;
    }
    return 1;
}

/* ---- writing: prefix and payload in one call ------------------------------------------ */

/* Why one call: two small writes (the 4-byte prefix, then a small payload) can stall for
 * tens of milliseconds on TCP. Nagle's algorithm holds the second write back until the
 * first is acknowledged, and the peer delays that ACK hoping to piggyback it on a reply it
 * cannot send before it has the payload. sendmsg() with two iovecs hands the kernel both
 * pieces at once, without copying them into one buffer of our own. */
int frame_send(int fd, const void *payload, uint32_t len)
{
    uint32_t prefix = htonl(len);
    struct iovec parts[2] = {
        {.iov_base = &prefix, .iov_len = PREFIX_LEN},
        {.iov_base = (void *)payload, .iov_len = len}, /* sendmsg only reads it */
    };
    struct msghdr msg = {.msg_iov = parts, .msg_iovlen = 2};

    if (len > FRAME_MAX) {
        errno = EMSGSIZE; /* checked first: not a single byte goes out */
        return -1;
    }
    while (msg.msg_iovlen > 0) {
        /* MSG_NOSIGNAL: a peer that has gone gives EPIPE, never SIGPIPE. */
        ssize_t sent = sendmsg(fd, &msg, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        /* A short write: skip the iovecs sent in full, then the sent part of the next. */
        size_t done = (size_t)sent;
        while (msg.msg_iovlen > 0 && done >= msg.msg_iov[0].iov_len) {
            done -= msg.msg_iov[0].iov_len;
            msg.msg_iov++;
            msg.msg_iovlen--;
        }
        if (msg.msg_iovlen > 0) {
            msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + done;
            msg.msg_iov[0].iov_len -= done;
        }
    }
    return 0;
}

/* ---- reading a frame: the prefix, then exactly its length ----------------------------- */

int frame_recv(int fd, void *buf, uint32_t cap, uint32_t *len)
{
    unsigned char prefix[PREFIX_LEN];
    uint32_t wire;

    int rc = recv_exact(fd, prefix, PREFIX_LEN);
    if (rc <= 0)
        return rc; /* 0: the peer closed between frames; -1: error (EPROTO: mid-prefix) */
    memcpy(&wire, prefix, PREFIX_LEN); /* not *(uint32_t *)prefix: it may be misaligned */
    uint32_t n = ntohl(wire);
    /* The length comes from the peer: check it against OUR buffer before anything else,
     * and never malloc() it (0xFFFFFFFF would ask for 4 GiB). The payload stays unread, so
     * the stream is out of step and the caller must close the connection. */
    if (n > cap) {
        errno = EMSGSIZE;
        return -1;
    }
    rc = recv_exact(fd, buf, n);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        errno = EPROTO; /* EOF right after the prefix: the frame is truncated */
        return -1;
    }
    *len = n;
    return 1;
}

/* ---- echo: frames back as frames ------------------------------------------------------ */

/* ASCII a-z to A-Z, every other byte as it is (not toupper(): it depends on the locale). */
static void uppercase_ascii(unsigned char *bytes, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        if (bytes[i] >= 'a' && bytes[i] <= 'z')
            bytes[i] = (unsigned char)(bytes[i] - 'a' + 'A');
}

int frame_echo_session(int fd, int upper)
{
    /* One buffer for the whole session, of the largest payload we accept: a session never
     * holds more, whatever lengths the peer announces. On the heap: 16 MiB is far too big
     * for a thread's stack. */
    unsigned char *buf = malloc(FRAME_MAX);
    uint32_t len;
    int rc;

    if (buf == NULL)
        return -1;
    while ((rc = frame_recv(fd, buf, FRAME_MAX, &len)) == 1) {
        if (upper)
            uppercase_ascii(buf, len);
        if (frame_send(fd, buf, len) < 0) {
            rc = -1;
            break;
        }
    }
    int saved = errno;
    free(buf);
    errno = saved;
    return rc; /* 0: clean EOF between frames; -1: over FRAME_MAX, truncated, or I/O */
}
