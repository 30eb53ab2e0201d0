/* helpers.h - what lab 04's Criterion tests share, on top of testutil.h: stream pairs,
 * frames written and read by the test's own peer, peers on threads of their own (a byte at a
 * time, in bulk), a call on a thread of its own, temporary folders and files, and readable
 * failure messages.
 *
 * Each test checks one function against peers written here with plain system calls, never
 * with another function of the student's files (ft_* build on frame_*, as they must).
 * Helpers that can fail the test (cr_assert) run on the test's own thread only; the
 * background threads just record what they saw. The tests run on socketpair(AF_UNIX,
 * SOCK_STREAM): a stream like TCP, with recv() and send() (a pipe has neither).
 */
#ifndef SOCKLAB_LAB04_HELPERS_H
#define SOCKLAB_LAB04_HELPERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

/* ---- set-up ---- */

/* What every test of the lab does first: ignore SIGPIPE (as the lab's programs do), so that
 * writing to a peer that has gone fails with EPIPE instead of killing the test. */
void lab_setup(void);

/* A connected AF_UNIX stream pair (socketpair), or fail the test. */
void open_stream_pair(int fds[2]);

/* ---- messages ---- */

/* Fail the test unless call returned want; err is errno right after the call. */
void expect_returned(const char *call, long got, long want, int err);

/* Fail the test unless call (which returned -1) set errno to want. */
void expect_errno(const char *call, int got, int want);

/* Fail the test unless got (len bytes) equals want (len bytes); what names the bytes. */
void expect_same_bytes(const char *what, const void *want, const void *got, size_t len);

/* ---- bytes on the test's side ---- */

/* Send all len bytes from the test's side (MSG_NOSIGNAL), or fail the test. */
void send_or_fail(int fd, const void *buf, size_t len);

/* Read into buf until want bytes came, EOF, an error or timeout_ms passed; also stops early
 * when stop_fd (-1: none) becomes readable. Returns the count; *eof (may be NULL) is 1 when
 * the peer closed. Never fails the test. */
size_t recv_for(int fd, void *buf, size_t want, int timeout_ms, int stop_fd, int *eof);

/* How many bytes wait unread on fd (FIONREAD), or -1. */
int queued_bytes(int fd);

/* Wait until every byte queued for reading on fd has been read by someone, up to
 * timeout_ms. 1 when the queue is empty, else 0. */
int wait_until_read(int fd, int timeout_ms);

/* byte[i] = i % 251: a shifted or repeated piece of it shows at once. */
void fill_pattern(unsigned char *buf, size_t len);

/* The 4-byte big-endian prefix of a frame of len bytes, into out. */
void put_prefix(unsigned char out[4], uint32_t len);

/* Send a frame (prefix and payload) from the test's side, or fail the test. */
void send_frame_or_fail(int fd, const void *payload, uint32_t len);

/* Read one frame sent by the code under test, up to timeout_ms (stopping early when stop_fd
 * becomes readable). 1: a frame of *len bytes is in buf; 0: EOF before a frame; -1: no
 * whole frame in time, or a length over cap (*len then holds that length). */
int recv_frame_for(int fd, void *buf, uint32_t cap, uint32_t *len, int timeout_ms,
                   int stop_fd);

/* ---- peers and calls on threads of their own ---- */

/* pthread_join with a bound: 0 when the thread ended within timeout_ms, else -1. */
int join_within(pthread_t thread, int timeout_ms);

/* A thread that sends len bytes one at a time, each once the one before has been read from
 * reader_fd (the other end), so that every recv() there gets exactly one byte; then
 * shutdown(SHUT_WR) if half_close. dribbler_join tells it to stop waiting (the code under
 * test has returned: nobody will read the rest). */
struct dribbler {
    int fd;
    int reader_fd;
    const void *data;
    size_t len;
    int half_close;
    size_t sent;      /* set by the thread */
    atomic_int stop;  /* private */
    pthread_t thread;
};
void dribbler_start(struct dribbler *d);
int dribbler_join(struct dribbler *d, int timeout_ms);

/* A thread that sends len bytes from buf (MSG_NOSIGNAL), then shutdown(SHUT_WR) if
 * half_close. It records how many bytes went out. */
struct writer {
    int fd;
    const void *buf;
    size_t len;
    int half_close;
    size_t sent; /* set by the thread */
    int err;
    pthread_t thread;
};
void writer_start(struct writer *w);
int writer_join(struct writer *w, int timeout_ms);

/* A call of the code under test on a thread of its own, so that the test's thread can play
 * the peer: fn(arg) is run, its result and errno kept; done_pipe[0] becomes readable when
 * it returns. */
struct bg_call {
    long (*fn)(void *);
    void *arg;
    long rc;
    int err;
    int done_pipe[2];
    pthread_t thread;
};
void bg_start(struct bg_call *c, long (*fn)(void *), void *arg);
/* 1 when the call returned within timeout_ms, else 0 (it is still running). */
int bg_returned_within(struct bg_call *c, int timeout_ms);
/* Join it: 0, or -1 when it did not return within timeout_ms (it is left running). */
int bg_join(struct bg_call *c, int timeout_ms);

/* ---- folders and files ---- */

/* Room for a temporary folder's path. */
#define TEMP_DIR_LEN 64

/* A new empty folder under /tmp (mkdtemp), or fail the test. */
void temp_dir_make(char path[TEMP_DIR_LEN]);

/* Remove path and everything in it (files and folders), if it exists. */
void temp_dir_remove(const char *path);

/* "dir/name" into out (cap bytes); returns out. */
const char *path_join(char *out, size_t cap, const char *dir, const char *name);

/* 1 when dir/name exists (any kind of file), else 0. */
int file_exists(const char *dir, const char *name);

/* The names in dir, comma-separated, for messages ("nothing" when it is empty). */
const char *dir_listing(const char *dir, char *out, size_t cap);

/* Create (or replace) the file path with len bytes of data, or fail the test. */
void write_file_or_fail(const char *path, const void *data, size_t len);

/* The whole file at path, malloc'd (free it), its size in *len; NULL when it cannot be
 * read. */
unsigned char *read_file(const char *path, size_t *len);

/* The md5 of len bytes as 32 lowercase hex digits (the lab's md5 helper), or fail. */
void md5_of(const void *data, size_t len, char out[33]);

#endif
