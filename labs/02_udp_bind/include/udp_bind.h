/* udp_bind.h - lab 02: binding a UDP socket and receiving datagrams.
 *
 * Provided, not edited: you implement these functions in src/udp_bind.c.
 * Every function returns -1 with errno set on failure (docs/conventions.md). Addresses are IPv4.
 */
#ifndef SOCKLAB_UDP_BIND_H
#define SOCKLAB_UDP_BIND_H

#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The largest UDP payload IPv4 can carry: 65535 - 20 (IP header) - 8 (UDP header). */
#define UDP_MAX_PAYLOAD 65507

/* UDP socket bound to host:port; host NULL, "" or "0.0.0.0" = any address; port 0 = the
 * system picks; no SO_REUSEADDR; fd or -1 (errno EADDRINUSE when taken). */
int udp_bind(const char *host, uint16_t port);

/* The bound port (host order) from getsockname, or -1. */
int udp_local_port(int fd);

/* Send "ping" to dst from a socket that was never bound; return the port the system chose
 * for it, or -1. */
int udp_implicit_port(const struct sockaddr_in *dst);

/* One datagram, length returned; a datagram longer than cap is NOT silently cut: -1 with
 * errno EMSGSIZE (it is consumed); a signal: -1 with EINTR (no retry).
 * *from (may be NULL) names the sender whenever a datagram was taken, the EMSGSIZE case
 * included: the provided udp_recv prints who sent the datagram it dropped. */
ssize_t udp_recv_from(int fd, void *buf, size_t cap, struct sockaddr_in *from);

/* Reply to every datagram (up to 65507 bytes, empty ones too) with the same bytes,
 * ASCII-uppercased when upper, sent back to its sender; return 0 once *stop is set (a call
 * that fails with EINTR while *stop is set). */
int udp_echo_serve(int fd, int upper, volatile sig_atomic_t *stop);

/* Full duplex with poll() (or threads): each line read from in_fd (its "\n" and a "\r"
 * before it stripped; an empty line too; a last line without "\n" too) is sent to peer as a
 * JSON object {"name": NAME, "msg": LINE}; each datagram received is printed to out as
 * "[NAME] MSG"; a datagram that is not a JSON object whose "name" and "msg" are strings
 * (extra keys are fine) prints "! invalid message from A.B.C.D:PORT" and the chat goes on;
 * "stop", EOF on in_fd or a signal ends it (return 0). JSON is compared parsed, never byte
 * for byte. */
int udp_chat(int fd, const struct sockaddr_in *peer, const char *name, int in_fd, FILE *out);

#endif
