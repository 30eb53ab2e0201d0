/* helpers.h - what lab 03's Criterion tests share, on top of testutil.h (which has the
 * stream peers, timed reads, the background writer and join_within): TCP peers of the
 * test's own, waits for EOF, resets, a background reader, child processes, and readable
 * failure messages.
 *
 * Each test checks one function against peers written here with plain system calls, never
 * with another function of the student's file. Helpers that can fail the test (cr_assert)
 * run on the test's own thread only; the background threads just record what they saw.
 */
#ifndef SOCKLAB_LAB03_HELPERS_H
#define SOCKLAB_LAB03_HELPERS_H

#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "testutil.h"

/* How long a concurrent server may take to echo a client while another one sits idle. */
#define CONCURRENT_MS 1000
/* How long tcp_echo_serve may take to return once *stop is set (the contract says 0.5 s). */
#define STOP_MS 1000

/* ---- messages ---- */

/* Fail the test unless call returned a file descriptor (>= 0); returns it. */
int expect_fd(const char *call, int fd, int err);

/* Fail the test unless call returned -1 (errno is not checked). */
void expect_failed(const char *call, long got);

/* ---- sockets of the test's own ---- */

/* A connected TCP pair over loopback: *client connected to *server. With small_buffers,
 * both ends get 16 KiB socket buffers, so a writer blocks early. Fails the test on error. */
void open_tcp_pair(int *client, int *server, int small_buffers);

/* The local or the remote port of a connected socket (host order), or 0. */
uint16_t local_port_of(int fd);

/* Wait until fd reports EOF (the peer's FIN), reading and dropping any data before it.
 * 1: EOF came; 0: it did not within timeout_ms; -1: an error (errno). */
int wait_for_eof(int fd, int timeout_ms);

/* Close fd with SO_LINGER {1, 0}: the peer gets a reset (RST) instead of a FIN. */
void reset_and_close(int fd);

/* Make fd a socket whose peer has gone: the peer end closes (FIN), one byte written to it
 * draws a reset (RST), and the next write on fd fails with EPIPE, raising SIGPIPE unless
 * it is made with MSG_NOSIGNAL. peer is closed. Bytes the peer sent before closing stay
 * readable on fd. Fails the test if the reset does not come. */
void make_peer_gone(int fd, int peer);

/* ---- a server stuck sending an echo nobody reads ---- */

/* Send to the server at the other end of fd, 16 KiB at a time and never reading its echo,
 * until it is stuck in send(): every other thread of this process asleep, its echo
 * unacknowledged, and bytes of ours it has not read. Each piece goes once the server has
 * read the last, so its receive window stays open (for a FIN). 1 when it got stuck within
 * timeout_ms, with *session its end of the connection; 0 when it did not, or when its end
 * is not in this process (a forking server's child holds it). */
int feed_until_stuck_sending(int fd, int *session, int timeout_ms);

/* Wait until socket fd's TCP state (TCP_INFO) is state, e.g. TCP_CLOSE_WAIT from
 * <netinet/tcp.h>: 1 if it was within timeout_ms, else 0. */
int wait_for_tcp_state(int fd, int state, int timeout_ms);

/* ---- signals, processes and threads ---- */

/* SIGPIPE back to its default action (kill the process), as lab 03's programs have it. */
void default_sigpipe(void);

/* What a call made in a child process did: returned rc with errno err, or was killed by a
 * signal (killed_by), or did not return within the time (hung). */
struct child_result {
    long rc;
    int err;
    int killed_by;
    int hung;
};

/* Run call(arg) in a child process (fork) with SIGPIPE at its default, waiting up to
 * timeout_ms, so that a death by SIGPIPE is reported with a message instead of crashing the
 * test. The calling process must have no other threads. */
struct child_result run_in_child(long (*call)(void *), void *arg, int timeout_ms);

/* A client in a process of its own (fork), for a server that may fork: a child of such a
 * server inherits every socket the test process holds, so a client socket of the test's own
 * would stay open in it and its session would never see EOF. The helper connects, sends
 * hello and reads its echo back, then waits until told to close. */
struct remote_client {
    pid_t pid;
    uint16_t port;   /* the client's local port (host order) */
    int echoed;      /* 1 when hello came back */
    int go_pipe;     /* write end: a byte tells it to close and exit */
};

/* Start one against 127.0.0.1:port; fails the test unless it connected within timeout_ms. */
void remote_client_start(struct remote_client *c, uint16_t port, const char *hello,
                         int timeout_ms);

/* Tell it to close its socket, and wait (up to ARRIVAL_MS, then SIGKILL) for it to exit. */
void remote_client_close(struct remote_client *c);

/* SIGKILL and reap every child process left (a forking server's sessions), so none lingers
 * holding the test's pipes or sockets after the test. */
void kill_child_processes(void);

/* A thread that reads a socket into data (want bytes of room, the caller's: static, so a
 * failed test leaks nothing) until EOF or until it is full, `chunk` bytes per recv(). After
 * every `interrupt_every` bytes (0: never) it interrupts the watched call (interrupt_call,
 * see testutil.h: a writer blocked in send()), until an attempt does not interrupt it. */
struct reader {
    int fd;
    unsigned char *data;
    size_t want;
    size_t chunk;
    size_t interrupt_every;
    /* set by the reader */
    size_t got;
    int eof;
    int err;              /* errno of a failed recv, or 0 */
    int interrupted;      /* how many times the signal interrupted the blocked call */
    enum interrupt_outcome missed; /* why the last attempt did not (when interrupted stops) */
    int missed_any;       /* 1 when an attempt did not interrupt it */
    /* private */
    pthread_t thread;
};
/* Read on the calling thread, as the reader thread does; never fails the test. */
void reader_run(struct reader *r);
/* reader_run on a thread of its own. */
void reader_start(struct reader *r);
/* Join the reader (it ends at EOF: shut the writing side down first); 0, or -1 when it did
 * not end within timeout_ms. */
int reader_join(struct reader *r, int timeout_ms);

#endif
