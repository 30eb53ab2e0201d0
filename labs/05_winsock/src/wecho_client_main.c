/* wecho_client - send one message to an echo server and print its reply.
 *
 *   wecho_client HOST PORT MESSAGE
 *
 * Provided, not edited: it calls your sock_init, wecho_connect, wecho_request, sock_close,
 * sock_error, sock_strerror and sock_cleanup. It prints "reply: PAYLOAD" and exits 0. When
 * it cannot connect it prints "wecho_client: connect: error CODE: TEXT" (CODE is
 * sock_error(): 10061 on Windows, 111 on Linux for a refused connection) and exits 1.
 *
 * It does not use cli.c (POSIX only) or getopt (not in mingw); stdout is flushed after every
 * line (msvcrt has no line buffering). Usage errors exit 2.
 */
#include "sock_compat.h"
#include "wecho.h"

#include <stdio.h>
#include <stdlib.h>

#ifndef _WIN32
#include <signal.h>
#endif

#define PROG "wecho_client"

/* Room for the reply: a longer one is cut (wecho_request reads and drops the rest). */
#define REPLY_CAP 65536

static void usage(void)
{
    fprintf(stderr, "usage: " PROG " HOST PORT MESSAGE\n");
    exit(2);
}

/* "PROG: WHAT: error CODE: TEXT" for the last socket error, exit 1. */
static void fail(const char *what)
{
    char text[256];
    int err = sock_error();
    fprintf(stderr, PROG ": %s: error %d: %s\n", what, err, sock_strerror(err, text, sizeof text));
    exit(1);
}

int main(int argc, char **argv)
{
    static char reply[REPLY_CAP];

    if (argc != 4)
        usage();
    char *end;
    long port = strtol(argv[2], &end, 10);
    if (argv[2][0] == '\0' || *end != '\0' || port < 0 || port > 65535)
        usage();

#ifndef _WIN32
    signal(SIGPIPE, SIG_IGN);
#endif
    if (sock_init() != 0)
        fail("sock_init");
    sock_t s = wecho_connect(argv[1], (uint16_t)port);
    if (s == SOCK_INVALID)
        fail("connect");
    long n = wecho_request(s, argv[3], reply, sizeof reply);
    if (n < 0)
        fail("request");
    printf("reply: %s\n", reply);
    fflush(stdout);
    sock_close(s);
    sock_cleanup();
    return 0;
}
