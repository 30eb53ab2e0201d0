/* test_tcp_echo_session.c - tcp_echo_session: every byte back, until the peer closes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "tcp.h"

#define MIB (1024u * 1024)

/* tcp_echo_session(fd, upper) on a thread of its own; done_pipe becomes readable when it
 * returns, so the test can stop waiting for an echo that will never come. */
struct session_run {
    int fd;
    int upper;
    int rc;
    int err;
    int done_pipe[2];
    pthread_t thread;
};

static void *session_main(void *arg)
{
    struct session_run *s = arg;
    errno = 0;
    s->rc = tcp_echo_session(s->fd, s->upper);
    s->err = errno;
    (void)!write(s->done_pipe[1], "x", 1);
    return NULL;
}

static void session_start(struct session_run *s, int fd, int upper)
{
    s->fd = fd;
    s->upper = upper;
    s->rc = -2;
    s->err = 0;
    cr_assert(pipe(s->done_pipe) == 0, "test set-up: pipe failed");
    cr_assert(pthread_create(&s->thread, NULL, session_main, s) == 0,
              "test set-up: pthread_create failed");
}

/* Join the session within timeout_ms, or fail the test; what: what the peer did. */
static void session_join(struct session_run *s, int timeout_ms, const char *what)
{
    cr_assert(join_within(s->thread, timeout_ms) == 0, "%s, tcp_echo_session should have "
              "returned within %d ms, but instead it was still running: recv() returning 0 "
              "means the peer closed", what, timeout_ms);
    close(s->done_pipe[0]);
    close(s->done_pipe[1]);
}

/* Send msg from the peer and expect exactly want back. */
static void expect_echo(int peer, struct session_run *s, const char *what, const void *msg,
                        const void *want, size_t len)
{
    char buf[512], want_text[DESCRIBE_LEN], got_text[DESCRIBE_LEN];
    send_or_fail(peer, msg, len);
    size_t n = recv_for(peer, buf, len, ARRIVAL_MS, s->done_pipe[0], NULL);
    cr_assert(n == len, "%s, tcp_echo_session should have sent back %s within %d ms, but "
              "instead the peer got %s%s (tcp_echo_session returned %d, errno %s)", what,
              describe_bytes(want, len, want_text), ARRIVAL_MS,
              describe_bytes(buf, n, got_text), n < len ? " only" : "", s->rc,
              errno_text(s->err));
    expect_same_bytes("the echo", want, buf, len);
}

Test(tcp_echo_session, echoes_every_byte_of_1_mib_of_binary_data, .timeout = TEST_TIMEOUT_S)
{
    static unsigned char data[MIB], echo[MIB];
    int fds[2];
    fill_pattern(data, MIB); /* zero bytes, newlines, a-z, bytes over 0x7f */
    open_stream_pair(fds);
    struct session_run s;
    session_start(&s, fds[1], 0);
    /* The peer writes on a thread of its own while this one reads the echo: the echo
     * cannot wait until the end (the socket buffers fill up long before 1 MiB). Its first
     * 100 bytes come alone, so the session's first recv is short on every run. */
    struct writer w = {.fd = fds[0], .buf = data, .len = MIB, .half_close = 1, .first = 100,
                       .reader_fd = fds[1]};
    writer_start(&w);
    size_t got = recv_for(fds[0], echo, MIB, 3 * ARRIVAL_MS, s.done_pipe[0], NULL);
    cr_assert(got == MIB, "after the peer sent 1 MiB (byte i = i mod 251), tcp_echo_session "
              "should have sent back 1048576 bytes, but instead the peer got %zu "
              "(tcp_echo_session returned %d, errno %s)", got, s.rc, errno_text(s.err));
    expect_same_bytes("the 1 MiB echoed (upper = 0: unchanged; echo exactly the n bytes each "
                      "recv returned)", data, echo, MIB);
    cr_assert(writer_join(&w, ARRIVAL_MS) == 0, "test set-up: the peer's writer hung");
    session_join(&s, ARRIVAL_MS, "after the peer sent 1 MiB and closed its side");
    close(fds[0]);
    close(fds[1]);
}

Test(tcp_echo_session, returns_0_when_the_peer_closes, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    open_stream_pair(fds);
    struct session_run s;
    session_start(&s, fds[1], 0);
    expect_echo(fds[0], &s, "after the peer sent 'bye'", "bye", "bye", 3);
    close(fds[0]);
    session_join(&s, ARRIVAL_MS, "after the peer closed");
    expect_returned("tcp_echo_session, when the peer closed,", s.rc, 0, s.err);
    close(fds[1]);
}

Test(tcp_echo_session, uppercases_a_to_z_and_nothing_else_when_upper_is_set,
     .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    unsigned char every[256], want[256];
    for (int i = 0; i < 256; i++) {
        every[i] = (unsigned char)i;
        want[i] = (unsigned char)(i >= 'a' && i <= 'z' ? i - 'a' + 'A' : i);
    }
    open_stream_pair(fds);
    struct session_run s;
    session_start(&s, fds[1], 1);
    char buf[256];
    send_or_fail(fds[0], every, sizeof every);
    size_t n = recv_for(fds[0], buf, sizeof buf, ARRIVAL_MS, s.done_pipe[0], NULL);
    cr_assert(n == sizeof every, "after the peer sent the 256 byte values 0 to 255 with upper "
              "set, tcp_echo_session should have sent back 256 bytes, but instead the peer got "
              "%zu (tcp_echo_session returned %d, errno %s)", n, s.rc, errno_text(s.err));
    for (int i = 0; i < 256; i++)
        cr_assert((unsigned char)buf[i] == want[i], "with upper set, byte 0x%02x should come "
                  "back as 0x%02x (only a-z change, to A-Z; not toupper, which depends on the "
                  "locale), but instead it came back as 0x%02x", i, want[i],
                  (unsigned char)buf[i]);
    close(fds[0]);
    session_join(&s, ARRIVAL_MS, "after the peer closed");
    close(fds[1]);
}

Test(tcp_echo_session, leaves_letters_alone_when_upper_is_0, .timeout = TEST_TIMEOUT_S)
{
    static const char msg[] = "Hello, World: abc xyz {|}";
    int fds[2];
    open_stream_pair(fds);
    struct session_run s;
    session_start(&s, fds[1], 0);
    expect_echo(fds[0], &s, "with upper = 0, after the peer sent mixed case", msg, msg,
                sizeof msg - 1);
    close(fds[0]);
    session_join(&s, ARRIVAL_MS, "after the peer closed");
    close(fds[1]);
}

Test(tcp_echo_session, echoes_each_piece_without_waiting_for_more, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    open_stream_pair(fds);
    struct session_run s;
    session_start(&s, fds[1], 0);
    /* No newline, and far less than any buffer: the echo must come now, not at EOF, not
     * when a buffer is full (MSG_WAITALL), not at the end of a line. */
    expect_echo(fds[0], &s, "after the peer sent 'ping' (no newline) and waited", "ping", "ping",
                4);
    expect_echo(fds[0], &s, "after the echo of 'ping', the peer sent 'pong'", "pong", "pong", 4);
    close(fds[0]);
    session_join(&s, ARRIVAL_MS, "after the peer closed");
    close(fds[1]);
}

Test(tcp_echo_session, does_not_close_the_socket_it_is_given, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    open_stream_pair(fds);
    struct session_run s;
    session_start(&s, fds[1], 0);
    expect_echo(fds[0], &s, "after the peer sent 'x'", "x", "x", 1);
    close(fds[0]);
    session_join(&s, ARRIVAL_MS, "after the peer closed");
    expect_returned("tcp_echo_session, when the peer closed,", s.rc, 0, s.err);
    int type = 0;
    socklen_t len = sizeof type;
    cr_assert(getsockopt(fds[1], SOL_SOCKET, SO_TYPE, &type, &len) == 0, "after "
              "tcp_echo_session returned, its fd should still be open (the caller closes it; a "
              "second close may close another thread's socket), but instead it was closed: %s",
              errno_text(errno));
    close(fds[1]);
}

Test(tcp_echo_session, returns_minus_1_when_the_peer_resets, .timeout = TEST_TIMEOUT_S)
{
    int peer, conn;
    open_tcp_pair(&peer, &conn, 0);
    struct session_run s;
    session_start(&s, conn, 0);
    expect_echo(peer, &s, "after the peer sent 'abc'", "abc", "abc", 3);
    reset_and_close(peer); /* RST, not FIN: recv() fails with ECONNRESET, it never returns 0 */
    session_join(&s, ARRIVAL_MS, "after the peer reset the connection");
    expect_returned("tcp_echo_session, when the peer reset the connection (a reset is not a "
                    "clean close),", s.rc, -1, s.err);
    close(conn);
}

/* tcp_echo_session(fd, 0) for run_in_child. */
static long call_echo_session(void *arg)
{
    return tcp_echo_session(*(int *)arg, 0);
}

/* The peer sent a request and went away before the reply: the echo hits a socket whose peer
 * has reset. A send() without MSG_NOSIGNAL raises SIGPIPE there, and that kills the whole
 * process (every client of the server with it). */
Test(tcp_echo_session, returns_minus_1_instead_of_dying_of_sigpipe_when_the_peer_has_gone,
     .timeout = TEST_TIMEOUT_S)
{
    int peer, conn;
    open_tcp_pair(&peer, &conn, 0);
    send_or_fail(peer, "hello", 5);
    make_peer_gone(conn, peer); /* 'hello' is still waiting to be read on conn */
    /* In a child process with SIGPIPE at its default, as in lab 03's programs. */
    struct child_result r = run_in_child(call_echo_session, &conn, ARRIVAL_MS);
    cr_assert(r.killed_by == 0, "tcp_echo_session, echoing 'hello' to a peer that has closed "
              "and reset, should return -1, but instead the process was killed by signal %d "
              "(%s)%s", r.killed_by, strsignal(r.killed_by),
              r.killed_by == SIGPIPE ? ": send with MSG_NOSIGNAL (send_all does)" : "");
    cr_assert(!r.hung, "tcp_echo_session, echoing 'hello' to a peer that has closed and reset, "
              "should return -1, but instead it had not returned after %d ms", ARRIVAL_MS);
    int unread = -1;
    ioctl(conn, FIONREAD, &unread);
    cr_assert(unread == 0, "tcp_echo_session should have read the 5 bytes the peer sent "
              "before it went away (and then failed to echo them), but instead %d bytes were "
              "still unread when it returned %ld (errno %s)", unread, r.rc, errno_text(r.err));
    expect_returned("tcp_echo_session, echoing 'hello' to a peer that has closed and reset,",
                    r.rc, -1, r.err);
    close(conn);
}
