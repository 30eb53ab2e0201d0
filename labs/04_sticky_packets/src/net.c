/* net.c - listening and connecting, for lab 04 (what lab 03's tcp_listen and tcp_connect
 * do). Provided, not edited. */
#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* close() without losing the errno of the failure being reported. */
static void close_keeping_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* The IPv4 stream addresses for host:port in *found (freeaddrinfo it); passive: for bind(),
 * where a NULL host is the wildcard 0.0.0.0. 0, or -1 with errno set. */
static int resolve(const char *host, uint16_t port, int passive, struct addrinfo **found)
{
    struct addrinfo hints;
    char service[sizeof "65535"];

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(service, sizeof service, "%u", (unsigned)port);
    int rc = getaddrinfo(host, service, &hints, found);
    if (rc == 0)
        return 0;
    /* getaddrinfo has codes of its own (EAI_*), not errno values. */
    if (rc == EAI_SYSTEM)
        errno = errno != 0 ? errno : EIO;
    else if (rc == EAI_AGAIN)
        errno = EAGAIN;
    else if (rc == EAI_MEMORY)
        errno = ENOMEM;
    else
        errno = ENXIO; /* no IPv4 address for that name */
    return -1;
}

/* socket, SO_REUSEADDR (before bind: a restart must not wait for TIME_WAIT), bind, listen. */
static int listen_on(const struct addrinfo *addr, int backlog)
{
    int one = 1;
    int fd = socket(addr->ai_family, addr->ai_socktype, addr->ai_protocol);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, addr->ai_addr, addr->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
        close_keeping_errno(fd);
        return -1;
    }
    return fd;
}

int net_listen(const char *host, uint16_t port, int backlog)
{
    struct addrinfo *found;
    int fd = -1;

    if (host != NULL && host[0] == '\0')
        host = NULL;
    if (resolve(host, port, 1, &found) < 0)
        return -1;
    for (const struct addrinfo *addr = found; addr != NULL && fd < 0; addr = addr->ai_next)
        fd = listen_on(addr, backlog);
    int saved = errno;
    freeaddrinfo(found);
    errno = saved;
    return fd;
}

int net_connect(const char *host, uint16_t port)
{
    struct addrinfo *found;
    int fd = -1;

    if (resolve(host, port, 0, &found) < 0)
        return -1;
    for (const struct addrinfo *addr = found; addr != NULL && fd < 0; addr = addr->ai_next) {
        fd = socket(addr->ai_family, addr->ai_socktype, addr->ai_protocol);
        if (fd >= 0 && connect(fd, addr->ai_addr, addr->ai_addrlen) < 0) {
            close_keeping_errno(fd);
            fd = -1;
        }
    }
    int saved = errno;
    freeaddrinfo(found);
    errno = saved;
    return fd;
}
