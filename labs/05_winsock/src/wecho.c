/* wecho.c - lab 05: a TCP echo server and client that build on Windows and on POSIX.
 *
 * This is one of the two files you edit in this lab (the other is src/sock_compat.c). Each
 * function below compiles and fails until you write it; the TODO in it says what to do. The
 * contract is in include/wecho.h. Use only the calls both systems share (getaddrinfo,
 * socket, setsockopt, bind, listen, connect, send, recv, shutdown) and sock_compat.h for
 * the rest: close a socket with sock_close, read an error with sock_error.
 *
 * Differences to keep in mind: a sock_t is unsigned on Windows (compare with SOCK_INVALID,
 * never with < 0); send/recv take an int length there; setsockopt takes a (const char *)
 * option value; shutdown's "sending side" is SD_SEND on Windows and SHUT_WR on POSIX.
 */
#include "wecho.h"

#include <errno.h>

sock_t wecho_listen(const char *host, uint16_t port)
{
    /* TODO(lab05): getaddrinfo(host, port) with AF_INET, SOCK_STREAM, AI_PASSIVE (host NULL
     * or "" -> pass NULL); socket(); int one = 1; setsockopt(SOL_SOCKET, SO_REUSEADDR on
     * POSIX, SO_EXCLUSIVEADDRUSE on Windows, (const char *)&one, sizeof one) before bind();
     * bind(); listen(). On failure sock_close what you opened, keeping the error, and
     * return SOCK_INVALID. */
    (void)host;
    (void)port;
    errno = ENOSYS;
    return SOCK_INVALID;
}

sock_t wecho_connect(const char *host, uint16_t port)
{
    /* TODO(lab05): getaddrinfo(host, port) with AF_INET, SOCK_STREAM; socket(); connect().
     * On failure sock_close the socket without losing the error (a refused connection must
     * still read ECONNREFUSED / WSAECONNREFUSED from sock_error afterwards). */
    (void)host;
    (void)port;
    errno = ENOSYS;
    return SOCK_INVALID;
}

int wecho_session(sock_t c)
{
    /* TODO(lab05): loop: recv() into a buffer; 0 means the peer closed: return 0; send every
     * byte received back (loop over short sends); a failure returns -1. Do not close c. */
    (void)c;
    errno = ENOSYS;
    return -1;
}

long wecho_request(sock_t s, const char *msg, char *reply, size_t cap)
{
    /* TODO(lab05): send all of msg; shutdown(s, SHUT_WR / SD_SEND); recv() until it returns
     * 0, keeping the first cap-1 bytes in reply and dropping the rest; NUL-terminate; return
     * how many bytes were kept, or -1. */
    (void)s;
    (void)msg;
    (void)reply;
    (void)cap;
    errno = ENOSYS;
    return -1;
}
