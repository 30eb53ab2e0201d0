/* lab02_util.h - what lab 02's tests share, on top of testutil.h: a student function run on
 * a thread of its own (so a test can wait for it with a deadline, interrupt it with a
 * signal, and never hang), and waits that give up as soon as that function returns.
 *
 * Assertion messages end up in Criterion's JSON report unescaped: keep them ASCII, with no
 * double quote or backslash. Show payloads with show_bytes, not describe_bytes: the \xNN
 * that describe_bytes writes is an invalid escape in JSON and breaks the whole report.
 */
#ifndef SOCKLAB_LAB02_UTIL_H
#define SOCKLAB_LAB02_UTIL_H

#include "testutil.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

/* Every test's .timeout, in seconds: a hard stop well beyond the waits below. */
#define TEST_TIMEOUT_S 10

/* How long to wait for something that should happen (generous: 2 cores, sanitizers). */
#define EXPECT_MS 3000

/* How long to watch for something that should NOT happen. */
#define QUIET_MS 300

/* The signal the tests use to interrupt a blocked call; its handler does nothing. */
#define TEST_SIGNAL SIGUSR1

/* A student function running on its own thread. */
struct worker {
    pthread_t thread;
    int done_pipe[2];       /* the thread writes a byte to [1] when the function returned */
    long (*fn)(void *arg);
    void *arg;
    long result;            /* what the function returned */
    int err;                /* errno just after it returned */
    int started, joined;
};

/* Handle TEST_SIGNAL with a handler that does nothing, without SA_RESTART: a blocked
 * recvfrom/poll in the signalled thread fails with EINTR. */
void install_noop_signal_handler(void);

/* Start fn(arg) on a new thread. Aborts the test if the thread cannot be created. */
void worker_start(struct worker *w, long (*fn)(void *arg), void *arg);

/* 1 once the function has returned (the thread is joined; see w->result and w->err), 0 if
 * it is still running after timeout_ms. */
int worker_wait(struct worker *w, int timeout_ms);

/* Send TEST_SIGNAL to the worker every 20 ms until its function returns (1) or timeout_ms
 * passes (0). Repeating covers a signal that lands just before the call starts to block. */
int worker_interrupt(struct worker *w, int timeout_ms);

/* For .fini: join the thread if its function returned; never blocks. */
void worker_cleanup(struct worker *w);

/* Wait up to timeout_ms for one datagram on peer, giving up early when the worker (may be
 * NULL) has returned and nothing came. The datagram's full length, or -1 with errno
 * ETIMEDOUT (nothing came) or ECHILD (the worker returned instead). */
ssize_t peer_recv_or_done(struct udp_peer *peer, struct worker *w, void *buf, size_t cap,
                          struct sockaddr_in *from, int timeout_ms);

/* Lines written to a pipe by the code under test, read with deadlines. */
struct line_reader {
    int fd;
    size_t len;
    char buf[4096];
};

/* The next line from r (without its "\n", NUL-terminated in line) within timeout_ms,
 * giving up early when the worker has returned and nothing came: its length, or -1 with
 * errno ETIMEDOUT or ECHILD. */
ssize_t read_line_or_done(struct line_reader *r, struct worker *w, char *line, size_t cap,
                          int timeout_ms);

/* describe_bytes made safe for the JSON report: each \xNN it writes becomes <NN>, so a
 * payload shows as 'hi<00>there<0a>' (8 bytes). Returns buf. */
const char *show_bytes(const void *data, size_t len, char buf[DESCRIBE_LEN]);

/* A line of text for messages: 'as it is' when it is short printable ASCII with no quote or
 * backslash, else show_bytes. Returns buf. */
const char *show_text(const char *text, char buf[DESCRIBE_LEN]);


/* What a worker's function returned, for messages: "returned R (errno: TEXT)". */
const char *describe_result(const struct worker *w, char *buf, size_t cap);

#endif
