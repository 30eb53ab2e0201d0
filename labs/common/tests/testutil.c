/* testutil.c - what every lab's Criterion tests share (see testutil.h). */
#define _GNU_SOURCE /* pthread_timedjoin_np, sched_setaffinity */
#include "testutil.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* ---- readable bytes and errors ---- */

const char *describe_bytes(const void *data, size_t len, char buf[DESCRIBE_LEN])
{
    const unsigned char *p = data;
    size_t shown = len < 32 ? len : 32;
    size_t used = 0;

    buf[used++] = '\'';
    for (size_t i = 0; i < shown; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
            buf[used++] = (char)p[i];
        else
            used += (size_t)snprintf(buf + used, DESCRIBE_LEN - used, "\\x%02x", p[i]);
    }
    snprintf(buf + used, DESCRIBE_LEN - used, "'%s (%zu byte%s)", shown < len ? "..." : "", len,
             len == 1 ? "" : "s");
    return buf;
}

const char *errno_text(int err)
{
    static _Thread_local char text[96];
    const char *name;

    switch (err) {
    case 0:
        return "0 (errno was not set)";
    case EACCES: name = "EACCES"; break;
    case EADDRINUSE: name = "EADDRINUSE"; break;
    case EADDRNOTAVAIL: name = "EADDRNOTAVAIL"; break;
    case EAGAIN: name = "EAGAIN"; break;
    case EBADF: name = "EBADF"; break;
    case EBUSY: name = "EBUSY"; break;
    case ECANCELED: name = "ECANCELED"; break;
    case ECONNREFUSED: name = "ECONNREFUSED"; break;
    case ECONNRESET: name = "ECONNRESET"; break;
    case EDESTADDRREQ: name = "EDESTADDRREQ"; break;
    case EDOM: name = "EDOM"; break;
    case EEXIST: name = "EEXIST"; break;
    case EFAULT: name = "EFAULT"; break;
    case EFBIG: name = "EFBIG"; break;
    case EINTR: name = "EINTR"; break;
    case EINVAL: name = "EINVAL"; break;
    case EISCONN: name = "EISCONN"; break;
    case EISDIR: name = "EISDIR"; break;
    case EMSGSIZE: name = "EMSGSIZE"; break;
    case ENAMETOOLONG: name = "ENAMETOOLONG"; break;
    case ENETUNREACH: name = "ENETUNREACH"; break;
    case ENOENT: name = "ENOENT"; break;
    case ENOMEM: name = "ENOMEM"; break;
    case ENOSPC: name = "ENOSPC"; break;
    case ENOSYS: name = "ENOSYS"; break;
    case ENOTCONN: name = "ENOTCONN"; break;
    case ENOTDIR: name = "ENOTDIR"; break;
    case ENOTSOCK: name = "ENOTSOCK"; break;
    case ENXIO: name = "ENXIO"; break;
    case EPIPE: name = "EPIPE"; break;
    case EPROTO: name = "EPROTO"; break;
    case ETIMEDOUT: name = "ETIMEDOUT"; break;
    default: name = NULL; break;
    }
    if (name != NULL)
        snprintf(text, sizeof text, "%s (%d: %s)", name, err, strerror(err));
    else
        snprintf(text, sizeof text, "%d (%s)", err, strerror(err));
    return text;
}

int lowest_free_fd(void)
{
    int fd = open("/dev/null", O_RDONLY);
    cr_assert(fd >= 0, "test set-up: opening /dev/null failed with %s", errno_text(errno));
    close(fd);
    return fd;
}

long long monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tick(void)
{
    struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
    nanosleep(&ms, NULL);
}

/* ---- ports and UDP peers ---- */

struct sockaddr_in loopback_addr(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int port_is_symmetric(uint16_t port)
{
    return (port >> 8) == (port & 0xff);
}

/* A socket of this type bound to ip:0, its port in *port; the fd or -1. */
static int bind_any_port(int type, const char *ip, uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_INET, type, 0);
    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int bind_asymmetric_port(int type, const char *ip, uint16_t *port)
{
    enum { HELD_MAX = 8 }; /* 255 of 65536 ports are symmetric: 8 draws in a row never happen */
    int held[HELD_MAX];
    int nheld = 0;
    int fd;

    for (;;) {
        fd = bind_any_port(type, ip, port);
        if (fd < 0 || !port_is_symmetric(*port) || nheld == HELD_MAX)
            break;
        held[nheld++] = fd; /* kept bound while drawing again, so it is not drawn twice */
    }
    int saved = errno;
    while (nheld > 0)
        close(held[--nheld]);
    errno = saved;
    if (fd >= 0 && port_is_symmetric(*port)) {
        close(fd);
        errno = EADDRINUSE;
        return -1;
    }
    return fd;
}

int open_listener(uint16_t *port)
{
    int fd = bind_asymmetric_port(SOCK_STREAM, "127.0.0.1", port);
    cr_assert(fd >= 0, "test set-up: binding a listener of the test's own failed: %s",
              errno_text(errno));
    cr_assert(listen(fd, 64) == 0, "test set-up: listen() failed: %s", errno_text(errno));
    return fd;
}

uint16_t unused_port(void)
{
    uint16_t port = 0;
    int fd = bind_asymmetric_port(SOCK_STREAM, "127.0.0.1", &port);
    cr_assert(fd >= 0, "test set-up: finding a free port failed: %s", errno_text(errno));
    close(fd); /* never listened, never connected: nothing lingers on the port */
    return port;
}

int connect_local(uint16_t port)
{
    return connect_local_receiving(port, 0);
}

int connect_local_receiving(uint16_t port, int receive_buffer)
{
    struct sockaddr_in a = loopback_addr(port);
    /* From a port whose two bytes differ, bound first: a server that prints or checks its
     * client's port without ntohs is then wrong on every run, not 255 times in 256. */
    uint16_t from;
    int fd = bind_asymmetric_port(SOCK_STREAM, "127.0.0.1", &from);
    if (fd < 0)
        return -1;
    if (receive_buffer > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int accept_within(int lfd, int timeout_ms)
{
    struct pollfd pfd = {.fd = lfd, .events = POLLIN};
    int ready = poll(&pfd, 1, timeout_ms);
    if (ready <= 0) {
        if (ready == 0)
            errno = ETIMEDOUT;
        return -1;
    }
    return accept(lfd, NULL, NULL);
}

int udp_peer_open(struct udp_peer *peer, const char *ip)
{
    uint16_t port;
    int fd = bind_asymmetric_port(SOCK_DGRAM, ip, &port);
    if (fd < 0)
        return -1;
    peer->fd = fd;
    peer->port = port;
    peer->addr = loopback_addr(port);
    return 0;
}

ssize_t udp_peer_recv(struct udp_peer *peer, void *buf, size_t cap,
                      struct sockaddr_in *from, int timeout_ms)
{
    struct pollfd pfd = {.fd = peer->fd, .events = POLLIN};
    struct sockaddr_in src;
    socklen_t srclen = sizeof src;
    int ready = poll(&pfd, 1, timeout_ms);
    if (ready <= 0) {
        if (ready == 0)
            errno = ETIMEDOUT;
        return -1;
    }
    ssize_t n = recvfrom(peer->fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&src, &srclen);
    if (n >= 0 && from != NULL)
        *from = src;
    return n;
}

void udp_peer_close(struct udp_peer *peer)
{
    if (peer->fd >= 0)
        close(peer->fd);
    peer->fd = -1;
}

/* Send one marker datagram to `to` from each CPU this thread may run on; how many. */
static int mark_every_cpu(int fd, const struct sockaddr_in *to)
{
    cpu_set_t original, one;
    if (sched_getaffinity(0, sizeof original, &original) < 0)
        return -1;
    int sent = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &original))
            continue;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_setaffinity(0, sizeof one, &one) == 0 &&
            sendto(fd, "mark", 4, 0, (const struct sockaddr *)to, sizeof *to) == 4)
            sent++;
    }
    sched_setaffinity(0, sizeof original, &original);
    return sent;
}

int flush_local_delivery(void)
{
    struct udp_peer marks;
    if (udp_peer_open(&marks, "127.0.0.1") < 0)
        return -1;
    int sent = mark_every_cpu(marks.fd, &marks.addr);
    char mark[8];
    int arrived = 0;
    while (sent > 0 && arrived < sent &&
           udp_peer_recv(&marks, mark, sizeof mark, NULL, ARRIVAL_MS) >= 0)
        arrived++;
    udp_peer_close(&marks);
    return sent > 0 && arrived == sent ? 0 : -1;
}

/* ---- messages ---- */

void expect_returned(const char *call, long got, long want, int err)
{
    /* errno means something only after a failure: it is named when the call returned < 0. */
    if (got < 0)
        cr_assert(got == want, "%s should have returned %ld, but instead it returned %ld (errno "
                  "%s)", call, want, got, errno_text(err));
    cr_assert(got == want, "%s should have returned %ld, but instead it returned %ld", call,
              want, got);
}

void expect_same_bytes(const char *what, const void *want, const void *got, size_t len)
{
    const unsigned char *w = want, *g = got;
    size_t at = 0;

    while (at < len && w[at] == g[at])
        at++;
    if (at == len)
        return;
    char want_text[DESCRIBE_LEN], got_text[DESCRIBE_LEN];
    size_t shown = len - at < 16 ? len - at : 16;
    describe_bytes(w + at, shown, want_text);
    describe_bytes(g + at, shown, got_text);
    cr_assert_fail("%s should have been the bytes sent, but instead they differ from byte %zu "
                   "on: expected %s there, but instead got %s", what, at, want_text, got_text);
}

/* ---- stream peers of the test's own ---- */

void open_stream_pair(int fds[2])
{
    cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0,
              "test set-up: socketpair() failed: %s", errno_text(errno));
}

/* Send everything, whatever happens; the count sent. */
static size_t send_everything(int fd, const void *buf, size_t len, int *err)
{
    const char *p = buf;
    size_t sent = 0;
    *err = 0;
    while (sent < len) {
        ssize_t n = send(fd, p + sent, len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            *err = errno;
            break;
        }
        sent += (size_t)n;
    }
    return sent;
}

void send_or_fail(int fd, const void *buf, size_t len)
{
    int err;
    size_t sent = send_everything(fd, buf, len, &err);
    cr_assert(sent == len, "test set-up: the test's peer could not send its %zu bytes: %s",
              len, errno_text(err));
}

size_t recv_for(int fd, void *buf, size_t want, int timeout_ms, int stop_fd, int *eof)
{
    long long deadline = monotonic_ms() + timeout_ms;
    size_t got = 0;

    if (eof != NULL)
        *eof = 0;
    while (got < want) {
        long long left = deadline - monotonic_ms();
        struct pollfd pfd[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
        if (left <= 0)
            break;
        int ready = poll(pfd, stop_fd >= 0 ? 2 : 1, (int)left);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0)
            break;
        if (pfd[0].revents == 0)
            break; /* only stop_fd: the code under test has returned, or given up */
        ssize_t n = recv(fd, (char *)buf + got, want - got, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0) {
            if (n == 0 && eof != NULL)
                *eof = 1;
            break;
        }
        got += (size_t)n;
    }
    return got;
}

int queued_bytes(int fd)
{
    int queued = 0;
    return ioctl(fd, FIONREAD, &queued) < 0 ? -1 : queued;
}

int wait_until_read(int fd, int timeout_ms)
{
    long long deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        int queued = queued_bytes(fd);
        if (queued <= 0)
            return queued == 0; /* 0 when FIONREAD failed */
        if (monotonic_ms() >= deadline)
            return 0;
        tick();
    }
}

void fill_pattern(unsigned char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(i % 251);
}

int join_within(pthread_t thread, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return pthread_timedjoin_np(thread, NULL, &until) == 0 ? 0 : -1;
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    size_t first = w->first < w->len ? w->first : w->len;
    if (first > 0) {
        w->sent = send_everything(w->fd, w->buf, first, &w->err);
        if (w->sent < first)
            return NULL;
        wait_until_read(w->reader_fd, ARRIVAL_MS);   /* a reader that never reads: go on */
    }
    w->sent += send_everything(w->fd, (const unsigned char *)w->buf + first, w->len - first,
                               &w->err);
    if (w->half_close && w->sent == w->len)
        shutdown(w->fd, SHUT_WR);
    return NULL;
}

void writer_start(struct writer *w)
{
    w->sent = 0;
    w->err = 0;
    cr_assert(pthread_create(&w->thread, NULL, writer_main, w) == 0,
              "test set-up: pthread_create failed");
}

int writer_join(struct writer *w, int timeout_ms)
{
    return join_within(w->thread, timeout_ms);
}

/* ---- interrupting a blocked call with a signal ---- */

/* The kernel's id of the calling thread. */
static pid_t thread_id(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* The state letter (R running, S sleeping, ...) in the stat file at path, or 0. */
static char thread_state(const char *path)
{
    char line[512];
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char *ok = fgets(line, sizeof line, f);
    fclose(f);
    char *end = ok != NULL ? strrchr(line, ')') : NULL; /* the name may hold spaces */
    return end != NULL && end[1] == ' ' ? end[2] : 0;
}

enum { CALL_NONE, CALL_UNDER_WAY, CALL_RETURNED };

static atomic_int call_phase;     /* CALL_NONE, CALL_UNDER_WAY, CALL_RETURNED */
static atomic_int call_tid;       /* the kernel's id of the thread making the call */
static pthread_t call_thread;     /* the same thread; written before call_phase says so */
/* That thread's stat file, as /proc names it. gettid() is the thread's id in its own PID
 * namespace, which need not be /proc's (the grader runs the tests in a namespace of their
 * own under the host's /proc): /proc/thread-self always leads to the right file. Written
 * before call_phase says so. */
static char call_stat_path[96];

/* The handler writes one byte per run, '1' when it ran inside the watched call, else '0':
 * interrupt_call, on another thread, waits for it (a pipe can be waited on with a
 * deadline). */
static int handled_pipe[2] = {-1, -1};

static void report_interrupt(int sig)
{
    int saved = errno;
    char inside = atomic_load(&call_phase) == CALL_UNDER_WAY &&
                  (pid_t)syscall(SYS_gettid) == (pid_t)atomic_load(&call_tid) ? '1' : '0';
    (void)sig;
    (void)!write(handled_pipe[1], &inside, 1); /* async-signal-safe, never blocks */
    errno = saved;
}

/* Read and drop what the handler wrote so far. */
static void drain_handled_pipe(void)
{
    char bytes[64];
    while (read(handled_pipe[0], bytes, sizeof bytes) > 0)
        continue;
}

void interrupt_setup(void)
{
    if (handled_pipe[0] < 0) {
        cr_assert(pipe(handled_pipe) == 0, "test set-up: pipe failed with %s",
                  errno_text(errno));
        for (int i = 0; i < 2; i++) {
            fcntl(handled_pipe[i], F_SETFL, fcntl(handled_pipe[i], F_GETFL) | O_NONBLOCK);
            fcntl(handled_pipe[i], F_SETFD, FD_CLOEXEC);
        }
    }
    drain_handled_pipe();
    atomic_store(&call_phase, CALL_NONE);
    atomic_store(&call_tid, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = report_interrupt;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: an interrupted recv/send/poll fails with EINTR */
    cr_assert(sigaction(INTERRUPT_SIGNAL, &sa, NULL) == 0, "test set-up: sigaction failed "
              "with %s", errno_text(errno));
}

void call_begin(void)
{
    char task[64];
    ssize_t len = readlink("/proc/thread-self", task, sizeof task - 1);
    task[len > 0 ? len : 0] = '\0';
    snprintf(call_stat_path, sizeof call_stat_path, "/proc/%s/stat", task);
    call_thread = pthread_self();
    atomic_store(&call_tid, (int)thread_id());
    atomic_store(&call_phase, CALL_UNDER_WAY);
}

void call_end(void)
{
    atomic_store(&call_phase, CALL_RETURNED);
}

static int call_returned(void)
{
    return atomic_load(&call_phase) == CALL_RETURNED;
}

int wait_call_blocked(int timeout_ms)
{
    long long deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        int phase = atomic_load(&call_phase);
        if (phase == CALL_RETURNED)
            return 0;
        /* Under way before and after the look at its state: it slept inside the call. */
        if (phase == CALL_UNDER_WAY && thread_state(call_stat_path) == 'S' &&
            atomic_load(&call_phase) == CALL_UNDER_WAY)
            return 1;
        if (monotonic_ms() >= deadline)
            return -1;
        tick();
    }
}

int other_threads_asleep(void)
{
    char self[64], path[96];
    ssize_t len = readlink("/proc/thread-self", self, sizeof self - 1); /* "PID/task/TID" */
    self[len > 0 ? len : 0] = '\0';
    const char *me = strrchr(self, '/') != NULL ? strrchr(self, '/') + 1 : self;
    DIR *tasks = opendir("/proc/self/task");
    if (tasks == NULL)
        return 0;
    int asleep = 1;
    for (struct dirent *t; asleep && (t = readdir(tasks)) != NULL;) {
        if (t->d_name[0] == '.' || strcmp(t->d_name, me) == 0)
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%.16s/stat", t->d_name);
        char state = thread_state(path);
        asleep = state == 'S' || state == 0; /* 0: it ended meanwhile */
    }
    closedir(tasks);
    return asleep;
}

enum interrupt_outcome interrupt_call(int timeout_ms)
{
    int blocked = wait_call_blocked(timeout_ms);
    if (blocked == 0)
        return RETURNED_FIRST;
    if (blocked < 0)
        return NEVER_BLOCKED;

    drain_handled_pipe();
    if (pthread_kill(call_thread, INTERRUPT_SIGNAL) != 0)
        return RETURNED_FIRST; /* the thread is gone: the call returned */
    long long deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        char inside;
        if (read(handled_pipe[0], &inside, 1) == 1)
            return inside == '1' ? INTERRUPTED : RETURNED_FIRST;
        long long left = deadline - monotonic_ms();
        struct pollfd pfd = {.fd = handled_pipe[0], .events = POLLIN};
        if (left <= 0 || (poll(&pfd, 1, (int)left) < 0 && errno != EINTR))
            return call_returned() ? RETURNED_FIRST : NOT_HANDLED;
    }
}

const char *interrupt_outcome_text(enum interrupt_outcome outcome)
{
    switch (outcome) {
    case INTERRUPTED:
        return "the signal interrupted the call while it was blocked";
    case RETURNED_FIRST:
        return "the call returned before the signal could interrupt it";
    case NEVER_BLOCKED:
        return "the call was neither blocked (asleep in a system call) nor returned in time";
    case NOT_HANDLED:
        return "the signal was sent while the call was blocked, but its handler never ran "
               "(was the signal blocked, or its handler replaced?)";
    }
    return "?";
}

static void *late_sender_main(void *arg)
{
    struct late_sender *s = arg;
    s->outcome = interrupt_call(ARRIVAL_MS);
    send(s->fd, s->data, s->len, MSG_NOSIGNAL); /* whatever happened: the call must not hang */
    return NULL;
}

void late_sender_start(struct late_sender *s, int fd, const void *data, size_t len)
{
    *s = (struct late_sender){.fd = fd, .data = data, .len = len, .outcome = NEVER_BLOCKED};
    cr_assert(pthread_create(&s->thread, NULL, late_sender_main, s) == 0,
              "test set-up: pthread_create failed");
}

int interrupt_attempt(enum interrupt_outcome outcome, int attempt, const char *call,
                      const char *did)
{
    if (outcome == INTERRUPTED)
        return 1;
    if (outcome == RETURNED_FIRST && attempt < INTERRUPT_ATTEMPTS)
        return 0;
    cr_assert_fail("%s should have been blocked, waiting, when the test sent it a signal, but "
                   "instead %s (attempt %d of %d)%s%s, so the test cannot check what a signal "
                   "does to it", call, interrupt_outcome_text(outcome), attempt,
                   INTERRUPT_ATTEMPTS, did != NULL ? "; the call " : "",
                   did != NULL ? did : "");
    return 0;
}
