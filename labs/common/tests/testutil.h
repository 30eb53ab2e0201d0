/* testutil.h - helpers the labs' Criterion tests share: in-process peers and readable bytes.
 *
 * Criterion writes its JSON report without escaping, so every message built here is plain
 * ASCII: bytes outside 0x20..0x7e, and the quote and backslash, are shown as \xNN. That
 * backslash is not valid JSON either; the grader repairs the report before reading it.
 */
#ifndef SOCKLAB_TESTUTIL_H
#define SOCKLAB_TESTUTIL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Room for describe_bytes of a short payload; longer ones are cut with "...". */
#define DESCRIBE_LEN 160

/* 'text' with unprintable bytes as \xNN, cut after about 32 bytes, and its length. */
const char *describe_bytes(const void *data, size_t len, char buf[DESCRIBE_LEN]);

/* A UDP socket of the test's own, bound before the code under test runs. */
struct udp_peer {
    int fd;
    uint16_t port;            /* host order; its two bytes always differ (see below) */
    struct sockaddr_in addr;  /* where to send to reach it */
};

/* Bind a UDP socket to ip:0 ("0.0.0.0" for any). The port is re-drawn until its two bytes
 * differ, so a missing htons/ntohs can never hide behind a symmetric port. 0 or -1. */
int udp_peer_open(struct udp_peer *peer, const char *ip);

/* Wait up to timeout_ms for one datagram; its full length (MSG_TRUNC: it may exceed cap),
 * or -1 (errno ETIMEDOUT when none came). */
ssize_t udp_peer_recv(struct udp_peer *peer, void *buf, size_t cap,
                      struct sockaddr_in *from, int timeout_ms);

void udp_peer_close(struct udp_peer *peer);

/* 127.0.0.1:port (host order) as a sockaddr_in. */
struct sockaddr_in loopback_addr(uint16_t port);

/* "ENOSYS (38: Function not implemented)" and the like, for assertion messages;
 * "0 (errno was not set)" for 0. */
const char *errno_text(int err);

/* The fd number the next socket() would get: a call that leaks a descriptor moves it. */
int lowest_free_fd(void);

/* Milliseconds on a monotonic clock, for measuring how long a call waited. */
long long monotonic_ms(void);

#endif
