/* helpers.h - what lab 05's Criterion tests share, on top of testutil.h (which has the
 * stream pairs, timed reads, the background writer and join_within): TCP peers of the
 * test's own, a session on a thread of its own, and readable failure messages.
 *
 * The tests run on Linux, so they check the POSIX side of the lab's one source (`make win`
 * compiles the Windows side). Each test checks one function against peers written here with
 * plain system calls. Helpers that can fail the test (cr_assert) run on the test's own
 * thread only; the background threads just record what they saw.
 */
#ifndef SOCKLAB_LAB05_HELPERS_H
#define SOCKLAB_LAB05_HELPERS_H

#include <pthread.h>
#include <stdint.h>

#include "sock_compat.h"
#include "testutil.h"

/* Fail the test unless call returned a socket (not SOCK_INVALID); returns it. */
sock_t expect_sock(const char *call, sock_t s, int err);

/* 1 when fd is an open descriptor. */
int fd_is_open(int fd);

/* The local (or, with remote, the peer's) address of a socket; fails the test on error. */
struct sockaddr_in address_of(int fd, int remote);

/* wecho_session(fd) on a thread of its own. */
struct session {
    int fd;
    /* set by the thread */
    int rc;
    int err;
    int done;
    int done_fd;  /* becomes readable when wecho_session has returned: a stop_fd for recv_for */
    /* private */
    int done_pipe[2];
    pthread_t thread;
};
/* Start one, or fail the test. */
void session_start(struct session *s, int fd);
/* Join it: 0, or -1 when it did not return within timeout_ms (the thread is left). Fails
 * the test at once when the session has returned non-0 (a stub), naming what it returned. */
int session_join(struct session *s, int timeout_ms);

/* Fail the test at once when the session has already returned: call it when the session
 * should still be running (what names the moment, e.g. "before the peer closed"). */
void expect_session_running(struct session *s, const char *what);

#endif
