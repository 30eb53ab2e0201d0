/* sock_compat.c - lab 05 reference solution: one socket API for Windows and POSIX.
 *
 * Each function is written once, with #ifdef _WIN32 around what differs: Winsock must be
 * started (WSAStartup) before any socket call, closes sockets with closesocket (a SOCKET is
 * not a file descriptor), reports errors through WSAGetLastError instead of errno, and
 * describes them with FormatMessage, whose text ends in CR/LF.
 */
#include "sock_compat.h"

#include <errno.h>
#include <string.h>

#ifndef _WIN32
#include <unistd.h>
#endif

#define UNKNOWN_ERROR "unknown error"

/* text (or "unknown error" when it is NULL or empty) into buf, cut to cap-1 bytes. */
static const char *copy_text(const char *text, char *buf, size_t cap)
{
    if (text == NULL || text[0] == '\0')
        text = UNKNOWN_ERROR;
    if (cap == 0)
        return buf;
    size_t len = strlen(text);
    if (len > cap - 1)
        len = cap - 1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    return buf;
}

int sock_init(void)
{
#ifdef _WIN32
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        WSASetLastError(rc); /* WSAStartup returns its error instead of setting it */
        return -1;
    }
#endif
    return 0;
}

void sock_cleanup(void)
{
#ifdef _WIN32
    WSACleanup();
#endif
}

int sock_close(sock_t s)
{
    if (s == SOCK_INVALID) {
#ifdef _WIN32
        WSASetLastError(WSAENOTSOCK);
#else
        errno = EBADF;
#endif
        return -1;
    }
#ifdef _WIN32
    return closesocket(s) == 0 ? 0 : -1;
#else
    return close(s) == 0 ? 0 : -1;
#endif
}

int sock_error(void)
{
#ifdef _WIN32
    return WSAGetLastError();
#else
    return errno;
#endif
}

const char *sock_strerror(int err, char *buf, size_t cap)
{
#ifdef _WIN32
    char text[512];
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)err, 0, text, (DWORD)sizeof text, NULL);
    /* FormatMessage ends its text with "\r\n"; a line of ours does not. */
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n'))
        n--;
    text[n] = '\0';
    return copy_text(text, buf, cap);
#else
    return copy_text(strerror(err), buf, cap);
#endif
}
