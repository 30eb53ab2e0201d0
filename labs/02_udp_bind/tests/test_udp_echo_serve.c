/* test_udp_echo_serve.c - the echo server, run on a thread, against client peers of the test.
 *
 * The server socket is the test's own (bound before the server starts), so these tests do
 * not depend on udp_bind. Each client is a peer with its own port.
 */
#include "helpers.h"
#include "udp_bind.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct udp_peer srv = {.fd = -1}, alice = {.fd = -1}, bob = {.fd = -1};
static struct worker worker;
static volatile sig_atomic_t stop;
static int upper;
static unsigned char *big_out, *big_in;

static long run_server(void *arg)
{
    (void)arg;
    return udp_echo_serve(srv.fd, upper, &stop);
}

static void start_server(int want_upper)
{
    cr_assert(udp_peer_open(&srv, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    cr_assert(udp_peer_open(&alice, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    cr_assert(udp_peer_open(&bob, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    int size = 4 * 65536; /* room for the largest datagram, whatever the defaults */
    setsockopt(srv.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    setsockopt(alice.fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    interrupt_setup();
    upper = want_upper;
    stop = 0;
    worker_start(&worker, run_server, NULL);
}

static void start_plain(void)
{
    start_server(0);
}

static void start_upper(void)
{
    start_server(1);
}

static void stop_server(void)
{
    stop = 1;
    if (worker.started)
        worker_end(&worker, ARRIVAL_MS); /* bounded: a server that ignores it is left */
    worker_cleanup(&worker);
    udp_peer_close(&srv);
    udp_peer_close(&alice);
    udp_peer_close(&bob);
    free(big_out);
    free(big_in);
    big_out = big_in = NULL;
}

/* client sends len bytes to the server. */
static void send_to_server(struct udp_peer *client, const void *msg, size_t len)
{
    ssize_t n = sendto(client->fd, msg, len, 0, (struct sockaddr *)&srv.addr, sizeof srv.addr);
    cr_assert(n == (ssize_t)len, "test set-up: sendto of %zu bytes failed", len);
}

/* The reply client gets from the server (its length), or a failed assertion. */
static ssize_t reply_to(struct udp_peer *client, const char *who, void *reply, size_t cap,
                        const char *sent)
{
    struct sockaddr_in from;
    char res[160];
    ssize_t n = peer_recv_or_done(client, &worker, reply, cap, &from, ARRIVAL_MS);
    if (n < 0 && errno == ECHILD)
        cr_assert_fail("udp_echo_serve should have echoed %s back to %s, but instead it %s "
                       "without replying", sent, who, describe_result(&worker, res, sizeof res));
    cr_assert(n >= 0, "udp_echo_serve should have echoed %s back to %s, but instead %s got no "
              "reply within %d ms (replies go to the address recvfrom gave)", sent, who, who,
              ARRIVAL_MS);
    cr_assert(from.sin_port == htons(srv.port),
              "the echo to %s should have come from the server port %u, but instead it came "
              "from port %u", who, (unsigned)srv.port, (unsigned)ntohs(from.sin_port));
    return n;
}

/* One message out, its echo back, checked byte for byte against expected. */
static void check_echo(struct udp_peer *client, const char *who, const void *msg, size_t len,
                       const void *expected)
{
    char reply[512], sent[DESCRIBE_LEN], want[DESCRIBE_LEN], got[DESCRIBE_LEN];
    describe_bytes(msg, len, sent);
    send_to_server(client, msg, len);
    ssize_t n = reply_to(client, who, reply, sizeof reply, sent);
    cr_assert(n == (ssize_t)len && memcmp(reply, expected, len) == 0,
              "the echo of %s should have been %s, but instead it was %s", sent,
              describe_bytes(expected, len, want),
              describe_bytes(reply, (size_t)n < sizeof reply ? (size_t)n : sizeof reply, got));
}

Test(udp_echo_serve, echoes_each_datagram_back_to_its_own_sender, .init = start_plain,
     .fini = stop_server, .timeout = TEST_TIMEOUT_S)
{
    char reply[64], shown[DESCRIBE_LEN];
    send_to_server(&alice, "from alice", 10);
    send_to_server(&bob, "from bob", 8);

    ssize_t n = reply_to(&alice, "the first client", reply, sizeof reply, "'from alice'");
    cr_assert(n == 10 && memcmp(reply, "from alice", 10) == 0,
              "the first client should have got its own 'from alice' back, but instead got %s",
              describe_bytes(reply, (size_t)n, shown));
    n = reply_to(&bob, "the second client", reply, sizeof reply, "'from bob'");
    cr_assert(n == 8 && memcmp(reply, "from bob", 8) == 0,
              "the second client should have got its own 'from bob' back, but instead got %s",
              describe_bytes(reply, (size_t)n, shown));
}

Test(udp_echo_serve, echoes_binary_bytes_with_nuls_exactly, .init = start_plain,
     .fini = stop_server, .timeout = TEST_TIMEOUT_S)
{
    unsigned char all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (unsigned char)(i + 1); /* 0x01 .. 0xff, then 0x00 last */
    static const char nuls[] = "a\0b\0\0c\0"; /* NULs inside and at the end */
    check_echo(&alice, "the client", nuls, sizeof nuls - 1, nuls);
    check_echo(&alice, "the client", all, sizeof all, all);
}

Test(udp_echo_serve, echoes_an_empty_datagram_and_keeps_serving, .init = start_plain,
     .fini = stop_server, .timeout = TEST_TIMEOUT_S)
{
    check_echo(&alice, "the client", "", 0, "");
    check_echo(&alice, "the client", "x", 1, "x");
}

Test(udp_echo_serve, echoes_a_65507_byte_datagram_whole, .init = start_plain,
     .fini = stop_server, .timeout = TEST_TIMEOUT_S)
{
    size_t len = UDP_MAX_PAYLOAD;
    big_out = malloc(len);
    big_in = malloc(len + 1);
    cr_assert(big_out != NULL && big_in != NULL, "test set-up: malloc failed");
    for (size_t i = 0; i < len; i++)
        big_out[i] = (unsigned char)(i % 251);
    send_to_server(&alice, big_out, len);
    ssize_t n = reply_to(&alice, "the client", big_in, len + 1, "a 65507-byte datagram");
    cr_assert(n == (ssize_t)len && memcmp(big_in, big_out, len) == 0,
              "the echo of a 65507-byte datagram should have been the same 65507 bytes, but "
              "instead it was %zd bytes%s (a buffer too small, or strlen instead of the length "
              "received?)", n,
              n == (ssize_t)len ? " with different content" : "");
}

Test(udp_echo_serve, uppercases_only_ascii_letters_when_upper_is_set, .init = start_upper,
     .fini = stop_server, .timeout = TEST_TIMEOUT_S)
{
    unsigned char all[256], expected[256];
    for (int i = 0; i < 256; i++) {
        all[i] = (unsigned char)i;
        expected[i] = (unsigned char)(i >= 'a' && i <= 'z' ? i - 'a' + 'A' : i);
    }
    static const char text[] = "Hello, World! abc-xyz 123";
    check_echo(&alice, "the client", text, sizeof text - 1, "HELLO, WORLD! ABC-XYZ 123");
    /* Every byte value once: only a-z change; 0x80..0xff (UTF-8, Latin-1) stay. */
    check_echo(&alice, "the client", all, sizeof all, expected);
}

Test(udp_echo_serve, leaves_letters_alone_when_upper_is_not_set, .init = start_plain,
     .fini = stop_server, .timeout = TEST_TIMEOUT_S)
{
    check_echo(&alice, "the client", "Hello, world", 12, "Hello, world");
}

/* stop_server then start_plain: the set-up of a test made again, for another attempt. */
static void restart_plain(void)
{
    stop_server();
    start_plain();
}

Test(udp_echo_serve, returns_0_when_stop_is_set_and_a_signal_arrives, .init = start_plain,
     .fini = stop_server, .timeout = TEST_TIMEOUT_S)
{
    char res[160];
    for (int attempt = 1;; attempt++) {
        check_echo(&alice, "the client", "ping", 4, "ping"); /* it is serving */
        /* Blocked in recvfrom first, then stop: only the signal can get it out now. */
        int blocked = wait_call_blocked(ARRIVAL_MS);
        stop = 1;
        enum interrupt_outcome outcome = blocked > 0 ? interrupt_call(ARRIVAL_MS)
                                         : blocked == 0 ? RETURNED_FIRST : NEVER_BLOCKED;
        int returned = worker_wait(&worker, outcome == RETURNED_FIRST ? ARRIVAL_MS : 0);
        if (interrupt_attempt(outcome, attempt, "udp_echo_serve, with nothing to echo,",
                              returned ? describe_result(&worker, res, sizeof res) : NULL))
            break;
        restart_plain();
    }
    int done = worker_wait(&worker, ARRIVAL_MS);
    cr_assert(done, "udp_echo_serve should have returned once stop was set and a signal "
              "interrupted recvfrom, but instead it was still running %d ms later", ARRIVAL_MS);
    cr_assert(worker.result == 0, "udp_echo_serve stopped by the stop flag should have "
              "returned 0, but instead it %s", describe_result(&worker, res, sizeof res));
}

Test(udp_echo_serve, keeps_serving_after_a_signal_when_stop_is_not_set, .init = start_plain,
     .fini = stop_server, .timeout = TEST_TIMEOUT_S)
{
    char res[160];
    for (int attempt = 1;; attempt++) {
        check_echo(&alice, "the client", "one", 3, "one");
        enum interrupt_outcome outcome = interrupt_call(ARRIVAL_MS);
        int returned = worker_wait(&worker, outcome == RETURNED_FIRST ? ARRIVAL_MS : 0);
        if (interrupt_attempt(outcome, attempt, "udp_echo_serve, with nothing to echo and stop "
                              "not set,", returned ? describe_result(&worker, res, sizeof res)
                              : NULL))
            break;
        restart_plain();
    }
    cr_assert(!worker_wait(&worker, QUIET_MS),
              "udp_echo_serve should have gone on after a signal interrupted it while stop was "
              "not set, but instead it %s", describe_result(&worker, res, sizeof res));
    check_echo(&alice, "the client", "two", 3, "two");
}
