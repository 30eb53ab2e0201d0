/* tcp.c - lab 03 reference solution: TCP stream sockets.
 *
 * The life cycle this file walks through, one function per step:
 *
 *   server: socket -> SO_REUSEADDR -> bind -> listen -> accept -> recv/send ... -> close
 *   client: socket -> connect -> send/recv ... -> close
 *
 * TCP carries a stream of bytes, not messages: one send() may arrive as several recv()s and
 * several send()s as one recv(). So every loop here counts bytes, never calls. Failures
 * return -1 with errno saying why; the cleanup on the way out (close, freeaddrinfo) must not
 * overwrite that errno, hence close_keeping_errno().
 */
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long the accept loop waits for a client before it looks at *stop again: well inside
 * the 0.5 s the contract allows, and only five wake-ups a second when nothing happens. */
#define STOP_CHECK_MS 200

/* How many bytes one recv() of the echo loop may take: few system calls for bulk data, and
 * small enough to live on a thread's stack. */
#define ECHO_CHUNK 16384

/* Room for "255.255.255.255:65535" and its NUL. */
#define ADDR_TEXT_LEN 22

/* ---- small helpers ------------------------------------------------------------------ */

/* close() without losing the errno of the failure the caller is about to report. */
static void close_keeping_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* getaddrinfo reports failures in its own codes (EAI_*), not in errno: map them so our
 * caller can use errno/strerror like for any other failure (the same mapping as lab 01). */
static int errno_of_gai_error(int gai_error)
{
    switch (gai_error) {
    case EAI_SYSTEM:
        return errno != 0 ? errno : EIO;
    case EAI_AGAIN:
        return EAGAIN;
    case EAI_MEMORY:
        return ENOMEM;
    default: /* EAI_NONAME and friends: no IPv4 address for that name */
        return ENXIO; /* "No such device or address" */
    }
}

/* The IPv4 stream addresses for host:port, in *found (freeaddrinfo it). passive: for
 * bind(), where a NULL host means "any address" (0.0.0.0). 0, or -1 with errno set. */
static int resolve(const char *host, uint16_t port, int passive, struct addrinfo **found)
{
    struct addrinfo hints;
    char service[sizeof "65535"];

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    /* The port as a decimal "service": getaddrinfo then fills in sin_port in network
     * byte order itself, so there is no htons() to forget. */
    snprintf(service, sizeof service, "%u", (unsigned)port);
    int rc = getaddrinfo(host, service, &hints, found);
    if (rc != 0) {
        errno = errno_of_gai_error(rc);
        return -1;
    }
    return 0;
}

/* freeaddrinfo() that keeps errno, like close_keeping_errno(). */
static void free_addresses(struct addrinfo *found)
{
    int saved = errno;
    freeaddrinfo(found);
    errno = saved;
}

/* recv() that tries again when a signal interrupts it before any byte arrived. */
static ssize_t recv_retrying(int fd, void *buf, size_t len, int flags)
{
    ssize_t n;
    do
        n = recv(fd, buf, len, flags);
    while (n < 0 && errno == EINTR);
    return n;
}

/* "A.B.C.D:P" for an IPv4 address, e.g. a client's. */
static void format_addr(const struct sockaddr_in *addr, char text[ADDR_TEXT_LEN])
{
    char ip[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof ip) == NULL)
        strcpy(ip, "?");
    /* sin_port is in network byte order: ntohs() before printing it as a number. */
    snprintf(text, ADDR_TEXT_LEN, "%s:%u", ip, (unsigned)ntohs(addr->sin_port));
}

/* ---- server side: socket, SO_REUSEADDR, bind, listen ------------------------------- */

/* A socket bound to one address and listening on it, or -1 with errno set. */
static int listen_on(const struct addrinfo *addr, int backlog)
{
    int one = 1;
    int fd = socket(addr->ai_family, addr->ai_socktype, addr->ai_protocol);
    if (fd < 0)
        return -1;
    /* SO_REUSEADDR, and BEFORE bind(): bind() is where the kernel looks at it. Without it
     * a restarted server cannot bind its port for about a minute while the connections of
     * its previous run that it closed first wait in TIME_WAIT (EADDRINUSE). It never lets
     * two servers listen on one port: that would still be EADDRINUSE. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, addr->ai_addr, addr->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
        close_keeping_errno(fd);
        return -1;
    }
    return fd;
}

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    struct addrinfo *found;
    int fd = -1;

    /* NULL with AI_PASSIVE is the wildcard address 0.0.0.0; "" means the same to us. */
    if (host != NULL && host[0] == '\0')
        host = NULL;
    if (resolve(host, port, 1, &found) < 0)
        return -1;
    /* Loop through all the results and listen on the first we can. */
    for (const struct addrinfo *addr = found; addr != NULL && fd < 0; addr = addr->ai_next)
        fd = listen_on(addr, backlog);
    free_addresses(found); /* on failure errno is still the last attempt's */
    return fd;
}

/* ---- client side: socket, connect -------------------------------------------------- */

/* A socket connected to one address, or -1 with errno set (ECONNREFUSED: nobody listens). */
static int connect_to(const struct addrinfo *addr)
{
    int fd = socket(addr->ai_family, addr->ai_socktype, addr->ai_protocol);
    if (fd < 0)
        return -1;
    /* No bind() first: connect() picks a free local (ephemeral) port for us. */
    if (connect(fd, addr->ai_addr, addr->ai_addrlen) < 0) {
        close_keeping_errno(fd); /* a failed socket is closed, not leaked */
        return -1;
    }
    return fd;
}

int tcp_connect(const char *host, uint16_t port)
{
    struct addrinfo *found;
    int fd = -1;

    if (resolve(host, port, 0, &found) < 0)
        return -1;
    /* Loop through all the results and connect to the first we can. */
    for (const struct addrinfo *addr = found; addr != NULL && fd < 0; addr = addr->ai_next)
        fd = connect_to(addr);
    free_addresses(found);
    return fd;
}

/* ---- moving bytes: send_all, recv_line --------------------------------------------- */

/* Only for sockets: on any other fd send() fails with ENOTSOCK and so does send_all. A
 * write() fallback for pipes would bring SIGPIPE back, which is what send_all promises
 * never to raise. A non-blocking socket that is full fails with EAGAIN (we do not poll). */
ssize_t send_all(int fd, const void *buf, size_t len)
{
    const char *next = buf; /* the first byte not sent yet */
    size_t left = len;

    if (len > SSIZE_MAX) { /* the count we return must fit */
        errno = EINVAL;
        return -1;
    }
    while (left > 0) {
        /* MSG_NOSIGNAL: when the peer has gone, send() fails with EPIPE instead of raising
         * SIGPIPE, whose default action kills the whole process (every client with it). */
        ssize_t n = send(fd, next, left, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) /* a signal came before any byte was taken: again */
                continue;
            return -1; /* EPIPE, ECONNRESET, ...: the connection is gone */
        }
        /* A short write is not an error: the kernel took n bytes, send the rest from
         * where it stopped (not from buf again). */
        next += n;
        left -= (size_t)n;
    }
    return (ssize_t)len;
}

/* Why MSG_PEEK: a line must end at its "\n", and the bytes after it belong to the next
 * call (or to whoever reads the socket next with plain recv()). recv() of a whole buffer
 * would take them too, and keeping them in a buffer of our own would hide them from other
 * readers. Reading one byte per recv() is correct but costs a system call per byte.
 * MSG_PEEK shows us what has arrived without taking it: we find the "\n" in it, then take
 * exactly the bytes up to it. Two system calls per piece of the line, not one per byte. */
ssize_t recv_line(int fd, char *buf, size_t cap)
{
    size_t used = 0; /* bytes of the line taken from the socket so far */

    if (buf == NULL || cap < 2) {
        errno = EINVAL;
        return -1;
    }
    while (used < cap - 1) { /* keep one byte for the NUL */
        char *part = buf + used;
        ssize_t seen = recv_retrying(fd, part, cap - 1 - used, MSG_PEEK);
        if (seen < 0)
            return -1; /* an error part-way loses the part: the stream is broken anyway */
        if (seen == 0)
            break; /* EOF: return the part we have; the next call sees EOF again: 0 */
        char *newline = memchr(part, '\n', (size_t)seen);
        size_t want = newline != NULL ? (size_t)(newline - part) + 1 : (size_t)seen;
        ssize_t taken = recv_retrying(fd, part, want, 0); /* the same bytes, taken now */
        if (taken < 0)
            return -1;
        used += (size_t)taken;
        if (newline != NULL && (size_t)taken == want)
            break; /* the line is complete, "\n" included */
    }
    buf[used] = '\0';
    return (ssize_t)used;
}

/* ---- one client: echo until the peer closes ---------------------------------------- */

/* ASCII a-z to A-Z, every other byte as it is. Not toupper(): it depends on the locale and
 * changes some bytes above 0x7f in some of them. */
static void uppercase_ascii(char *bytes, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (bytes[i] >= 'a' && bytes[i] <= 'z')
            bytes[i] = (char)(bytes[i] - 'a' + 'A');
}

int tcp_echo_session(int fd, int upper)
{
    char buf[ECHO_CHUNK];

    for (;;) {
        ssize_t n = recv_retrying(fd, buf, sizeof buf, 0);
        if (n == 0)
            return 0; /* the peer closed (or half-closed): every byte has been echoed */
        if (n < 0)
            return -1; /* ECONNRESET and the like */
        if (upper)
            uppercase_ascii(buf, (size_t)n);
        /* Exactly the n bytes that came: not sizeof buf (garbage after them), not strlen
         * (binary data has zero bytes), and all of them (send_all, not one send). */
        if (send_all(fd, buf, (size_t)n) < 0)
            return -1;
    }
}

/* ---- many clients: accept loop, a thread per client -------------------------------- */

/* What one client's thread needs. Each client gets its own copy on the heap: the accept
 * loop reuses its variables for the next client at once, so a thread handed &fd could read
 * the NEXT client's fd (two threads on one socket, another never served). */
struct session {
    int fd;
    int upper;
    char peer[ADDR_TEXT_LEN]; /* "A.B.C.D:P" of the client, for the log lines */
};

/* One log line on stdout, flushed at once (the grader reads it through a pipe). One
 * printf() per line: stdio locks the stream per call, so threads never mix their lines. */
static void announce(const char *event, const char *peer)
{
    printf("%s %s\n", event, peer);
    fflush(stdout);
}

/* A client's thread: echo, close its socket (the peer sees EOF), say so, free its copy. */
static void *run_session(void *arg)
{
    struct session *s = arg;
    /* 0 (the peer closed) and -1 (it reset, or went away mid-echo) end the session alike. */
    tcp_echo_session(s->fd, s->upper);
    close(s->fd);
    announce("disconnected", s->peer);
    free(s);
    return NULL;
}

/* Serve client fd on a detached thread of its own, which closes fd when done. 0, or -1
 * with errno set (no memory or no thread: fd is then still the caller's to close). */
static int start_session(int fd, const char *peer, int upper)
{
    pthread_t thread;
    struct session *s = malloc(sizeof *s);
    if (s == NULL)
        return -1;
    s->fd = fd;
    s->upper = upper;
    snprintf(s->peer, sizeof s->peer, "%s", peer);
    int err = pthread_create(&thread, NULL, run_session, s);
    if (err != 0) { /* pthread functions return the error instead of setting errno */
        free(s);
        errno = err;
        return -1;
    }
    /* Nobody joins a client's thread: detached, it frees its own resources when done. */
    pthread_detach(thread);
    return 0;
}

/* Wait up to STOP_CHECK_MS for a client to connect. 1: one is waiting in the backlog;
 * 0: none yet (time out, or a signal interrupted us: either way, look at *stop again);
 * -1: error. A signal may be delivered to any thread, e.g. one of the clients', so EINTR
 * alone is not a reliable wake-up: the time out is. */
static int wait_for_client(int lfd)
{
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    int ready = poll(&pfd, 1, STOP_CHECK_MS);
    if (ready < 0 && errno == EINTR)
        return 0;
    return ready;
}

/* accept() failures that concern only the client being accepted (it reset before we took
 * it, a network error was pending on it): the server goes on with the next client. */
static int is_client_error(int err)
{
    return err == ECONNABORTED || err == EPROTO || err == EPERM || err == ENETDOWN ||
           err == ENOPROTOOPT || err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH ||
           err == EOPNOTSUPP || err == ENETUNREACH;
}

int tcp_echo_serve(int lfd, int upper, volatile sig_atomic_t *stop)
{
    while (!*stop) {
        struct sockaddr_in peer;
        socklen_t peer_len = sizeof peer; /* in-out: set again before every accept() */
        char peer_text[ADDR_TEXT_LEN];

        int ready = wait_for_client(lfd);
        if (ready < 0)
            return -1;
        if (ready == 0)
            continue;
        int fd = accept(lfd, (struct sockaddr *)&peer, &peer_len);
        if (fd < 0) {
            if (errno == EINTR || is_client_error(errno))
                continue;
            return -1; /* EMFILE, EBADF, ...: not something waiting will fix */
        }
        format_addr(&peer, peer_text);
        announce("connected", peer_text);
        if (start_session(fd, peer_text, upper) < 0) {
            /* No thread for this client: drop it, and go on serving the others. */
            close(fd);
            announce("disconnected", peer_text);
        }
    }
    /* Sessions still open go on in their threads; the caller (main) exits without them. */
    return 0;
}
