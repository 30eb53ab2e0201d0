/* helpers.h - what lab 02's tests share, on top of testutil.h: a student function run on a
 * thread of its own (so a test can wait for it with a deadline, interrupt it with a signal,
 * and never hang), and waits that give up as soon as that function returns.
 */
#ifndef SOCKLAB_LAB02_HELPERS_H
#define SOCKLAB_LAB02_HELPERS_H

#include "testutil.h"

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

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

/* Start fn(arg) on a new thread; the call is the watched one (call_begin/call_end, see
 * testutil.h), which interrupt_call interrupts. Aborts the test if the thread cannot be
 * created. */
void worker_start(struct worker *w, long (*fn)(void *arg), void *arg);

/* 1 once the function has returned (the thread is joined; see w->result and w->err), 0 if
 * it is still running after timeout_ms. */
int worker_wait(struct worker *w, int timeout_ms);

/* For a .fini, after interrupt_setup(): interrupt the worker's function (interrupt_call)
 * until it returns (1) or timeout_ms passes (0). */
int worker_end(struct worker *w, int timeout_ms);

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

/* What a worker's function returned, for messages: "returned R with errno TEXT". */
const char *describe_result(const struct worker *w, char *buf, size_t cap);

#endif
