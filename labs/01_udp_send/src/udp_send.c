/* udp_send.c - lab 01: sending UDP datagrams.
 *
 * This is the only file you edit in this lab. Each function below compiles and fails with
 * ENOSYS until you write it; the TODO in it says what to do. The prototypes and the exact
 * contract are in include/udp_send.h, and README.md walks you through one function at a
 * time. Run `make test` to see which behaviours already work.
 *
 * Add the system headers you need (for example <arpa/inet.h>, <netdb.h>, <poll.h>,
 * <stdlib.h>, <string.h>, <sys/socket.h>, <unistd.h>) and small static helper functions of
 * your own: a helper that closes a socket without losing errno is a good first one.
 */
#include "udp_send.h"

#include <errno.h>

int udp_make_addr(const char *host, uint16_t port, struct sockaddr_in *out)
{
    /* TODO(lab01): resolve host with getaddrinfo() (hints: ai_family AF_INET, ai_socktype
     * SOCK_DGRAM), so that both "127.0.0.1" and a name like "localhost" work. Zero *out,
     * then set sin_family = AF_INET, sin_port = htons(port) (without htons, port 8000 goes
     * out as 16415) and sin_addr from the first result; freeaddrinfo() it. If getaddrinfo
     * fails, set errno to something sensible and return -1.
     * Do not use inet_addr(): it returns INADDR_NONE for an error, and INADDR_NONE is
     * exactly the address 255.255.255.255, which lab 01 must accept. */
    (void)host;
    (void)port;
    (void)out;
    errno = ENOSYS;
    return -1;
}

ssize_t udp_send_once(const struct sockaddr_in *dst, const void *msg, size_t len)
{
    /* TODO(lab01): socket(AF_INET, SOCK_DGRAM, 0); ONE sendto() of exactly len bytes to
     * *dst; close(); return what sendto() returned.
     * The length is len: not sizeof a buffer (that pads with garbage), not strlen + 1 (that
     * sends a NUL the receiver never asked for), not sizeof msg (the size of a pointer: 8).
     * len 0 is allowed and sends an empty datagram.
     * If sendto() fails, close the socket and return -1, with errno still saying why
     * (close() may change errno: save it first, restore it after). */
    (void)dst;
    (void)msg;
    (void)len;
    errno = ENOSYS;
    return -1;
}

long udp_send_lines(const struct sockaddr_in *dst, FILE *in)
{
    /* TODO(lab01): open ONE socket before the loop and send every line through it, so the
     * receiver sees every datagram come from the same source port (a socket per line gets
     * a new port each time). Read with getline(), which grows its buffer to fit a line of
     * any length, and use the length it returns, not strlen().
     * For each line: remove the "\n" and a "\r" just before it (not other "\r"s); the line
     * "stop" ends the loop without being sent; an empty line is sent as an empty datagram;
     * a line over UDP_MAX_PAYLOAD (65507) bytes fails with errno EMSGSIZE.
     * At EOF (getline() returns -1 and ferror() is false) return how many datagrams you
     * sent; a last line without "\n" is still a line. free() the line, close() the socket,
     * and keep errno on every failure path. */
    (void)dst;
    (void)in;
    errno = ENOSYS;
    return -1;
}

ssize_t udp_request(const struct sockaddr_in *dst, const void *msg, size_t len,
                    void *reply, size_t cap, struct sockaddr_in *from, int timeout_ms)
{
    /* TODO(lab01): one socket; sendto() the request to *dst; then wait for a reply with
     * poll() on POLLIN for timeout_ms (poll already means what the contract asks: 0 just
     * looks, a negative value waits forever); if poll() returns 0 set errno = ETIMEDOUT and
     * return -1. (select() or SO_RCVTIMEO work too, but you must convert the timeout.)
     * Then ONE recvfrom(fd, reply, cap, 0, &src, &srclen) with srclen = sizeof src set
     * BEFORE the call (it is in-out: left uninitialised, the sender shows up as 0.0.0.0:0
     * or the call fails with EINVAL). A reply longer than cap is cut to cap by recvfrom.
     * Copy src to *from unless from is NULL; it is in network byte order already.
     * Do not connect() the socket and do not compare the sender with dst: the reply may
     * come from another port. close() the socket on every path; return the reply length. */
    (void)dst;
    (void)msg;
    (void)len;
    (void)reply;
    (void)cap;
    (void)from;
    (void)timeout_ms;
    errno = ENOSYS;
    return -1;
}

ssize_t udp_broadcast(const char *bcast_ip, uint16_t port, const void *msg, size_t len)
{
    /* TODO(lab01): build the destination with your udp_make_addr() (bcast_ip may be
     * "255.255.255.255", a subnet broadcast like "198.51.100.255", or a name); socket();
     * setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) with int one = 1 (without
     * it, sendto() to a broadcast address fails with EACCES); ONE sendto() of exactly len
     * bytes; close(); return the bytes sent, or -1 with errno kept. */
    (void)bcast_ip;
    (void)port;
    (void)msg;
    (void)len;
    errno = ENOSYS;
    return -1;
}
