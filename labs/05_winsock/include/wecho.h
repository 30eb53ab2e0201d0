/* wecho.h - lab 05: a TCP echo server and client that build on Windows and on POSIX.
 *
 * Provided, not edited: you implement these functions in src/wecho.c with the calls both
 * systems share and sock_compat.h for the rest. On failure sock_error() says why.
 */
#ifndef SOCKLAB_WECHO_H
#define SOCKLAB_WECHO_H

#include <stddef.h>
#include <stdint.h>

#include "sock_compat.h"

/* socket, SO_REUSEADDR (POSIX) or SO_EXCLUSIVEADDRUSE (Windows), bind, listen; host NULL,
 * "" or "0.0.0.0" = any; the socket or SOCK_INVALID */
sock_t wecho_listen(const char *host, uint16_t port);

/* a socket connected to host:port, or SOCK_INVALID */
sock_t wecho_connect(const char *host, uint16_t port);

/* echo what c receives back to it until the peer closes; 0 or -1; the caller closes c */
int wecho_session(sock_t c);

/* send msg, shut down the sending side only, read until EOF; keeps at most cap-1 bytes in
 * reply, NUL-terminated, and reads and discards the rest; the number of bytes kept or -1 */
long wecho_request(sock_t s, const char *msg, char *reply, size_t cap);

#endif
