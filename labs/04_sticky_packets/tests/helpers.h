/* helpers.h - what lab 04's Criterion tests share, on top of testutil.h (which has the
 * stream pairs, timed reads, the background writer and join_within): the socketpair every
 * suite runs on, frames written and read by the test's own peer, a peer that sends a byte
 * at a time, a call on a thread of its own, temporary folders and files, and readable
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

/* The connected stream pair (socketpair) every suite of the lab runs on: each test file
 * says which end is the test's peer and which the code under test's. */
extern int fds[2];

/* A suite's .init and .fini: lab_setup() and open_stream_pair(fds); close both fds. */
void pair_set_up(void);
void pair_tear_down(void);

/* ---- messages ---- */

/* Fail the test unless call (which returned -1) set errno to want. */
void expect_errno(const char *call, int got, int want);

/* ---- bytes on the test's side ---- */

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

/* The temporary folder of the suites that send and receive files. */
extern char dir[TEMP_DIR_LEN];

/* Their .init and .fini: pair_set_up() and temp_dir_make(dir); pair_tear_down() and
 * temp_dir_remove(dir). */
void pair_dir_set_up(void);
void pair_dir_tear_down(void);

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
