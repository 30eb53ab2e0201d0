/* test_frame_send.c - frame_send: a 4-byte big-endian length, then the payload. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "helpers.h"

/* fds (helpers.h): fds[0] is where frame_send writes, fds[1] the test's peer. */
TestSuite(frame_send, .init = pair_set_up, .fini = pair_tear_down,
          .timeout = TEST_TIMEOUT_S);

/* After frame_send returned, close its side and expect exactly want (len bytes) on the
 * peer's; what says what was sent. */
static void expect_stream(const char *what, const void *want, size_t len)
{
    static unsigned char got[1 << 20];
    char want_text[DESCRIBE_LEN], got_text[DESCRIBE_LEN];
    int eof;

    shutdown(fds[0], SHUT_WR);
    size_t n = recv_for(fds[1], got, len + 1 < sizeof got ? len + 1 : sizeof got, ARRIVAL_MS,
                        -1, &eof);
    cr_assert(n == len && eof, "after %s, the peer should have received exactly %s, but "
              "instead it received %s%s", what, describe_bytes(want, len, want_text),
              describe_bytes(got, n, got_text), eof ? "" : " (and no EOF)");
    expect_same_bytes("the bytes of the frame", want, got, len);
}

Test(frame_send, writes_a_4_byte_big_endian_length_then_the_payload)
{
    errno = 0;
    int rc = frame_send(fds[0], "hello", 5);
    expect_returned("frame_send(fd, 'hello', 5)", rc, 0, errno);
    expect_stream("frame_send(fd, 'hello', 5) (the prefix is 4 bytes, network byte order)",
                  "\x00\x00\x00\x05hello", 9);
}

Test(frame_send, writes_the_most_significant_byte_of_the_length_first)
{
    enum { LEN = 0x010203 }; /* 66051: prefix bytes 00 01 02 03, each one different */
    static unsigned char payload[LEN], want[4 + LEN];
    fill_pattern(payload, LEN);
    memcpy(want, "\x00\x01\x02\x03", 4);
    memcpy(want + 4, payload, LEN);
    errno = 0;
    int rc = frame_send(fds[0], payload, LEN);
    expect_returned("frame_send(fd, payload, 66051)", rc, 0, errno);
    expect_stream("frame_send(fd, payload, 66051 = 0x00010203) (htonl: 00 01 02 03, not 03 02 "
                  "01 00)", want, sizeof want);
}

Test(frame_send, writes_only_the_prefix_for_a_0_length_frame)
{
    errno = 0;
    int rc = frame_send(fds[0], "x", 0);
    expect_returned("frame_send(fd, 'x', 0)", rc, 0, errno);
    expect_stream("frame_send(fd, 'x', 0) (an empty frame is 4 zero bytes)", "\0\0\0\0", 4);
}

Test(frame_send, writes_two_frames_one_after_the_other)
{
    errno = 0;
    int rc = frame_send(fds[0], "ab", 2);
    expect_returned("frame_send(fd, 'ab', 2)", rc, 0, errno);
    rc = frame_send(fds[0], "cde", 3);
    expect_returned("after frame_send(fd, 'ab', 2), frame_send(fd, 'cde', 3)", rc, 0, errno);
    expect_stream("frame_send(fd, 'ab', 2) and frame_send(fd, 'cde', 3)",
                  "\0\0\0\002ab\0\0\0\003cde", 13);
}

Test(frame_send, fails_with_emsgsize_over_frame_max_and_writes_nothing)
{
    static unsigned char big[FRAME_MAX + 1];
    errno = 0;
    int rc = frame_send(fds[0], big, FRAME_MAX + 1);
    int err = errno;
    const char *call = "frame_send(fd, payload, FRAME_MAX + 1)";
    expect_returned(call, rc, -1, err);
    expect_errno(call, err, EMSGSIZE);
    expect_stream("frame_send(fd, payload, FRAME_MAX + 1) failed (check len before writing "
                  "anything, not even the prefix)", "", 0);
}

Test(frame_send, fails_with_emsgsize_for_a_length_of_0xffffffff)
{
    errno = 0;
    int rc = frame_send(fds[0], "x", 0xFFFFFFFFu);
    int err = errno;
    const char *call = "frame_send(fd, 'x', 0xFFFFFFFF)";
    expect_returned(call, rc, -1, err);
    expect_errno(call, err, EMSGSIZE);
    expect_stream("frame_send(fd, 'x', 0xFFFFFFFF) failed", "", 0);
}

/* frame_send(fds[0], payload, len) for bg_start. */
struct send_args {
    const void *payload;
    uint32_t len;
};

static long call_frame_send(void *arg)
{
    struct send_args *a = arg;
    return frame_send(fds[0], a->payload, a->len);
}

Test(frame_send, sends_a_frame_of_exactly_frame_max_bytes)
{
    static unsigned char payload[FRAME_MAX], got[4 + FRAME_MAX];
    char text[DESCRIBE_LEN];
    fill_pattern(payload, FRAME_MAX);
    /* frame_send on a thread of its own, this one reading: 16 MiB is far more than the
     * socket holds, so frame_send blocks until the peer reads. */
    struct send_args args = {.payload = payload, .len = FRAME_MAX};
    struct bg_call call;
    bg_start(&call, call_frame_send, &args);
    size_t n = recv_for(fds[1], got, sizeof got, 4 * ARRIVAL_MS, call.done_pipe[0], NULL);
    cr_assert(bg_join(&call, ARRIVAL_MS) == 0, "frame_send(fd, payload, FRAME_MAX) should have "
              "returned once the peer had read the frame, but instead it was still running "
              "(the peer got %zu of %zu bytes)", n, sizeof got);
    expect_returned("frame_send(fd, payload, FRAME_MAX = 16777216), a frame of the largest "
                    "size allowed,", call.rc, 0, call.err);
    cr_assert(n == sizeof got, "after frame_send(fd, payload, FRAME_MAX) returned 0, the peer "
              "should have received %zu bytes (4 + FRAME_MAX), but instead it received %zu",
              sizeof got, n);
    cr_assert(memcmp(got, "\x01\x00\x00\x00", 4) == 0, "the prefix of a frame of FRAME_MAX "
              "(0x01000000) bytes should have been 01 00 00 00, but instead it was %s",
              describe_bytes(got, 4, text));
    expect_same_bytes("the 16 MiB payload the peer received", payload, got + 4, FRAME_MAX);
}

Test(frame_send, fails_when_the_peer_has_closed)
{
    close(fds[1]);
    fds[1] = -1;
    errno = 0;
    int rc = frame_send(fds[0], "hello", 5);
    int err = errno;
    const char *call = "after the peer closed its socket, frame_send(fd, 'hello', 5)";
    expect_returned(call, rc, -1, err);
    expect_errno(call, err, EPIPE);
}
