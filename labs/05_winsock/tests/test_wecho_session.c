/* test_wecho_session.c - wecho_session: echo until the peer closes. The session runs on a
 * thread of its own; the test is its peer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "wecho.h"

#define BULK (256 * 1024)
#define FIRST_PIECE 100   /* sent alone before the rest of the bulk */

/* static: a session left running by a failed test must not point into a dead stack */
static struct session session;
static unsigned char bulk_out[BULK], bulk_in[BULK];

static void expect_session_returned_0(struct session *s)
{
    cr_assert(session_join(s, ARRIVAL_MS) == 0, "wecho_session did not return after the peer "
              "closed the connection");
    expect_returned("wecho_session(c) after the peer closed", s->rc, 0, s->err);
}

/* Send text, expect it back, return the test's end (the session's end is fds[1]). */
static void echo_once(int fd, const char *text)
{
    expect_session_running(&session, "before the peer closed");
    char got[256], shown[DESCRIBE_LEN];
    size_t len = strlen(text);
    send_or_fail(fd, text, len);
    size_t n = recv_for(fd, got, len, ARRIVAL_MS, session.done_fd, NULL);
    if (n < len)
        expect_session_running(&session, "with bytes to echo");
    cr_assert(n == len && memcmp(got, text, len) == 0, "wecho_session should echo '%s', but "
              "%s came back", text, describe_bytes(got, n, shown));
}

Test(wecho_session, echoes_a_message, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    open_stream_pair(fds);
    session_start(&session, fds[1]);
    echo_once(fds[0], "hello, winsock");
    close(fds[0]);
    expect_session_returned_0(&session);
    close(fds[1]);
}

Test(wecho_session, echoes_several_messages, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    open_stream_pair(fds);
    session_start(&session, fds[1]);
    echo_once(fds[0], "one");
    echo_once(fds[0], "two two");
    echo_once(fds[0], "three three three");
    close(fds[0]);
    expect_session_returned_0(&session);
    close(fds[1]);
}

Test(wecho_session, echoes_over_tcp, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int c = connect_local(port);
    cr_assert(c >= 0, "test set-up: connect failed: %s", errno_text(errno));
    int a = accept_within(lfd, ARRIVAL_MS);
    cr_assert(a >= 0, "test set-up: accept failed: %s", errno_text(errno));
    session_start(&session, a);
    echo_once(c, "over TCP");
    close(c);
    expect_session_returned_0(&session);
    close(a);
    close(lfd);
}

Test(wecho_session, echoes_bulk_data_in_order, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    open_stream_pair(fds);
    fill_pattern(bulk_out, BULK);
    session_start(&session, fds[1]);
    /* The first piece comes alone, and the rest once the session has read it: its first
     * recv is short on every run, so a session that takes a short recv for the end of the
     * data stops there every time, not only when the scheduler happens to split. */
    struct writer w = {.fd = fds[0], .buf = bulk_out, .len = BULK, .half_close = 1,
                       .first = FIRST_PIECE, .reader_fd = fds[1]};
    writer_start(&w);
    size_t n = recv_for(fds[0], bulk_in, BULK, TEST_TIMEOUT_S * 1000 / 2, session.done_fd,
                        NULL);
    if (n < BULK && session.done) {
        /* the session returned: let it have sent what it could, then read the rest */
        n += recv_for(fds[0], bulk_in + n, BULK - n, QUIET_MS, -1, NULL);
    }
    cr_assert(n == BULK || !session.done, "wecho_session returned %d (errno %s) after echoing "
              "%zu of %d bytes, before the peer closed (the first %d bytes came alone): only "
              "recv returning 0 ends the data, a short recv does not", session.rc,
              errno_text(session.err), n, BULK, FIRST_PIECE);
    cr_assert(writer_join(&w, ARRIVAL_MS) == 0, "the test's writer did not finish");
    cr_assert(n == BULK, "wecho_session echoed %zu of %d bytes", n, BULK);
    expect_same_bytes("the echoed bytes", bulk_out, bulk_in, BULK);
    expect_session_returned_0(&session);
    close(fds[0]);
    close(fds[1]);
}

Test(wecho_session, returns_0_when_the_peer_closes_at_once, .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    open_stream_pair(fds);
    close(fds[0]);
    session_start(&session, fds[1]);
    expect_session_returned_0(&session);
    close(fds[1]);
}

Test(wecho_session, returns_after_a_half_close_and_leaves_the_socket_open,
     .timeout = TEST_TIMEOUT_S)
{
    int fds[2];
    open_stream_pair(fds);
    session_start(&session, fds[1]);
    send_or_fail(fds[0], "bye", 3);
    shutdown(fds[0], SHUT_WR);
    expect_session_returned_0(&session);
    char got[8];
    int eof = 0;
    size_t n = recv_for(fds[0], got, 3, ARRIVAL_MS, -1, &eof);
    cr_assert(n == 3 && memcmp(got, "bye", 3) == 0, "wecho_session should echo 'bye' before "
              "it returns");
    cr_assert(fd_is_open(fds[1]), "wecho_session closed its socket: the caller closes it");
    close(fds[0]);
    close(fds[1]);
}
