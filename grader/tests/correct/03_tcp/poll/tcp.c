/* tcp.c - lab 03, a correct submission in another style: one thread, one poll() loop.
 *
 * No threads and no fork: tcp_echo_serve keeps an array of pollfds, slot 0 the listening
 * socket and every other slot a client. Whenever a client is readable, one recv() is taken
 * and sent straight back (send_all blocks; an echo client reads its echo, so that is fine).
 * recv_line peeks at what has arrived, counts the bytes up to the "\n", and only then takes
 * exactly that many off the socket.
 */
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    TICK_MS = 100,      /* the longest poll() sleeps before *stop is looked at again */
    ECHO_BUF = 8192,    /* one recv() of an echo */
    PEER_LEN = 24,      /* "255.255.255.255:65535" */
};

/* ---------------------------------------------------------------- addresses */

typedef struct addrinfo *addr_list;

/* getaddrinfo for IPv4 TCP; on failure errno says why (getaddrinfo has its own codes). */
static addr_list lookup(const char *host, uint16_t port, int for_bind)
{
    struct addrinfo want = {0};
    addr_list found = NULL;
    char portstr[6];

    want.ai_family = AF_INET;
    want.ai_socktype = SOCK_STREAM;
    want.ai_protocol = IPPROTO_TCP;
    want.ai_flags = AI_NUMERICSERV | (for_bind ? AI_PASSIVE : 0);
    snprintf(portstr, sizeof portstr, "%hu", port);

    switch (getaddrinfo(host, portstr, &want, &found)) {
    case 0:
        return found;
    case EAI_SYSTEM:
        break;
    case EAI_MEMORY:
        errno = ENOMEM;
        break;
    case EAI_AGAIN:
        errno = EAGAIN;
        break;
    default: /* EAI_NONAME and the like: no IPv4 address for that host */
        errno = ENXIO;
        break;
    }
    return NULL;
}

/* socket() for one candidate, then either bind+listen or connect; the fd or -1. */
static int open_one(const struct addrinfo *ai, int backlog, int server)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd == -1)
        return -1;

    int ok;
    if (server) {
        int on = 1;
        ok = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0 &&
             bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, backlog) == 0;
    } else {
        ok = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
    }
    if (!ok) {
        int why = errno;
        close(fd);
        errno = why;
        return -1;
    }
    return fd;
}

static int open_any(const char *host, uint16_t port, int backlog, int server)
{
    addr_list all = lookup(host, port, server);
    if (all == NULL)
        return -1;

    int fd = -1;
    for (addr_list ai = all; ai != NULL && fd == -1; ai = ai->ai_next)
        fd = open_one(ai, backlog, server);

    int why = errno;
    freeaddrinfo(all);
    errno = why;
    return fd;
}

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    if (host != NULL && strcmp(host, "") == 0)
        host = NULL; /* AI_PASSIVE with no host: 0.0.0.0 */
    return open_any(host, port, backlog, 1);
}

int tcp_connect(const char *host, uint16_t port)
{
    return open_any(host, port, 0, 0);
}

/* ---------------------------------------------------------------- bytes */

ssize_t send_all(int fd, const void *buf, size_t len)
{
    const char *at = buf, *end = at + len;

    while (at != end) {
        ssize_t n = send(fd, at, (size_t)(end - at), MSG_NOSIGNAL);
        if (n == -1) {
            if (errno != EINTR)
                return -1;
        } else {
            at += n;
        }
    }
    return (ssize_t)len;
}

/* Take exactly n bytes that are known to be queued already (we peeked at them). */
static int take(int fd, char *dst, size_t n)
{
    while (n > 0) {
        ssize_t got = recv(fd, dst, n, 0);
        if (got == -1 && errno == EINTR)
            continue;
        if (got == 0)
            errno = ECONNRESET; /* cannot happen: the bytes were there a moment ago */
        if (got <= 0)
            return -1;
        dst += got;
        n -= (size_t)got;
    }
    return 0;
}

ssize_t recv_line(int fd, char *buf, size_t cap)
{
    if (buf == NULL || cap < 2) {
        errno = EINVAL;
        return -1;
    }

    size_t have = 0;
    int complete = 0;
    while (!complete && have + 1 < cap) {
        /* Look without taking: waits until at least one byte (or EOF) is there. */
        ssize_t seen = recv(fd, buf + have, cap - 1 - have, MSG_PEEK);
        if (seen == -1) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (seen == 0)
            break; /* EOF */

        size_t count = 0;
        while (count < (size_t)seen && !complete)
            complete = buf[have + count++] == '\n';

        /* Now take what belongs to this line, and not one byte more. */
        if (take(fd, buf + have, count) == -1)
            return -1;
        have += count;
    }
    buf[have] = '\0';
    return (ssize_t)have;
}

/* One recv() and its echo. 1: echoed; 0: the peer closed; -1: error. */
static int echo_once(int fd, int upper)
{
    char chunk[ECHO_BUF];
    ssize_t n;

    do
        n = recv(fd, chunk, sizeof chunk, 0);
    while (n == -1 && errno == EINTR);
    if (n <= 0)
        return (int)n;

    if (upper)
        for (char *c = chunk; c < chunk + n; c++)
            if ('a' <= *c && *c <= 'z')
                *c = (char)(*c + ('A' - 'a'));

    return send_all(fd, chunk, (size_t)n) == -1 ? -1 : 1;
}

int tcp_echo_session(int fd, int upper)
{
    int rc;
    while ((rc = echo_once(fd, upper)) == 1)
        ;
    return rc;
}

/* ---------------------------------------------------------------- the poll server */

struct client_table {
    struct pollfd *pfd;        /* [0] is the listener */
    char (*name)[PEER_LEN];    /* name[i] belongs to pfd[i] */
    nfds_t used, size;
};

static void log_line(const char *event, const char *name)
{
    fprintf(stdout, "%s %s\n", event, name);
    fflush(stdout);
}

static int table_add(struct client_table *t, int fd, const char *name)
{
    if (t->used == t->size) {
        nfds_t size = t->size * 2;
        struct pollfd *pfd = realloc(t->pfd, size * sizeof *pfd);
        if (pfd == NULL)
            return -1;
        t->pfd = pfd;
        char (*names)[PEER_LEN] = realloc(t->name, size * sizeof *names);
        if (names == NULL)
            return -1;
        t->name = names;
        t->size = size;
    }
    t->pfd[t->used].fd = fd;
    t->pfd[t->used].events = POLLIN;
    t->pfd[t->used].revents = 0;
    memcpy(t->name[t->used], name, PEER_LEN);
    t->used++;
    return 0;
}

/* Close client i, say so, and move the last client into its slot. */
static void table_drop(struct client_table *t, nfds_t i)
{
    close(t->pfd[i].fd);
    log_line("disconnected", t->name[i]);
    t->used--;
    if (i != t->used) {
        t->pfd[i] = t->pfd[t->used];
        memcpy(t->name[i], t->name[t->used], PEER_LEN);
    }
}

static void peer_name(const struct sockaddr_in *sa, char out[PEER_LEN])
{
    uint32_t ip = ntohl(sa->sin_addr.s_addr);
    snprintf(out, PEER_LEN, "%u.%u.%u.%u:%u", (unsigned)(ip >> 24), (unsigned)(ip >> 16 & 255),
             (unsigned)(ip >> 8 & 255), (unsigned)(ip & 255), (unsigned)ntohs(sa->sin_port));
}

/* The listener is readable: take one client. 0, or -1 on an error that ends the server. */
static int take_client(struct client_table *t, int lfd)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    char name[PEER_LEN];

    int fd = accept(lfd, (struct sockaddr *)&sa, &len);
    if (fd == -1) {
        /* a client that gave up while it waited in the queue, or a signal: not fatal */
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == EPERM)
            return 0;
        return -1;
    }
    peer_name(&sa, name);
    log_line("connected", name);
    if (table_add(t, fd, name) == -1) {
        close(fd);
        log_line("disconnected", name);
    }
    return 0;
}

int tcp_echo_serve(int lfd, int upper, volatile sig_atomic_t *stop)
{
    struct client_table t = {0};
    int rc = 0;

    t.size = 8;
    t.pfd = malloc(t.size * sizeof *t.pfd);
    t.name = malloc(t.size * sizeof *t.name);
    if (t.pfd == NULL || t.name == NULL) {
        free(t.pfd);
        free(t.name);
        errno = ENOMEM;
        return -1;
    }
    t.pfd[0].fd = lfd;
    t.pfd[0].events = POLLIN;
    t.used = 1;

    while (!*stop) {
        int n = poll(t.pfd, t.used, TICK_MS);
        if (n == -1) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }
        if (n == 0)
            continue;

        /* Clients first, from the end: table_drop moves the last one into the gap. */
        for (nfds_t i = t.used - 1; i >= 1; i--) {
            if (t.pfd[i].revents == 0)
                continue;
            if (echo_once(t.pfd[i].fd, upper) != 1)
                table_drop(&t, i);
        }
        if (t.pfd[0].revents & POLLIN) {
            if (take_client(&t, lfd) == -1) {
                rc = -1;
                break;
            }
        } else if (t.pfd[0].revents != 0) {
            errno = EBADF; /* POLLNVAL/POLLERR on the listener */
            rc = -1;
            break;
        }
    }

    /* Nobody is left to serve the open sessions: end them. */
    int why = errno;
    while (t.used > 1)
        table_drop(&t, t.used - 1);
    free(t.pfd);
    free(t.name);
    errno = why;
    return rc;
}
