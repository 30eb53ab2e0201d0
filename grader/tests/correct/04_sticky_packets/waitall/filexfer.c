/* filexfer.c - lab 04: one function per side, each with a single exit path (goto out).
 *
 * The sender takes the md5 with the provided md5_file_hex() and the size from fstat(), then
 * streams exactly that many bytes. The receiver reads the header frame, checks it field by
 * field, then reads the body with recv_exact() (MSG_WAITALL underneath) piece by piece into
 * DIR/NAME.part, and renames it only when the md5 matches.
 */
#include "filexfer.h"

#include "frame.h"
#include "md5.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIECE (32 * 1024)

static void reason(struct ft_result *res, const char *what, int err)
{
    snprintf(res->reason, sizeof res->reason, err ? "%s (%s)" : "%s", what, strerror(err));
}

static void keep(char *field, size_t size, const char *text)
{
    snprintf(field, size, "%s", text); /* cut to size - 1 bytes */
}

static int json_frame(int fd, cJSON *object)
{
    char *text = object != NULL ? cJSON_PrintUnformatted(object) : NULL;
    cJSON_Delete(object);
    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    int rc = frame_send(fd, text, (uint32_t)strlen(text));
    int err = errno;
    free(text);
    errno = err;
    return rc;
}

static int write_fully(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int send_fully(int fd, const char *p, size_t n)
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

/* ---- the sender ----------------------------------------------------------------------- */

int ft_send_file(int fd, const char *path, struct ft_result *res)
{
    struct ft_result unused;
    struct stat st;
    char piece[PIECE];
    char ack_text[FT_ACK_MAX];
    cJSON *ack = NULL;
    int file = -1, rc = -1, err = 0;

    if (res == NULL)
        res = &unused;
    memset(res, 0, sizeof *res);
    const char *base = strrchr(path, '/');
    keep(res->name, sizeof res->name, base ? base + 1 : path);

    file = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (file < 0 || fstat(file, &st) < 0) {
        err = errno;
        reason(res, "cannot open it", err);
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        reason(res, "not a regular file", 0);
        goto out;
    }
    if (md5_file_hex(path, res->md5) < 0) {
        err = errno;
        reason(res, "cannot read it", err);
        goto out;
    }
    res->size = (uint64_t)st.st_size;

    cJSON *header = cJSON_CreateObject();
    if (header != NULL && (!cJSON_AddStringToObject(header, "file_name", res->name) ||
                           !cJSON_AddNumberToObject(header, "file_size", (double)res->size) ||
                           !cJSON_AddStringToObject(header, "md5", res->md5))) {
        cJSON_Delete(header);
        header = NULL;
    }
    if (json_frame(fd, header) < 0) {
        err = errno;
        reason(res, "cannot send the header", err);
        goto out;
    }
    for (uint64_t sent = 0; sent < res->size;) {
        uint64_t left = res->size - sent;
        ssize_t n = read(file, piece, left < PIECE ? (size_t)left : PIECE);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            reason(res, "the file could not be read to its end", n < 0 ? err : 0);
            goto out;
        }
        if (send_fully(fd, piece, (size_t)n) < 0) {
            err = errno;
            reason(res, "cannot send the body", err);
            goto out;
        }
        sent += (uint64_t)n;
    }

    uint32_t len;
    int got = frame_recv(fd, ack_text, sizeof ack_text, &len);
    if (got <= 0) {
        err = got == 0 ? EPROTO : errno;
        reason(res, got == 0 ? "no ack: the receiver closed the connection"
                    : err == EMSGSIZE ? "the ack is longer than FT_ACK_MAX" : "no ack",
               got == 0 || err == EMSGSIZE ? 0 : err);
        goto out;
    }
    ack = cJSON_ParseWithLength(ack_text, len);
    const cJSON *ok = cJSON_GetObjectItemCaseSensitive(ack, "ok");
    const cJSON *md5 = cJSON_GetObjectItemCaseSensitive(ack, "md5");
    const cJSON *why = cJSON_GetObjectItemCaseSensitive(ack, "error");
    if (cJSON_IsFalse(ok)) {
        err = ECANCELED;
        keep(res->reason, sizeof res->reason,
             cJSON_IsString(why) ? why->valuestring : "the receiver said no");
    } else if (!cJSON_IsTrue(ok)) {
        err = EPROTO;
        reason(res, "the ack makes no sense", 0);
    } else if (!cJSON_IsString(md5) || strcmp(md5->valuestring, res->md5) != 0) {
        err = EPROTO;
        reason(res, "the receiver got other bytes (md5)", 0);
    } else {
        rc = 0;
    }
out:
    cJSON_Delete(ack);
    if (file >= 0)
        close(file);
    res->ok = rc == 0;
    if (rc < 0)
        errno = err ? err : EPROTO;
    return rc;
}

/* ---- the receiver --------------------------------------------------------------------- */

/* Whether c may stand around the JSON object. */
static bool blank(char c)
{
    return c != '\0' && strchr(" \t\r\n", c) != NULL;
}

/* Whether the text writes a NUL as \u0000: a 'u' preceded by an odd run of backslashes. */
static bool escaped_nul(const char *text, size_t len)
{
    for (size_t i = 1; i + 4 < len; i++) {
        if (text[i] != 'u' || memcmp(text + i + 1, "0000", 4) != 0)
            continue;
        size_t run = 0;
        while (run < i && text[i - 1 - run] == '\\')
            run++;
        if (run % 2 == 1)
            return true;
    }
    return false;
}

static const char *name_fault(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 200)
        return "bad file_name: 1 to 200 bytes";
    if (!strcmp(s, ".") || !strcmp(s, ".."))
        return "bad file_name: . and .. are not file names";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '/' || c == '\\')
            return "bad file_name: a path, not a base name";
        if (c < 32 || c == 127)
            return "bad file_name: a control character";
    }
    return NULL;
}

/* Check the header; fill res->name always, size and md5 when all is well. NULL or why not. */
static const char *check_header(const char *text, size_t len, struct ft_result *res)
{
    size_t a = 0, b = len;
    while (a < b && blank(text[a]))
        a++;
    while (b > a && blank(text[b - 1]))
        b--;
    if (a == b || text[a] != '{' || text[b - 1] != '}')
        return "the header is not one JSON object";
    if (memchr(text, '\0', len) != NULL || escaped_nul(text, len))
        return "the header holds a NUL";

    const char *stop = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text + a, b - a, &stop, false);
    if (root == NULL)
        return "the header is not JSON";
    const char *fault = NULL;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "file_name");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(root, "file_size");
    const cJSON *md5 = cJSON_GetObjectItemCaseSensitive(root, "md5");
    if (cJSON_IsString(name))
        keep(res->name, sizeof res->name, name->valuestring);

    if (stop != text + b || !cJSON_IsObject(root))
        fault = "the header is not one JSON object";
    else if (!cJSON_IsString(name))
        fault = "no file_name string";
    else if ((fault = name_fault(name->valuestring)) != NULL)
        ;
    else if (!cJSON_IsNumber(size) || !(size->valuedouble >= 0) ||
             !(size->valuedouble <= 9007199254740992.0) ||
             size->valuedouble != (double)(uint64_t)size->valuedouble)
        fault = "bad file_size: a whole number from 0 to 2^53";
    else if (!cJSON_IsString(md5) || strlen(md5->valuestring) != 32 ||
             strspn(md5->valuestring, "0123456789abcdef") != 32)
        fault = "bad md5: 32 lowercase hex digits";
    if (fault == NULL) {
        res->size = (uint64_t)size->valuedouble;
        keep(res->md5, sizeof res->md5, md5->valuestring);
    }
    cJSON_Delete(root);
    return fault;
}

static int send_ack(int fd, const struct ft_result *res)
{
    cJSON *ack = cJSON_CreateObject();
    if (ack != NULL && (!cJSON_AddBoolToObject(ack, "ok", res->ok) ||
                        !(res->ok ? cJSON_AddStringToObject(ack, "md5", res->md5)
                                  : cJSON_AddStringToObject(ack, "error", res->reason)))) {
        cJSON_Delete(ack);
        ack = NULL;
    }
    return json_frame(fd, ack);
}

int ft_recv_file(int fd, const char *dir, struct ft_result *res)
{
    char part[PATH_MAX] = "", final[PATH_MAX];
    char piece[PIECE];
    char digest[MD5_HEX_LEN + 1];
    struct md5_ctx md5;
    bool hashing = false, in_step = false;
    int out = -1, write_err = 0, rc = -1, err = 0;
    uint32_t len = 0;

    memset(res, 0, sizeof *res);
    char *header = malloc(FT_HEADER_MAX);
    if (header == NULL) {
        err = ENOMEM;
        reason(res, "out of memory", 0);
        goto out;
    }
    int got = frame_recv(fd, header, FT_HEADER_MAX, &len);
    if (got == 0) {
        rc = 0;
        goto out;
    }
    if (got < 0) {
        err = errno;
        reason(res, err == EMSGSIZE ? "the header is longer than FT_HEADER_MAX"
                    : err == EPROTO ? "the header was cut short" : "cannot read the header",
               err == EMSGSIZE || err == EPROTO ? 0 : err);
        goto out;
    }
    const char *fault = check_header(header, len, res);
    if (fault != NULL) {
        err = EPROTO;
        reason(res, fault, 0);
        goto out;
    }

    if (md5_init(&md5) < 0) {
        err = errno;
        reason(res, "md5", err);
        goto out;
    }
    hashing = true;
    if ((size_t)snprintf(final, sizeof final, "%s/%s", dir, res->name) >= sizeof final ||
        (size_t)snprintf(part, sizeof part, "%s.part", final) >= sizeof part) {
        part[0] = '\0';
        write_err = ENAMETOOLONG;
    } else if ((out = open(part, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        part[0] = '\0';
        write_err = errno;
    }

    for (uint64_t left = res->size; left > 0;) {
        size_t n = left < PIECE ? (size_t)left : PIECE;
        got = recv_exact(fd, piece, n);
        if (got <= 0) {
            err = got == 0 ? EPROTO : errno;
            reason(res, err == EPROTO ? "the body was cut short" : "cannot read the body",
                   err == EPROTO ? 0 : err);
            goto out;
        }
        if (md5_update(&md5, piece, n) < 0) {
            err = errno;
            reason(res, "md5", err);
            goto out;
        }
        if (out >= 0 && write_fully(out, piece, n) < 0) {
            write_err = errno; /* read the rest all the same: the next file follows it */
            close(out);
            out = -1;
        }
        left -= n;
    }
    in_step = true; /* the body is read: from here on the connection stays usable */
    hashing = false;
    if (md5_final_hex(&md5, digest) < 0) {
        reason(res, "md5", errno);
    } else if (strcmp(digest, res->md5) != 0) {
        reason(res, "md5 mismatch", 0);
    } else if (out < 0 || close(out) < 0) {
        out = -1;
        reason(res, "cannot write the file", write_err ? write_err : errno);
    } else if ((out = -1, rename(part, final) < 0)) {
        reason(res, "cannot rename the file", errno);
    } else {
        part[0] = '\0'; /* it is NAME now */
        res->ok = 1;
    }
out:
    err = err ? err : errno;
    free(header);
    if (hashing)
        md5_discard(&md5);
    if (out >= 0)
        close(out);
    if (part[0] != '\0')
        unlink(part);
    if (rc == 0) /* EOF before a header: nothing to answer */
        return 0;
    int sent = send_ack(fd, res);
    if (in_step)
        return sent < 0 ? -1 : 1;
    errno = err;
    return -1;
}
