/* sock_compat.c - lab 05: one socket API for Windows (Winsock) and POSIX.
 *
 * This is one of the two files you edit in this lab (the other is src/wecho.c). Each
 * function below compiles and fails until you write it; the TODO in it says what to do. The
 * contract is in include/sock_compat.h. Write each function once, with #ifdef _WIN32 around
 * the parts that differ: `make test` checks the POSIX side, `make win` compiles the Windows
 * side (and the .exe files run under Wine).
 *
 * On Windows, include <winsock2.h> before <windows.h> (sock_compat.h already does), and link
 * with -lws2_32 (`make win` does).
 */
#include "sock_compat.h"

#include <errno.h>
#include <string.h>

int sock_init(void)
{
    /* TODO(lab05): Windows: WSADATA wsa; WSAStartup(MAKEWORD(2, 2), &wsa) returns 0 or an
     * error code (it does not set WSAGetLastError); return 0 or -1. POSIX: nothing to
     * start, return 0. */
    errno = ENOSYS;
    return -1;
}

void sock_cleanup(void)
{
    /* TODO(lab05): Windows: WSACleanup(). POSIX: nothing. */
}

int sock_close(sock_t s)
{
    /* TODO(lab05): s == SOCK_INVALID: return -1 without calling anything. Windows:
     * closesocket(s); POSIX: close(s). Return 0 or -1. */
    (void)s;
    errno = ENOSYS;
    return -1;
}

int sock_error(void)
{
    /* TODO(lab05): Windows: WSAGetLastError() (Winsock does not set errno); POSIX: errno. */
    return ENOSYS;
}

const char *sock_strerror(int err, char *buf, size_t cap)
{
    /* TODO(lab05): Windows: FormatMessageA(FORMAT_MESSAGE_FROM_SYSTEM |
     * FORMAT_MESSAGE_IGNORE_INSERTS, NULL, err, 0, buf, cap, NULL) returns the length
     * written, 0 when there is no text (then write "unknown error"); cut the trailing
     * "\r\n" (CR and LF only). POSIX: strerror(err), copied into buf cut to
     * cap-1 bytes and NUL-terminated. Either way, a NULL or empty text gives exactly
     * "unknown error". With cap == 0 write nothing. */
    (void)err;
    if (cap > 0) {
        strncpy(buf, "unknown error", cap - 1);
        buf[cap - 1] = '\0';
    }
    return buf;
}
