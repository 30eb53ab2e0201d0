/* test_frame_recv.c - frame_recv: one frame per call, however the bytes arrive. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "helpers.h"

/* AddressSanitizer maps memory of its own as it goes: no data limit under it. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* fds (helpers.h): fds[0] is the test's peer, fds[1] where frame_recv reads. */
TestSuite(frame_recv, .init = pair_set_up, .fini = pair_tear_down,
          .timeout = TEST_TIMEOUT_S);

/* frame_recv(fds[1], buf, cap, &len) must return 1 with the payload want (want_len bytes);
 * what says what the peer did. */
static void expect_frame(const char *what, uint32_t cap, const void *want, uint32_t want_len)
{
    static unsigned char buf[1 << 16];
    char call[512];
    uint32_t len = 0xdeadbeef;

    snprintf(call, sizeof call, "%s, frame_recv(fd, buf, %u, &len)", what, cap);
    errno = 0;
    int rc = frame_recv(fds[1], buf, cap, &len);
    expect_returned(call, rc, 1, errno);
    cr_assert(len == want_len, "%s returned 1 as it should, but instead of %u it set len to %u",
              call, want_len, len);
    expect_same_bytes("the payload frame_recv stored", want, buf, want_len);
}

/* frame_recv(fds[1], buf, cap, &len) must return -1 with errno want_err. */
static void expect_failure(const char *what, uint32_t cap, int want_err)
{
    static unsigned char buf[1 << 16];
    char call[512];
    uint32_t len = 0;

    snprintf(call, sizeof call, "%s, frame_recv(fd, buf, %u, &len)", what, cap);
    errno = 0;
    int rc = frame_recv(fds[1], buf, cap, &len);
    int err = errno;
    expect_returned(call, rc, -1, err);
    expect_errno(call, err, want_err);
}

Test(frame_recv, returns_1_with_the_payload_and_its_length)
{
    send_frame_or_fail(fds[0], "hello", 5);
    expect_frame("after the peer sent the frame 00 00 00 05 'hello'", 64, "hello", 5);
}

Test(frame_recv, returns_1_with_length_0_for_an_empty_frame)
{
    send_frame_or_fail(fds[0], "", 0);
    shutdown(fds[0], SHUT_WR); /* a wrong reading gets EOF, not a hang */
    expect_frame("after the peer sent an empty frame (00 00 00 00; a length of 0 is valid, "
                 "not EOF)", 64, "", 0);
}

Test(frame_recv, returns_two_frames_sent_in_one_write_one_per_call)
{
    send_or_fail(fds[0], "\0\0\0\003one\0\0\0\005three", 16);
    shutdown(fds[0], SHUT_WR);
    expect_frame("after the peer sent two frames in one write, the first call", 64, "one", 3);
    int left = queued_bytes(fds[1]);
    cr_assert(left == 9, "after the first frame_recv of two frames sent in one write, the 9 "
              "bytes of the second frame should still be unread, but instead %d were: read "
              "the prefix, then exactly its length, never a whole buffer", left);
    expect_frame("after the peer sent two frames in one write, the second call", 64, "three",
                 5);
}

Test(frame_recv, assembles_a_frame_that_arrives_one_byte_at_a_time)
{
    unsigned char bytes[4 + 10];
    put_prefix(bytes, 10);
    memcpy(bytes + 4, "0123456789", 10);
    struct dribbler d = {.fd = fds[0], .reader_fd = fds[1], .data = bytes,
                         .len = sizeof bytes, .half_close = 1};
    dribbler_start(&d);
    expect_frame("after the peer sent a 10-byte frame one byte at a time (each recv() gets "
                 "1 byte)", 64, "0123456789", 10);
    cr_assert(dribbler_join(&d, ARRIVAL_MS) == 0, "test set-up: the peer hung");
}

Test(frame_recv, reads_the_length_in_network_byte_order)
{
    unsigned char payload[256];
    fill_pattern(payload, sizeof payload);
    send_or_fail(fds[0], "\x00\x00\x01\x00", 4); /* 256; read in host order: 65536 */
    send_or_fail(fds[0], payload, sizeof payload);
    shutdown(fds[0], SHUT_WR);
    expect_frame("after the peer sent the prefix 00 00 01 00 (256, big-endian: ntohl) and 256 "
                 "bytes", 1024, payload, 256);
}

Test(frame_recv, accepts_a_frame_of_exactly_cap_bytes)
{
    send_frame_or_fail(fds[0], "12345678", 8);
    shutdown(fds[0], SHUT_WR);
    expect_frame("after the peer sent an 8-byte frame, with cap 8", 8, "12345678", 8);
}

Test(frame_recv, fails_with_emsgsize_over_cap_and_leaves_the_payload_unread)
{
    send_frame_or_fail(fds[0], "123456789", 9);
    expect_failure("after the peer sent a 9-byte frame, with cap 8", 8, EMSGSIZE);
    int left = queued_bytes(fds[1]);
    cr_assert(left == 9, "after frame_recv refused a 9-byte frame with cap 8, its 9 payload "
              "bytes should still be unread (only the prefix is taken), but instead %d were",
              left);
}

Test(frame_recv, returns_a_frame_of_frame_max_bytes_with_cap_frame_max)
{
    /* The largest frame there is, read into the caller's buffer: a buffer or a limit of
     * frame_recv's own below cap refuses it or cuts it. */
    static unsigned char sent[4 + FRAME_MAX], buf[FRAME_MAX];
    put_prefix(sent, FRAME_MAX);
    fill_pattern(sent + 4, FRAME_MAX);
    /* The peer writes on a thread of its own: 16 MiB do not fit in the socket's buffer. */
    struct writer w = {.fd = fds[0], .buf = sent, .len = sizeof sent};
    writer_start(&w);
    const char *call = "after the peer sent a frame of FRAME_MAX (16777216) bytes, the largest "
                       "allowed, frame_recv(fd, buf, FRAME_MAX, &len)";
    uint32_t len = 0;
    errno = 0;
    int rc = frame_recv(fds[1], buf, FRAME_MAX, &len);
    expect_returned(call, rc, 1, errno);
    cr_assert(len == FRAME_MAX, "%s returned 1 as it should, but instead of 16777216 it set len "
              "to %u", call, len);
    expect_same_bytes("the FRAME_MAX payload frame_recv stored", sent + 4, buf, FRAME_MAX);
    cr_assert(writer_join(&w, ARRIVAL_MS) == 0, "test set-up: the peer's writer hung");
}

/* frame_recv(fds[1], buf, FRAME_MAX, &len) for bg_start. */
static long call_frame_recv_max(void *arg)
{
    uint32_t len;
    return frame_recv(fds[1], arg, FRAME_MAX, &len);
}

Test(frame_recv, fails_with_emsgsize_at_once_for_a_length_of_0xffffffff)
{
    static unsigned char buf[64];
#ifndef UNDER_ASAN
    /* 1 GiB of data at most: a malloc of the 4 GiB the peer asks for fails. (Not under
     * AddressSanitizer, which maps its own memory as it goes.) */
    struct rlimit limit = {.rlim_cur = 1ul << 30, .rlim_max = 1ul << 30};
    cr_assert(setrlimit(RLIMIT_DATA, &limit) == 0, "test set-up: setrlimit failed");
#endif
    send_or_fail(fds[0], "\xff\xff\xff\xff", 4); /* and nothing more: the peer stays open */
    struct bg_call call;
    bg_start(&call, call_frame_recv_max, buf);
    cr_assert(bg_returned_within(&call, ARRIVAL_MS), "after the peer announced a frame of "
              "0xFFFFFFFF bytes (and sent nothing more), frame_recv(fd, buf, FRAME_MAX, &len) "
              "should have failed at once with EMSGSIZE, but instead it was still running "
              "after %d ms: compare the length with cap before reading or allocating anything",
              ARRIVAL_MS);
    bg_join(&call, ARRIVAL_MS);
    const char *what = "after the peer announced a frame of 0xFFFFFFFF bytes (a hostile "
                       "length: never malloc it), frame_recv(fd, buf, FRAME_MAX, &len)";
    expect_returned(what, call.rc, -1, call.err);
    expect_errno(what, call.err, EMSGSIZE);
}

Test(frame_recv, returns_0_at_a_clean_eof)
{
    shutdown(fds[0], SHUT_WR);
    char buf[8];
    uint32_t len;
    errno = 0;
    int rc = frame_recv(fds[1], buf, sizeof buf, &len);
    expect_returned("after the peer closed between frames, frame_recv(fd, buf, 8, &len)", rc, 0,
                    errno);
}

Test(frame_recv, fails_with_eproto_when_the_prefix_is_cut_short)
{
    send_or_fail(fds[0], "\0\0", 2);
    shutdown(fds[0], SHUT_WR);
    expect_failure("after the peer sent 2 bytes of a prefix and closed", 64, EPROTO);
}

Test(frame_recv, fails_with_eproto_when_eof_comes_right_after_the_prefix)
{
    send_or_fail(fds[0], "\0\0\0\005", 4);
    shutdown(fds[0], SHUT_WR);
    expect_failure("after the peer sent the prefix of a 5-byte frame and closed (EOF before "
                   "the payload is a truncated frame, not a clean end)", 64, EPROTO);
}

Test(frame_recv, fails_with_eproto_when_the_payload_is_cut_short)
{
    send_or_fail(fds[0], "\0\0\0\012abc", 7);
    shutdown(fds[0], SHUT_WR);
    expect_failure("after the peer sent the prefix of a 10-byte frame, 3 bytes and closed", 64,
                   EPROTO);
}
