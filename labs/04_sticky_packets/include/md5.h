/* md5.h - lab 04: md5 digests on OpenSSL libcrypto (its EVP interface), as lowercase hex.
 *
 * Provided, not edited. Every function returns 0, or -1 with errno set (ENOMEM or EIO when
 * libcrypto fails, or the errno of open/read for md5_file_hex).
 *
 * Incrementally, for data that comes in pieces (a file body read chunk by chunk):
 *
 *     struct md5_ctx ctx;
 *     char hex[MD5_HEX_LEN + 1];
 *     if (md5_init(&ctx) < 0) ...
 *     md5_update(&ctx, piece, n);          as many times as there are pieces
 *     md5_final_hex(&ctx, hex);            ends ctx (also when it fails)
 *
 * and md5_discard(&ctx) ends a context whose digest is not wanted (a failed transfer).
 */
#ifndef SOCKLAB_MD5_H
#define SOCKLAB_MD5_H

#include <stddef.h>

/* 32 lowercase hex digits; the buffers below hold MD5_HEX_LEN + 1 bytes with the NUL. */
#define MD5_HEX_LEN 32

struct evp_md_ctx_st; /* OpenSSL's EVP_MD_CTX: you never need to look inside */

/* An md5 under way. */
struct md5_ctx {
    struct evp_md_ctx_st *evp;
};

/* Start a digest. */
int md5_init(struct md5_ctx *ctx);

/* Add len bytes of data (len may be 0). */
int md5_update(struct md5_ctx *ctx, const void *data, size_t len);

/* The digest as 32 lowercase hex digits and a NUL in out; ends ctx, whatever happens. */
int md5_final_hex(struct md5_ctx *ctx, char out[MD5_HEX_LEN + 1]);

/* End ctx without a digest; ctx may already be ended, or never have been started if it was
 * zeroed ({0}). */
void md5_discard(struct md5_ctx *ctx);

/* The md5 of len bytes at data, in one call. */
int md5_hex(const void *data, size_t len, char out[MD5_HEX_LEN + 1]);

/* The md5 of the whole file at path, read in chunks (never all of it in memory). */
int md5_file_hex(const char *path, char out[MD5_HEX_LEN + 1]);

#endif
