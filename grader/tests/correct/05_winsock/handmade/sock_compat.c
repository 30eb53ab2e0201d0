/* sock_compat.c - lab 05, a correct submission in another style: Winsock done by the book.
 *
 * Every Windows call is checked the way the Winsock documentation writes it: WSAStartup's
 * negotiated version is looked at, closesocket is compared with SOCKET_ERROR, and
 * FormatMessage allocates the text itself (FORMAT_MESSAGE_ALLOCATE_BUFFER), which is then
 * handed back with LocalFree. Each system has its own complete function body instead of
 * small #ifdef islands inside shared code.
 */
#include "sock_compat.h"

#include <errno.h>
#include <string.h>

#ifndef _WIN32
#include <unistd.h>
#endif

static const char unknown_error[] = "unknown error";

static int is_line_break(char c)
{
    return c == '\r' || c == '\n';
}

/* Copy text into buf as one line: the line break at its end dropped, any other one made a
 * space, cut to cap - 1 bytes and NUL-terminated (cap 0 writes nothing). A NULL or empty
 * text becomes "unknown error". */
static const char *copy_line(const char *text, char *buf, size_t cap)
{
    size_t len = text != NULL ? strlen(text) : 0;
    while (len > 0 && is_line_break(text[len - 1]))
        len--;
    if (len == 0) {
        text = unknown_error;
        len = sizeof unknown_error - 1;
    }
    if (cap == 0)
        return buf;
    if (len > cap - 1)
        len = cap - 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = is_line_break(text[i]) ? ' ' : text[i];
    buf[len] = '\0';
    return buf;
}

#ifdef _WIN32

int sock_init(void)
{
    WSADATA wsa;
    int rc = WSAStartup(MAKEWORD(2, 2), &wsa);
    if (rc != 0) {
        WSASetLastError(rc); /* WSAStartup returns its error; WSAGetLastError knows nothing */
        return -1;
    }
    /* A Winsock older than 2.2 answers with the best it has: not enough for us. */
    if (LOBYTE(wsa.wVersion) != 2 || HIBYTE(wsa.wVersion) != 2) {
        WSACleanup();
        WSASetLastError(WSAVERNOTSUPPORTED);
        return -1;
    }
    return 0;
}

void sock_cleanup(void)
{
    WSACleanup();
}

int sock_close(sock_t s)
{
    if (s == SOCK_INVALID) {
        WSASetLastError(WSAENOTSOCK);
        return -1;
    }
    return closesocket(s) == SOCKET_ERROR ? -1 : 0;
}

int sock_error(void)
{
    return WSAGetLastError();
}

const char *sock_strerror(int err, char *buf, size_t cap)
{
    char *text = NULL;
    /* With ALLOCATE_BUFFER, the buffer argument is where FormatMessage stores a pointer to
     * the text it allocated: hence the cast of &text. */
    DWORD n = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                                 FORMAT_MESSAGE_IGNORE_INSERTS,
                             NULL, (DWORD)err, MAKELANGID(LANG_NEUTRAL, SUBLANG_DEFAULT),
                             (LPSTR)&text, 0, NULL);
    /* The text ends in "\r\n", which copy_line drops. */
    copy_line(n > 0 ? text : NULL, buf, cap);
    if (text != NULL)
        LocalFree(text);
    return buf;
}

#else /* POSIX: no library to start, descriptors and errno */

int sock_init(void)
{
    return 0;
}

void sock_cleanup(void)
{
}

int sock_close(sock_t s)
{
    if (s == SOCK_INVALID) {
        errno = EBADF;
        return -1;
    }
    return close(s) == 0 ? 0 : -1;
}

int sock_error(void)
{
    return errno;
}

const char *sock_strerror(int err, char *buf, size_t cap)
{
    return copy_line(strerror(err), buf, cap);
}

#endif
