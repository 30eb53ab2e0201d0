/* frame.c - lab 04, written as a buffered reader.
 *
 * Each frame_recv looks at what the socket already holds with one large recv(MSG_PEEK)
 * into a window, finds the frame's boundaries in it, and then takes out of the socket the
 * bytes of this frame and not one byte more: whatever follows stays queued for the next
 * call (the contract says so, and ft_recv_file reads the body straight from the socket).
 * Small frames are sent the same way: prefix and payload gathered in one buffer, one send.
 */
#include "frame.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { HEAD = 4, WINDOW = 64 * 1024 };

/* A recv that a signal does not cut short. */
static ssize_t recv_once(int fd, void *into, size_t n, int flags)
{
    for (;;) {
        ssize_t r = recv(fd, into, n, flags);
        if (r >= 0 || errno != EINTR)
            return r;
    }
}

int recv_exact(int fd, void *buf, size_t n)
{
    unsigned char *out = buf;
    size_t have;

    for (have = 0; have != n;) {
        ssize_t r = recv_once(fd, out + have, n - have, 0);
        if (r == 0 && have == 0)
            return 0;
        if (r == 0)
            errno = EPROTO;
        if (r <= 0)
            return -1;
        have += (size_t)r;
    }
    return 1;
}

/* Take n bytes we have already seen queued (peeked): they are there, so a short recv only
 * means "go on". */
static int take(int fd, void *into, size_t n)
{
    int rc = recv_exact(fd, into, n);
    if (rc == 0) {
        errno = EPROTO;
        rc = -1;
    }
    return rc;
}

static uint32_t get_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* All n bytes out, whatever send() takes each time. */
static int send_fully(int fd, const unsigned char *from, size_t n, int more)
{
    while (n > 0) {
        ssize_t w = send(fd, from, n, MSG_NOSIGNAL | (more ? MSG_MORE : 0));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        from += w;
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
    if (len <= WINDOW - HEAD) {
        /* Small: gather the whole frame in one buffer and hand it over in one call. */
        unsigned char frame[WINDOW];
        put_be32(frame, len);
        if (len > 0)
            memcpy(frame + HEAD, payload, len);
        return send_fully(fd, frame, HEAD + (size_t)len, 0);
    }
    /* Large: no copy of megabytes; the prefix is held back (MSG_MORE) until the payload
     * follows, so it does not go out as a segment of its own. */
    unsigned char head[HEAD];
    put_be32(head, len);
    if (send_fully(fd, head, HEAD, 1) < 0)
        return -1;
    return send_fully(fd, payload, len, 0);
}

int frame_recv(int fd, void *buf, uint32_t cap, uint32_t *len)
{
    unsigned char *window = malloc(WINDOW);
    unsigned char head[HEAD];
    size_t payload_seen = 0; /* payload bytes already taken out with the prefix */
    int rc = -1;

    if (window == NULL)
        return -1;
    /* One large look at what is queued: blocks until there is something (or EOF). */
    ssize_t seen = recv_once(fd, window, WINDOW, MSG_PEEK);
    if (seen <= 0) {
        rc = (int)seen; /* 0: EOF before a frame; -1: error */
        goto done;
    }
    if (seen < HEAD) {
        /* Part of the prefix only: take it, then wait for the rest of it. */
        memcpy(head, window, (size_t)seen);
        if (take(fd, window, (size_t)seen) < 0)
            goto done;
        int more = recv_exact(fd, head + seen, HEAD - (size_t)seen);
        if (more <= 0) {
            if (more == 0)
                errno = EPROTO;
            goto done;
        }
    } else {
        memcpy(head, window, HEAD);
    }
    uint32_t n = get_be32(head);
    if (n > cap) {
        if (seen >= HEAD)
            (void)take(fd, window, HEAD); /* only the prefix: the payload stays unread */
        errno = EMSGSIZE;
        goto done;
    }
    if (seen >= HEAD) {
        /* The window may already hold the payload, or its start: take the prefix and those
         * payload bytes out of the socket in one go, and copy the payload out of the window. */
        payload_seen = (size_t)seen - HEAD < n ? (size_t)seen - HEAD : n;
        if (take(fd, window, HEAD + payload_seen) < 0)
            goto done;
        memcpy(buf, window + HEAD, payload_seen);
    }
    /* The rest of a payload that was not queued yet, straight into buf. */
    int got = recv_exact(fd, (unsigned char *)buf + payload_seen, n - payload_seen);
    if (got <= 0) {
        if (got == 0)
            errno = EPROTO; /* EOF between the prefix and the payload */
        goto done;
    }
    *len = n;
    rc = 1;
done:;
    int saved = errno;
    free(window);
    errno = saved;
    return rc;
}

int frame_echo_session(int fd, int upper)
{
    unsigned char *room = malloc(FRAME_MAX);
    uint32_t n = 0;
    int rc;

    if (room == NULL)
        return -1;
    for (;;) {
        rc = frame_recv(fd, room, FRAME_MAX, &n);
        if (rc != 1)
            break;
        for (uint32_t i = 0; upper && i < n; i++)
            if (room[i] >= 'a' && room[i] <= 'z')
                room[i] ^= 0x20;
        if (frame_send(fd, room, n) != 0) {
            rc = -1;
            break;
        }
    }
    int saved = errno;
    free(room);
    errno = saved;
    return rc;
}
