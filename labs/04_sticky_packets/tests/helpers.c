/* helpers.c - stream pairs, frames, background peers and calls, temporary folders for lab
 * 04's tests. */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include "helpers.h"

#include "md5.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- set-up ---- */

void lab_setup(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    cr_assert(sigaction(SIGPIPE, &sa, NULL) == 0, "test set-up: sigaction failed");
}

void open_stream_pair(int fds[2])
{
    cr_assert(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0,
              "test set-up: socketpair() failed: %s", errno_text(errno));
}

/* ---- messages ---- */

void expect_returned(const char *call, long got, long want, int err)
{
    cr_assert(got == want, "%s should have returned %ld, but instead it returned %ld (errno "
              "%s)", call, want, got, errno_text(err));
}

void expect_errno(const char *call, int got, int want)
{
    char want_text[96];
    snprintf(want_text, sizeof want_text, "%s", errno_text(want));
    cr_assert(got == want, "%s returned -1 as it should, with errno %s, but instead errno was "
              "%s", call, want_text, errno_text(got));
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

/* ---- bytes on the test's side ---- */

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
            break; /* only stop_fd: the code under test has returned */
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

/* Let time pass: 1 ms, for loops that watch something no fd can signal. */
static void tick(void)
{
    struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
    nanosleep(&ms, NULL);
}

int wait_until_read(int fd, int timeout_ms)
{
    long long deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        int queued = queued_bytes(fd);
        if (queued <= 0)
            return queued == 0;
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

void put_prefix(unsigned char out[4], uint32_t len)
{
    out[0] = (unsigned char)(len >> 24);
    out[1] = (unsigned char)(len >> 16);
    out[2] = (unsigned char)(len >> 8);
    out[3] = (unsigned char)len;
}

void send_frame_or_fail(int fd, const void *payload, uint32_t len)
{
    unsigned char prefix[4];
    put_prefix(prefix, len);
    send_or_fail(fd, prefix, 4);
    send_or_fail(fd, payload, len);
}

int recv_frame_for(int fd, void *buf, uint32_t cap, uint32_t *len, int timeout_ms,
                   int stop_fd)
{
    unsigned char prefix[4];
    long long deadline = monotonic_ms() + timeout_ms;
    int eof = 0;

    size_t got = recv_for(fd, prefix, 4, timeout_ms, stop_fd, &eof);
    if (got == 0 && eof)
        return 0;
    if (got < 4)
        return -1;
    *len = (uint32_t)prefix[0] << 24 | (uint32_t)prefix[1] << 16 | (uint32_t)prefix[2] << 8 |
           prefix[3];
    if (*len > cap)
        return -1;
    long long left = deadline - monotonic_ms();
    got = recv_for(fd, buf, *len, left > 0 ? (int)left : 0, stop_fd, NULL);
    return got == *len ? 1 : -1;
}

/* ---- peers and calls on threads of their own ---- */

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

static void *dribbler_main(void *arg)
{
    struct dribbler *d = arg;
    const unsigned char *p = d->data;
    for (d->sent = 0; d->sent < d->len; d->sent++) {
        /* The byte before has been taken (or ARRIVAL_MS passed, or the test said stop). */
        long long deadline = monotonic_ms() + ARRIVAL_MS;
        while (d->sent > 0 && queued_bytes(d->reader_fd) > 0 && !atomic_load(&d->stop) &&
               monotonic_ms() < deadline)
            tick();
        if (d->sent > 0 && queued_bytes(d->reader_fd) != 0)
            break;
        if (send(d->fd, p + d->sent, 1, MSG_NOSIGNAL) != 1)
            break;
    }
    if (d->half_close)
        shutdown(d->fd, SHUT_WR);
    return NULL;
}

void dribbler_start(struct dribbler *d)
{
    d->sent = 0;
    atomic_store(&d->stop, 0);
    cr_assert(pthread_create(&d->thread, NULL, dribbler_main, d) == 0,
              "test set-up: pthread_create failed");
}

int dribbler_join(struct dribbler *d, int timeout_ms)
{
    atomic_store(&d->stop, 1);
    return join_within(d->thread, timeout_ms);
}

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    w->sent = send_everything(w->fd, w->buf, w->len, &w->err);
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

static void *bg_main(void *arg)
{
    struct bg_call *c = arg;
    errno = 0;
    c->rc = c->fn(c->arg);
    c->err = errno;
    (void)!write(c->done_pipe[1], "x", 1);
    return NULL;
}

void bg_start(struct bg_call *c, long (*fn)(void *), void *arg)
{
    c->fn = fn;
    c->arg = arg;
    c->rc = -2;
    c->err = 0;
    cr_assert(pipe(c->done_pipe) == 0, "test set-up: pipe failed");
    cr_assert(pthread_create(&c->thread, NULL, bg_main, c) == 0,
              "test set-up: pthread_create failed");
}

int bg_returned_within(struct bg_call *c, int timeout_ms)
{
    struct pollfd pfd = {.fd = c->done_pipe[0], .events = POLLIN};
    long long deadline = monotonic_ms() + timeout_ms;
    for (;;) {
        long long left = deadline - monotonic_ms();
        int ready = poll(&pfd, 1, left > 0 ? (int)left : 0);
        if (ready < 0 && errno == EINTR)
            continue;
        return ready == 1;
    }
}

int bg_join(struct bg_call *c, int timeout_ms)
{
    if (join_within(c->thread, timeout_ms) < 0)
        return -1;
    close(c->done_pipe[0]);
    close(c->done_pipe[1]);
    return 0;
}

/* ---- folders and files ---- */

void temp_dir_make(char path[TEMP_DIR_LEN])
{
    snprintf(path, TEMP_DIR_LEN, "/tmp/socklab04-XXXXXX");
    cr_assert(mkdtemp(path) != NULL, "test set-up: mkdtemp failed: %s", errno_text(errno));
}

void temp_dir_remove(const char *path)
{
    char child[4096];
    struct stat st;

    if (lstat(path, &st) < 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    if (d != NULL) {
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            temp_dir_remove(path_join(child, sizeof child, path, e->d_name));
        }
        closedir(d);
    }
    rmdir(path);
}

const char *path_join(char *out, size_t cap, const char *dir, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
    return out;
}

int file_exists(const char *dir, const char *name)
{
    char path[4096];
    struct stat st;
    return lstat(path_join(path, sizeof path, dir, name), &st) == 0;
}

const char *dir_listing(const char *dir, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    DIR *d = opendir(dir);
    if (d != NULL) {
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            int n = snprintf(out + used, cap - used, "%s'%.40s'", used > 0 ? ", " : "",
                             e->d_name);
            if (n < 0 || (size_t)n >= cap - used)
                break;
            used += (size_t)n;
        }
        closedir(d);
    }
    if (used == 0)
        snprintf(out, cap, "nothing");
    return out;
}

void write_file_or_fail(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert(f != NULL, "test set-up: cannot create %s: %s", path, errno_text(errno));
    cr_assert(fwrite(data, 1, len, f) == len && fclose(f) == 0,
              "test set-up: cannot write %s", path);
}

unsigned char *read_file(const char *path, size_t *len)
{
    struct stat st;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    if (fstat(fileno(f), &st) < 0) {
        fclose(f);
        return NULL;
    }
    unsigned char *data = malloc((size_t)st.st_size + 1);
    *len = data != NULL ? fread(data, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    return data;
}

void md5_of(const void *data, size_t len, char out[33])
{
    cr_assert(md5_hex(data, len, out) == 0, "test set-up: md5 failed: %s", errno_text(errno));
}
