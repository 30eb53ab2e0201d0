/* test_udp_send_lines.c - udp_send_lines: one socket, one datagram per line of input. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "udp_send.h"

#define CTX_LEN 256

/* One run of udp_send_lines on a given input, and words to describe it in messages. */
struct run {
    long result;
    int err;
    char call[CTX_LEN];  /* "udp_send_lines(peer, input 'a\x0a' (2 bytes))" */
    char after[CTX_LEN + 8]; /* "after " and the call */
};

static void run_send_lines(struct run *r, struct udp_peer *peer, const void *text, size_t len)
{
    char input[DESCRIBE_LEN];
    FILE *in = input_of(text, len);

    errno = 0;
    r->result = udp_send_lines(&peer->addr, in);
    r->err = errno;
    fclose(in);
    snprintf(r->call, sizeof r->call, "udp_send_lines(peer, input %s)",
             describe_bytes(text, len, input));
    snprintf(r->after, sizeof r->after, "after %s", r->call);
}

/* The same, for a NUL-terminated text; fails the test unless the call succeeded. */
static void send_text(struct run *r, struct udp_peer *peer, const char *text)
{
    run_send_lines(r, peer, text, strlen(text));
    expect_succeeded(r->call, r->result, r->err);
}

Test(udp_send_lines, sends_one_datagram_per_line_without_the_newline, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    send_text(&r, &peer, "one\ntwo\nthree\n");
    expect_datagram(&peer, r.after, "one", 3, NULL);
    expect_datagram(&peer, r.after, "two", 3, NULL);
    expect_datagram(&peer, r.after, "three", 5, NULL);
    expect_nothing_more(&peer, r.after);
    udp_peer_close(&peer);
}

Test(udp_send_lines, returns_the_number_of_datagrams_sent, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    run_send_lines(&r, &peer, "one\ntwo\nthree\n", 14);
    expect_returned(r.call, r.result, 3, r.err);
    udp_peer_close(&peer);
}

Test(udp_send_lines, sends_all_lines_from_one_source_port, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;
    struct datagram first, second, third;

    open_peer(&peer, "127.0.0.1");
    send_text(&r, &peer, "one\ntwo\nthree\n");
    expect_datagram(&peer, r.after, "one", 3, &first);
    expect_datagram(&peer, r.after, "two", 3, &second);
    expect_datagram(&peer, r.after, "three", 5, &third);
    /* A new socket per line gets a new ephemeral port each time. */
    cr_assert(second.from.sin_port == first.from.sin_port &&
              third.from.sin_port == first.from.sin_port,
              "%s, all three datagrams should have come from one source port (one socket for "
              "all lines), but instead they came from ports %u, %u and %u", r.after,
              (unsigned)ntohs(first.from.sin_port), (unsigned)ntohs(second.from.sin_port),
              (unsigned)ntohs(third.from.sin_port));
    udp_peer_close(&peer);
}

Test(udp_send_lines, strips_a_carriage_return_before_the_newline, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    send_text(&r, &peer, "one\r\ntwo\r\n");
    expect_datagram(&peer, r.after, "one", 3, NULL);
    expect_datagram(&peer, r.after, "two", 3, NULL);
    udp_peer_close(&peer);
}

Test(udp_send_lines, keeps_a_carriage_return_inside_a_line, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    /* Only a "\r" right before the "\n" is a line ending. */
    send_text(&r, &peer, "a\rb\n");
    expect_datagram(&peer, r.after, "a\rb", 3, NULL);
    udp_peer_close(&peer);
}

Test(udp_send_lines, sends_an_empty_line_as_an_empty_datagram, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    send_text(&r, &peer, "one\n\ntwo\n");
    expect_datagram(&peer, r.after, "one", 3, NULL);
    expect_datagram(&peer, r.after, "", 0, NULL);
    expect_datagram(&peer, r.after, "two", 3, NULL);
    udp_peer_close(&peer);
}

Test(udp_send_lines, ends_at_the_line_stop_without_sending_it, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    send_text(&r, &peer, "one\nstop\ntwo\n");
    expect_datagram(&peer, r.after, "one", 3, NULL);
    /* Neither 'stop' nor the line after it may come. */
    expect_nothing_more(&peer, r.after);
    udp_peer_close(&peer);
}

Test(udp_send_lines, does_not_count_the_stop_line, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    run_send_lines(&r, &peer, "one\nstop\ntwo\n", 13);
    expect_returned(r.call, r.result, 1, r.err);
    udp_peer_close(&peer);
}

Test(udp_send_lines, recognises_stop_before_a_crlf, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    send_text(&r, &peer, "one\r\nstop\r\ntwo\r\n");
    expect_datagram(&peer, r.after, "one", 3, NULL);
    expect_nothing_more(&peer, r.after);
    udp_peer_close(&peer);
}

Test(udp_send_lines, sends_lines_that_are_not_exactly_stop, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    /* strncmp(line, 'stop', 4) would end the loop at the first of these. */
    send_text(&r, &peer, "stopped\nnonstop\nSTOP\n");
    expect_datagram(&peer, r.after, "stopped", 7, NULL);
    expect_datagram(&peer, r.after, "nonstop", 7, NULL);
    expect_datagram(&peer, r.after, "STOP", 4, NULL);
    udp_peer_close(&peer);
}

Test(udp_send_lines, sends_a_last_line_without_a_newline, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    send_text(&r, &peer, "one\ntwo");
    expect_datagram(&peer, r.after, "one", 3, NULL);
    expect_datagram(&peer, r.after, "two", 3, NULL);
    udp_peer_close(&peer);
}

Test(udp_send_lines, returns_0_for_an_empty_input, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    run_send_lines(&r, &peer, "", 0);
    expect_returned(r.call, r.result, 0, r.err);
    expect_nothing_more(&peer, r.after);
    udp_peer_close(&peer);
}

Test(udp_send_lines, sends_utf8_text_as_its_bytes, .timeout = TEST_TIMEOUT_S)
{
    /* "ni hao" in UTF-8, written as bytes so this file stays ASCII. */
    static const char nihao[] = "\xe4\xbd\xa0\xe5\xa5\xbd";
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    send_text(&r, &peer, "\xe4\xbd\xa0\xe5\xa5\xbd\n");
    expect_datagram(&peer, r.after, nihao, 6, NULL);
    udp_peer_close(&peer);
}

/* A line of len bytes (a pattern that shows misplaced bytes) and its "\n"; free() it. */
static char *long_line(size_t len)
{
    char *line = malloc(len + 1);
    cr_assert(line != NULL, "test set-up: malloc(%zu) failed", len + 1);
    for (size_t i = 0; i < len; i++)
        line[i] = (char)('a' + i % 26);
    line[len] = '\n';
    return line;
}

Test(udp_send_lines, sends_a_65507_byte_line_whole, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;
    char *line = long_line(UDP_MAX_PAYLOAD);

    open_peer(&peer, "127.0.0.1");
    /* The largest payload IPv4 allows: a fixed buffer (or fgets) splits it. */
    run_send_lines(&r, &peer, line, UDP_MAX_PAYLOAD + 1);
    expect_succeeded(r.call, r.result, r.err);
    expect_datagram(&peer, r.after, line, UDP_MAX_PAYLOAD, NULL);
    expect_nothing_more(&peer, r.after);
    free(line);
    udp_peer_close(&peer);
}

Test(udp_send_lines, fails_with_emsgsize_on_a_65508_byte_line, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;
    char *line = long_line(UDP_MAX_PAYLOAD + 1);

    open_peer(&peer, "127.0.0.1");
    run_send_lines(&r, &peer, line, UDP_MAX_PAYLOAD + 2);
    expect_failed_with(r.call, r.result, r.err, EMSGSIZE);
    /* Not cut into pieces that fit, either. */
    expect_nothing_more(&peer, r.after);
    free(line);
    udp_peer_close(&peer);
}

Test(udp_send_lines, closes_its_socket, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;
    struct run r;

    open_peer(&peer, "127.0.0.1");
    int before = lowest_free_fd();
    send_text(&r, &peer, "one\ntwo\n");
    int after = lowest_free_fd();
    cr_assert(after == before, "after udp_send_lines returned, its socket should have been "
              "closed (fd %d free again), but instead fd %d was still open: close() it on "
              "every path", before, before);
    udp_peer_close(&peer);
}
