/* helpers.c - the suites' socketpair, frames, background peers and calls, temporary
 * folders for lab 04's tests. */
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
#include <sys/socket.h>
#include <sys/stat.h>
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

int fds[2];

void pair_set_up(void)
{
    lab_setup();
    open_stream_pair(fds);
}

void pair_tear_down(void)
{
    close(fds[0]);
    close(fds[1]);
}

/* ---- messages ---- */

void expect_errno(const char *call, int got, int want)
{
    char want_text[96];
    snprintf(want_text, sizeof want_text, "%s", errno_text(want));
    cr_assert(got == want, "%s returned -1 as it should, with errno %s, but instead errno was "
              "%s", call, want_text, errno_text(got));
}

/* ---- bytes on the test's side ---- */

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

char dir[TEMP_DIR_LEN];

void pair_dir_set_up(void)
{
    pair_set_up();
    temp_dir_make(dir);
}

void pair_dir_tear_down(void)
{
    pair_tear_down();
    temp_dir_remove(dir);
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
