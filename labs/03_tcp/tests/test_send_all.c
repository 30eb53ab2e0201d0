/* test_send_all.c - send_all: every byte, short writes, EINTR, and no death by SIGPIPE. */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <linux/sockios.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "tcp.h"

#define BIG_LEN (4u * 1024 * 1024) /* 4 MiB: far more than the socket buffers hold */

Test(send_all, returns_len_and_sends_exactly_the_bytes_given, .timeout = TEST_TIMEOUT_S)
{
    static const char msg[] = "hello, peer";
    char got[64];
    int fds[2], eof;

    open_stream_pair(fds);
    errno = 0;
    ssize_t rc = send_all(fds[0], msg, 11);
    expect_returned("send_all(fd, 'hello, peer', 11)", rc, 11, errno);
    close(fds[0]);
    size_t n = recv_for(fds[1], got, sizeof got, ARRIVAL_MS, -1, &eof);
    char text[DESCRIBE_LEN];
    cr_assert(n == 11 && eof, "after send_all(fd, 'hello, peer', 11) the peer should have "
              "received exactly those 11 bytes, but instead it received %s",
              describe_bytes(got, n, text));
    expect_same_bytes("the bytes the peer received", msg, got, 11);
    close(fds[1]);
}

Test(send_all, returns_0_and_sends_nothing_when_len_is_0, .timeout = TEST_TIMEOUT_S)
{
    char got[16];
    int fds[2], eof;

    open_stream_pair(fds);
    errno = 0;
    ssize_t rc = send_all(fds[0], "x", 0);
    expect_returned("send_all(fd, 'x', 0)", rc, 0, errno);
    close(fds[0]);
    size_t n = recv_for(fds[1], got, sizeof got, ARRIVAL_MS, -1, &eof);
    char text[DESCRIBE_LEN];
    cr_assert(n == 0 && eof, "after send_all(fd, 'x', 0) the peer should have received nothing, "
              "but instead it received %s", describe_bytes(got, n, text));
    close(fds[1]);
}

/* "returned R with errno E", for interrupt_attempt. */
static const char *send_all_did(ssize_t rc, int err)
{
    static char text[160];
    snprintf(text, sizeof text, "returned %zd with errno %s", rc, errno_text(err));
    return text;
}

/* A reader that takes 4 KiB at a time and, after every 64 KiB, stops reading until the
 * sender is blocked in send() and interrupts it with a signal: a blocked send() that has
 * taken some bytes then returns that short count, one that has taken none fails with EINTR.
 * Both must be carried on from where they stopped. */
Test(send_all, sends_every_byte_of_4_mib_to_a_slow_reader, .timeout = TEST_TIMEOUT_S)
{
    static unsigned char data[BIG_LEN], got[BIG_LEN];
    const char *call = "send_all(fd, 4 MiB, 4194304) to a slow reader";
    int sender, receiver;
    struct reader r;
    ssize_t rc;
    int err;

    fill_pattern(data, BIG_LEN);
    for (int attempt = 1;; attempt++) {
        interrupt_setup();
        open_tcp_pair(&sender, &receiver, 1);
        r = (struct reader){.fd = receiver, .data = got, .want = BIG_LEN, .chunk = 4096,
                            .interrupt_every = 64 * 1024};
        reader_start(&r);
        errno = 0;
        call_begin();
        rc = send_all(sender, data, BIG_LEN);
        err = errno;
        call_end();
        shutdown(sender, SHUT_WR); /* the reader stops at EOF */
        cr_assert(reader_join(&r, 4 * ARRIVAL_MS) == 0, "test set-up: the reading peer did "
                  "not finish");
        enum interrupt_outcome outcome = r.interrupted > 0 ? INTERRUPTED
                                         : r.missed_any ? r.missed : RETURNED_FIRST;
        if (interrupt_attempt(outcome, attempt, call, send_all_did(rc, err)))
            break;
        close(sender);
        close(receiver);
    }
    expect_returned("send_all(fd, 4 MiB of i mod 251, 4194304) to a slow reader, interrupted "
                    "by signals while it waited", rc, BIG_LEN, err);
    cr_assert(r.got == BIG_LEN, "after send_all(fd, 4 MiB, 4194304) returned, the peer should "
              "have received 4194304 bytes, but instead it received %zu: carry on after a short "
              "write", r.got);
    expect_same_bytes("the 4 MiB the peer received (byte i should be i mod 251; after a short "
                      "write, send the rest from where it stopped)", data, r.data, BIG_LEN);
    close(sender);
    close(receiver);
}

/* The peer: interrupt send_all once it is blocked in send(), then read everything. */
struct interrupter {
    enum interrupt_outcome outcome;
    struct reader reader;
    int sender;            /* the sending end, to count what the connection holds */
    size_t prefilled;      /* what it held before send_all was called */
    pthread_t thread;
};

/* Bytes written into the connection and not yet read: the sender's send queue plus the
 * receiver's receive queue. */
static size_t bytes_in_flight(int sender, int receiver)
{
    int unsent = 0, unread = 0;
    ioctl(sender, SIOCOUTQ, &unsent);
    ioctl(receiver, FIONREAD, &unread);
    return (size_t)unsent + (size_t)unread;
}

static void *interrupt_then_read(void *arg)
{
    struct interrupter *in = arg;
    in->outcome = interrupt_call(ARRIVAL_MS);
    /* A send() that took some bytes before the signal came returns a short count, not
     * EINTR: then this attempt tested something else, and the set-up is made again. */
    if (in->outcome == INTERRUPTED &&
        bytes_in_flight(in->sender, in->reader.fd) != in->prefilled)
        in->outcome = RETURNED_FIRST;
    reader_run(&in->reader); /* whatever happened: send_all must not stay blocked */
    return NULL;
}

/* How long a filled connection must stay without room to count as full. */
#define FULL_FOR_MS 50

/* Send without blocking until nothing more fits, even after the bytes already sent had
 * FULL_FOR_MS to move on to the receiver (which frees room in the sender). The receiver
 * never reads, so what the connection holds is finite and this ends. Bytes sent. */
static size_t fill_until_full(int fd)
{
    static const char filler[4096];
    size_t sent = 0, before;
    do {
        struct pollfd room = {.fd = fd, .events = POLLOUT};
        ssize_t n;
        before = sent;
        while ((n = send(fd, filler, sizeof filler, MSG_DONTWAIT | MSG_NOSIGNAL)) > 0)
            sent += (size_t)n;
        cr_assert(errno == EAGAIN, "test set-up: filling the socket failed: %s",
                  errno_text(errno));
        poll(&room, 1, FULL_FOR_MS);
    } while (sent != before);
    return sent;
}

Test(send_all, retries_when_a_signal_interrupts_it_before_a_byte_is_sent,
     .timeout = TEST_TIMEOUT_S)
{
    enum { LEN = 64 * 1024 };
    static unsigned char data[LEN], got[4 * 1024 * 1024];
    const char *call = "send_all(fd, 64 KiB, 65536) on a socket full to the brim";
    int sender, receiver;
    size_t prefilled;
    struct interrupter in;
    ssize_t rc;
    int err;

    fill_pattern(data, LEN);
    for (int attempt = 1;; attempt++) {
        interrupt_setup();
        open_tcp_pair(&sender, &receiver, 1);
        /* The next send() must block before it can take a single byte. */
        prefilled = fill_until_full(sender);
        cr_assert(prefilled + LEN <= sizeof got, "test set-up: the socket took %zu bytes",
                  prefilled);
        in = (struct interrupter){.reader = {.fd = receiver, .data = got,
                                             .want = prefilled + LEN, .chunk = 65536},
                                  .sender = sender, .prefilled = prefilled};
        cr_assert(pthread_create(&in.thread, NULL, interrupt_then_read, &in) == 0,
                  "test set-up: pthread_create failed");
        errno = 0;
        call_begin();
        rc = send_all(sender, data, LEN);
        err = errno;
        call_end();
        shutdown(sender, SHUT_WR);
        cr_assert(join_within(in.thread, 2 * ARRIVAL_MS) == 0, "test set-up: the reader hung");
        if (interrupt_attempt(in.outcome, attempt, call, send_all_did(rc, err)))
            break;
        close(sender);
        close(receiver);
    }
    expect_returned("send_all(fd, 64 KiB, 65536) on a full socket, interrupted by a signal "
                    "while it waited (EINTR: nothing was sent, try again)", rc, LEN, err);
    cr_assert(in.reader.got == prefilled + LEN, "after send_all(fd, 64 KiB, 65536), the peer "
              "should have received %zu bytes, but instead it received %zu",
              prefilled + LEN, in.reader.got);
    expect_same_bytes("the 64 KiB the peer received", data, in.reader.data + prefilled, LEN);
    close(sender);
    close(receiver);
}

/* send_all(fd, data, len) for run_in_child. */
struct send_call {
    int fd;
    const void *data;
    size_t len;
};

static long call_send_all(void *arg)
{
    struct send_call *c = arg;
    return (long)send_all(c->fd, c->data, c->len);
}

Test(send_all, returns_minus_1_instead_of_dying_of_sigpipe_when_the_peer_has_gone,
     .timeout = TEST_TIMEOUT_S)
{
    enum { LEN = 256 * 1024 };
    static unsigned char data[LEN];
    int sender, peer;

    fill_pattern(data, LEN);
    open_tcp_pair(&sender, &peer, 0);
    make_peer_gone(sender, peer);
    /* In a child process with SIGPIPE at its default, as in lab 03's programs. */
    struct send_call c = {.fd = sender, .data = data, .len = LEN};
    struct child_result r = run_in_child(call_send_all, &c, ARRIVAL_MS);
    cr_assert(r.killed_by == 0, "send_all to a peer that has closed and reset should return "
              "-1, but instead the process was killed by signal %d (%s)%s", r.killed_by,
              strsignal(r.killed_by), r.killed_by == SIGPIPE ? ": send with MSG_NOSIGNAL" : "");
    cr_assert(!r.hung, "send_all to a peer that has closed and reset should return -1, but "
              "instead it had not returned after %d ms: stop at the first error other than "
              "EINTR", ARRIVAL_MS);
    cr_assert(r.rc == -1 && (r.err == EPIPE || r.err == ECONNRESET), "send_all to a peer that "
              "has closed and reset should return -1 with errno EPIPE (or ECONNRESET), but "
              "instead it returned %ld with errno %s", r.rc, errno_text(r.err));
    close(sender);
}

/* The peer: wait until send_all is stuck on it (it reads nothing), then reset the
 * connection. */
struct resetter {
    int peer;
    pthread_t thread;
};

static void *reset_when_blocked(void *arg)
{
    struct resetter *r = arg;
    wait_call_blocked(ARRIVAL_MS); /* blocked, returned or not: reset now */
    reset_and_close(r->peer);
    return NULL;
}

Test(send_all, returns_minus_1_when_the_peer_resets_during_a_long_send,
     .timeout = TEST_TIMEOUT_S)
{
    static unsigned char data[BIG_LEN];
    int sender, peer;

    fill_pattern(data, BIG_LEN);
    default_sigpipe();
    open_tcp_pair(&sender, &peer, 1);
    interrupt_setup(); /* for call_begin and call_end: no signal is sent */
    struct resetter r = {.peer = peer};
    cr_assert(pthread_create(&r.thread, NULL, reset_when_blocked, &r) == 0,
              "test set-up: pthread_create failed");
    errno = 0;
    call_begin();
    ssize_t rc = send_all(sender, data, BIG_LEN);
    int err = errno;
    call_end();
    cr_assert(join_within(r.thread, ARRIVAL_MS) == 0, "test set-up: the resetting peer hung");
    /* A send_all that retried every error would spin here until the test timed out. */
    cr_assert(rc == -1 && (err == ECONNRESET || err == EPIPE), "send_all(fd, 4 MiB, 4194304) to "
              "a peer that resets the connection should return -1 with errno ECONNRESET (or "
              "EPIPE), but instead it returned %zd with errno %s", rc, errno_text(err));
    close(sender);
}
