/* wecho.c - lab 05 reference solution: a TCP echo server and client for Windows and POSIX.
 *
 * The socket calls themselves are the same on both systems; what differs is kept small:
 * the option that guards the listening port (SO_EXCLUSIVEADDRUSE on Windows, where
 * SO_REUSEADDR would let another program steal a bound port; SO_REUSEADDR on POSIX, for a
 * quick restart), setsockopt's (const char *) value, send/recv's int length on Windows,
 * shutdown's SD_SEND / SHUT_WR, and closing and errors through sock_compat.h.
 */
#include "wecho.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
#define SHUT_SENDING SD_SEND
#define REUSE_OPTION SO_EXCLUSIVEADDRUSE
typedef int io_len;   /* send/recv take an int length on Windows */
#else
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#define SHUT_SENDING SHUT_WR
#define REUSE_OPTION SO_REUSEADDR
typedef size_t io_len;
#endif

/* How many bytes one recv() takes. */
#define CHUNK 4096

/* ---- small helpers ------------------------------------------------------------------ */

/* Make err the last socket error again (after a cleanup call that may have changed it). */
static void set_error(int err)
{
#ifdef _WIN32
    WSASetLastError(err);
#else
    errno = err;
#endif
}

/* Close s without losing the error that made us give up on it. */
static void close_keeping_error(sock_t s)
{
    int err = sock_error();
    sock_close(s);
    set_error(err);
}

/* getaddrinfo for an IPv4 TCP host:port; NULL with the error set when it fails. */
static struct addrinfo *resolve(const char *host, uint16_t port, int passive)
{
    struct addrinfo hints, *res = NULL;
    char service[8];

    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (host != NULL && host[0] == '\0')
        host = NULL;
    int rc = getaddrinfo(host, service, &hints, &res);
    if (rc != 0) {
#ifdef _WIN32
        set_error(rc); /* on Windows the EAI_* codes are WSA error codes */
#else
        set_error(rc == EAI_SYSTEM ? errno : ENXIO);
#endif
        return NULL;
    }
    return res;
}

/* Send all len bytes; 0 or -1. */
static int send_all(sock_t s, const char *buf, size_t len)
{
    while (len > 0) {
        size_t piece = len > CHUNK ? CHUNK : len;
#ifdef _WIN32
        int n = send(s, buf, (io_len)piece, 0);
#else
        ssize_t n = send(s, buf, (io_len)piece, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
#endif
        if (n < 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* One recv(); retries EINTR on POSIX. */
static long recv_some(sock_t s, char *buf, size_t cap)
{
    for (;;) {
        long n = (long)recv(s, buf, (io_len)cap, 0);
#ifndef _WIN32
        if (n < 0 && errno == EINTR)
            continue;
#endif
        return n;
    }
}

/* ---- the API ------------------------------------------------------------------------ */

sock_t wecho_listen(const char *host, uint16_t port)
{
    struct addrinfo *res = resolve(host, port, 1);
    if (res == NULL)
        return SOCK_INVALID;

    sock_t s = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (s == SOCK_INVALID) {
        freeaddrinfo(res);
        return SOCK_INVALID;
    }
    int one = 1;
    if (setsockopt(s, SOL_SOCKET, REUSE_OPTION, (const char *)&one, sizeof one) != 0 ||
        bind(s, res->ai_addr, (int)res->ai_addrlen) != 0 || listen(s, SOMAXCONN) != 0) {
        close_keeping_error(s);
        freeaddrinfo(res);
        return SOCK_INVALID;
    }
    freeaddrinfo(res);
    return s;
}

sock_t wecho_connect(const char *host, uint16_t port)
{
    struct addrinfo *res = resolve(host, port, 0);
    if (res == NULL)
        return SOCK_INVALID;

    sock_t s = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (s == SOCK_INVALID) {
        freeaddrinfo(res);
        return SOCK_INVALID;
    }
    /* Not retried on EINTR: an interrupted connect goes on in the background, and a second
     * connect() would fail (EALREADY). The programs install no signal handler that could
     * interrupt it. */
    if (connect(s, res->ai_addr, (int)res->ai_addrlen) != 0) {
        close_keeping_error(s);
        freeaddrinfo(res);
        return SOCK_INVALID;
    }
    freeaddrinfo(res);
    return s;
}

int wecho_session(sock_t c)
{
    char buf[CHUNK];
    for (;;) {
        long n = recv_some(c, buf, sizeof buf);
        if (n == 0)
            return 0;
        if (n < 0 || send_all(c, buf, (size_t)n) != 0)
            return -1;
    }
}

long wecho_request(sock_t s, const char *msg, char *reply, size_t cap)
{
    char drop[CHUNK];
    size_t kept = 0;

    if (send_all(s, msg, strlen(msg)) != 0 || shutdown(s, SHUT_SENDING) != 0)
        return -1;
    for (;;) {
        size_t room = cap > 0 ? cap - 1 - kept : 0;
        /* While there is room, read into reply; after that, read and drop the rest. */
        char *into = room > 0 ? reply + kept : drop;
        size_t want = room > 0 ? room : sizeof drop;
        long n = recv_some(s, into, want);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        if (room > 0)
            kept += (size_t)n;
    }
    if (cap > 0)
        reply[kept] = '\0';
    return (long)kept;
}
