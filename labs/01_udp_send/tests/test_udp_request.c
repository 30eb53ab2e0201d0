/* test_udp_request.c - udp_request: send, then wait (with a timeout) for one reply from
 * anyone. A responder thread plays the server while udp_request blocks. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "cli.h"
#include "helpers.h"
#include "udp_send.h"

/* Long enough for any reply here; the tests look at the bytes after a reply, too. */
#define REPLY_ROOM 128
#define FILL 0xa5 /* what the reply buffer holds before the call */

/* One udp_request call, and what came out of it. */
struct ask {
    ssize_t result;
    int err;
    unsigned char reply[REPLY_ROOM];
    struct sockaddr_in from;
    long long elapsed_ms;
};

static void ask(struct ask *a, struct udp_peer *to, const char *msg, size_t cap,
                int use_from, int timeout_ms)
{
    memset(a->reply, FILL, sizeof a->reply);
    memset(&a->from, 0, sizeof a->from);
    long long start = monotonic_ms();
    errno = 0;
    a->result = udp_request(&to->addr, msg, strlen(msg), a->reply, cap,
                            use_from ? &a->from : NULL, timeout_ms);
    a->err = errno;
    a->elapsed_ms = monotonic_ms() - start;
}

/* Fail the test unless the call returned a reply (any length). */
static void expect_a_reply(const struct ask *a, const char *call, const struct responder *r)
{
    if (a->result >= 0)
        return;
    cr_assert_fail("%s should have returned the reply, but instead it returned %zd with errno "
                   "%s (%s)", call, a->result, errno_text(a->err), responder_story(r));
}

static void expect_reply_bytes(const struct ask *a, const char *call, const void *want,
                               size_t len)
{
    char want_text[DESCRIBE_LEN], got_text[DESCRIBE_LEN];

    describe_bytes(want, len, want_text);
    describe_bytes(a->reply, a->result < 0 ? 0 : (size_t)a->result, got_text);
    cr_assert(a->result == (ssize_t)len && memcmp(a->reply, want, len) == 0,
              "%s should have returned the reply %s, but instead it returned %s", call,
              want_text, got_text);
}

Test(udp_request, sends_the_request_bytes_exactly, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer, 'ping', 4, reply, 128, &from, 3000)";
    struct udp_peer peer;
    struct ask a;
    char want[DESCRIBE_LEN], got[DESCRIBE_LEN];

    open_peer(&peer, "127.0.0.1");
    struct responder r = {.listen = &peer, .answer = &peer, .reply = "pong", .reply_len = 4};
    responder_start(&r);
    ask(&a, &peer, "ping", REPLY_ROOM, 1, 3000);
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    describe_bytes("ping", 4, want);
    describe_bytes(r.request.data, r.request.len, got);
    cr_assert(r.request.len == 4 && memcmp(r.request.data, "ping", 4) == 0,
              "after %s, the peer should have received %s, but instead it received %s", call,
              want, got);
    udp_peer_close(&peer);
}

Test(udp_request, returns_the_reply_and_its_length, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer, 'ping', 4, reply, 128, &from, 3000)";
    struct udp_peer peer;
    struct ask a;

    open_peer(&peer, "127.0.0.1");
    struct responder r = {.listen = &peer, .answer = &peer, .reply = "pong!", .reply_len = 5};
    responder_start(&r);
    ask(&a, &peer, "ping", REPLY_ROOM, 1, 3000);
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    expect_reply_bytes(&a, call, "pong!", 5);
    /* A reply is bytes with a length, not a string: nothing is written after them. */
    cr_assert(a.reply[5] == FILL, "after %s, reply[5] (just past the 5-byte reply) should have "
              "been left alone, but instead it was changed to 0x%02x", call, a.reply[5]);
    udp_peer_close(&peer);
}

Test(udp_request, accepts_a_reply_from_another_port, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer A, 'ping', 4, reply, 128, &from, 3000) answered "
                       "from peer B";
    struct udp_peer a_peer, b_peer;
    struct ask a;

    open_peer(&a_peer, "127.0.0.1");
    open_peer(&b_peer, "127.0.0.1");
    /* A server may answer from another socket. A connect()ed UDP socket drops that reply,
     * and so does code that checks the sender against the destination. */
    struct responder r = {.listen = &a_peer, .answer = &b_peer, .reply = "from B",
                          .reply_len = 6};
    responder_start(&r);
    ask(&a, &a_peer, "ping", REPLY_ROOM, 1, 3000);
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    expect_reply_bytes(&a, call, "from B", 6);
    udp_peer_close(&a_peer);
    udp_peer_close(&b_peer);
}

Test(udp_request, reports_the_true_sender_in_from, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer A, 'ping', 4, reply, 128, &from, 3000) answered "
                       "from peer B";
    struct udp_peer a_peer, b_peer;
    struct ask a;
    char want[CLI_ADDR_LEN], got[CLI_ADDR_LEN];

    open_peer(&a_peer, "127.0.0.1");
    open_peer(&b_peer, "127.0.0.1");
    struct responder r = {.listen = &a_peer, .answer = &b_peer, .reply = "from B",
                          .reply_len = 6};
    responder_start(&r);
    ask(&a, &a_peer, "ping", REPLY_ROOM, 1, 3000);
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    /* recvfrom fills the sender only if its addrlen argument starts as sizeof the address. */
    cli_addr(&b_peer.addr, want);
    cli_addr(&a.from, got);
    cr_assert(a.from.sin_family == AF_INET && a.from.sin_port == htons(b_peer.port) &&
              a.from.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
              "after %s, *from should have been peer B, family AF_INET, %s (the port in network "
              "byte order, as recvfrom gives it), but instead it was family %d, %s%s", call,
              want, a.from.sin_family, got,
              a.from.sin_port == a_peer.addr.sin_port ? " (peer A, where the request went)" : "");
    udp_peer_close(&a_peer);
    udp_peer_close(&b_peer);
}

Test(udp_request, cuts_a_reply_longer_than_cap_to_cap, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer, 'ping', 4, reply, 10, &from, 3000) with a 26-byte "
                       "reply";
    const char *alphabet = "abcdefghijklmnopqrstuvwxyz";
    struct udp_peer peer;
    struct ask a;

    open_peer(&peer, "127.0.0.1");
    struct responder r = {.listen = &peer, .answer = &peer, .reply = alphabet, .reply_len = 26};
    responder_start(&r);
    ask(&a, &peer, "ping", 10, 1, 3000);
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    expect_reply_bytes(&a, call, alphabet, 10);
    cr_assert(a.reply[10] == FILL, "after %s, reply[10] (past cap) should have been left alone, "
              "but instead it was changed to 0x%02x: recvfrom must get cap, not more", call,
              a.reply[10]);
    udp_peer_close(&peer);
}

Test(udp_request, accepts_null_for_from, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer, 'ping', 4, reply, 128, NULL, 3000)";
    struct udp_peer peer;
    struct ask a;

    open_peer(&peer, "127.0.0.1");
    struct responder r = {.listen = &peer, .answer = &peer, .reply = "pong", .reply_len = 4};
    responder_start(&r);
    ask(&a, &peer, "ping", REPLY_ROOM, 0, 3000);
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    expect_reply_bytes(&a, call, "pong", 4);
    udp_peer_close(&peer);
}

Test(udp_request, returns_0_for_an_empty_reply, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer, 'ping', 4, reply, 128, &from, 3000) with an empty "
                       "reply";
    struct udp_peer peer;
    struct ask a;

    open_peer(&peer, "127.0.0.1");
    /* An empty datagram is a reply like any other, not a failure or a timeout. */
    struct responder r = {.listen = &peer, .answer = &peer, .reply = "", .reply_len = 0};
    responder_start(&r);
    ask(&a, &peer, "ping", REPLY_ROOM, 1, 3000);
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    expect_returned(call, a.result, 0, a.err);
    udp_peer_close(&peer);
}

Test(udp_request, waits_for_a_reply_that_comes_within_the_timeout,
     .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer, 'ping', 4, reply, 128, &from, 3000), the peer "
                       "answering after 300 ms";
    struct udp_peer peer;
    struct ask a;

    open_peer(&peer, "127.0.0.1");
    /* Catches a timeout converted wrongly (3000 ms taken as 3 ms, or tv_usec over 999999). */
    struct responder r = {.listen = &peer, .answer = &peer, .reply = "late", .reply_len = 4,
                          .delay_ms = 300};
    responder_start(&r);
    ask(&a, &peer, "ping", REPLY_ROOM, 1, 3000);
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    expect_reply_bytes(&a, call, "late", 4);
    udp_peer_close(&peer);
}

Test(udp_request, waits_without_limit_when_timeout_is_negative, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer, 'ping', 4, reply, 128, &from, -1), the peer "
                       "answering after 500 ms";
    struct udp_peer peer;
    struct ask a;

    open_peer(&peer, "127.0.0.1");
    struct responder r = {.listen = &peer, .answer = &peer, .reply = "late", .reply_len = 4,
                          .delay_ms = 500};
    responder_start(&r);
    ask(&a, &peer, "ping", REPLY_ROOM, 1, -1);
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    expect_reply_bytes(&a, call, "late", 4);
    udp_peer_close(&peer);
}

Test(udp_request, times_out_with_etimedout_when_no_reply_comes, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(silent peer, 'ping', 4, reply, 128, &from, 300)";
    struct udp_peer peer;
    struct ask a;

    open_peer(&peer, "127.0.0.1");
    ask(&a, &peer, "ping", REPLY_ROOM, 1, 300);
    expect_failed_with(call, a.result, a.err, ETIMEDOUT);
    cr_assert(a.elapsed_ms >= 250 && a.elapsed_ms < 3000, "%s should have waited about 300 ms "
              "before giving up, but instead it returned after %lld ms", call, a.elapsed_ms);
    /* The request must really have gone out: there was something to wait for. */
    expect_datagram(&peer, "after udp_request(silent peer, 'ping', 4, ..., 300)", "ping", 4,
                    NULL);
    udp_peer_close(&peer);
}

Test(udp_request, only_looks_when_timeout_is_0, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(silent peer, 'ping', 4, reply, 128, &from, 0)";
    struct udp_peer peer;
    struct ask a;

    open_peer(&peer, "127.0.0.1");
    /* With SO_RCVTIMEO, 0 means wait forever: this test would hang until Criterion kills it. */
    ask(&a, &peer, "ping", REPLY_ROOM, 1, 0);
    expect_failed_with(call, a.result, a.err, ETIMEDOUT);
    cr_assert(a.elapsed_ms < 1000, "%s should have returned at once, but instead it took %lld "
              "ms", call, a.elapsed_ms);
    expect_datagram(&peer, "after udp_request(silent peer, 'ping', 4, ..., 0)", "ping", 4,
                    NULL);
    udp_peer_close(&peer);
}

Test(udp_request, closes_its_socket, .timeout = TEST_TIMEOUT_S)
{
    const char *call = "udp_request(peer, 'ping', 4, reply, 128, &from, 3000)";
    struct udp_peer peer;
    struct ask a;

    open_peer(&peer, "127.0.0.1");
    struct responder r = {.listen = &peer, .answer = &peer, .reply = "pong", .reply_len = 4};
    responder_start(&r);
    int before = lowest_free_fd();
    ask(&a, &peer, "ping", REPLY_ROOM, 1, 3000);
    int after = lowest_free_fd();
    responder_finish(&r);
    expect_a_reply(&a, call, &r);
    cr_assert(after == before, "after udp_request returned, its socket should have been "
              "closed (fd %d free again), but instead fd %d was still open: close() it on "
              "every path", before, before);
    udp_peer_close(&peer);
}
