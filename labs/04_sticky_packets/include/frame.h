/* frame.h - lab 04: length-prefixed frames over a TCP byte stream.
 *
 * Provided, not edited: you implement these functions in src/frame.c. The contract is in
 * docs/labs.md#04_sticky_packets. These functions return 1, 0 or -1 (or 0 or -1) as each
 * comment says; every -1 comes with errno set.
 *
 * A frame is a 4-byte length in network byte order (big-endian) followed by that many
 * payload bytes. TCP keeps no message boundaries (one send() may arrive as several recv()s,
 * several send()s as one recv(): the "sticky packet" problem); the prefix puts them back.
 */
#ifndef SOCKLAB_FRAME_H
#define SOCKLAB_FRAME_H

#include <stddef.h>
#include <stdint.h>

/* The largest payload a frame may carry: 16 MiB. */
#define FRAME_MAX     (16u * 1024 * 1024)

/* Read exactly n bytes into buf. 1: all n bytes arrived (also when n is 0, without reading);
 * 0: end of file before the first byte; -1: an error, and end of file after some but not all
 * of the bytes is an error with errno EPROTO. A recv() interrupted by a signal (EINTR) is
 * retried. */
int recv_exact(int fd, void *buf, size_t n);

/* Write the 4-byte length len in network byte order, then the len bytes of payload. 0, or -1;
 * when len > FRAME_MAX nothing at all is written and errno is EMSGSIZE. (Prefix and payload
 * may go out in one call or in two.) */
int frame_send(int fd, const void *payload, uint32_t len);

/* Read one frame into buf (cap bytes of room). 1: its payload is in buf and its length in
 * *len (a length of 0 is valid); 0: clean end of file, before a frame; -1: an error. When the
 * announced length exceeds cap: -1 with errno EMSGSIZE, nothing allocated, the payload left
 * unread (the stream is out of step: the caller must close the connection). A frame cut
 * short by end of file: -1 with errno EPROTO. */
int frame_recv(int fd, void *buf, uint32_t cap, uint32_t *len);

/* Send every frame back as a frame (its payload ASCII-upper-cased, a-z to A-Z only, when
 * upper is set) until a clean end of file: then 0. A length over FRAME_MAX, or a truncated
 * frame: -1. Holds at most one buffer of FRAME_MAX bytes; does not close fd (the caller
 * does). */
int frame_echo_session(int fd, int upper);

#endif
