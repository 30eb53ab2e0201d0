/* helpers.c - worker threads, signals and deadline waits for lab 02's tests. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    char byte = 1;
    call_begin();
    w->result = w->fn(w->arg);
    w->err = errno;
    call_end();
    /* The pipe's write is the release: the test reads result and err only after it. */
    while (write(w->done_pipe[1], &byte, 1) < 0 && errno == EINTR)
        continue;
    return NULL;
}

void worker_start(struct worker *w, long (*fn)(void *arg), void *arg)
{
    memset(w, 0, sizeof *w);
    w->fn = fn;
    w->arg = arg;
    cr_assert(pipe(w->done_pipe) == 0, "test set-up: pipe failed");
    cr_assert(pthread_create(&w->thread, NULL, worker_main, w) == 0,
              "test set-up: pthread_create failed");
    w->started = 1;
}

/* poll() that carries on after a signal (the test thread may be hit by one too). */
static int poll_ms(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    long long deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - monotonic_ms();
        int rc = poll(fds, n, left > 0 ? (int)left : 0);
        if (rc >= 0 || errno != EINTR)
            return rc;
    }
}

int worker_wait(struct worker *w, int timeout_ms)
{
    if (w->joined)
        return 1;
    struct pollfd pfd = {.fd = w->done_pipe[0], .events = POLLIN};
    if (poll_ms(&pfd, 1, timeout_ms) <= 0)
        return 0;
    pthread_join(w->thread, NULL);
    w->joined = 1;
    return 1;
}

int worker_end(struct worker *w, int timeout_ms)
{
    long long deadline = monotonic_ms() + timeout_ms;
    while (!worker_wait(w, 0)) {
        long long left = deadline - monotonic_ms();
        if (left <= 0)
            return 0;
        /* A signal that lands while the function is between two calls is lost: try again
         * once it blocks again. */
        if (interrupt_call((int)left) != INTERRUPTED)
            return worker_wait(w, 0);
        worker_wait(w, QUIET_MS < left ? QUIET_MS : (int)left);
    }
    return 1;
}

void worker_cleanup(struct worker *w)
{
    if (!w->started)
        return;
    worker_wait(w, 0);
    if (w->joined) {
        close(w->done_pipe[0]);
        close(w->done_pipe[1]);
    }
    /* A thread still blocked is left alone: the test process ends with the test. */
    w->started = 0;
}

ssize_t peer_recv_or_done(struct udp_peer *peer, struct worker *w, void *buf, size_t cap,
                          struct sockaddr_in *from, int timeout_ms)
{
    struct pollfd fds[2] = {{.fd = peer->fd, .events = POLLIN},
                            {.fd = w != NULL ? w->done_pipe[0] : -1, .events = POLLIN}};
    int rc = poll_ms(fds, 2, timeout_ms);
    if (rc < 0)
        return -1;
    if (fds[0].revents & POLLIN)
        return udp_peer_recv(peer, buf, cap, from, 0);
    if (rc == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    /* The worker returned: anything it sent is already queued at the peer. */
    worker_wait(w, 0);
    ssize_t n = udp_peer_recv(peer, buf, cap, from, 0);
    if (n < 0 && errno == ETIMEDOUT)
        errno = ECHILD;
    return n;
}

/* Take one line out of r->buf if a whole one is there. */
static ssize_t take_line(struct line_reader *r, char *line, size_t cap)
{
    char *nl = memchr(r->buf, '\n', r->len);
    if (nl == NULL)
        return -1;
    size_t len = (size_t)(nl - r->buf);
    size_t kept = len < cap - 1 ? len : cap - 1;
    memcpy(line, r->buf, kept);
    line[kept] = '\0';
    memmove(r->buf, nl + 1, r->len - len - 1);
    r->len -= len + 1;
    return (ssize_t)kept;
}

/* Read whatever r->fd holds right now, without waiting for more. */
static void drain_nonblocking(struct line_reader *r)
{
    int flags = fcntl(r->fd, F_GETFL);
    fcntl(r->fd, F_SETFL, flags | O_NONBLOCK);
    while (r->len < sizeof r->buf) {
        ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
        if (n > 0)
            r->len += (size_t)n;
    }
    fcntl(r->fd, F_SETFL, flags);
}

ssize_t read_line_or_done(struct line_reader *r, struct worker *w, char *line, size_t cap,
                          int timeout_ms)
{
    long long deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        ssize_t got = take_line(r, line, cap);
        if (got >= 0)
            return got;
        if (r->len == sizeof r->buf) { /* a line longer than the buffer: hand it over cut */
            r->buf[r->len - 1] = '\n';
            continue;
        }
        struct pollfd fds[2] = {{.fd = r->fd, .events = POLLIN},
                                {.fd = w != NULL ? w->done_pipe[0] : -1, .events = POLLIN}};
        long long left = deadline - monotonic_ms();
        int rc = poll_ms(fds, 2, left > 0 ? (int)left : 0);
        if (rc < 0)
            return -1;
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(r->fd, r->buf + r->len, sizeof r->buf - r->len);
            if (n > 0) {
                r->len += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            errno = n == 0 ? ECHILD : errno; /* EOF: the writer is gone */
            return -1;
        }
        if (rc == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        /* The worker returned; whatever it wrote is already in the pipe: read all of it. */
        worker_wait(w, 0);
        drain_nonblocking(r);
        got = take_line(r, line, cap);
        if (got >= 0)
            return got;
        errno = ECHILD;
        return -1;
    }
}

const char *describe_result(const struct worker *w, char *buf, size_t cap)
{
    snprintf(buf, cap, "returned %ld with errno %s", w->result, errno_text(w->err));
    return buf;
}
