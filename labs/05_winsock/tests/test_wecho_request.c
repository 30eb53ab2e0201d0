/* test_wecho_request.c - wecho_request: send, half-close, read to EOF, keep cap-1 bytes.
 * The test is the server: its reply is queued (or written by a thread) before the call. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "wecho.h"

#define BULK (200 * 1024)

static unsigned char bulk_out[BULK];
static char bulk_in[BULK + 1];

/* A stream pair whose server end (fds[0]) has queued reply and closed its sending side. */
static void pair_with_reply(int fds[2], const char *reply)
{
    open_stream_pair(fds);
    if (reply[0] != '\0')
        send_or_fail(fds[0], reply, strlen(reply));
    cr_assert(shutdown(fds[0], SHUT_WR) == 0, "test set-up: shutdown failed: %s",
              errno_text(errno));
}

static long request(int fd, const char *msg, char *reply, size_t cap)
{
    errno = 0;
    long n = wecho_request(fd, msg, reply, cap);
    cr_assert(n >= 0, "wecho_request(s, '%s', reply, %zu) failed: returned %ld with errno %s",
              msg, cap, n, errno_text(errno));
    return n;
}

Test(wecho_request, returns_the_reply_and_its_length, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    char reply[64];
    pair_with_reply(fds, "hello back");
    long n = request(fds[1], "hello", reply, sizeof reply);
    cr_assert(n == 10, "wecho_request should return 10 (the reply's length), but returned %ld",
              n);
    cr_assert(strcmp(reply, "hello back") == 0, "reply should be 'hello back', but it is '%s'",
              reply);
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, sends_the_whole_message, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    char reply[64], got[64], shown[DESCRIBE_LEN];
    pair_with_reply(fds, "ok");
    request(fds[1], "the message", reply, sizeof reply);
    size_t n = recv_for(fds[0], got, sizeof got, ARRIVAL_MS, -1, NULL);
    cr_assert(n == 11 && memcmp(got, "the message", 11) == 0, "the server should receive "
              "'the message' (11 bytes, no NUL), but it received %s",
              describe_bytes(got, n, shown));
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, shuts_down_the_sending_side, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    char reply[64], got[64];
    pair_with_reply(fds, "ok");
    request(fds[1], "abc", reply, sizeof reply);
    int eof = 0;
    recv_for(fds[0], got, sizeof got, ARRIVAL_MS, -1, &eof);
    cr_assert(eof, "after wecho_request the server should see end of file (shutdown of the "
              "sending side), but it did not");
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, leaves_the_socket_open, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    char reply[64];
    pair_with_reply(fds, "ok");
    request(fds[1], "abc", reply, sizeof reply);
    cr_assert(fd_is_open(fds[1]), "wecho_request closed its socket: the caller closes it");
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, nul_terminates_the_reply, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    char reply[64];
    memset(reply, 'X', sizeof reply);
    pair_with_reply(fds, "abc");
    long n = request(fds[1], "q", reply, sizeof reply);
    cr_assert(n == 3 && reply[3] == '\0', "after a 3-byte reply, reply[3] should be the NUL, "
              "but it is 0x%02x (returned %ld)", (unsigned char)reply[3], n);
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, empty_reply_returns_0, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    char reply[16];
    memset(reply, 'X', sizeof reply);
    pair_with_reply(fds, "");
    long n = request(fds[1], "anyone?", reply, sizeof reply);
    cr_assert(n == 0, "with no reply before EOF wecho_request should return 0, not %ld", n);
    cr_assert(reply[0] == '\0', "with no reply, reply should be the empty string");
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, keeps_cap_minus_1_bytes, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    char reply[16];
    memset(reply, 'X', sizeof reply);
    pair_with_reply(fds, "hello world");
    long n = request(fds[1], "hi", reply, 6);
    cr_assert(n == 5, "with cap 6 and an 11-byte reply, wecho_request should keep and return "
              "5 bytes, but it returned %ld", n);
    cr_assert(memcmp(reply, "hello", 6) == 0, "reply should be 'hello' and its NUL");
    for (size_t i = 6; i < sizeof reply; i++)
        cr_assert(reply[i] == 'X', "wecho_request wrote reply[%zu], past cap 6", i);
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, reply_of_exactly_cap_minus_1_bytes, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    char reply[8];
    pair_with_reply(fds, "1234567");
    long n = request(fds[1], "x", reply, sizeof reply);
    cr_assert(n == 7 && strcmp(reply, "1234567") == 0, "a 7-byte reply with cap 8 should be "
              "kept whole (returned %ld, reply '%.8s')", n, reply);
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, reads_and_drops_the_rest, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    char reply[16];
    open_stream_pair(fds);
    fill_pattern(bulk_out, BULK);
    /* More than the socket buffers hold: the writer finishes only if it is all read. */
    struct writer w = {.fd = fds[0], .buf = bulk_out, .len = BULK, .half_close = 1};
    writer_start(&w);
    long n = request(fds[1], "big", reply, sizeof reply);
    cr_assert(writer_join(&w, ARRIVAL_MS) == 0, "the server's reply was not all read: "
              "wecho_request should read (and drop) everything until end of file");
    cr_assert(w.sent == BULK, "the server sent %zu of %d bytes", w.sent, BULK);
    cr_assert(n == 15, "with cap 16, wecho_request should return 15, not %ld", n);
    expect_same_bytes("the 15 bytes kept", bulk_out, reply, 15);
    cr_assert(reply[15] == '\0', "reply[15] should be the NUL");
    cr_assert(queued_bytes(fds[1]) == 0, "bytes were left unread on the socket");
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, keeps_a_long_reply_whole, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    open_stream_pair(fds);
    fill_pattern(bulk_out, BULK);
    for (size_t i = 0; i < BULK; i++)
        if (bulk_out[i] == 0)
            bulk_out[i] = 1; /* a text reply: no NUL inside */
    /* The reply's first 100 bytes come alone: the first recv gets a short piece every run. */
    struct writer w = {.fd = fds[0], .buf = bulk_out, .len = BULK, .half_close = 1,
                       .first = 100, .reader_fd = fds[1]};
    writer_start(&w);
    long n = request(fds[1], "big", bulk_in, sizeof bulk_in);
    cr_assert(n == BULK, "a %d-byte reply with cap %d should be kept whole, but wecho_request "
              "returned %ld (a reply comes in many recv() calls, the first of 100 bytes here: "
              "loop until EOF)", BULK, BULK + 1, n);
    cr_assert(writer_join(&w, ARRIVAL_MS) == 0, "the server's reply was not all read");
    expect_same_bytes("the reply", bulk_out, bulk_in, BULK);
    cr_assert(bulk_in[BULK] == '\0', "the reply should be NUL-terminated");
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_request, works_over_tcp, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int c = connect_local(port);
    cr_assert(c >= 0, "test set-up: connect failed: %s", errno_text(errno));
    int a = accept_within(lfd, ARRIVAL_MS);
    cr_assert(a >= 0, "test set-up: accept failed: %s", errno_text(errno));
    send_or_fail(a, "tcp reply", 9);
    shutdown(a, SHUT_WR);
    char reply[32], got[32];
    long n = request(c, "tcp msg", reply, sizeof reply);
    cr_assert(n == 9 && strcmp(reply, "tcp reply") == 0, "over TCP wecho_request should give "
              "'tcp reply' (returned %ld)", n);
    int eof = 0;
    size_t m = recv_for(a, got, sizeof got, ARRIVAL_MS, -1, &eof);
    cr_assert(m == 7 && memcmp(got, "tcp msg", 7) == 0 && eof, "over TCP the server should "
              "receive 'tcp msg' and then end of file");
    close(a);
    close(c);
    close(lfd);
}
