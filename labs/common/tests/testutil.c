/* testutil.c - in-process peers and readable bytes for the Criterion tests. */
#include "testutil.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <fcntl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

const char *describe_bytes(const void *data, size_t len, char buf[DESCRIBE_LEN])
{
    const unsigned char *p = data;
    size_t shown = len < 32 ? len : 32;
    size_t used = 0;

    buf[used++] = '\'';
    for (size_t i = 0; i < shown; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
            buf[used++] = (char)p[i];
        else
            used += (size_t)snprintf(buf + used, DESCRIBE_LEN - used, "\\x%02x", p[i]);
    }
    snprintf(buf + used, DESCRIBE_LEN - used, "'%s (%zu byte%s)", shown < len ? "..." : "", len,
             len == 1 ? "" : "s");
    return buf;
}

static int port_is_symmetric(uint16_t port)
{
    return (port >> 8) == (port & 0xff);
}

/* Bind fd to ip:0 and read back the port the system chose. */
static int bind_any_port(int fd, const char *ip, uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
        return -1;
    *port = ntohs(a.sin_port);
    return 0;
}

int udp_peer_open(struct udp_peer *peer, const char *ip)
{
    int discarded[8];
    int ndiscarded = 0;
    int rc = -1;

    for (;;) {
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        uint16_t port;
        if (fd < 0)
            break;
        if (bind_any_port(fd, ip, &port) < 0) {
            close(fd);
            break;
        }
        /* Keep a symmetric port bound while drawing again, so it is not drawn twice. */
        if (port_is_symmetric(port) && ndiscarded < 8) {
            discarded[ndiscarded++] = fd;
            continue;
        }
        peer->fd = fd;
        peer->port = port;
        peer->addr = loopback_addr(port);
        rc = 0;
        break;
    }
    while (ndiscarded > 0)
        close(discarded[--ndiscarded]);
    return rc;
}

ssize_t udp_peer_recv(struct udp_peer *peer, void *buf, size_t cap,
                      struct sockaddr_in *from, int timeout_ms)
{
    struct pollfd pfd = {.fd = peer->fd, .events = POLLIN};
    struct sockaddr_in src;
    socklen_t srclen = sizeof src;
    int ready = poll(&pfd, 1, timeout_ms);
    if (ready <= 0) {
        if (ready == 0)
            errno = ETIMEDOUT;
        return -1;
    }
    ssize_t n = recvfrom(peer->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&src, &srclen);
    if (n >= 0 && from != NULL)
        *from = src;
    return n;
}

void udp_peer_close(struct udp_peer *peer)
{
    if (peer->fd >= 0)
        close(peer->fd);
    peer->fd = -1;
}

struct sockaddr_in loopback_addr(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *errno_text(int err)
{
    static _Thread_local char text[96];
    const char *name;

    switch (err) {
    case 0:
        return "0 (errno was not set)";
    case EACCES: name = "EACCES"; break;
    case EADDRINUSE: name = "EADDRINUSE"; break;
    case EADDRNOTAVAIL: name = "EADDRNOTAVAIL"; break;
    case EAGAIN: name = "EAGAIN"; break;
    case EBADF: name = "EBADF"; break;
    case ECONNREFUSED: name = "ECONNREFUSED"; break;
    case ECONNRESET: name = "ECONNRESET"; break;
    case EDESTADDRREQ: name = "EDESTADDRREQ"; break;
    case EDOM: name = "EDOM"; break;
    case EFAULT: name = "EFAULT"; break;
    case EINTR: name = "EINTR"; break;
    case EINVAL: name = "EINVAL"; break;
    case EISCONN: name = "EISCONN"; break;
    case EMSGSIZE: name = "EMSGSIZE"; break;
    case ENETUNREACH: name = "ENETUNREACH"; break;
    case ENOENT: name = "ENOENT"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case ENOSYS: name = "ENOSYS"; break;
    case ENOTCONN: name = "ENOTCONN"; break;
    case ENOTSOCK: name = "ENOTSOCK"; break;
    case ENXIO: name = "ENXIO"; break;
    case EPIPE: name = "EPIPE"; break;
    case ETIMEDOUT: name = "ETIMEDOUT"; break;
    default: name = "errno"; break;
    }
    snprintf(text, sizeof text, "%s (%d: %s)", name, err, strerror(err));
    return text;
}

int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY);
    cr_assert(fd >= 0, "test set-up: opening /dev/null failed with %s", errno_text(errno));
    close(fd);
    return fd;
}
