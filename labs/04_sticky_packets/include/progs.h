/* progs.h - what lab 04's provided programs share: starting a server, the accept loop with a
 * thread per connection, and ending a connection without losing what is still to be read.
 *
 * Provided, not edited. Failures that end a program print "PROG: WHAT: reason" and exit 1
 * (docs/conventions.md), so a main reads like the protocol.
 */
#ifndef SOCKLAB_PROGS_H
#define SOCKLAB_PROGS_H

#include <signal.h>
#include <stdint.h>

/* What every lab 04 server does first: ignore SIGPIPE, make SIGINT and SIGTERM set *stop,
 * net_listen(host, port), then print "listening on A.B.C.D:PORT" with the address
 * getsockname reports (the real port when port is 0). Returns the listening socket. */
int progs_start_server(const char *host, uint16_t port, volatile sig_atomic_t *stop);

/* One connection's work, on a thread of its own: fd is the client's socket, peer its
 * "A.B.C.D:P", arg what progs_serve was given. It must not close fd: progs_serve's thread
 * then hangs up (progs_hang_up). */
typedef void progs_session(int fd, const char *peer, void *arg);

/* The accept loop: each client gets a detached thread running session. The threads block
 * SIGINT and SIGTERM, so those signals reach the loop's thread, whose poll() then fails with
 * EINTR. Returns 0 once *stop is set or progs_stop() was called (sessions still open are
 * left to the exit); -1 with errno when accept fails for good. */
int progs_serve(int lfd, volatile sig_atomic_t *stop, progs_session *session, void *arg);

/* Make progs_serve return, from any thread (e.g. a session that reached a count). */
void progs_stop(void);

/* shutdown(fd, SHUT_WR), read and drop what the peer still sends until its EOF (at most
 * a second), then close(fd). The FIN goes out after everything already sent; closing with
 * input still unread would send a reset, which can destroy a reply (an ack) that has not
 * reached the peer yet. */
void progs_hang_up(int fd);

#endif
