/* tcp.c - lab 03: TCP stream sockets.
 *
 * This is the only file you edit in this lab. Each function below compiles and fails with
 * ENOSYS until you write it; the TODO in it says what to do. The prototypes and the exact
 * contract are in include/tcp.h, and README.md walks you through the life cycle of a TCP
 * connection one function at a time. Run `make test` to see which behaviours already work.
 *
 * Add the system headers you need (for example <arpa/inet.h>, <netdb.h>, <poll.h>,
 * <pthread.h>, <stdio.h>, <stdlib.h>, <string.h>, <sys/socket.h>, <unistd.h>) and small
 * static helper functions of your own: a helper that closes a socket without losing errno,
 * and one that resolves host:port with getaddrinfo, are good first ones.
 *
 * TCP is a stream of bytes, not of messages: one send() may arrive as several recv()s, and
 * several send()s as one recv(). Count bytes, never calls.
 */
#include "tcp.h"

#include <errno.h>

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    /* TODO(lab03): getaddrinfo(host, port) with hints ai_family AF_INET, ai_socktype
     * SOCK_STREAM, ai_flags AI_PASSIVE (and AI_NUMERICSERV with the port as a decimal
     * string, e.g. from snprintf "%u"); host NULL or "" must mean any address (pass NULL
     * with AI_PASSIVE: that gives 0.0.0.0), "0.0.0.0" works as it is.
     * For a result: socket(); setsockopt(SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) with
     * int one = 1, BEFORE bind() (bind is where the kernel looks at it; set after, or with
     * 0, it does nothing and a restart fails with EADDRINUSE while old connections sit in
     * TIME_WAIT); bind(); listen(fd, backlog). Return the fd.
     * On any failure close() the socket (keep errno: save it, close, restore), then
     * freeaddrinfo() and return -1. getaddrinfo returns EAI_* codes, not errno: set errno
     * yourself (e.g. ENXIO for a name that does not resolve). */
    (void)host;
    (void)port;
    (void)backlog;
    errno = ENOSYS;
    return -1;
}

int tcp_connect(const char *host, uint16_t port)
{
    /* TODO(lab03): getaddrinfo(host, port) with ai_family AF_INET and ai_socktype
     * SOCK_STREAM, so "127.0.0.1" and "localhost" both work; then for each result socket()
     * and connect(); the first that connects is the answer. No bind(): connect() picks a
     * free local port. When connect() fails (ECONNREFUSED: nobody listens there) close()
     * that socket, not leaking it, and return -1 with connect's errno. freeaddrinfo(). */
    (void)host;
    (void)port;
    errno = ENOSYS;
    return -1;
}

ssize_t send_all(int fd, const void *buf, size_t len)
{
    /* TODO(lab03): loop until all len bytes are sent; one send() may take only some of
     * them (a short write). Keep a pointer to the first byte not sent yet and the count
     * left: n = send(fd, next, left, MSG_NOSIGNAL); then next += n, left -= n (sending
     * from buf again would repeat the start of the data).
     * MSG_NOSIGNAL: when the peer has gone, send() then fails with EPIPE instead of raising
     * SIGPIPE, which kills the whole process by default (lab 03's programs keep that
     * default on purpose). n < 0 with errno EINTR (a signal, nothing sent): try again.
     * Any other error: return -1. Success: return len (len 0 sends nothing, returns 0). */
    (void)fd;
    (void)buf;
    (void)len;
    errno = ENOSYS;
    return -1;
}

ssize_t recv_line(int fd, char *buf, size_t cap)
{
    /* TODO(lab03): read one line: the bytes up to and including "\n", or cap-1 bytes if no
     * "\n" comes before that; then buf[count] = '\0' (never buf[cap]: that is past the
     * end). Return the count.
     * Do NOT read past the "\n": the bytes after it belong to the next call. So not one
     * recv(fd, buf, cap-1, 0) (it takes the next line too; and it may return only part of
     * this one). Either recv() one byte at a time (simple, one system call per byte), or
     * recv(..., MSG_PEEK) to look at what has arrived without taking it, find the "\n" in
     * it with memchr, and then recv() exactly the bytes up to it (faster).
     * recv() returning 0 is EOF: return the part of a line you have (the next call then
     * gets 0 at once), or 0 if you have none. recv() < 0 with EINTR: try again; another
     * error: return -1. cap < 2: errno EINVAL, -1. */
    (void)fd;
    (void)buf;
    (void)cap;
    errno = ENOSYS;
    return -1;
}

int tcp_echo_session(int fd, int upper)
{
    /* TODO(lab03): loop: n = recv(fd, buf, sizeof buf, 0) into a buffer of your own (a few
     * KiB on the stack); n == 0 means the peer closed: return 0. n < 0: EINTR try again,
     * else return -1 (ECONNRESET: the peer reset). When upper, turn bytes 'a'..'z' into
     * 'A'..'Z' and leave every other byte alone (not toupper(): it depends on the locale).
     * Then send_all(fd, buf, n): exactly n bytes (not sizeof buf, not strlen: the data may
     * hold zero bytes); if it fails return -1. Never close fd here: the caller does. */
    (void)fd;
    (void)upper;
    errno = ENOSYS;
    return -1;
}

int tcp_echo_serve(int lfd, int upper, volatile sig_atomic_t *stop)
{
    /* TODO(lab03): while (!*stop): wait for a client with poll() on lfd (POLLIN) with a
     * timeout of about 200 ms, so you look at *stop often (a signal may land on another
     * thread, so EINTR alone is not enough; treat EINTR from poll as "look again").
     * Then accept(lfd, (struct sockaddr *)&peer, &len) with socklen_t len = sizeof peer set
     * before EVERY call (it is in-out). Print "connected A.B.C.D:P" (inet_ntop, and
     * ntohs(peer.sin_port)) with one printf and fflush(stdout).
     * Serve the client concurrently, or an idle client blocks everyone else:
     * - a thread per client: malloc a struct holding the fd, upper and the peer's text, and
     *   pass THAT to pthread_create (never &fd: the loop overwrites fd with the next
     *   client's at once); pthread_detach; the thread runs tcp_echo_session, close()s the
     *   fd, prints "disconnected A.B.C.D:P", flushes, free()s the struct;
     * - or fork(): the child serves and exits, the parent close()s the client fd at once
     *   (else the client never sees EOF) and reaps children (waitpid with WNOHANG);
     * - or one poll() loop over all the sockets.
     * accept() failing with EINTR or ECONNABORTED: just loop. Return 0 once *stop is set
     * (do not wait for open sessions); -1 on another error. */
    (void)lfd;
    (void)upper;
    (void)stop;
    errno = ENOSYS;
    return -1;
}
