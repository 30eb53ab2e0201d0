/* frame.c - lab 04, written around MSG_WAITALL.
 *
 * recv(..., MSG_WAITALL) asks the kernel itself to wait until all the bytes asked for are
 * in. It still returns fewer when a signal arrives after some bytes, at end of file, or when
 * the call is capped: so the loop stays, it just turns round less often. frame_send writes
 * the prefix and the payload with two send() calls of their own, which the contract allows.
 */
#include "frame.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

int recv_exact(int fd, void *buf, size_t n)
{
    char *p = buf;
    size_t done = 0;

    while (done < n) {
        ssize_t r = recv(fd, p + done, n - done, MSG_WAITALL);
        if (r > 0) {
            done += (size_t)r;
        } else if (r == 0) {
            if (done == 0)
                return 0;
            errno = EPROTO;
            return -1;
        } else if (errno != EINTR) {
            return -1;
        }
    }
    return 1;
}

/* Every byte of p out, in as many send() calls as it takes. */
static int send_every_byte(int fd, const void *p, size_t n)
{
    const char *at = p;
    while (n > 0) {
        ssize_t w = send(fd, at, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        at += w;
        n -= (size_t)w;
    }
    return 0;
}

int frame_send(int fd, const void *payload, uint32_t len)
{
    if (len > FRAME_MAX) {
        errno = EMSGSIZE;
        return -1;
    }
    uint32_t be = htonl(len);
    if (send_every_byte(fd, &be, sizeof be) != 0)
        return -1;
    return send_every_byte(fd, payload, len);
}

int frame_recv(int fd, void *buf, uint32_t cap, uint32_t *len)
{
    uint32_t be;
    int rc = recv_exact(fd, &be, sizeof be);
    if (rc != 1)
        return rc;
    uint32_t n = ntohl(be);
    if (n > cap) {
        errno = EMSGSIZE;
        return -1;
    }
    switch (recv_exact(fd, buf, n)) {
    case 1:
        *len = n;
        return 1;
    case 0:
        errno = EPROTO;
        return -1;
    default:
        return -1;
    }
}

int frame_echo_session(int fd, int upper)
{
    char *frame = malloc(FRAME_MAX);
    if (frame == NULL)
        return -1;

    int rc;
    uint32_t n;
    while ((rc = frame_recv(fd, frame, FRAME_MAX, &n)) > 0) {
        if (upper) {
            for (char *c = frame; c < frame + n; c++)
                if ('a' <= *c && *c <= 'z')
                    *c = (char)(*c - ('a' - 'A'));
        }
        if (frame_send(fd, frame, n) < 0) {
            rc = -1;
            break;
        }
    }
    int err = errno;
    free(frame);
    errno = err;
    return rc;
}
