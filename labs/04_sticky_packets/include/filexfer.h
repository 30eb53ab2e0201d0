/* filexfer.h - lab 04: sending files over one connection, a JSON header frame first.
 *
 * Provided, not edited: you implement these functions in src/filexfer.c, on top of your
 * frame.c. The contract, and the file protocol below in full, are in
 * docs/labs.md#04_sticky_packets.
 *
 * Over one connection, files follow one another. Each file is three parts:
 *   1. header: one frame of at most FT_HEADER_MAX bytes holding exactly one JSON object,
 *      white space around it allowed and nothing else:
 *        {"file_name": S, "file_size": N, "md5": H}
 *      S a base name (1 to 200 bytes, no '/' and no '\', not "." or "..", no control
 *      character: the bytes 0x00 to 0x1F and 0x7F), N an integer from 0 to 2^53, H 32
 *      lowercase hex digits; other keys are ignored;
 *   2. body: exactly N raw bytes, not framed;
 *   3. ack: one frame back from the receiver, at most FT_ACK_MAX bytes:
 *        {"ok": true, "md5": H}   or   {"ok": false, "error": TEXT}
 */
#ifndef SOCKLAB_FILEXFER_H
#define SOCKLAB_FILEXFER_H

#include <stdint.h>

/* The largest header frame: 64 KiB. */
#define FT_HEADER_MAX (64u * 1024)
/* The largest ack frame: 4 KiB; a longer ack makes ft_send_file fail. */
#define FT_ACK_MAX    (4u * 1024)

/* What one transfer did, for the programs to print. */
struct ft_result {
    char     name[256];   /* receiver: the header's file_name string exactly as received, cut
                           * to 255 bytes, valid or not; "" when no header was read or it had
                           * no file_name string. Sender: the base name of the path sent. */
    uint64_t size;        /* file_size: the header's when it was valid, else 0 */
    char     md5[33];     /* 32 lowercase hex digits and a NUL: the header's when it was
                           * valid, else "" */
    int      ok;          /* 1: the file was stored (receiver) / acked ok (sender) */
    char     reason[160]; /* why not, when ok is 0 */
};

/* Send the file at path over fd: the header frame (file_name is path's base name), the body,
 * then read the ack frame. 0 when the ack says ok and its md5 matches the file's; otherwise
 * -1, with res->reason holding the receiver's error text or a local reason. A path that is
 * not a regular file is refused before anything is sent. */
int ft_send_file(int fd, const char *path, struct ft_result *res);

/* Receive one file into the folder dir (res is never NULL). The body is streamed into
 * dir/NAME.part (never the whole file in memory), its md5 checked, and the .part renamed to
 * dir/NAME, replacing a file already there; on every failure the .part is deleted. Returns:
 *    1  a file was stored (res->ok = 1), or its body was read in full and then rejected (md5
 *       mismatch, or the file could not be written or renamed: res->ok = 0, an ok:false ack
 *       sent); the connection is usable: the next file may follow;
 *    0  clean end of file before a header;
 *   -1  the connection can no longer be used (a bad or oversized header, a body cut short,
 *       an I/O error); an ok:false ack was sent where that was possible; the caller shuts
 *       the connection down and closes it. */
int ft_recv_file(int fd, const char *dir, struct ft_result *res);

#endif
