/* filexfer.c - lab 04: sending files over one connection, a JSON header frame first.
 *
 * One of the two files you edit in this lab; it builds on your src/frame.c. Each function
 * below compiles and fails with ENOSYS until you write it; the TODO in it says what to do.
 * The prototypes, and the file protocol in full, are in include/filexfer.h (and
 * docs/labs.md#04_sticky_packets). Run `make test` to see which behaviours already work.
 *
 * You may use the lab's provided headers: "frame.h" (your framing), "md5.h" (md5 on
 * OpenSSL: md5_init, md5_update, md5_final_hex) and cJSON (<cjson/cJSON.h>: cJSON_Parse...,
 * cJSON_CreateObject, cJSON_AddStringToObject, cJSON_PrintUnformatted, cJSON_Delete). Add
 * the system headers you need (for example <fcntl.h>, <stdio.h>, <stdlib.h>, <string.h>,
 * <sys/socket.h>, <sys/stat.h>, <unistd.h>) and small static helpers of your own: one that
 * fills res->reason printf-style, one that sends an ack frame, one that checks a name.
 */
#include "filexfer.h"

#include <errno.h>
#include <string.h>

/* What the skeleton reports: a result that says nothing was done. */
static void not_implemented(struct ft_result *res)
{
    if (res == NULL)
        return;
    memset(res, 0, sizeof *res);
    strcpy(res->reason, "not implemented");
}

int ft_send_file(int fd, const char *path, struct ft_result *res)
{
    /* TODO(lab04): fill res as you go (name: path's base name, the part after the last '/';
     * size; md5; ok; reason: a short text when something fails).
     * 1. open() path and fstat() the descriptor: anything but a regular file (S_ISREG) is
     *    refused before anything is sent (open with O_NONBLOCK, so a FIFO cannot block it).
     * 2. Read the file once, in chunks, through md5_init/md5_update/md5_final_hex: that
     *    gives the md5 and the size (a uint64_t: files over 2 GiB exist). lseek back to 0.
     * 3. The header: a cJSON object with exactly "file_name", "file_size" (a number) and
     *    "md5"; cJSON_PrintUnformatted; frame_send it (then free the text and the object).
     * 4. The body: read the file in chunks (a few KiB; never the whole file in memory) and
     *    send every chunk in full (loop on short sends), exactly size bytes, NOT framed.
     * 5. The ack: frame_recv into a buffer of FT_ACK_MAX bytes (a longer ack fails with
     *    EMSGSIZE: fail with a reason). Parse it: {"ok": true, "md5": H} with H equal to your
     *    md5 is success (res->ok = 1, return 0); {"ok": false, "error": TEXT}: copy TEXT to
     *    res->reason, return -1; anything else: a reason of your own, -1. */
    (void)fd;
    (void)path;
    not_implemented(res);
    errno = ENOSYS;
    return -1;
}

int ft_recv_file(int fd, const char *dir, struct ft_result *res)
{
    /* TODO(lab04): start with res emptied (name "", size 0, md5 "", ok 0, reason "").
     * 1. frame_recv the header into a buffer of FT_HEADER_MAX bytes: 0 is a clean EOF
     *    (return 0); EMSGSIZE (over 64 KiB) or another error: send an ok:false ack if you
     *    can, return -1.
     * 2. Parse it with cJSON_ParseWithLengthOpts (the payload is not NUL-terminated), and
     *    allow only JSON white space (space, \t, \n, \r) before and after the object.
     *    Copy a "file_name" string into res->name at once (cut to 255 bytes) even if it
     *    turns out invalid. Check: file_name 1..200 bytes, no '/' or '\\', not "." or "..",
     *    no byte 0x00-0x1F or 0x7F (a "\u0000" in the JSON would cut cJSON's string short);
     *    file_size a number that is a whole number from 0 to 2^53 (uint64_t, not int);
     *    md5 exactly 32 characters 0-9a-f. Only then fill res->size and res->md5. A bad
     *    header: ack {"ok": false, "error": why}, return -1.
     * 3. Open dir/NAME.part and stream exactly file_size bytes into it (recv_exact in
     *    chunks of a few KiB: the body is not framed, and the next file's header may follow
     *    it at once), feeding each chunk to md5_update as well. Cut short: unlink the .part,
     *    return -1. A file you cannot open or write: keep reading (and dropping) the body.
     * 4. md5 differs, or a write/rename failed: unlink the .part, ack ok:false, return 1
     *    (the connection is still in step). Otherwise rename() .part to NAME (it replaces an
     *    old file), ack {"ok": true, "md5": H}, res->ok = 1, return 1. */
    (void)fd;
    (void)dir;
    not_implemented(res);
    errno = ENOSYS;
    return -1;
}
