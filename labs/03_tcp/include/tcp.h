/* tcp.h - lab 03: TCP stream sockets.
 *
 * Provided, not edited: you implement these functions in src/tcp.c.
 * Every function returns -1 with errno set on failure (docs/conventions.md), unless its
 * comment says otherwise.
 */
#ifndef SOCKLAB_TCP_H
#define SOCKLAB_TCP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* socket, SO_REUSEADDR, bind, listen; host NULL, "" or "0.0.0.0" = any; fd or -1 */
int tcp_listen(const char *host, uint16_t port, int backlog);

/* connected fd or -1 */
int tcp_connect(const char *host, uint16_t port);

/* all len bytes or -1: retries short writes and EINTR; never dies of SIGPIPE */
ssize_t send_all(int fd, const void *buf, size_t len);

/* cap >= 2: bytes up to and including "\n" (or cap-1 bytes), NUL-terminated; EOF after part
 * of a line returns that part, the next call 0; 0 at EOF */
ssize_t recv_line(int fd, char *buf, size_t cap);

/* echo every byte back (ASCII bytes a-z uppercased when upper, all others unchanged) until
 * the peer closes; 0 or -1; the caller closes fd */
int tcp_echo_session(int fd, int upper);

/* accept loop; clients are served concurrently (threads, fork or poll), so an idle client
 * never holds up another; prints "connected A.B.C.D:P" when it accepts a client and
 * "disconnected A.B.C.D:P" when that client's session ends (stdout, flushed); closes each
 * client's socket; notices *stop within 0.5 s (EINTR, or poll/select with a timeout — a
 * signal may land on any thread) and returns 0 */
int tcp_echo_serve(int lfd, int upper, volatile sig_atomic_t *stop);

#endif
