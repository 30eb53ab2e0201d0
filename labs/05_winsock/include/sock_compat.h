/* sock_compat.h - lab 05: one socket API for Windows (Winsock) and POSIX.
 *
 * Provided, not edited: you implement these functions in src/sock_compat.c, once, for both
 * systems (#ifdef _WIN32). A socket is a sock_t: SOCKET (an unsigned handle) on Windows, an
 * int file descriptor elsewhere; an invalid one is SOCK_INVALID, never compare with -1.
 */
#ifndef SOCKLAB_SOCK_COMPAT_H
#define SOCKLAB_SOCK_COMPAT_H

#include <stddef.h>

#ifdef _WIN32
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN /* windows.h without its rarely used parts: a third of the compile */
#endif
#include <winsock2.h> /* before windows.h, which would pull in the old winsock.h */
#include <ws2tcpip.h>
#include <windows.h>
typedef SOCKET sock_t;
#define SOCK_INVALID INVALID_SOCKET
#else
typedef int sock_t;
#define SOCK_INVALID (-1)
#endif

/* Windows: WSAStartup(MAKEWORD(2,2)); elsewhere nothing. 0 or -1. */
int sock_init(void);

/* Windows: WSACleanup(); elsewhere nothing. */
void sock_cleanup(void);

/* Windows: closesocket(); elsewhere close(). 0 or -1; sock_close(SOCK_INVALID) returns -1. */
int sock_close(sock_t s);

/* The last socket error: WSAGetLastError() on Windows, errno elsewhere. */
int sock_error(void);

/* One line of text for err in buf (cap bytes, cut to fit, NUL-terminated), returned:
 * FormatMessage's text without its trailing CR/LF on Windows, strerror elsewhere; exactly
 * "unknown error" where the system has no text for err. */
const char *sock_strerror(int err, char *buf, size_t cap);

#endif
