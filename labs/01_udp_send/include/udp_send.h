/* udp_send.h - lab 01: sending UDP datagrams.
 *
 * Provided, not edited: you implement these functions in src/udp_send.c.
 * Every function returns -1 with errno set on failure (docs/conventions.md).
 */
#ifndef SOCKLAB_UDP_SEND_H
#define SOCKLAB_UDP_SEND_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* The largest UDP payload IPv4 can carry: 65535 - 20 (IP header) - 8 (UDP header). */
#define UDP_MAX_PAYLOAD 65507

/* Fill *out (family, port in network order, address); -1 if host does not resolve. */
int udp_make_addr(const char *host, uint16_t port, struct sockaddr_in *out);

/* New socket, ONE sendto of exactly len bytes (0 allowed), close; bytes sent or -1. */
ssize_t udp_send_once(const struct sockaddr_in *dst, const void *msg, size_t len);

/* ONE socket for all lines: each line of in, without its "\n" (and a "\r" before it), is one
 * datagram; an empty line is an empty datagram; the line "stop" ends the loop unsent; EOF
 * ends it (a last line without "\n" is still sent). Returns datagrams sent, or -1
 * (EMSGSIZE for a line over 65507 bytes). */
long udp_send_lines(const struct sockaddr_in *dst, FILE *in);

/* Send msg, wait up to timeout_ms (0: just look; negative: forever) for one datagram from
 * anyone; reply length (a longer reply is cut to cap), sender in *from (may be NULL); -1
 * with errno ETIMEDOUT when none came. */
ssize_t udp_request(const struct sockaddr_in *dst, const void *msg, size_t len,
                    void *reply, size_t cap, struct sockaddr_in *from, int timeout_ms);

/* New socket with SO_BROADCAST, one datagram to bcast_ip:port; bytes sent or -1. */
ssize_t udp_broadcast(const char *bcast_ip, uint16_t port, const void *msg, size_t len);

#endif
