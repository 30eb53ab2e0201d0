/* wecho.c - lab 05, a correct submission in another style: buffer-list I/O on both systems.
 *
 * The bytes move through each system's buffer-list calls: WSASend/WSARecv with WSABUFs on
 * Windows (blocking: no OVERLAPPED, no completion routine), sendmsg/recvmsg with iovecs on
 * POSIX. A WSABUF and an iovec are the same idea, a pointer and a length, so one type, an
 * io_piece, covers both. wecho_request uses the list for what it is made for: one receive
 * scatters into the room left in the reply and then into a spill buffer, so the part that
 * does not fit is read and dropped by the same call. wecho_session waits in select() (with
 * no timeout) before each receive. wecho_connect tries every address getaddrinfo gives, and
 * on POSIX a connect cut short by a signal is finished, not started again.
 */
#include "wecho.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifdef _WIN32
typedef WSABUF io_piece;
#define SHUT_SENDING SD_SEND
#define PORT_GUARD SO_EXCLUSIVEADDRUSE /* SO_REUSEADDR would let others steal the port */
#else
#include <netdb.h>
#include <netinet/in.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
typedef struct iovec io_piece;
#define SHUT_SENDING SHUT_WR
#define PORT_GUARD SO_REUSEADDR /* restart at once on a port left in TIME_WAIT */
#endif

enum {
    ECHO_BUF = 16 * 1024, /* one receive of the echo */
    SPILL = 4096,         /* where wecho_request drops what does not fit in the reply */
    MAX_PIECE = 1 << 30,  /* the longest piece: a WSABUF's length is a ULONG, and the byte
                             counts are returned as a long, 32 bits on Windows */
};

/* ---- errors ---------------------------------------------------------------------------- */

static void set_error(int err)
{
#ifdef _WIN32
    WSASetLastError(err);
#else
    errno = err;
#endif
}

/* Clean-up calls after a failure may overwrite the error that caused it: these keep it. */
static void close_keeping_error(sock_t s)
{
    int err = sock_error();
    sock_close(s);
    set_error(err);
}

static void free_keeping_error(struct addrinfo *list)
{
    int err = sock_error();
    freeaddrinfo(list);
    set_error(err);
}

/* ---- buffer lists ---------------------------------------------------------------------- */

/* A piece of len bytes at p (at most MAX_PIECE of them). Neither a WSABUF nor an iovec
 * points to const bytes, though the send calls only read them: hence the casts. */
static io_piece piece(const char *p, size_t len)
{
    io_piece v;
    if (len > MAX_PIECE)
        len = MAX_PIECE;
#ifdef _WIN32
    v.buf = (CHAR *)p;
    v.len = (ULONG)len;
#else
    v.iov_base = (void *)p;
    v.iov_len = len;
#endif
    return v;
}

static size_t piece_len(const io_piece *v)
{
#ifdef _WIN32
    return v->len;
#else
    return v->iov_len;
#endif
}

/* One blocking send of the pieces: the number of bytes that went, or -1. */
static long send_pieces(sock_t s, io_piece *v, int count)
{
#ifdef _WIN32
    DWORD sent = 0;
    if (WSASend(s, v, (DWORD)count, &sent, 0, NULL, NULL) == SOCKET_ERROR)
        return -1;
    return (long)sent;
#else
    struct msghdr m = {.msg_iov = v, .msg_iovlen = (size_t)count};
    for (;;) {
        ssize_t n = sendmsg(s, &m, MSG_NOSIGNAL); /* a vanished peer: EPIPE, not SIGPIPE */
        if (n >= 0 || errno != EINTR)
            return (long)n;
    }
#endif
}

/* One blocking receive into the pieces, filled in order: the number of bytes that came
 * (0 at the end of the stream), or -1. */
static long recv_pieces(sock_t s, io_piece *v, int count)
{
#ifdef _WIN32
    DWORD got = 0, flags = 0; /* flags is read as well as written: it must start at 0 */
    if (WSARecv(s, v, (DWORD)count, &got, &flags, NULL, NULL) == SOCKET_ERROR)
        return -1;
    return (long)got;
#else
    struct msghdr m = {.msg_iov = v, .msg_iovlen = (size_t)count};
    for (;;) {
        ssize_t n = recvmsg(s, &m, 0);
        if (n >= 0 || errno != EINTR)
            return (long)n;
    }
#endif
}

/* All len bytes of p, in as many sends as it takes. 0 or -1. */
static int send_all(sock_t s, const char *p, size_t len)
{
    while (len > 0) {
        io_piece v = piece(p, len);
        long n = send_pieces(s, &v, 1);
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- waiting --------------------------------------------------------------------------- */

/* Block in select() until s is readable (or, with writing, writable). 0 or -1. */
static int wait_for(sock_t s, int writing)
{
#ifndef _WIN32
    if (s >= FD_SETSIZE)
        return 0; /* an fd_set cannot hold it: the blocking call that follows waits instead */
#endif
    for (;;) {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(s, &set);
#ifdef _WIN32
        int rc = select(0, writing ? NULL : &set, writing ? &set : NULL, NULL, NULL);
#else
        int rc = select(s + 1, writing ? NULL : &set, writing ? &set : NULL, NULL, NULL);
        if (rc < 0 && errno == EINTR)
            continue;
#endif
        return rc > 0 ? 0 : -1;
    }
}

/* ---- addresses ------------------------------------------------------------------------- */

/* The IPv4 TCP addresses of host:port (flags: AI_PASSIVE for a listener), or NULL with the
 * error set. getaddrinfo has its own codes: on Windows they are WSA codes already. */
static struct addrinfo *resolve(const char *host, uint16_t port, int flags)
{
    struct addrinfo hints = {0}, *list = NULL;
    char service[6];

    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    hints.ai_flags = flags | AI_NUMERICSERV;
    snprintf(service, sizeof service, "%u", (unsigned)port);
    if (host != NULL && host[0] == '\0')
        host = NULL; /* with AI_PASSIVE, NULL is the any address */

    int rc = getaddrinfo(host, service, &hints, &list);
    if (rc == 0)
        return list;
#ifdef _WIN32
    set_error(rc);
#else
    if (rc == EAI_MEMORY)
        set_error(ENOMEM);
    else if (rc == EAI_AGAIN)
        set_error(EAGAIN);
    else if (rc != EAI_SYSTEM) /* EAI_SYSTEM: errno says it already */
        set_error(ENXIO);      /* no such host */
#endif
    return NULL;
}

/* ---- the API --------------------------------------------------------------------------- */

sock_t wecho_listen(const char *host, uint16_t port)
{
    struct addrinfo *list = resolve(host, port, AI_PASSIVE);
    if (list == NULL)
        return SOCK_INVALID;

    sock_t s = socket(list->ai_family, list->ai_socktype, list->ai_protocol);
    int on = 1;
    /* setsockopt takes a (const char *) value on Windows, a (const void *) one on POSIX */
    if (s != SOCK_INVALID &&
        (setsockopt(s, SOL_SOCKET, PORT_GUARD, (const char *)&on, sizeof on) != 0 ||
         bind(s, list->ai_addr, (int)list->ai_addrlen) != 0 || listen(s, SOMAXCONN) != 0)) {
        close_keeping_error(s);
        s = SOCK_INVALID;
    }
    free_keeping_error(list);
    return s;
}

/* connect; on POSIX a signal does not stop a connect, it only stops the wait for it: wait
 * for the outcome then (writable) and read it from SO_ERROR. 0 or -1. */
static int connect_once(sock_t s, const struct addrinfo *a)
{
    if (connect(s, a->ai_addr, (int)a->ai_addrlen) == 0)
        return 0;
#ifndef _WIN32
    if (errno == EINTR) {
        int err = 0;
        socklen_t len = sizeof err;
        if (wait_for(s, 1) != 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            return -1;
        if (err == 0)
            return 0;
        errno = err;
    }
#endif
    return -1;
}

sock_t wecho_connect(const char *host, uint16_t port)
{
    struct addrinfo *list = resolve(host, port, 0);
    if (list == NULL)
        return SOCK_INVALID;

    /* Every address in turn; after the last failure, its error is the one reported. */
    sock_t s = SOCK_INVALID;
    for (const struct addrinfo *a = list; a != NULL && s == SOCK_INVALID; a = a->ai_next) {
        s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (s != SOCK_INVALID && connect_once(s, a) != 0) {
            close_keeping_error(s);
            s = SOCK_INVALID;
        }
    }
    free_keeping_error(list);
    return s;
}

int wecho_session(sock_t c)
{
    char buf[ECHO_BUF];
    for (;;) {
        if (wait_for(c, 0) != 0)
            return -1;
        io_piece v = piece(buf, sizeof buf);
        long n = recv_pieces(c, &v, 1);
        if (n == 0)
            return 0; /* the end of the stream; fewer bytes than asked is not an end */
        if (n < 0 || send_all(c, buf, (size_t)n) != 0)
            return -1;
    }
}

long wecho_request(sock_t s, const char *msg, char *reply, size_t cap)
{
    char spill[SPILL];
    size_t room = cap > 0 ? cap - 1 : 0, kept = 0;

    if (send_all(s, msg, strlen(msg)) != 0 || shutdown(s, SHUT_SENDING) != 0)
        return -1;
    for (;;) {
        /* The reply's free room first, while it has any; then the spill buffer. */
        io_piece v[2];
        int count = 0;
        if (kept < room)
            v[count++] = piece(reply + kept, room - kept);
        size_t into_reply = count > 0 ? piece_len(&v[0]) : 0;
        v[count++] = piece(spill, sizeof spill);

        long n = recv_pieces(s, v, count);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        kept += (size_t)n < into_reply ? (size_t)n : into_reply;
    }
    if (cap > 0)
        reply[kept] = '\0';
    return (long)kept;
}
