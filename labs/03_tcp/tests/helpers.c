/* helpers.c - TCP peers, a background reader and child processes for lab 03's tests. */
#define _GNU_SOURCE /* POLLRDHUP */
#include "helpers.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- messages ---- */

int expect_fd(const char *call, int fd, int err)
{
    cr_assert(fd >= 0, "%s should have returned a socket, but instead it returned %d with "
              "errno %s", call, fd, errno_text(err));
    return fd;
}

void expect_failed(const char *call, long got)
{
    cr_assert(got == -1, "%s should have returned -1, but instead it returned %ld", call, got);
}

/* ---- sockets of the test's own ---- */

static void set_buffers(int fd, int bytes)
{
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

void open_tcp_pair(int *client, int *server, int small_buffers)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(c >= 0, "test set-up: socket() failed: %s", errno_text(errno));
    if (small_buffers) {
        /* Before connect/accept: the window scale is agreed on in the handshake, and an
         * accepted socket inherits the listener's buffer sizes. */
        set_buffers(lfd, 16384);
        set_buffers(c, 16384);
    }
    struct sockaddr_in a = loopback_addr(port);
    cr_assert(connect(c, (struct sockaddr *)&a, sizeof a) == 0,
              "test set-up: connecting to the test's own listener failed: %s",
              errno_text(errno));
    int s = accept_within(lfd, ARRIVAL_MS);
    cr_assert(s >= 0, "test set-up: accept() failed: %s", errno_text(errno));
    close(lfd);
    *client = c;
    *server = s;
}

uint16_t local_port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &alen) < 0)
        return 0;
    return ntohs(a.sin_port);
}

int wait_for_eof(int fd, int timeout_ms)
{
    char scratch[4096];
    long long deadline = monotonic_ms() + timeout_ms;

    for (;;) {
        long long left = deadline - monotonic_ms();
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (left <= 0)
            return 0;
        int ready = poll(&pfd, 1, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return -1;
        if (ready == 0)
            return 0;
        ssize_t n = recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
        if (n == 0)
            return 1;
        if (n < 0 && errno != EINTR && errno != EAGAIN)
            return -1;
    }
}

void reset_and_close(int fd)
{
    struct linger hard = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(fd);
}

void make_peer_gone(int fd, int peer)
{
    struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};

    close(peer); /* the peer's FIN */
    cr_assert(poll(&pfd, 1, ARRIVAL_MS) == 1 && (pfd.revents & POLLRDHUP),
              "test set-up: the peer's FIN did not arrive within %d ms", ARRIVAL_MS);
    /* Writing to a closed peer is allowed once: its kernel answers with a reset. */
    cr_assert(send(fd, "?", 1, MSG_NOSIGNAL) == 1, "test set-up: the first write to a "
              "closed peer should succeed, but it failed: %s", errno_text(errno));
    pfd.events = 0; /* POLLHUP and POLLERR are always reported */
    cr_assert(poll(&pfd, 1, ARRIVAL_MS) == 1 && (pfd.revents & (POLLHUP | POLLERR)),
              "test set-up: the peer's reset did not arrive within %d ms", ARRIVAL_MS);
}

/* ---- a server stuck sending an echo nobody reads ---- */

/* The port of a socket's own end (mine) or of the other end, or 0. */
static uint16_t port_of(int fd, int mine)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int rc = mine ? getsockname(fd, (struct sockaddr *)&a, &len)
                  : getpeername(fd, (struct sockaddr *)&a, &len);
    return rc == 0 && a.sin_family == AF_INET ? ntohs(a.sin_port) : 0;
}

/* The socket of this process at the other end of fd's loopback connection, or -1. */
static int other_end_of(int fd)
{
    uint16_t here = port_of(fd, 1), there = port_of(fd, 0);
    if (here == 0 || there == 0)
        return -1; /* not a connected socket: nothing to match */
    for (int other = 0; other < 1024; other++) {
        if (other != fd && port_of(other, 1) == there && port_of(other, 0) == here)
            return other;
    }
    return -1;
}

/* Bytes sent on fd that its peer has not acknowledged (SIOCOUTQ), or -1. */
static int unacknowledged(int fd)
{
    int queued = 0;
    return ioctl(fd, SIOCOUTQ, &queued) < 0 ? -1 : queued;
}

int feed_until_stuck_sending(int fd, int *session, int timeout_ms)
{
    static const unsigned char piece[16384];
    int server = other_end_of(fd);
    long long deadline = monotonic_ms() + timeout_ms;
    while (server >= 0 && monotonic_ms() < deadline) {
        int in_flight = unacknowledged(fd);
        int unread = queued_bytes(server), unsent = unacknowledged(server);
        if (in_flight < 0 || unread < 0 || unsent < 0)
            return 0;
        if (in_flight == 0 && unread == 0) {
            send_or_fail(fd, piece, sizeof piece);
            continue;
        }
        /* Asleep with input waiting is not in recv (data wakes it): it is in send. Its
         * queues are looked at again after its threads, so nothing moved meanwhile. */
        if (in_flight == 0 && unsent > 0 && other_threads_asleep() &&
            queued_bytes(server) == unread && unacknowledged(server) == unsent) {
            *session = server;
            return 1;
        }
        tick(); /* no event tells that another thread is blocked */
    }
    return 0;
}

int wait_for_tcp_state(int fd, int state, int timeout_ms)
{
    long long deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        struct tcp_info info;
        socklen_t len = sizeof info;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 && info.tcpi_state == state)
            return 1;
        if (monotonic_ms() >= deadline)
            return 0;
        tick();
    }
}

/* ---- signals, processes and threads ---- */

void default_sigpipe(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    cr_assert(sigaction(SIGPIPE, &sa, NULL) == 0, "test set-up: sigaction failed");
}

struct child_result run_in_child(long (*call)(void *), void *arg, int timeout_ms)
{
    struct child_result res = {.rc = 0, .err = 0, .killed_by = 0, .hung = 0};
    int p[2];
    cr_assert(pipe(p) == 0, "test set-up: pipe failed");
    fflush(NULL); /* nothing buffered may be written twice */
    pid_t child = fork();
    cr_assert(child >= 0, "test set-up: fork failed: %s", errno_text(errno));
    if (child == 0) {
        default_sigpipe();
        close(p[0]);
        errno = 0;
        long out[2];
        out[0] = call(arg);
        out[1] = errno;
        (void)!write(p[1], out, sizeof out);
        _exit(0);
    }
    close(p[1]);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    long in[2];
    if (poll(&pfd, 1, timeout_ms) == 1 && read(p[0], in, sizeof in) == (ssize_t)sizeof in) {
        res.rc = in[0];
        res.err = (int)in[1];
    } else if (pfd.revents == 0) {
        res.hung = 1;
        kill(child, SIGKILL);
    }
    close(p[0]);
    int status = 0;
    waitpid(child, &status, 0);
    if (WIFSIGNALED(status) && !res.hung)
        res.killed_by = WTERMSIG(status);
    return res;
}

/* The helper process: connect, echo hello once, report, wait for the word, close. */
static void remote_client_main(uint16_t port, const char *hello, int report, int go)
{
    struct { uint16_t port; int echoed; } out = {0, 0};
    char buf[256];
    size_t len = strlen(hello), got = 0;
    int fd = connect_local(port);
    if (fd >= 0) {
        struct timeval limit = {.tv_sec = ARRIVAL_MS / 1000, .tv_usec = 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
        out.port = local_port_of(fd);
        if (send(fd, hello, len, MSG_NOSIGNAL) == (ssize_t)len) {
            ssize_t n = 1;
            while (got < len && got < sizeof buf && n > 0) {
                n = recv(fd, buf + got, sizeof buf - got, 0);
                got += n > 0 ? (size_t)n : 0;
            }
            out.echoed = got == len && memcmp(buf, hello, len) == 0;
        }
    }
    (void)!write(report, &out, sizeof out);
    char word;
    (void)!read(go, &word, 1);
    if (fd >= 0)
        close(fd);
    _exit(0);
}

void remote_client_start(struct remote_client *c, uint16_t port, const char *hello,
                         int timeout_ms)
{
    int report[2], go[2];
    cr_assert(pipe(report) == 0 && pipe(go) == 0, "test set-up: pipe failed");
    fflush(NULL);
    c->pid = fork();
    cr_assert(c->pid >= 0, "test set-up: fork failed: %s", errno_text(errno));
    if (c->pid == 0) {
        close(report[0]);
        close(go[1]);
        remote_client_main(port, hello, report[1], go[0]);
    }
    close(report[1]);
    close(go[0]);
    c->go_pipe = go[1];
    struct { uint16_t port; int echoed; } in = {0, 0};
    struct pollfd pfd = {.fd = report[0], .events = POLLIN};
    int ok = poll(&pfd, 1, timeout_ms + ARRIVAL_MS) == 1 &&
             read(report[0], &in, sizeof in) == (ssize_t)sizeof in;
    close(report[0]);
    c->port = in.port;
    c->echoed = in.echoed;
    cr_assert(ok && in.port != 0, "test set-up: the client process could not connect");
}

void remote_client_close(struct remote_client *c)
{
    long long deadline = monotonic_ms() + ARRIVAL_MS;
    (void)!write(c->go_pipe, "x", 1);
    close(c->go_pipe);
    while (waitpid(c->pid, NULL, WNOHANG) == 0) {
        if (monotonic_ms() >= deadline) {
            kill(c->pid, SIGKILL); /* a killed process is reaped at once */
            waitpid(c->pid, NULL, 0);
            return;
        }
        tick();
    }
}

void kill_child_processes(void)
{
    char path[64];
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL)
        return;
    for (struct dirent *t; (t = readdir(tasks)) != NULL;) {
        if (t->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%.16s/children", t->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        for (int pid; fscanf(f, "%d", &pid) == 1;) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        fclose(f);
    }
    closedir(tasks);
}

void reader_run(struct reader *r)
{
    size_t since_interrupt = 0;
    size_t interrupt_every = r->interrupt_every;

    r->got = 0;
    r->eof = 0;
    r->err = 0;
    r->interrupted = 0;
    r->missed_any = 0;
    while (r->got < r->want) {
        size_t room = r->want - r->got;
        ssize_t n = recv(r->fd, r->data + r->got, room < r->chunk ? room : r->chunk, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r->err = errno;
            break;
        }
        if (n == 0) {
            r->eof = 1;
            break;
        }
        r->got += (size_t)n;
        since_interrupt += (size_t)n;
        if (interrupt_every > 0 && since_interrupt >= interrupt_every) {
            /* Reading nothing meanwhile, so the writer fills the buffers and blocks. */
            since_interrupt = 0;
            enum interrupt_outcome outcome = interrupt_call(ARRIVAL_MS);
            if (outcome == INTERRUPTED) {
                r->interrupted++;
            } else {
                r->missed = outcome;
                r->missed_any = 1;
                interrupt_every = 0; /* it returned, or cannot be interrupted: just read */
            }
        }
    }
}

static void *reader_main(void *arg)
{
    reader_run(arg);
    return NULL;
}

void reader_start(struct reader *r)
{
    cr_assert(pthread_create(&r->thread, NULL, reader_main, r) == 0,
              "test set-up: pthread_create failed");
}

int reader_join(struct reader *r, int timeout_ms)
{
    return join_within(r->thread, timeout_ms);
}
