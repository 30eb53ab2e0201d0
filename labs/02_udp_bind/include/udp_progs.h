/* udp_progs.h - what lab 02's provided programs share: resolving a peer, starting a server.
 *
 * Provided, not edited. Both helpers end the program with "PROG: WHAT: reason" and exit
 * status 1 when they fail (docs/conventions.md), so a main reads like the protocol.
 */
#ifndef SOCKLAB_UDP_PROGS_H
#define SOCKLAB_UDP_PROGS_H

#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>

/* HOST (a dotted quad or a name) and PORT as an IPv4 address, via getaddrinfo. */
void progs_resolve(const char *host, uint16_t port, struct sockaddr_in *out);

/* What every lab 02 server does first: ignore SIGPIPE, make SIGINT and SIGTERM set *stop,
 * udp_bind(host, port), then print "bound to A.B.C.D:PORT" with the address getsockname
 * reports (the real port when port is 0). Returns the bound socket. */
int progs_start_server(const char *host, uint16_t port, volatile sig_atomic_t *stop);

#endif
