/* net.h - lab 04: listening and connecting, as you built them in lab 03 (tcp_listen and
 * tcp_connect).
 *
 * Provided, not edited. Both return -1 with errno set on failure (a name that does not
 * resolve: ENXIO).
 */
#ifndef SOCKLAB_NET_H
#define SOCKLAB_NET_H

#include <stdint.h>

/* A TCP socket with SO_REUSEADDR, bound to host:port and listening with backlog; host NULL,
 * "" or "0.0.0.0" means any address. The descriptor, or -1. */
int net_listen(const char *host, uint16_t port, int backlog);

/* A TCP socket connected to host:port (a dotted quad or a name), or -1. */
int net_connect(const char *host, uint16_t port);

#endif
