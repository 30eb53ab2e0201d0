/* udp_send.c - lab 01 reference solution: sending UDP datagrams.
 *
 * Every function opens its own socket and closes it before returning, on success and on
 * failure alike. Failures return -1 with errno saying why; the cleanup on the way out
 * (close, free) must not overwrite that errno, hence close_keeping_errno().
 */
#include "udp_send.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* close() without losing the errno of the failure the caller is about to report. */
static void close_keeping_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* A fresh, unbound IPv4 UDP socket, or -1. The first sendto() binds it to a port the
 * system picks (an "ephemeral" port), which is why the sender's port changes per socket. */
static int open_udp_socket(void)
{
    return socket(AF_INET, SOCK_DGRAM, 0);
}

/* One datagram of exactly len bytes: UDP sends it whole or not at all. */
static ssize_t send_datagram(int fd, const struct sockaddr_in *dst, const void *msg,
                             size_t len)
{
    return sendto(fd, msg, len, 0, (const struct sockaddr *)dst, sizeof *dst);
}

/* getaddrinfo reports failures in its own codes (EAI_*), not in errno: map them so our
 * caller can use errno/strerror like for any other failure. */
static int errno_of_gai_error(int gai_error)
{
    switch (gai_error) {
    case EAI_SYSTEM:
        return errno;
    case EAI_AGAIN:
        return EAGAIN;
    case EAI_MEMORY:
        return ENOMEM;
    default: /* EAI_NONAME and friends: no IPv4 address for that name */
        return ENXIO; /* "No such device or address" */
    }
}

/* The IPv4 address of host, a dotted quad or a name. getaddrinfo rather than inet_addr:
 * inet_addr cannot tell "255.255.255.255" from an error, and knows no names. */
static int resolve_ipv4(const char *host, struct in_addr *addr)
{
    struct addrinfo hints;
    struct addrinfo *found;

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    int rc = getaddrinfo(host, NULL, &hints, &found);
    if (rc != 0) {
        errno = errno_of_gai_error(rc);
        return -1;
    }
    /* With AF_INET every result is a sockaddr_in; the first one will do. */
    *addr = ((const struct sockaddr_in *)found->ai_addr)->sin_addr;
    freeaddrinfo(found);
    return 0;
}

int udp_make_addr(const char *host, uint16_t port, struct sockaddr_in *out)
{
    struct in_addr addr;

    if (resolve_ipv4(host, &addr) < 0)
        return -1;
    memset(out, 0, sizeof *out); /* sin_zero must be zero */
    out->sin_family = AF_INET;
    out->sin_port = htons(port); /* the wire wants big-endian; x86 is little-endian */
    out->sin_addr = addr;        /* already in network order */
    return 0;
}

ssize_t udp_send_once(const struct sockaddr_in *dst, const void *msg, size_t len)
{
    int fd = open_udp_socket();
    if (fd < 0)
        return -1;

    ssize_t sent = send_datagram(fd, dst, msg, len);
    /* A UDP socket has nothing left to flush: closing it cannot undo or fail the send. */
    close_keeping_errno(fd);
    return sent;
}

/* Cut the "\n" that getline keeps, and a "\r" before it (a line typed on Windows, or sent
 * by `nc -C`); a "\r" anywhere else is part of the line. Returns the new length. */
static size_t strip_line_ending(char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    return len;
}

/* Compare with the length, not strcmp: a line may hold a NUL byte, and "stopper" is not
 * "stop". */
static int is_stop_line(const char *line, size_t len)
{
    return len == 4 && memcmp(line, "stop", 4) == 0;
}

/* One line as one datagram. A line too long for a datagram is an error of its own rather
 * than whatever the kernel says about it. */
static int send_line(int fd, const struct sockaddr_in *dst, const char *line, size_t len)
{
    if (len > UDP_MAX_PAYLOAD) {
        errno = EMSGSIZE;
        return -1;
    }
    return send_datagram(fd, dst, line, len) < 0 ? -1 : 0;
}

long udp_send_lines(const struct sockaddr_in *dst, FILE *in)
{
    /* One socket for the whole loop: every datagram leaves from the same port, so the
     * receiver can tell they come from one sender (and could reply to it). */
    int fd = open_udp_socket();
    if (fd < 0)
        return -1;

    char *line = NULL; /* getline grows it to fit each line, however long */
    size_t line_cap = 0;
    long sent = 0;
    for (;;) {
        ssize_t n = getline(&line, &line_cap, in);
        if (n < 0) {
            if (ferror(in)) /* a read error, not EOF: errno says which */
                sent = -1;
            break;
        }
        size_t len = strip_line_ending(line, (size_t)n);
        if (is_stop_line(line, len))
            break;
        if (send_line(fd, dst, line, len) < 0) {
            sent = -1;
            break;
        }
        sent++;
    }

    int saved = errno; /* free() may change errno on older C libraries */
    free(line);
    errno = saved;
    close_keeping_errno(fd);
    return sent;
}

/* Wait until fd has a datagram to read: 0, or -1 with ETIMEDOUT when timeout_ms passed.
 * poll already means what our contract says: 0 only looks, a negative timeout waits
 * forever. A signal ends the wait with EINTR; the caller decides whether to try again. */
static int wait_readable(int fd, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};

    int ready = poll(&pfd, 1, timeout_ms);
    if (ready < 0)
        return -1;
    if (ready == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    return 0;
}

/* One datagram, whoever sent it, cut to cap bytes; its sender in *from unless NULL. */
static ssize_t receive_reply(int fd, void *reply, size_t cap, struct sockaddr_in *from)
{
    struct sockaddr_in sender;
    socklen_t sender_len = sizeof sender; /* in: room we have; out: what the kernel wrote */

    ssize_t n = recvfrom(fd, reply, cap, 0, (struct sockaddr *)&sender, &sender_len);
    if (n >= 0 && from != NULL)
        *from = sender; /* already in network order, exactly as it came in */
    return n;
}

ssize_t udp_request(const struct sockaddr_in *dst, const void *msg, size_t len,
                    void *reply, size_t cap, struct sockaddr_in *from, int timeout_ms)
{
    /* Not connect()ed: a connected UDP socket drops datagrams from any other address, and
     * a server may well answer from another port (or another address) than dst. */
    int fd = open_udp_socket();
    if (fd < 0)
        return -1;

    ssize_t n = -1;
    if (send_datagram(fd, dst, msg, len) >= 0 && wait_readable(fd, timeout_ms) == 0)
        n = receive_reply(fd, reply, cap, from);

    close_keeping_errno(fd);
    return n;
}

/* Sending to a broadcast address is refused (EACCES) until the socket asks for it: one
 * datagram to everyone on the LAN should not happen by accident. */
static int allow_broadcast(int fd)
{
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
}

ssize_t udp_broadcast(const char *bcast_ip, uint16_t port, const void *msg, size_t len)
{
    struct sockaddr_in dst;

    if (udp_make_addr(bcast_ip, port, &dst) < 0)
        return -1;
    int fd = open_udp_socket();
    if (fd < 0)
        return -1;

    ssize_t sent = -1;
    if (allow_broadcast(fd) == 0)
        sent = send_datagram(fd, &dst, msg, len);

    close_keeping_errno(fd);
    return sent;
}
