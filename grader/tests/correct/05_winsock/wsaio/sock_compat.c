/* sock_compat.c - lab 05, a correct submission in another style: every text through snprintf.
 *
 * sock_strerror finds the system's text (FormatMessage into a local buffer on Windows,
 * strerror on POSIX) and one shared function cuts it to size: snprintf, which always
 * NUL-terminates, never writes past cap, and writes nothing when cap is 0. The other
 * functions are one line per system.
 */
#include "sock_compat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#ifndef _WIN32
#include <unistd.h>
#endif

/* "%.*s" of the first len bytes of text into buf, or "unknown error" when len is 0. */
static const char *put_text(const char *text, size_t len, char *buf, size_t cap)
{
    if (len == 0) {
        text = "unknown error";
        len = strlen(text);
    }
    if (cap > 0) /* with cap 0, buf may not even be a buffer: leave it alone */
        snprintf(buf, cap, "%.*s", (int)len, text);
    return buf;
}

#ifdef _WIN32

/* FormatMessage's text for err in text (size bytes), without its CR LF; its length, 0 when
 * the system has none (FormatMessage fails rather than cut a text that does not fit). */
static size_t system_text(int err, char *text, size_t size)
{
    DWORD n = FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, NULL,
                             (DWORD)err, 0, text, (DWORD)size, NULL);
    while (n > 0 && (text[n - 1] == '\r' || text[n - 1] == '\n'))
        n--;
    return n;
}

#endif

int sock_init(void)
{
#ifdef _WIN32
    WSADATA wsa;
    int err = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (err != 0) {
        WSASetLastError(err); /* WSAStartup returns its error rather than setting it */
        return -1;
    }
    return 0;
#else
    return 0;
#endif
}

void sock_cleanup(void)
{
#ifdef _WIN32
    WSACleanup();
#endif
}

int sock_close(sock_t s)
{
#ifdef _WIN32
    if (s == SOCK_INVALID) {
        WSASetLastError(WSAENOTSOCK);
        return -1;
    }
    return closesocket(s) == 0 ? 0 : -1;
#else
    if (s == SOCK_INVALID) {
        errno = EBADF;
        return -1;
    }
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
    size_t len = system_text(err, text, sizeof text);
#else
    const char *text = strerror(err);
    size_t len = strlen(text);
#endif
    return put_text(text, len, buf, cap);
}
