/* filexfer.c - lab 04 reference solution: files over one connection, a JSON header first.
 *
 * Each file is three parts (include/filexfer.h): a header frame {"file_name", "file_size",
 * "md5"}, the body (exactly file_size raw bytes, not framed), and an ack frame back from the
 * receiver. The header says how many body bytes follow, so the receiver never reads until
 * EOF and the next file's header may come right after the body on the same connection.
 *
 * The receiver trusts nothing in the header: the name could climb out of its folder
 * ("../x"), the size be absurd, the JSON be malformed. It checks everything before it
 * touches the file system, streams the body to NAME.part in chunks (never the whole file in
 * memory), and only a body whose md5 matches becomes NAME.
 */
#include "filexfer.h"

#include "frame.h"
#include "md5.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* How many body bytes move per read or write: a few system calls for big files, small
 * enough for a thread's stack. */
#define CHUNK 16384

/* The contract's limits on a header. */
#define NAME_MAX_BYTES 200
#define SIZE_MAX_VALUE 9007199254740992.0 /* 2^53: every integer up to it is exact in a
                                           * double, which is how cJSON stores numbers */

/* ---- results and reasons -------------------------------------------------------------- */

/* res as "nothing happened yet". */
static void result_reset(struct ft_result *res)
{
    memset(res, 0, sizeof *res);
}

/* res->reason, printf-style (cut to fit). */
__attribute__((format(printf, 2, 3)))
static void set_reason(struct ft_result *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof res->reason, fmt, ap);
    va_end(ap);
}

/* Copy text into a field of cap bytes, cut to cap - 1 bytes. */
static void copy_cut(char *field, size_t cap, const char *text)
{
    size_t len = strnlen(text, cap - 1);
    memcpy(field, text, len);
    field[len] = '\0';
}

/* close() without losing the errno of the failure being reported. */
static void close_keeping_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* ---- moving bytes --------------------------------------------------------------------- */

/* All len bytes of buf to fd, after short writes and EINTR. 0 or -1. */
static int send_all(int fd, const void *buf, size_t len)
{
    const char *next = buf;
    while (len > 0) {
        ssize_t n = send(fd, next, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        next += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Up to cap bytes of a file; 0 at its end, -1 on error (EINTR retried). */
static ssize_t read_some(int fd, void *buf, size_t cap)
{
    ssize_t n;
    do
        n = read(fd, buf, cap);
    while (n < 0 && errno == EINTR);
    return n;
}

/* All len bytes to a file (write() may take fewer). 0 or -1. */
static int write_all(int fd, const void *buf, size_t len)
{
    const char *next = buf;
    while (len > 0) {
        ssize_t n = write(fd, next, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        next += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The JSON object as a frame. 0 or -1 (ENOMEM when cJSON could not print it). */
static int send_json_frame(int fd, const cJSON *object)
{
    char *text = cJSON_PrintUnformatted(object);
    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    int rc = frame_send(fd, text, (uint32_t)strlen(text));
    int saved = errno;
    cJSON_free(text);
    errno = saved;
    return rc;
}

/* ---- the sender ----------------------------------------------------------------------- */

/* The part of path after its last '/'. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Read the open file once, start to end: its md5 into hex and its size into *size, then go
 * back to its start for the body. 0 or -1. */
static int digest_file(int file, char hex[MD5_HEX_LEN + 1], uint64_t *size)
{
    unsigned char chunk[CHUNK];
    struct md5_ctx ctx;
    ssize_t n;

    *size = 0;
    if (md5_init(&ctx) < 0)
        return -1;
    while ((n = read_some(file, chunk, sizeof chunk)) > 0) {
        if (md5_update(&ctx, chunk, (size_t)n) < 0)
            break;
        *size += (uint64_t)n;
    }
    if (n != 0) { /* a read or md5 error */
        int saved = errno;
        md5_discard(&ctx);
        errno = saved;
        return -1;
    }
    if (md5_final_hex(&ctx, hex) < 0)
        return -1;
    return lseek(file, 0, SEEK_SET) == 0 ? 0 : -1;
}

/* The header frame: exactly the three keys of the protocol. 0 or -1. */
static int send_header(int fd, const struct ft_result *res)
{
    cJSON *header = cJSON_CreateObject();
    /* cJSON numbers are doubles: exact for every size up to 2^53, and printed without an
     * exponent (3000000000, not 3e9). */
    if (header == NULL || cJSON_AddStringToObject(header, "file_name", res->name) == NULL ||
        cJSON_AddNumberToObject(header, "file_size", (double)res->size) == NULL ||
        cJSON_AddStringToObject(header, "md5", res->md5) == NULL) {
        cJSON_Delete(header);
        errno = ENOMEM;
        return -1;
    }
    int rc = send_json_frame(fd, header);
    int saved = errno;
    cJSON_Delete(header);
    errno = saved;
    return rc;
}

/* The body: exactly size bytes of the file, chunk by chunk, as raw bytes. 0 or -1. */
static int send_body(int fd, int file, uint64_t size, struct ft_result *res)
{
    unsigned char chunk[CHUNK];
    uint64_t left = size;

    while (left > 0) {
        ssize_t n = read_some(file, chunk, left < sizeof chunk ? (size_t)left : sizeof chunk);
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the file shrank since we read it for its md5 */
            set_reason(res, "reading the file: %s", strerror(errno));
            return -1;
        }
        if (send_all(fd, chunk, (size_t)n) < 0) {
            set_reason(res, "sending the body: %s", strerror(errno));
            return -1;
        }
        left -= (uint64_t)n;
    }
    return 0;
}

/* Read the ack frame and judge it against our md5. 0 (ok) or -1 with res->reason set. */
static int read_ack(int fd, struct ft_result *res)
{
    char ack[FT_ACK_MAX];
    uint32_t len;

    int rc = frame_recv(fd, ack, sizeof ack, &len);
    if (rc <= 0) {
        if (rc == 0) {
            errno = EPROTO;
            set_reason(res, "the receiver closed the connection without an ack");
        } else if (errno == EMSGSIZE) {
            set_reason(res, "the ack is longer than %u bytes", FT_ACK_MAX);
        } else {
            set_reason(res, "reading the ack: %s", strerror(errno));
        }
        return -1;
    }
    cJSON *root = cJSON_ParseWithLength(ack, len);
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(root, "ok");
    const cJSON *md5 = cJSON_GetObjectItemCaseSensitive(root, "md5");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    rc = -1;
    errno = EPROTO;
    if (!cJSON_IsObject(root) || !cJSON_IsBool(ok)) {
        set_reason(res, "the ack is not {\"ok\": true|false, ...}");
    } else if (cJSON_IsFalse(ok)) {
        /* The receiver's own words: the most useful reason there is. */
        errno = ECANCELED;
        set_reason(res, "%s", cJSON_IsString(error) ? error->valuestring
                                                    : "rejected (the receiver gave no reason)");
    } else if (!cJSON_IsString(md5) || strcmp(md5->valuestring, res->md5) != 0) {
        set_reason(res, "the receiver's md5 differs from ours");
    } else {
        rc = 0;
    }
    cJSON_Delete(root);
    return rc;
}

int ft_send_file(int fd, const char *path, struct ft_result *res)
{
    struct ft_result local;
    struct stat st;

    if (res == NULL)
        res = &local;
    result_reset(res);
    copy_cut(res->name, sizeof res->name, base_name(path));

    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; we refuse
     * it (and every other non-regular file) by looking at the descriptor we opened. */
    int file = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (file < 0) {
        set_reason(res, "%s", strerror(errno));
        return -1;
    }
    if (fstat(file, &st) < 0) {
        set_reason(res, "%s", strerror(errno));
        close_keeping_errno(file);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) { /* a directory, a FIFO, a device, ... */
        close(file);
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        set_reason(res, "not a regular file");
        return -1;
    }
    /* The md5 goes in the header, before the body: read the file once for it first. */
    int rc = -1;
    if (digest_file(file, res->md5, &res->size) < 0)
        set_reason(res, "reading the file: %s", strerror(errno));
    else if (send_header(fd, res) < 0)
        set_reason(res, "sending the header: %s", strerror(errno));
    else if (send_body(fd, file, res->size, res) == 0 && read_ack(fd, res) == 0)
        rc = 0;
    close_keeping_errno(file);
    res->ok = rc == 0;
    return rc;
}

/* ---- the receiver: the header --------------------------------------------------------- */

/* JSON's white space: space, tab, newline, carriage return (cJSON itself skips every byte up
 * to 0x20, which is more than JSON allows). */
static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* 1 when a JSON string in text holds a NUL, raw or written "\u0000". cJSON's strings are C
 * strings and would end there: "a\u0000/../x" would read as the harmless "a". */
static int strings_hold_nul(const char *text, size_t len)
{
    int in_string = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0')
            return 1;
        if (!in_string) {
            in_string = text[i] == '"';
        } else if (text[i] == '"') {
            in_string = 0;
        } else if (text[i] == '\\' && i + 1 < len) {
            if (text[i + 1] == 'u' && i + 5 < len && memcmp(text + i + 2, "0000", 4) == 0)
                return 1;
            i++; /* skip the escaped character: \" does not end the string */
        }
    }
    return 0;
}

/* Why name is not a base name we may create in our folder, or NULL when it is one. */
static const char *name_problem(const char *name)
{
    size_t len = strlen(name);
    if (len == 0)
        return "file_name is empty";
    if (len > NAME_MAX_BYTES)
        return "file_name is longer than 200 bytes";
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return "file_name is . or ..";
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c == '/' || c == '\\')
            return "file_name holds a / or \\: it must be a name, not a path";
        if (c < 0x20 || c == 0x7f)
            return "file_name holds a control character";
    }
    return NULL;
}

/* 1 when hex is exactly 32 lowercase hex digits. */
static int is_md5_hex(const char *hex)
{
    size_t len = strlen(hex);
    if (len != MD5_HEX_LEN)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return 0;
    return 1;
}

/* Parse and check the header text (len bytes, not NUL-terminated). res->name gets the
 * file_name string as received, valid or not; res->size and res->md5 only once all of the
 * header is valid. 0, or -1 with res->reason set. */
static int parse_header(const char *text, size_t len, struct ft_result *res)
{
    const char *end = NULL;
    size_t at = 0;

    /* Exactly one object, with only white space around it: cJSON would also accept a bare
     * string or number, control bytes around it, or stop quietly before trailing bytes. */
    while (at < len && is_json_space(text[at]))
        at++;
    if (at == len || text[at] != '{') {
        set_reason(res, "the header is not a JSON object");
        return -1;
    }
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        set_reason(res, "the header is not valid JSON");
        return -1;
    }
    for (at = (size_t)(end - text); at < len && is_json_space(text[at]); at++)
        continue;

    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "file_name");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(root, "file_size");
    const cJSON *md5 = cJSON_GetObjectItemCaseSensitive(root, "md5");
    const char *problem = NULL;
    if (cJSON_IsString(name)) /* as received, before any check: the programs print it */
        copy_cut(res->name, sizeof res->name, name->valuestring);

    if (at != len)
        problem = "the header has bytes after its JSON object";
    else if (!cJSON_IsString(name))
        problem = "file_name is missing or not a string";
    else if (strings_hold_nul(text, len))
        problem = "the header holds a NUL character";
    else if ((problem = name_problem(name->valuestring)) != NULL)
        ;
    /* A whole number from 0 to 2^53, read as a double (how JSON numbers are) and checked to
     * have no fraction before it becomes a uint64_t: 3000000000 is fine, an int would not
     * be. The comparisons are false for NaN. */
    else if (!cJSON_IsNumber(size) || !(size->valuedouble >= 0.0) ||
             !(size->valuedouble <= SIZE_MAX_VALUE) ||
             (double)(uint64_t)size->valuedouble != size->valuedouble)
        problem = "file_size is missing or not a whole number from 0 to 2^53";
    else if (!cJSON_IsString(md5) || !is_md5_hex(md5->valuestring))
        problem = "md5 is missing or not 32 lowercase hex digits";

    if (problem == NULL) {
        res->size = (uint64_t)size->valuedouble;
        copy_cut(res->md5, sizeof res->md5, md5->valuestring);
    }
    cJSON_Delete(root);
    if (problem != NULL) {
        set_reason(res, "%s", problem);
        return -1;
    }
    return 0;
}

/* ---- the receiver: the ack ------------------------------------------------------------ */

/* {"ok": true, "md5": H} when ok, else {"ok": false, "error": res->reason}. 0 or -1. */
static int send_ack(int fd, const struct ft_result *res, int ok)
{
    cJSON *ack = cJSON_CreateObject();
    if (ack == NULL || cJSON_AddBoolToObject(ack, "ok", ok) == NULL ||
        (ok ? cJSON_AddStringToObject(ack, "md5", res->md5)
            : cJSON_AddStringToObject(ack, "error", res->reason)) == NULL) {
        cJSON_Delete(ack);
        errno = ENOMEM;
        return -1;
    }
    int rc = send_json_frame(fd, ack);
    int saved = errno;
    cJSON_Delete(ack);
    errno = saved;
    return rc;
}

/* An ok:false ack for a connection we are giving up on: sent if the peer still listens,
 * without changing errno (the caller reports its own failure). */
static void send_refusal(int fd, const struct ft_result *res)
{
    int saved = errno;
    send_ack(fd, res, 0);
    errno = saved;
}

/* ---- the receiver: the body ----------------------------------------------------------- */

/* Where a body goes: the .part file (or -1 once it failed) and the md5 of every byte. */
struct sink {
    int file;
    char part[PATH_MAX];
    int write_error; /* errno of the first failure to open or write the .part, or 0 */
};

/* Read exactly size body bytes from fd, into sink->file while it works and into ctx always.
 * The body is read in full even when the file cannot be written: the stream stays in step
 * for the next file. 0, or -1 (the connection failed: EPROTO when the body was cut short)
 * with res->reason set. */
static int receive_body(int fd, uint64_t size, struct sink *sink, struct md5_ctx *ctx,
                        struct ft_result *res)
{
    unsigned char chunk[CHUNK];
    uint64_t got = 0;

    while (got < size) {
        size_t want = size - got < sizeof chunk ? (size_t)(size - got) : sizeof chunk;
        int rc = recv_exact(fd, chunk, want);
        if (rc <= 0) {
            if (rc == 0 || errno == EPROTO) {
                errno = EPROTO;
                set_reason(res, "the body was cut short");
            } else {
                set_reason(res, "receiving the body: %s", strerror(errno));
            }
            return -1;
        }
        if (md5_update(ctx, chunk, want) < 0) {
            set_reason(res, "md5: %s", strerror(errno));
            return -1;
        }
        if (sink->file >= 0 && write_all(sink->file, chunk, want) < 0) {
            sink->write_error = errno; /* drop the rest, but keep reading it */
            close(sink->file);
            sink->file = -1;
        }
        got += want;
    }
    return 0;
}

/* Close the .part if still open and delete it, keeping errno. */
static void discard_part(struct sink *sink)
{
    int saved = errno;
    if (sink->file >= 0)
        close(sink->file);
    sink->file = -1;
    if (sink->part[0] != '\0')
        unlink(sink->part);
    errno = saved;
}

/* After a complete body: close the .part and rename it to dir/NAME (rename replaces a file
 * already there, in one step). 0, or -1 with res->reason set and the .part deleted. */
static int store_part(struct sink *sink, const char *dir, struct ft_result *res)
{
    char final[PATH_MAX];

    if (sink->file < 0) {
        set_reason(res, "cannot write the file: %s", strerror(sink->write_error));
        discard_part(sink);
        return -1;
    }
    int rc = close(sink->file);
    sink->file = -1;
    if (rc < 0) {
        set_reason(res, "cannot write the file: %s", strerror(errno));
        discard_part(sink);
        return -1;
    }
    snprintf(final, sizeof final, "%s/%s", dir, res->name); /* fits: shorter than .part */
    if (rename(sink->part, final) < 0) {
        set_reason(res, "cannot rename the file: %s", strerror(errno));
        discard_part(sink);
        return -1;
    }
    return 0;
}

/* Open dir/NAME.part for the body, truncating a leftover one. On failure sink->file is -1
 * and sink->write_error says why: the body is still read, and then refused. */
static void open_part(struct sink *sink, const char *dir, const char *name)
{
    sink->file = -1;
    sink->write_error = 0;
    int len = snprintf(sink->part, sizeof sink->part, "%s/%s.part", dir, name);
    if (len < 0 || (size_t)len >= sizeof sink->part) {
        sink->part[0] = '\0';
        sink->write_error = ENAMETOOLONG;
        return;
    }
    sink->file = open(sink->part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (sink->file < 0) {
        sink->write_error = errno;
        sink->part[0] = '\0'; /* nothing of ours to delete */
    }
}

/* ---- the receiver --------------------------------------------------------------------- */

/* The header frame into res. 1: valid; 0: clean EOF; -1: a failure, res->reason set. */
static int receive_header(int fd, struct ft_result *res)
{
    /* On the heap: 64 KiB is a lot for the stack of one of many session threads. */
    char *text = malloc(FT_HEADER_MAX);
    uint32_t len;

    if (text == NULL) {
        set_reason(res, "out of memory");
        return -1;
    }
    int rc = frame_recv(fd, text, FT_HEADER_MAX, &len);
    if (rc == 1 && parse_header(text, len, res) < 0) {
        errno = EPROTO;
        rc = -1;
    } else if (rc < 0 && errno == EMSGSIZE) {
        set_reason(res, "the header is longer than %u bytes", FT_HEADER_MAX);
    } else if (rc < 0 && errno == EPROTO) {
        set_reason(res, "the header frame was cut short");
    } else if (rc < 0) {
        set_reason(res, "receiving the header: %s", strerror(errno));
    }
    int saved = errno;
    free(text);
    errno = saved;
    return rc;
}

int ft_recv_file(int fd, const char *dir, struct ft_result *res)
{
    struct sink sink;
    struct md5_ctx ctx = {0};
    char got_md5[MD5_HEX_LEN + 1];

    result_reset(res);
    int rc = receive_header(fd, res);
    if (rc <= 0) {
        if (rc < 0) /* a header we cannot use: the stream is out of step for good */
            send_refusal(fd, res);
        return rc;
    }
    if (md5_init(&ctx) < 0) {
        set_reason(res, "md5: %s", strerror(errno));
        send_refusal(fd, res);
        return -1;
    }
    open_part(&sink, dir, res->name);
    if (receive_body(fd, res->size, &sink, &ctx, res) < 0) {
        discard_part(&sink);
        md5_discard(&ctx);
        send_refusal(fd, res);
        return -1;
    }
    /* The body was read in full: whatever happens now, the stream is in step (return 1). */
    if (md5_final_hex(&ctx, got_md5) < 0) {
        set_reason(res, "md5: %s", strerror(errno));
        discard_part(&sink);
    } else if (strcmp(got_md5, res->md5) != 0) {
        set_reason(res, "md5 mismatch: the body's md5 is %s", got_md5);
        discard_part(&sink);
    } else if (store_part(&sink, dir, res) == 0) {
        res->ok = 1;
    }
    if (send_ack(fd, res, res->ok) < 0)
        return -1; /* the peer is gone; the file, if stored, stays */
    return 1;
}
