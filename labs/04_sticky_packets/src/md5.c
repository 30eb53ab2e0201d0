/* md5.c - md5 digests on OpenSSL libcrypto's EVP interface. Provided, not edited. */
#include "md5.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <unistd.h>

/* How much of a file md5_file_hex reads at a time. */
#define FILE_CHUNK 16384

int md5_init(struct md5_ctx *ctx)
{
    ctx->evp = EVP_MD_CTX_new();
    if (ctx->evp == NULL) {
        errno = ENOMEM;
        return -1;
    }
    if (EVP_DigestInit_ex(ctx->evp, EVP_md5(), NULL) != 1) {
        md5_discard(ctx);
        errno = EIO;
        return -1;
    }
    return 0;
}

int md5_update(struct md5_ctx *ctx, const void *data, size_t len)
{
    if (ctx->evp == NULL || EVP_DigestUpdate(ctx->evp, data, len) != 1) {
        errno = EIO;
        return -1;
    }
    return 0;
}

int md5_final_hex(struct md5_ctx *ctx, char out[MD5_HEX_LEN + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    out[0] = '\0';
    if (ctx->evp == NULL || EVP_DigestFinal_ex(ctx->evp, digest, &len) != 1 ||
        len * 2 != MD5_HEX_LEN) {
        md5_discard(ctx);
        errno = EIO;
        return -1;
    }
    md5_discard(ctx);
    for (unsigned int i = 0; i < len; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
    return 0;
}

void md5_discard(struct md5_ctx *ctx)
{
    EVP_MD_CTX_free(ctx->evp); /* NULL is fine */
    ctx->evp = NULL;
}

int md5_hex(const void *data, size_t len, char out[MD5_HEX_LEN + 1])
{
    struct md5_ctx ctx;
    if (md5_init(&ctx) < 0)
        return -1;
    if (md5_update(&ctx, data, len) < 0) {
        md5_discard(&ctx);
        return -1;
    }
    return md5_final_hex(&ctx, out);
}

int md5_file_hex(const char *path, char out[MD5_HEX_LEN + 1])
{
    unsigned char chunk[FILE_CHUNK];
    struct md5_ctx ctx;
    ssize_t n;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (md5_init(&ctx) < 0) {
        close(fd);
        return -1;
    }
    while ((n = read(fd, chunk, sizeof chunk)) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || md5_update(&ctx, chunk, (size_t)n) < 0) {
            int saved = errno;
            md5_discard(&ctx);
            close(fd);
            errno = saved;
            return -1;
        }
    }
    close(fd);
    return md5_final_hex(&ctx, out);
}
