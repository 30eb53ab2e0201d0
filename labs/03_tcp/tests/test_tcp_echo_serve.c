/* test_tcp_echo_serve.c - tcp_echo_serve: many clients at once, log lines, and a clean stop. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "tcp.h"

/* tcp_echo_serve on a thread of its own, on a listener of the test's own. */
static struct server {
    int lfd;
    uint16_t port;
    volatile sig_atomic_t stop;
    int rc;
    int err;
    int done_pipe[2]; /* readable once tcp_echo_serve has returned */
    int started;
    int joined;
    pthread_t thread;
} srv;

static void *serve_main(void *arg)
{
    int upper = *(int *)arg;
    errno = 0;
    call_begin();
    srv.rc = tcp_echo_serve(srv.lfd, upper, &srv.stop);
    srv.err = errno;
    call_end();
    (void)!write(srv.done_pipe[1], "x", 1);
    return NULL;
}

/* Start tcp_echo_serve(listener, upper, &srv.stop). */
static void server_start(int upper)
{
    static int upper_arg;
    upper_arg = upper;
    srv.lfd = open_listener(&srv.port);
    srv.rc = -2;
    cr_assert(pipe(srv.done_pipe) == 0, "test set-up: pipe failed");
    cr_assert(pthread_create(&srv.thread, NULL, serve_main, &upper_arg) == 0,
              "test set-up: pthread_create failed");
    srv.started = 1;
}

/* 1 when tcp_echo_serve has returned (waiting up to timeout_ms), else 0. */
static int server_returned(int timeout_ms)
{
    struct pollfd pfd = {.fd = srv.done_pipe[0], .events = POLLIN};
    return poll(&pfd, 1, timeout_ms) == 1;
}

/* Set *stop and interrupt the serving thread, as SIGINT would; 1 if it returned within
 * timeout_ms. The signal is sent once the thread sleeps in tcp_echo_serve (in accept, or
 * in poll), so that a server that counts on EINTR is not failed by a signal that came too
 * early; a server that looks at *stop after a poll timeout needs no signal. */
static int server_stop(int timeout_ms)
{
    int blocked = wait_call_blocked(ARRIVAL_MS);
    srv.stop = 1;
    if (blocked > 0)
        interrupt_call(ARRIVAL_MS);
    else if (blocked < 0)
        pthread_kill(srv.thread, INTERRUPT_SIGNAL); /* it never slept: a signal anyway */
    if (join_within(srv.thread, timeout_ms) != 0)
        return 0;
    srv.joined = 1;
    return 1;
}

/* The server's state, for messages. */
static const char *server_state(void)
{
    static char text[160];
    if (server_returned(0))
        snprintf(text, sizeof text, "tcp_echo_serve had returned %d with errno %s", srv.rc,
                 errno_text(srv.err));
    else
        snprintf(text, sizeof text, "tcp_echo_serve was still running");
    return text;
}

/* stdout to /dev/null: the connected/disconnected lines are not wanted in most tests. */
static void quiet_stdout(void)
{
    int devnull = open("/dev/null", O_WRONLY);
    fflush(stdout);
    if (devnull >= 0) {
        dup2(devnull, STDOUT_FILENO);
        close(devnull);
    }
}

/* Quiet stdout and install the interrupt handler. */
static void setup(void)
{
    quiet_stdout();
    interrupt_setup();
    memset(&srv, 0, sizeof srv);
    srv.lfd = -1;
}

static void teardown(void)
{
    if (srv.started && !srv.joined)
        server_stop(2 * STOP_MS);
    if (srv.joined)
        close(srv.lfd); /* never close it under a server that may still use it */
    kill_child_processes(); /* a forking server's sessions */
    if (srv.started) {
        close(srv.done_pipe[0]);
        close(srv.done_pipe[1]);
    }
}

TestSuite(tcp_echo_serve, .init = setup, .fini = teardown, .timeout = TEST_TIMEOUT_S);

/* A client of the test's server (with receive_buffer > 0, that SO_RCVBUF), or fail the
 * test. */
static int client_receiving(int receive_buffer)
{
    int fd = connect_local_receiving(srv.port, receive_buffer);
    cr_assert(fd >= 0, "test set-up: connecting to the listener failed: %s", errno_text(errno));
    return fd;
}

static int client(void)
{
    return client_receiving(0);
}

/* Send msg from fd and expect it back (upper-cased when want differs) within timeout_ms. */
static void expect_echo(int fd, const char *who, const char *msg, const char *want,
                        int timeout_ms)
{
    char buf[512], msg_text[DESCRIBE_LEN], want_text[DESCRIBE_LEN], got_text[DESCRIBE_LEN];
    size_t len = strlen(msg);
    send_or_fail(fd, msg, len);
    size_t n = recv_for(fd, buf, len, timeout_ms, srv.done_pipe[0], NULL);
    cr_assert(n == len && memcmp(buf, want, len) == 0, "%s sent %s: the server should have "
              "sent back %s within %d ms, but instead the client got %s (%s)", who,
              describe_bytes(msg, len, msg_text), describe_bytes(want, len, want_text),
              timeout_ms, describe_bytes(buf, n, got_text), server_state());
}

Test(tcp_echo_serve, echoes_a_client)
{
    server_start(0);
    int c = client();
    expect_echo(c, "a client", "hello, server", "hello, server", ARRIVAL_MS);
    close(c);
}

Test(tcp_echo_serve, uppercases_when_upper_is_set)
{
    server_start(1);
    int c = client();
    expect_echo(c, "with upper set, a client", "Hello, abc-xyz!", "HELLO, ABC-XYZ!", ARRIVAL_MS);
    close(c);
}

Test(tcp_echo_serve, serves_a_second_client_while_the_first_is_idle)
{
    server_start(0);
    int idle = client();
    expect_echo(idle, "the first client", "first", "first", ARRIVAL_MS);
    /* The first client now says nothing and stays connected. An iterative server sits in
     * its session (recv) and never accepts the second one. */
    int second = client();
    expect_echo(second, "while the first client stayed connected and idle, a second client",
                "second", "second", CONCURRENT_MS);
    close(second);
    close(idle);
}

/* 20 clients connect before any of them says a word, so the server accepts them back to
 * back: a thread handed &connfd reads whichever fd the loop holds by the time it runs. */
Test(tcp_echo_serve, serves_20_clients_at_once_each_with_its_own_data)
{
    enum { CLIENTS = 20 };
    int c[CLIENTS];
    char msg[CLIENTS][96];

    server_start(0);
    for (int i = 0; i < CLIENTS; i++)
        c[i] = client();
    for (int i = 0; i < CLIENTS; i++) {
        int len = snprintf(msg[i], sizeof msg[i], "client %02d:", i);
        for (int k = 0; k < i; k++) /* a length of its own too */
            len += snprintf(msg[i] + len, sizeof msg[i] - (size_t)len, "%c", 'a' + i);
        send_or_fail(c[i], msg[i], (size_t)len);
    }
    for (int i = 0; i < CLIENTS; i++) {
        char buf[96], want_text[DESCRIBE_LEN], got_text[DESCRIBE_LEN];
        size_t len = strlen(msg[i]);
        size_t n = recv_for(c[i], buf, len, ARRIVAL_MS, srv.done_pipe[0], NULL);
        cr_assert(n == len && memcmp(buf, msg[i], len) == 0, "with 20 clients connected at "
                  "once, client %d sent %s and should have got it back, but instead it got %s "
                  "(give each client's thread its own copy of the fd, never &connfd; %s)", i,
                  describe_bytes(msg[i], len, want_text), describe_bytes(buf, n, got_text),
                  server_state());
    }
    for (int i = 0; i < CLIENTS; i++)
        close(c[i]);
}

Test(tcp_echo_serve, closes_the_client_socket_when_the_client_closes)
{
    server_start(0);
    int c = client();
    expect_echo(c, "a client", "bye", "bye", ARRIVAL_MS);
    shutdown(c, SHUT_WR); /* the client is done sending, and waits for the server's FIN */
    int eof = wait_for_eof(c, ARRIVAL_MS);
    cr_assert(eof == 1, "after a client half-closed (shutdown SHUT_WR), the server should have "
              "closed its socket so the client sees EOF within %d ms, but instead %s (close "
              "every client socket; after fork the parent must close it too)", ARRIVAL_MS,
              eof == 0 ? "no EOF came" : errno_text(errno));
    close(c);
}

Test(tcp_echo_serve, returns_0_soon_after_stop_is_set)
{
    server_start(0);
    int c = client();
    expect_echo(c, "a client", "hi", "hi", ARRIVAL_MS);
    close(c);
    cr_assert(!server_returned(0), "tcp_echo_serve should keep serving until *stop is set, but "
              "instead it had returned %d (errno %s)", srv.rc, errno_text(srv.err));
    long long t0 = monotonic_ms();
    int stopped = server_stop(STOP_MS);
    cr_assert(stopped, "after *stop was set (and a signal sent to its thread), tcp_echo_serve "
              "should have returned within %d ms, but instead it was still running after %lld "
              "ms: check *stop at least every 0.5 s (poll with a timeout, or EINTR)", STOP_MS,
              monotonic_ms() - t0);
    expect_returned("tcp_echo_serve, once *stop was set,", srv.rc, 0, srv.err);
}

Test(tcp_echo_serve, returns_without_waiting_for_an_open_session)
{
    server_start(0);
    int idle = client();
    expect_echo(idle, "a client", "still here", "still here", ARRIVAL_MS);
    /* The client stays connected and idle while the server is told to stop. */
    int stopped = server_stop(STOP_MS);
    cr_assert(stopped, "with a client still connected, tcp_echo_serve should have returned "
              "within %d ms of *stop being set, but instead it was still running (do not wait "
              "for open sessions)", STOP_MS);
    expect_returned("tcp_echo_serve, once *stop was set,", srv.rc, 0, srv.err);
    close(idle);
}

/* Read one line from fd within timeout_ms into line (NUL-terminated, newline kept). */
static size_t read_log_line(int fd, char *line, size_t cap, int timeout_ms)
{
    size_t used = 0;
    long long deadline = monotonic_ms() + timeout_ms;
    while (used + 1 < cap) {
        long long left = deadline - monotonic_ms();
        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN},
                                {.fd = srv.done_pipe[0], .events = POLLIN}};
        if (left <= 0 || poll(pfd, 2, (int)left) < 1 || !(pfd[0].revents & POLLIN))
            break; /* nothing within the time, or the server returned */
        if (read(fd, line + used, 1) != 1)
            break;
        if (line[used++] == '\n')
            break;
    }
    line[used] = '\0';
    return used;
}

/* Send stdout into a pipe; the read end is returned. */
static int capture_stdout(void)
{
    int p[2];
    cr_assert(pipe(p) == 0, "test set-up: pipe failed");
    fflush(stdout);
    cr_assert(dup2(p[1], STDOUT_FILENO) >= 0, "test set-up: dup2 failed");
    close(p[1]);
    return p[0];
}

/* Point stdout back at /dev/null, then close the pipe: a session thread printing after the
 * test would otherwise write to a pipe nobody reads, and die of SIGPIPE. */
static void end_capture(int log)
{
    quiet_stdout();
    close(log);
}

/* Fail unless the next line on the log is exactly want (want holds the newline). */
static void expect_log_line(int log, const char *after, const char *want)
{
    char line[128], want_text[DESCRIBE_LEN], got_text[DESCRIBE_LEN];
    size_t n = read_log_line(log, line, sizeof line, ARRIVAL_MS);
    cr_assert(n == strlen(want) && strcmp(line, want) == 0, "%s, the server should have printed "
              "%s on stdout and flushed it, but instead within %d ms it printed %s (%s)", after,
              describe_bytes(want, strlen(want), want_text), ARRIVAL_MS,
              describe_bytes(line, n, got_text), server_state());
}

Test(tcp_echo_serve, prints_connected_with_the_client_address)
{
    char want[64];
    int log = capture_stdout();
    server_start(0);
    int c = client();
    snprintf(want, sizeof want, "connected 127.0.0.1:%u\n", (unsigned)local_port_of(c));
    expect_log_line(log, "when a client connected", want);
    close(c);
    end_capture(log);
}

/* The client lives in a process of its own, so that a server that forks a process per
 * client is tested as fairly as one that starts a thread. */
Test(tcp_echo_serve, prints_disconnected_when_the_client_closes)
{
    char want[64], line[128];
    int log = capture_stdout();
    server_start(0);
    struct remote_client c;
    remote_client_start(&c, srv.port, "hi", ARRIVAL_MS);
    cr_assert(c.echoed, "a client sent 'hi': the server should have echoed it within %d ms, "
              "but instead it did not (%s)", ARRIVAL_MS, server_state());
    read_log_line(log, line, sizeof line, ARRIVAL_MS); /* its connected line */
    remote_client_close(&c);
    snprintf(want, sizeof want, "disconnected 127.0.0.1:%u\n", (unsigned)c.port);
    expect_log_line(log, "after the client closed", want);
    end_capture(log);
}

/* Wait (up to ARRIVAL_MS) for the log line "EVENT 127.0.0.1:PORT" (connected, disconnected):
 * the server has accepted that client, or ended its session. */
static void wait_for_log(int log, const char *event, uint16_t port)
{
    char want[64], line[128];
    snprintf(want, sizeof want, "%s 127.0.0.1:%u\n", event, (unsigned)port);
    long long deadline = monotonic_ms() + ARRIVAL_MS;
    while (monotonic_ms() < deadline) {
        if (read_log_line(log, line, sizeof line, ARRIVAL_MS) == 0 || strcmp(line, want) == 0)
            return;
    }
}

/* A client sends and sends, never reading the echo, then hangs up: its reset reaches a
 * server stuck sending that echo, with bytes of the client's still unread. Its send fails
 * with EPIPE (the FIN came first: ECONNRESET otherwise), and so does every send after it,
 * which is SIGPIPE for a send without MSG_NOSIGNAL (at its default here, as in the
 * programs): the whole server dies. It must instead end that session and serve the next
 * client. Waiting until the server is stuck makes that happen on every run. */
Test(tcp_echo_serve, survives_a_client_that_hangs_up_before_reading_its_echo)
{
    default_sigpipe();
    int log = capture_stdout(); /* only to know when that session is over */
    server_start(0);
    int rude = client_receiving(4096), session; /* its small window stops the echo early */
    uint16_t rude_port = local_port_of(rude);
    wait_for_log(log, "connected", rude_port); /* its socket is the server's now */
    int stuck = feed_until_stuck_sending(rude, &session, ARRIVAL_MS);
    shutdown(rude, SHUT_WR);
    if (stuck)
        wait_for_tcp_state(session, TCP_CLOSE_WAIT, ARRIVAL_MS);
    reset_and_close(rude);
    wait_for_log(log, "disconnected", rude_port); /* a server that dies of SIGPIPE dies by now */
    int next = client();
    expect_echo(next, "after a client sent data without reading its echo and hung up, "
                "the next client", "still there?", "still there?", ARRIVAL_MS);
    close(next);
    end_capture(log);
}
