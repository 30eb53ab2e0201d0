/* test_frame_echo_session.c - frame_echo_session: every frame back as a frame, until EOF. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "helpers.h"

/* fds (helpers.h): fds[0] is the test's peer, fds[1] the session's socket. */
TestSuite(frame_echo_session, .init = pair_set_up, .fini = pair_tear_down,
          .timeout = TEST_TIMEOUT_S);

static long call_session(void *arg)
{
    return frame_echo_session(fds[1], *(const int *)arg);
}

/* Expect the echo of a frame of want_len bytes with payload want, while session s runs. */
static void expect_echo(struct bg_call *s, const char *what, const void *want,
                        uint32_t want_len)
{
    static unsigned char buf[1 << 16];
    char want_text[DESCRIBE_LEN];
    uint32_t len = 0;

    int rc = recv_frame_for(fds[0], buf, sizeof buf, &len, ARRIVAL_MS, s->done_pipe[0]);
    cr_assert(rc == 1 && len == want_len, "%s, frame_echo_session should have sent back the "
              "frame %s within %d ms, but instead the peer got %s (frame_echo_session "
              "returned %ld, errno %s)", what, describe_bytes(want, want_len, want_text),
              ARRIVAL_MS, rc == 1 ? "a frame of another length" : rc == 0 ? "EOF"
              : "no whole frame", s->rc, errno_text(s->err));
    expect_same_bytes("the payload echoed", want, buf, want_len);
}

/* Close the peer's sending side; the session must return 0 (clean EOF). */
static void expect_clean_end(struct bg_call *s, const char *what)
{
    shutdown(fds[0], SHUT_WR);
    cr_assert(bg_join(s, ARRIVAL_MS) == 0, "%s and closed, frame_echo_session should have "
              "returned within %d ms, but instead it was still running: frame_recv "
              "returning 0 is a clean end", what, ARRIVAL_MS);
    char call[256];
    snprintf(call, sizeof call, "%s and closed, frame_echo_session", what);
    expect_returned(call, s->rc, 0, s->err);
}

Test(frame_echo_session, echoes_a_frame_and_returns_0_when_the_peer_closes)
{
    static const int upper = 0;
    struct bg_call s;
    bg_start(&s, call_session, (void *)&upper);
    send_frame_or_fail(fds[0], "Hello, World", 12);
    expect_echo(&s, "after the peer sent the frame 'Hello, World' (upper = 0: unchanged)",
                "Hello, World", 12);
    expect_clean_end(&s, "after the peer sent one frame");
}

Test(frame_echo_session, echoes_an_empty_frame_as_an_empty_frame)
{
    static const int upper = 0;
    struct bg_call s;
    bg_start(&s, call_session, (void *)&upper);
    send_frame_or_fail(fds[0], "", 0);
    expect_echo(&s, "after the peer sent an empty frame (00 00 00 00)", "", 0);
    send_frame_or_fail(fds[0], "next", 4);
    expect_echo(&s, "after an empty frame, then the frame 'next'", "next", 4);
    expect_clean_end(&s, "after the peer sent two frames");
}

Test(frame_echo_session, echoes_frames_sent_in_one_write_each_as_its_own_frame)
{
    static const int upper = 0;
    struct bg_call s;
    send_or_fail(fds[0], "\0\0\0\001a\0\0\0\002bb\0\0\0\003ccc", 18);
    bg_start(&s, call_session, (void *)&upper);
    expect_echo(&s, "after the peer sent the frames 'a', 'bb', 'ccc' in one write, the first "
                "echo", "a", 1);
    expect_echo(&s, "the second echo", "bb", 2);
    expect_echo(&s, "the third echo", "ccc", 3);
    expect_clean_end(&s, "after the peer sent three frames in one write");
}

Test(frame_echo_session, echoes_a_frame_that_arrives_one_byte_at_a_time)
{
    static const int upper = 0;
    unsigned char bytes[4 + 6];
    put_prefix(bytes, 6);
    memcpy(bytes + 4, "stream", 6);
    struct bg_call s;
    bg_start(&s, call_session, (void *)&upper);
    struct dribbler d = {.fd = fds[0], .reader_fd = fds[1], .data = bytes, .len = sizeof bytes};
    dribbler_start(&d);
    expect_echo(&s, "after the peer sent the frame 'stream' one byte at a time", "stream", 6);
    cr_assert(dribbler_join(&d, ARRIVAL_MS) == 0, "test set-up: the peer hung");
    expect_clean_end(&s, "after the peer sent one frame a byte at a time");
}

Test(frame_echo_session, uppercases_a_to_z_and_nothing_else_when_upper_is_set)
{
    static const int upper = 1;
    unsigned char every[256], want[256];
    for (int i = 0; i < 256; i++) {
        every[i] = (unsigned char)i;
        want[i] = (unsigned char)(i >= 'a' && i <= 'z' ? i - 'a' + 'A' : i);
    }
    struct bg_call s;
    bg_start(&s, call_session, (void *)&upper);
    send_frame_or_fail(fds[0], every, sizeof every);
    expect_echo(&s, "with upper set, after the peer sent a frame of the 256 byte values 0 to "
                "255 (only a-z change, to A-Z; not toupper, which depends on the locale)",
                want, sizeof want);
    expect_clean_end(&s, "after the peer sent one frame");
}

Test(frame_echo_session, echoes_a_frame_of_frame_max_bytes)
{
    static const int upper = 0;
    static unsigned char sent[4 + FRAME_MAX], got[4 + FRAME_MAX];
    put_prefix(sent, FRAME_MAX);
    fill_pattern(sent + 4, FRAME_MAX);
    struct bg_call s;
    bg_start(&s, call_session, (void *)&upper);
    /* The peer writes on a thread of its own while this one reads the echo. */
    struct writer w = {.fd = fds[0], .buf = sent, .len = sizeof sent};
    writer_start(&w);
    size_t n = recv_for(fds[0], got, sizeof got, 4 * ARRIVAL_MS, s.done_pipe[0], NULL);
    cr_assert(n == sizeof got, "after the peer sent a frame of FRAME_MAX (16 MiB) bytes, the "
              "largest allowed, frame_echo_session should have sent back %zu bytes, but "
              "instead the peer got %zu (frame_echo_session returned %ld, errno %s)",
              sizeof got, n, s.rc, errno_text(s.err));
    expect_same_bytes("the frame of FRAME_MAX bytes echoed, prefix included", sent, got,
                      sizeof got);
    cr_assert(writer_join(&w, ARRIVAL_MS) == 0, "test set-up: the peer's writer hung");
    expect_clean_end(&s, "after the peer sent a frame of FRAME_MAX bytes");
}

Test(frame_echo_session, returns_minus_1_for_a_length_over_frame_max)
{
    static const int upper = 0;
    unsigned char prefix[4];
    put_prefix(prefix, FRAME_MAX + 1);
    struct bg_call s;
    bg_start(&s, call_session, (void *)&upper);
    send_frame_or_fail(fds[0], "first", 5);
    expect_echo(&s, "after the peer sent the frame 'first'", "first", 5);
    send_or_fail(fds[0], prefix, 4); /* and nothing more: the peer stays open */
    cr_assert(bg_join(&s, ARRIVAL_MS) == 0, "after a first frame, the peer announced a frame "
              "of FRAME_MAX + 1 bytes: frame_echo_session should have returned -1 at once, but "
              "instead it was still running after %d ms", ARRIVAL_MS);
    expect_returned("after the peer announced a frame of FRAME_MAX + 1 bytes, "
                    "frame_echo_session", s.rc, -1, s.err);
    char buf[4];
    cr_assert(recv(fds[0], buf, sizeof buf, MSG_DONTWAIT) < 0, "frame_echo_session should have "
              "sent nothing back for a frame over FRAME_MAX, but instead the peer got bytes");
}

Test(frame_echo_session, returns_minus_1_for_a_truncated_frame)
{
    static const int upper = 0;
    struct bg_call s;
    bg_start(&s, call_session, (void *)&upper);
    send_frame_or_fail(fds[0], "first", 5);
    expect_echo(&s, "after the peer sent the frame 'first'", "first", 5);
    send_or_fail(fds[0], "\0\0\0\012abc", 7);
    shutdown(fds[0], SHUT_WR);
    cr_assert(bg_join(&s, ARRIVAL_MS) == 0, "after the peer sent 3 bytes of a 10-byte frame and "
              "closed, frame_echo_session should have returned -1, but instead it was still "
              "running after %d ms", ARRIVAL_MS);
    expect_returned("after the peer sent 3 bytes of a 10-byte frame and closed, "
                    "frame_echo_session", s.rc, -1, s.err);
}
