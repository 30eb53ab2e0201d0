/* filexfer.c - lab 04, written with stdio streams and buffers.
 *
 * The file side goes through FILE* streams with large buffers of their own (setvbuf); the
 * socket side moves the body in large recv()s and send()s, each bounded by what is left of
 * the body, so the next file's header is never read by this one. The JSON header and the
 * ack are printed by hand (a small escaper), and only parsed with cJSON.
 */
#include "filexfer.h"

#include "frame.h"
#include "md5.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK (64 * 1024)              /* one recv()/send()/fread()/fwrite() of the body */
#define STREAM_BUFFER (256 * 1024)     /* stdio's own buffer for each file */
#define LARGEST_SIZE 9007199254740992.0 /* 2^53 */

/* ---- small helpers ---------------------------------------------------------------------- */

static void say(struct ft_result *res, const char *why, int err)
{
    if (err != 0)
        snprintf(res->reason, sizeof res->reason, "%s: %s", why, strerror(err));
    else
        snprintf(res->reason, sizeof res->reason, "%s", why);
}

static void copy_text(char *dst, size_t room, const char *src)
{
    size_t n = strlen(src);
    if (n >= room)
        n = room - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Append text to out (room bytes, used so far *at) as the body of a JSON string. 0, or -1
 * when it does not fit. */
static int put_json_text(char *out, size_t room, size_t *at, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        char piece[8];
        if (*c == '"' || *c == '\\')
            snprintf(piece, sizeof piece, "\\%c", *c);
        else if (*c < 0x20 || *c == 0x7f)
            snprintf(piece, sizeof piece, "\\u%04x", *c);
        else
            snprintf(piece, sizeof piece, "%c", *c);
        size_t n = strlen(piece);
        if (*at + n >= room)
            return -1;
        memcpy(out + *at, piece, n);
        *at += n;
    }
    out[*at] = '\0';
    return 0;
}

/* out = prefix, then the escaped text, then suffix. 0 or -1 (too long). */
static int json_with_text(char *out, size_t room, const char *prefix, const char *text,
                          const char *suffix)
{
    size_t at = strlen(prefix);
    if (at >= room)
        return -1;
    memcpy(out, prefix, at + 1);
    if (put_json_text(out, room, &at, text) < 0 || at + strlen(suffix) >= room)
        return -1;
    strcpy(out + at, suffix);
    return 0;
}

static int send_text_frame(int fd, const char *text)
{
    return frame_send(fd, text, (uint32_t)strlen(text));
}

static int send_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- sending -------------------------------------------------------------------------- */

/* md5 and size of the whole stream, then back to its start. 0 or -1. */
static int measure(FILE *in, unsigned char *block, char hex[MD5_HEX_LEN + 1], uint64_t *size)
{
    struct md5_ctx ctx;
    size_t n;

    if (md5_init(&ctx) < 0)
        return -1;
    *size = 0;
    while ((n = fread(block, 1, BLOCK, in)) > 0) {
        if (md5_update(&ctx, block, n) < 0) {
            md5_discard(&ctx);
            return -1;
        }
        *size += n;
    }
    if (ferror(in)) {
        int err = errno != 0 ? errno : EIO;
        md5_discard(&ctx);
        errno = err;
        return -1;
    }
    if (md5_final_hex(&ctx, hex) < 0)
        return -1;
    rewind(in);
    return 0;
}

/* The receiver's verdict on our file. 0 when ok with our md5, -1 with a reason. */
static int judge_ack(int fd, struct ft_result *res)
{
    char text[FT_ACK_MAX];
    uint32_t n = 0;
    int rc = frame_recv(fd, text, sizeof text, &n);

    if (rc == 0) {
        say(res, "the receiver hung up before its ack", 0);
        errno = EPROTO;
        return -1;
    }
    if (rc < 0) {
        say(res, errno == EMSGSIZE ? "the ack is over FT_ACK_MAX bytes" : "reading the ack",
            errno == EMSGSIZE ? 0 : errno);
        return -1;
    }
    cJSON *ack = cJSON_ParseWithLength(text, n);
    cJSON *ok = cJSON_GetObjectItemCaseSensitive(ack, "ok");
    cJSON *md5 = cJSON_GetObjectItemCaseSensitive(ack, "md5");
    cJSON *error = cJSON_GetObjectItemCaseSensitive(ack, "error");
    rc = -1;
    if (cJSON_IsTrue(ok) && cJSON_IsString(md5) && strcmp(md5->valuestring, res->md5) == 0) {
        rc = 0;
    } else if (cJSON_IsTrue(ok)) {
        say(res, "the ack's md5 is not the file's", 0);
        errno = EPROTO;
    } else if (cJSON_IsFalse(ok)) {
        say(res, cJSON_IsString(error) ? error->valuestring : "refused by the receiver", 0);
        errno = ECANCELED;
    } else {
        say(res, "the ack is not a JSON object with a boolean \"ok\"", 0);
        errno = EPROTO;
    }
    cJSON_Delete(ack);
    return rc;
}

static int send_stream(int fd, FILE *in, unsigned char *block, struct ft_result *res)
{
    char header[1024];
    char tail[128];

    snprintf(tail, sizeof tail, "\", \"file_size\": %" PRIu64 ", \"md5\": \"%s\"}", res->size,
             res->md5);
    if (json_with_text(header, sizeof header, "{\"file_name\": \"", res->name, tail) < 0) {
        say(res, "the file name is too long", 0);
        errno = ENAMETOOLONG;
        return -1;
    }
    if (send_text_frame(fd, header) < 0) {
        say(res, "sending the header", errno);
        return -1;
    }
    for (uint64_t left = res->size; left > 0;) {
        size_t want = left < BLOCK ? (size_t)left : BLOCK;
        size_t n = fread(block, 1, want, in);
        if (n == 0) {
            errno = ferror(in) ? EIO : ENODATA;
            say(res, "the file changed while it was sent", 0);
            return -1;
        }
        if (send_all(fd, block, n) < 0) {
            say(res, "sending the body", errno);
            return -1;
        }
        left -= n;
    }
    return judge_ack(fd, res);
}

int ft_send_file(int fd, const char *path, struct ft_result *res)
{
    struct ft_result scratch;
    struct stat info;

    if (res == NULL)
        res = &scratch;
    memset(res, 0, sizeof *res);
    const char *slash = strrchr(path, '/');
    copy_text(res->name, sizeof res->name, slash != NULL ? slash + 1 : path);

    FILE *in = fopen(path, "rb");
    if (in == NULL) {
        say(res, "cannot open the file", errno);
        return -1;
    }
    if (fstat(fileno(in), &info) < 0) {
        int err = errno;
        fclose(in);
        say(res, "cannot look at the file", err);
        errno = err;
        return -1;
    }
    if (!S_ISREG(info.st_mode)) { /* a folder, a device, ...: refused before any byte */
        fclose(in);
        say(res, "not a regular file", 0);
        errno = S_ISDIR(info.st_mode) ? EISDIR : EINVAL;
        return -1;
    }
    unsigned char *block = malloc(BLOCK);
    char *stream_buffer = malloc(STREAM_BUFFER);
    int rc = -1;
    if (block == NULL || stream_buffer == NULL) {
        say(res, "out of memory", 0);
        errno = ENOMEM;
    } else {
        setvbuf(in, stream_buffer, _IOFBF, STREAM_BUFFER);
        if (measure(in, block, res->md5, &res->size) < 0)
            say(res, "reading the file", errno);
        else
            rc = send_stream(fd, in, block, res);
    }
    int err = errno;
    fclose(in); /* before its buffer goes */
    free(stream_buffer);
    free(block);
    res->ok = rc == 0;
    errno = err;
    return rc;
}

/* ---- receiving: the header ------------------------------------------------------------ */

static int json_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A NUL in the text, raw or escaped as \u0000 (cJSON would end the string there). */
static int has_nul(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\0')
            return 1;
        if (text[i] == '\\') {
            if (i + 5 < len && text[i + 1] == 'u' && strncmp(text + i + 2, "0000", 4) == 0)
                return 1;
            i++; /* whatever it escapes, it is not a backslash of its own */
        }
    }
    return 0;
}

static const char *bad_name(const char *name)
{
    size_t n = strlen(name);
    if (n < 1 || n > 200)
        return "file_name must be 1 to 200 bytes";
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
        return "file_name may not be . or ..";
    if (strpbrk(name, "/\\") != NULL)
        return "file_name must be a base name (no / or \\)";
    for (const unsigned char *c = (const unsigned char *)name; *c != '\0'; c++)
        if (*c < 0x20 || *c == 0x7f)
            return "file_name holds a control character";
    return NULL;
}

static int good_md5(const char *s)
{
    return strlen(s) == MD5_HEX_LEN && strspn(s, "0123456789abcdef") == MD5_HEX_LEN;
}

/* The header's fields into res (the name always, size and md5 once all is valid). */
static const char *read_header(const char *text, size_t len, struct ft_result *res)
{
    size_t first = 0, last = len;
    const char *end = NULL;
    const char *why = NULL;

    while (first < len && json_blank((unsigned char)text[first]))
        first++;
    while (last > first && json_blank((unsigned char)text[last - 1]))
        last--;
    if (first == last || text[first] != '{')
        return "the header must be one JSON object";
    cJSON *root = cJSON_ParseWithLengthOpts(text + first, last - first, &end, 0);
    if (root == NULL)
        return "the header is not valid JSON";
    cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "file_name");
    cJSON *size = cJSON_GetObjectItemCaseSensitive(root, "file_size");
    cJSON *md5 = cJSON_GetObjectItemCaseSensitive(root, "md5");
    if (cJSON_IsString(name))
        copy_text(res->name, sizeof res->name, name->valuestring);
    double n = cJSON_IsNumber(size) ? size->valuedouble : -1.0;

    if (end != text + last)
        why = "the header holds more than one JSON object";
    else if (!cJSON_IsString(name))
        why = "file_name must be a string";
    else if (has_nul(text, len))
        why = "the header holds a NUL";
    else if ((why = bad_name(name->valuestring)) != NULL)
        ;
    else if (!(n >= 0.0 && n <= LARGEST_SIZE) || n != (double)(uint64_t)n)
        why = "file_size must be a whole number from 0 to 2^53";
    else if (!cJSON_IsString(md5) || !good_md5(md5->valuestring))
        why = "md5 must be 32 lowercase hex digits";
    else {
        res->size = (uint64_t)n;
        copy_text(res->md5, sizeof res->md5, md5->valuestring);
    }
    cJSON_Delete(root);
    return why;
}

/* ---- receiving: the ack ---------------------------------------------------------------- */

static int send_verdict(int fd, const struct ft_result *res)
{
    char ack[FT_ACK_MAX];
    if (res->ok) {
        snprintf(ack, sizeof ack, "{\"ok\": true, \"md5\": \"%s\"}", res->md5);
    } else if (json_with_text(ack, sizeof ack, "{\"ok\": false, \"error\": \"", res->reason,
                              "\"}") < 0) {
        errno = EMSGSIZE;
        return -1;
    }
    return send_text_frame(fd, ack);
}

/* An ok:false ack on a connection given up on; errno kept for the caller. */
static int refuse(int fd, const struct ft_result *res)
{
    int err = errno;
    send_verdict(fd, res);
    errno = err;
    return -1;
}

/* ---- receiving: the body -------------------------------------------------------------- */

struct landing {
    char part[PATH_MAX];
    char final[PATH_MAX];
    FILE *out;         /* NULL once it could not be opened or written */
    char *out_buffer;
    int write_err;     /* why out is NULL */
};

static void land_open(struct landing *l, const char *dir, const char *name)
{
    l->out = NULL;
    l->out_buffer = NULL;
    l->write_err = 0;
    l->part[0] = '\0';
    if ((size_t)snprintf(l->final, sizeof l->final, "%s/%s", dir, name) >= sizeof l->final ||
        (size_t)snprintf(l->part, sizeof l->part, "%s.part", l->final) >= sizeof l->part) {
        l->part[0] = '\0';
        l->write_err = ENAMETOOLONG;
        return;
    }
    l->out = fopen(l->part, "wb");
    if (l->out == NULL) {
        l->write_err = errno;
        l->part[0] = '\0';
        return;
    }
    l->out_buffer = malloc(STREAM_BUFFER);
    if (l->out_buffer != NULL)
        setvbuf(l->out, l->out_buffer, _IOFBF, STREAM_BUFFER);
}

/* Close the stream; 0, or -1 with write_err set when a byte was lost. */
static int land_close(struct landing *l)
{
    int rc = 0;
    if (l->out != NULL) {
        if (fclose(l->out) != 0) {
            l->write_err = errno;
            rc = -1;
        }
        l->out = NULL;
    }
    free(l->out_buffer);
    l->out_buffer = NULL;
    return l->write_err != 0 ? -1 : rc;
}

static void land_drop(struct landing *l)
{
    int err = errno;
    int write_err = l->write_err;
    land_close(l);
    l->write_err = write_err;
    if (l->part[0] != '\0')
        unlink(l->part);
    errno = err;
}

/* The stream can no longer be written: drop the rest of the body, but keep reading it. */
static void land_failed(struct landing *l)
{
    l->write_err = errno != 0 ? errno : EIO;
    fclose(l->out);
    l->out = NULL;
}

/* Up to want body bytes. While the sender keeps bytes coming, they pile up in the stream's
 * buffer; when nothing is queued, what the buffer holds goes to the .part before we wait,
 * so the file on disk is never behind a sender that pauses. */
static ssize_t next_block(int fd, unsigned char *block, size_t want, struct landing *l)
{
    ssize_t r = recv(fd, block, want, MSG_DONTWAIT);
    if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
        return r;
    if (l->out != NULL && fflush(l->out) != 0)
        land_failed(l);
    return recv(fd, block, want, 0);
}

/* Exactly size bytes from fd in large recv()s, each at most what is left of the body. */
static int pour(int fd, uint64_t size, struct landing *l, struct md5_ctx *ctx,
                unsigned char *block, struct ft_result *res)
{
    for (uint64_t left = size; left > 0;) {
        ssize_t r = next_block(fd, block, left < BLOCK ? (size_t)left : BLOCK, l);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = EPROTO;
            say(res, r == 0 ? "the body was cut short" : "receiving the body", r == 0 ? 0 : errno);
            return -1;
        }
        if (md5_update(ctx, block, (size_t)r) < 0) {
            say(res, "md5", errno);
            return -1;
        }
        if (l->out != NULL && fwrite(block, 1, (size_t)r, l->out) != (size_t)r)
            land_failed(l);
        left -= (uint64_t)r;
    }
    return 0;
}

int ft_recv_file(int fd, const char *dir, struct ft_result *res)
{
    memset(res, 0, sizeof *res);

    char *text = malloc(FT_HEADER_MAX);
    if (text == NULL) {
        say(res, "out of memory", 0);
        errno = ENOMEM;
        return refuse(fd, res);
    }
    uint32_t len = 0;
    int rc = frame_recv(fd, text, FT_HEADER_MAX, &len);
    const char *why = NULL;
    if (rc == 1)
        why = read_header(text, len, res);
    free(text);
    if (rc == 0)
        return 0;
    if (rc < 0) {
        if (errno == EMSGSIZE)
            say(res, "the header is over FT_HEADER_MAX bytes", 0);
        else
            say(res, "reading the header", errno);
        return refuse(fd, res);
    }
    if (why != NULL) {
        say(res, why, 0);
        errno = EPROTO;
        return refuse(fd, res);
    }

    struct md5_ctx ctx;
    struct landing l;
    unsigned char *block = malloc(BLOCK);
    if (block == NULL || md5_init(&ctx) < 0) {
        free(block);
        say(res, "out of memory", 0);
        errno = ENOMEM;
        return refuse(fd, res);
    }
    land_open(&l, dir, res->name);
    if (pour(fd, res->size, &l, &ctx, block, res) < 0) {
        int err = errno;
        free(block);
        md5_discard(&ctx);
        land_drop(&l);
        errno = err;
        return refuse(fd, res);
    }
    free(block);

    char got[MD5_HEX_LEN + 1];
    if (md5_final_hex(&ctx, got) < 0) {
        say(res, "md5", errno);
        land_drop(&l);
    } else if (strcmp(got, res->md5) != 0) {
        say(res, "md5 mismatch", 0);
        land_drop(&l);
    } else if (land_close(&l) < 0) {
        say(res, "cannot write the file", l.write_err);
        land_drop(&l);
    } else if (rename(l.part, l.final) < 0) {
        say(res, "cannot rename the file", errno);
        land_drop(&l);
    } else {
        res->ok = 1;
    }
    if (send_verdict(fd, res) < 0)
        return -1;
    return 1;
}
