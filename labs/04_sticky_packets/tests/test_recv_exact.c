/* test_recv_exact.c - recv_exact: exactly n bytes, however they arrive. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"
#include "helpers.h"

/* fds (helpers.h): fds[0] is the test's peer, fds[1] where recv_exact reads. */
TestSuite(recv_exact, .init = pair_set_up, .fini = pair_tear_down,
          .timeout = TEST_TIMEOUT_S);

Test(recv_exact, returns_1_with_exactly_n_bytes_and_leaves_the_rest_unread)
{
    char buf[16], text[DESCRIBE_LEN];
    memset(buf, '#', sizeof buf);
    send_or_fail(fds[0], "abcdefghij", 10);
    errno = 0;
    int rc = recv_exact(fds[1], buf, 4);
    expect_returned("after the peer sent 'abcdefghij', recv_exact(fd, buf, 4)", rc, 1, errno);
    expect_same_bytes("the 4 bytes recv_exact stored", "abcd", buf, 4);
    cr_assert(buf[4] == '#', "recv_exact(fd, buf, 4) should have stored 4 bytes only, but "
              "instead it also changed buf[4] to %s: do not read past n",
              describe_bytes(buf + 4, 1, text));
    int left = queued_bytes(fds[1]);
    cr_assert(left == 6, "after recv_exact(fd, buf, 4) on 'abcdefghij', the 6 bytes 'efghij' "
              "should still be unread for the next call, but instead %d were: ask recv() for "
              "n - got bytes, never more", left);
}

Test(recv_exact, assembles_bytes_that_arrive_one_at_a_time)
{
    unsigned char want[12], buf[12];
    fill_pattern(want, sizeof want);
    memset(buf, 0xee, sizeof buf);
    struct dribbler d = {.fd = fds[0], .reader_fd = fds[1], .data = want, .len = sizeof want};
    dribbler_start(&d);
    errno = 0;
    int rc = recv_exact(fds[1], buf, sizeof buf);
    int err = errno;
    cr_assert(dribbler_join(&d, ARRIVAL_MS) == 0, "test set-up: the peer hung");
    expect_returned("after the peer sent 12 bytes one at a time (each recv() gets 1 byte: one "
                    "recv is not n bytes), recv_exact(fd, buf, 12)", rc, 1, err);
    expect_same_bytes("the 12 bytes recv_exact stored (each recv() goes on from where the one "
                      "before stopped)", want, buf, sizeof want);
}

Test(recv_exact, returns_1_for_n_0_and_reads_nothing)
{
    char buf[4];
    send_or_fail(fds[0], "x", 1);
    errno = 0;
    int rc = recv_exact(fds[1], buf, 0);
    expect_returned("recv_exact(fd, buf, 0), asking for no bytes at all (recv() of 0 bytes "
                    "returns 0, which is not EOF here)", rc, 1, errno);
    cr_assert(queued_bytes(fds[1]) == 1, "recv_exact(fd, buf, 0) should have read nothing, but "
              "instead the byte the peer sent is gone");
}

Test(recv_exact, returns_0_at_eof_before_the_first_byte)
{
    char buf[4];
    shutdown(fds[0], SHUT_WR);
    errno = 0;
    int rc = recv_exact(fds[1], buf, 4);
    expect_returned("after the peer closed without sending anything, recv_exact(fd, buf, 4)",
                    rc, 0, errno);
}

Test(recv_exact, fails_with_eproto_at_eof_after_some_of_the_bytes)
{
    char buf[4];
    send_or_fail(fds[0], "ab", 2);
    shutdown(fds[0], SHUT_WR);
    errno = 0;
    int rc = recv_exact(fds[1], buf, 4);
    int err = errno;
    const char *call = "after the peer sent 'ab' and closed, recv_exact(fd, buf, 4)";
    expect_returned(call, rc, -1, err);
    expect_errno(call, err, EPROTO);
}

Test(recv_exact, fails_with_the_errno_of_recv_on_a_bad_descriptor)
{
    char buf[4];
    int bad = lowest_free_fd(); /* no descriptor has this number */
    errno = 0;
    int rc = recv_exact(bad, buf, 4);
    int err = errno;
    const char *call = "recv_exact(fd, buf, 4) with an fd that is not open";
    expect_returned(call, rc, -1, err);
    expect_errno(call, err, EBADF);
}

Test(recv_exact, retries_when_a_signal_interrupts_the_wait)
{
    char buf[8], did[160];
    struct late_sender p; /* interrupts recv_exact once it is blocked in recv(), then sends */
    int rc, err;

    for (int attempt = 1;; attempt++) {
        interrupt_setup();
        late_sender_start(&p, fds[0], "late", 4);
        errno = 0;
        call_begin();
        rc = recv_exact(fds[1], buf, 4);
        err = errno;
        call_end();
        cr_assert(join_within(p.thread, 2 * ARRIVAL_MS) == 0, "test set-up: the peer hung");
        snprintf(did, sizeof did, "returned %d with errno %s", rc, errno_text(err));
        if (interrupt_attempt(p.outcome, attempt, "recv_exact(fd, buf, 4), with nothing to "
                              "read yet,", did))
            break;
        pair_tear_down(); /* the bytes may still wait in it: start again on a new pair */
        open_stream_pair(fds);
    }
    expect_returned("recv_exact(fd, buf, 4), interrupted by a signal while it waited (recv() "
                    "failed with EINTR: try again), then given 'late',", rc, 1, err);
    expect_same_bytes("the 4 bytes recv_exact stored after the signal", "late", buf, 4);
}
