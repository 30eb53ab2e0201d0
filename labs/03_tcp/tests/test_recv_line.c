/* test_recv_line.c - recv_line: one line, never a byte past its newline. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "tcp.h"

static int fds[2]; /* fds[0]: the test's peer; fds[1]: where recv_line reads */

static void open_pair(void)
{
    open_stream_pair(fds);
}

static void close_pair(void)
{
    close(fds[0]);
    close(fds[1]);
}

/* recv_line(fds[1], buf, cap) must return the line want (its length, and the bytes and the
 * NUL after them); what says what the peer did before. */
static void expect_line(const char *what, char *buf, size_t cap, const char *want,
                        size_t want_len)
{
    char want_text[DESCRIBE_LEN], got_text[DESCRIBE_LEN];
    describe_bytes(want, want_len, want_text);
    errno = 0;
    ssize_t n = recv_line(fds[1], buf, cap);
    int err = errno;
    cr_assert(n == (ssize_t)want_len, "%s, recv_line(fd, buf, %zu) should have returned %zu for "
              "the line %s, but instead it returned %zd (errno %s)%s%s", what, cap, want_len,
              want_text, n, errno_text(err), n > 0 ? " with " : "",
              n > 0 ? describe_bytes(buf, (size_t)n < cap ? (size_t)n : cap, got_text) : "");
    cr_assert(memcmp(buf, want, want_len) == 0, "%s, recv_line should have stored the line %s, "
              "but instead buf held %s", what, want_text,
              describe_bytes(buf, want_len, got_text));
    cr_assert(buf[want_len] == '\0', "%s, recv_line should have ended the line %s with a NUL "
              "byte at buf[%zu], but instead buf[%zu] was 0x%02x", what, want_text, want_len,
              want_len, (unsigned char)buf[want_len]);
}

/* recv_line must return 0 (EOF) now. */
static void expect_eof(const char *what)
{
    char buf[64];
    errno = 0;
    ssize_t n = recv_line(fds[1], buf, sizeof buf);
    expect_returned(what, n, 0, errno);
}

TestSuite(recv_line, .init = open_pair, .fini = close_pair, .timeout = TEST_TIMEOUT_S);

Test(recv_line, returns_one_line_with_its_newline)
{
    char buf[64];
    send_or_fail(fds[0], "hello\n", 6);
    expect_line("after the peer sent 'hello' and a newline", buf, sizeof buf, "hello\n", 6);
}

Test(recv_line, returns_two_lines_sent_at_once_one_per_call)
{
    char buf[64];
    send_or_fail(fds[0], "one\ntwo\n", 8);
    expect_line("after one send of two lines, the first call", buf, sizeof buf, "one\n", 4);
    expect_line("after one send of two lines, the second call", buf, sizeof buf, "two\n", 4);
}

Test(recv_line, leaves_the_bytes_after_the_newline_in_the_socket)
{
    char buf[64], rest[64];
    send_or_fail(fds[0], "one\nrest", 8);
    expect_line("after the peer sent 'one', a newline and 'rest'", buf, sizeof buf, "one\n", 4);
    ssize_t n = recv(fds[1], rest, sizeof rest, MSG_DONTWAIT);
    char text[DESCRIBE_LEN];
    cr_assert(n == 4 && memcmp(rest, "rest", 4) == 0, "after recv_line returned the first line, "
              "the 4 bytes after its newline ('rest') should still be in the socket for the next "
              "reader, but instead a recv found %s: do not read past the newline (MSG_PEEK, or "
              "one byte at a time)", n >= 0 ? describe_bytes(rest, (size_t)n, text) : "nothing");
}

/* The peer's pieces, each sent once recv_line has taken the ones before (or after 1 s). */
static void *send_in_pieces(void *arg)
{
    static const char *pieces[] = {"hel", "lo wo", "rld\n"};
    (void)arg;
    for (size_t i = 0; i < 3; i++) {
        if (i > 0)
            wait_until_read(fds[1], 1000);
        send(fds[0], pieces[i], strlen(pieces[i]), MSG_NOSIGNAL);
    }
    return NULL;
}

Test(recv_line, assembles_a_line_that_arrives_in_pieces)
{
    char buf[64];
    pthread_t peer;
    cr_assert(pthread_create(&peer, NULL, send_in_pieces, NULL) == 0,
              "test set-up: pthread_create failed");
    expect_line("after the peer sent 'hel', 'lo wo' and 'rld' and a newline in three sends "
                "(one recv is not one line)", buf, sizeof buf, "hello world\n", 12);
    join_within(peer, ARRIVAL_MS);
}

Test(recv_line, keeps_zero_bytes_inside_a_line)
{
    char buf[64];
    send_or_fail(fds[0], "a\0b\n", 4);
    expect_line("after the peer sent a, a zero byte, b and a newline (count bytes, do not use "
                "strlen)", buf, sizeof buf, "a\0b\n", 4);
}

Test(recv_line, cuts_a_long_line_at_cap_minus_1_bytes)
{
    char buf[16];
    send_or_fail(fds[0], "abcdefgh\n", 9);
    expect_line("after the peer sent 'abcdefgh' and a newline, with cap 5", buf, 5, "abcd", 4);
}

Test(recv_line, never_writes_at_or_past_buf_cap)
{
    char buf[16];
    memset(buf, '#', sizeof buf);
    send_or_fail(fds[0], "abcdefgh\n", 9);
    errno = 0;
    ssize_t n = recv_line(fds[1], buf, 5);
    expect_returned("recv_line(fd, buf, 5) on 'abcdefgh' and a newline", n, 4, errno);
    for (size_t i = 5; i < sizeof buf; i++)
        cr_assert(buf[i] == '#', "recv_line(fd, buf, 5) may use buf[0] to buf[4] only, but "
                  "instead it changed buf[%zu] to 0x%02x: the NUL goes at buf[count], and count "
                  "is at most cap - 1", i, (unsigned char)buf[i]);
}

Test(recv_line, continues_a_cut_line_on_the_next_call)
{
    char buf[16];
    send_or_fail(fds[0], "abcdefgh\n", 9);
    expect_line("with cap 5, the first call", buf, 5, "abcd", 4);
    expect_line("after a first call with cap 5 returned 'abcd', the next call", buf, sizeof buf,
                "efgh\n", 5);
}

/* A cap far above any buffer a recv_line might keep of its own (char tmp[4096], BUFSIZ). */
#define BIG_CAP 65536

Test(recv_line, returns_a_line_of_cap_minus_1_bytes_whole_with_cap_65536)
{
    /* The largest line one call returns: cap - 1 bytes (here with its newline) and the NUL. */
    static char line[BIG_CAP - 1], buf[BIG_CAP];
    for (size_t i = 0; i < sizeof line - 1; i++)
        line[i] = (char)('a' + (i * 7 + i / 26) % 26); /* a cut or a shift shows at once */
    line[sizeof line - 1] = '\n';
    /* On a thread of its own: the line may not fit in the socket's buffer at once. Its
     * first 1000 bytes come alone, so one recv never holds the whole line. */
    struct writer w = {.fd = fds[0], .buf = line, .len = sizeof line, .first = 1000,
                       .reader_fd = fds[1]};
    writer_start(&w);
    expect_line("after the peer sent a line of 65535 bytes, newline included (a buffer of "
                "recv_line's own smaller than cap cuts it: read into buf, up to cap - 1 bytes)",
                buf, BIG_CAP, line, sizeof line);
    cr_assert(writer_join(&w, ARRIVAL_MS) == 0, "test set-up: the peer's writer hung");
}

Test(recv_line, returns_a_last_line_without_newline_at_eof)
{
    char buf[64];
    send_or_fail(fds[0], "tail", 4);
    shutdown(fds[0], SHUT_WR);
    expect_line("after the peer sent 'tail' and closed", buf, sizeof buf, "tail", 4);
}

Test(recv_line, returns_0_on_the_call_after_a_last_line_without_newline)
{
    char buf[64];
    send_or_fail(fds[0], "tail", 4);
    shutdown(fds[0], SHUT_WR);
    expect_line("after the peer sent 'tail' and closed, the first call", buf, sizeof buf,
                "tail", 4);
    expect_eof("after the peer sent 'tail' and closed, the second call recv_line(fd, buf, 64)");
}

Test(recv_line, returns_0_at_eof)
{
    shutdown(fds[0], SHUT_WR);
    expect_eof("after the peer closed without sending anything, recv_line(fd, buf, 64)");
}

Test(recv_line, retries_when_a_signal_interrupts_the_wait)
{
    char buf[64], want_text[DESCRIBE_LEN], did[160];
    struct late_sender p; /* interrupts recv_line once it is blocked in recv(), then sends */
    ssize_t n;
    int err;

    for (int attempt = 1;; attempt++) {
        interrupt_setup();
        late_sender_start(&p, fds[0], "late\n", 5);
        errno = 0;
        call_begin();
        n = recv_line(fds[1], buf, sizeof buf);
        err = errno;
        call_end();
        cr_assert(join_within(p.thread, 2 * ARRIVAL_MS) == 0, "test set-up: the peer hung");
        snprintf(did, sizeof did, "returned %zd with errno %s", n, errno_text(err));
        if (interrupt_attempt(p.outcome, attempt, "recv_line(fd, buf, 64), with no line to read "
                              "yet,", did))
            break;
        close_pair(); /* the line may still wait in it: start again on a new pair */
        open_pair();
    }
    cr_assert(n == 5 && memcmp(buf, "late\n", 5) == 0, "recv_line, interrupted by a signal "
              "while it waited, should have tried again (EINTR) and returned 5 for the line %s "
              "that came next, but instead it returned %zd (errno %s)",
              describe_bytes("late\n", 5, want_text), n, errno_text(err));
}
