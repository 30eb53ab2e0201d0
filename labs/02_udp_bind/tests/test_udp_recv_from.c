/* test_udp_recv_from.c - one datagram, whole, with its sender; never silently cut; EINTR.
 *
 * The receiving socket is the test's own (rx), bound before the call, and the sender is a
 * peer with a known port, so every byte and every address can be checked exactly.
 */
#include "helpers.h"
#include "udp_bind.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct udp_peer rx = {.fd = -1}, tx = {.fd = -1};
static struct worker worker;
static unsigned char *big_out, *big_in;

static void open_peers(void)
{
    cr_assert(udp_peer_open(&rx, "127.0.0.1") == 0, "test set-up: udp_peer_open (rx) failed");
    cr_assert(udp_peer_open(&tx, "127.0.0.1") == 0, "test set-up: udp_peer_open (tx) failed");
    /* Room for the largest datagram at once, whatever the default buffer size. */
    int size = 4 * 65536;
    setsockopt(rx.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

static void close_peers(void)
{
    worker_cleanup(&worker);
    udp_peer_close(&rx);
    udp_peer_close(&tx);
    free(big_out);
    free(big_in);
}

/* tx sends len bytes to rx, and they are waiting in rx's queue when this returns. */
static void send_to_rx(const void *data, size_t len)
{
    ssize_t n = sendto(tx.fd, data, len, 0, (struct sockaddr *)&rx.addr, sizeof rx.addr);
    cr_assert(n == (ssize_t)len, "test set-up: sendto of %zu bytes failed", len);
    struct pollfd pfd = {.fd = rx.fd, .events = POLLIN};
    cr_assert(poll(&pfd, 1, ARRIVAL_MS) == 1, "test set-up: the datagram did not arrive");
}

/* A payload of len bytes that is different at every offset: 0..250, 0..250, ... */
static unsigned char *pattern(size_t len)
{
    unsigned char *p = malloc(len ? len : 1);
    cr_assert(p != NULL, "test set-up: malloc failed");
    for (size_t i = 0; i < len; i++)
        p[i] = (unsigned char)(i % 251);
    return p;
}

/* Send len bytes, receive with cap bytes of room, and check they came whole. */
static void check_arrives_whole(size_t len, size_t cap)
{
    big_out = pattern(len);
    big_in = calloc(1, cap);
    cr_assert(big_in != NULL, "test set-up: calloc failed");
    send_to_rx(big_out, len);

    ssize_t n = udp_recv_from(rx.fd, big_in, cap, NULL);
    cr_assert(n == (ssize_t)len,
              "udp_recv_from with cap %zu should have returned all %zu bytes of the datagram, "
              "but instead it returned %zd (errno: %s)", cap, len, n,
              n < 0 ? errno_text(errno) : "none");
    size_t i = 0;
    while (i < len && big_in[i] == big_out[i])
        i++;
    cr_assert(i == len, "the %zu bytes udp_recv_from returned should have matched those sent, "
              "but instead byte %zu was 0x%02x, not 0x%02x", len, i, big_in[i], big_out[i]);
}

Test(udp_recv_from, returns_the_exact_bytes_and_the_sender, .init = open_peers,
     .fini = close_peers, .timeout = TEST_TIMEOUT_S)
{
    static const char msg[] = "hi\0there\n\xff"; /* NUL, newline, a high byte */
    size_t len = sizeof msg - 1;
    char buf[64], shown[DESCRIBE_LEN];
    struct sockaddr_in from;
    memset(&from, 0, sizeof from);
    send_to_rx(msg, len);

    ssize_t n = udp_recv_from(rx.fd, buf, sizeof buf, &from);
    cr_assert(n == (ssize_t)len && memcmp(buf, msg, len) == 0,
              "udp_recv_from should have returned %s, but instead it returned %zd %s (errno: %s)",
              describe_bytes(msg, len, shown), n,
              n < 0 ? "" : describe_bytes(buf, (size_t)n, (char[DESCRIBE_LEN]){0}),
              n < 0 ? errno_text(errno) : "none");
    cr_assert(from.sin_family == AF_INET && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
              from.sin_port == htons(tx.port),
              "udp_recv_from should have filled from with the sender 127.0.0.1:%u, but instead "
              "it held family %d address 0x%08x port %u (addrlen not initialised?)",
              (unsigned)tx.port, from.sin_family, (unsigned)ntohl(from.sin_addr.s_addr),
              (unsigned)ntohs(from.sin_port));
}

Test(udp_recv_from, returns_0_for_an_empty_datagram, .init = open_peers, .fini = close_peers,
     .timeout = TEST_TIMEOUT_S)
{
    char buf[16];
    send_to_rx("", 0);
    ssize_t n = udp_recv_from(rx.fd, buf, sizeof buf, NULL);
    cr_assert(n == 0, "udp_recv_from of an empty datagram should have returned 0 (a real, "
              "empty datagram), but instead it returned %zd (errno: %s)", n,
              n < 0 ? errno_text(errno) : "none");
}

Test(udp_recv_from, receives_a_1472_byte_datagram_whole, .init = open_peers,
     .fini = close_peers, .timeout = TEST_TIMEOUT_S)
{
    check_arrives_whole(1472, 65535); /* the most that fits one Ethernet frame */
}

Test(udp_recv_from, receives_a_65507_byte_datagram_whole, .init = open_peers,
     .fini = close_peers, .timeout = TEST_TIMEOUT_S)
{
    check_arrives_whole(UDP_MAX_PAYLOAD, UDP_MAX_PAYLOAD); /* the largest IPv4 can carry */
}

Test(udp_recv_from, fails_with_emsgsize_for_a_datagram_longer_than_cap, .init = open_peers,
     .fini = close_peers, .timeout = TEST_TIMEOUT_S)
{
    char buf[8];
    send_to_rx("12345678", 8);
    ssize_t n = udp_recv_from(rx.fd, buf, sizeof buf, NULL);
    cr_assert(n == 8, "udp_recv_from with cap 8 should have returned an 8-byte datagram whole, "
              "but instead it returned %zd (errno: %s)", n, n < 0 ? errno_text(errno) : "none");

    send_to_rx("123456789", 9);
    n = udp_recv_from(rx.fd, buf, sizeof buf, NULL);
    int err = errno;
    cr_assert(n == -1 && err == EMSGSIZE,
              "udp_recv_from with cap 8 should have returned -1 with errno EMSGSIZE for a "
              "9-byte datagram, but instead it returned %zd (errno: %s): a cut datagram must "
              "not pass for a whole one (check MSG_TRUNC in msg_flags)", n,
              n < 0 ? errno_text(err) : "none");
}

Test(udp_recv_from, consumes_the_datagram_that_was_too_long, .init = open_peers,
     .fini = close_peers, .timeout = TEST_TIMEOUT_S)
{
    char buf[8], shown[DESCRIBE_LEN];
    send_to_rx("this one is far too long", 24);
    send_to_rx("next", 4);
    ssize_t n = udp_recv_from(rx.fd, buf, sizeof buf, NULL);
    int err = errno;
    cr_assert(n == -1 && err == EMSGSIZE,
              "udp_recv_from with cap 8 should have returned -1 with errno EMSGSIZE for a "
              "24-byte datagram, but instead it returned %zd (errno: %s)", n,
              n < 0 ? errno_text(err) : "none");

    n = udp_recv_from(rx.fd, buf, sizeof buf, NULL);
    cr_assert(n == 4 && memcmp(buf, "next", 4) == 0,
              "after the EMSGSIZE the next udp_recv_from should have returned the next "
              "datagram, 'next', but instead it returned %zd %s (was the long one left in the "
              "queue, MSG_PEEK?)", n, n < 0 ? errno_text(errno) : describe_bytes(buf, (size_t)n,
              shown));
}

Test(udp_recv_from, names_the_sender_of_a_datagram_that_was_too_long, .init = open_peers,
     .fini = close_peers, .timeout = TEST_TIMEOUT_S)
{
    char buf[4];
    struct sockaddr_in from;
    memset(&from, 0, sizeof from);
    send_to_rx("too long", 8);
    ssize_t n = udp_recv_from(rx.fd, buf, sizeof buf, &from);
    int err = errno;
    cr_assert(n == -1 && err == EMSGSIZE,
              "udp_recv_from with cap 4 should have returned -1 with errno EMSGSIZE for an "
              "8-byte datagram, but instead it returned %zd (errno: %s)", n,
              n < 0 ? errno_text(err) : "none");
    cr_assert(from.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && from.sin_port == htons(tx.port),
              "on EMSGSIZE udp_recv_from should still have filled from with the sender "
              "127.0.0.1:%u (udp_recv prints it), but instead it held address 0x%08x port %u",
              (unsigned)tx.port, (unsigned)ntohl(from.sin_addr.s_addr),
              (unsigned)ntohs(from.sin_port));
}

static long blocked_recv(void *arg)
{
    (void)arg;
    char buf[16];
    return (long)udp_recv_from(rx.fd, buf, sizeof buf, NULL);
}

Test(udp_recv_from, fails_with_eintr_when_a_signal_interrupts_it, .init = open_peers,
     .fini = close_peers, .timeout = TEST_TIMEOUT_S)
{
    char res[160];
    for (int attempt = 1;; attempt++) {
        interrupt_setup();
        worker_start(&worker, blocked_recv, NULL); /* nothing will ever arrive on rx */
        enum interrupt_outcome outcome = interrupt_call(ARRIVAL_MS);
        int returned = worker_wait(&worker, outcome == RETURNED_FIRST ? ARRIVAL_MS : 0);
        if (interrupt_attempt(outcome, attempt, "udp_recv_from(fd, buf, 16, NULL), with no "
                              "datagram to receive,", returned ? describe_result(&worker, res,
                              sizeof res) : NULL))
            break;
        worker_cleanup(&worker);
    }
    int done = worker_wait(&worker, ARRIVAL_MS);
    cr_assert(done, "udp_recv_from was still blocked %d ms after a signal interrupted its "
              "recvfrom: it should have returned -1 with errno EINTR, not retried", ARRIVAL_MS);
    cr_assert(worker.result == -1 && worker.err == EINTR,
              "udp_recv_from interrupted by a signal should have returned -1 with errno EINTR, "
              "but instead it %s", describe_result(&worker, res, sizeof res));
}
