/* wecho_server - a TCP echo server that builds on Windows and on POSIX.
 *
 *   wecho_server [-H HOST] [-n CLIENTS] PORT
 *
 * Provided, not edited: it calls your sock_init, wecho_listen, wecho_session, sock_close and
 * sock_cleanup. It prints "listening on A.B.C.D:PORT" (the address getsockname gives, so
 * port 0 shows the real port), then serves one client at a time: accept, wecho_session,
 * sock_close. With -n it serves CLIENTS clients and exits 0; without it, it runs until it is
 * stopped.
 *
 * It does not use cli.c (POSIX only) or getopt (not in mingw): its argument parsing and
 * messages are portable, and stdout is flushed after every line (msvcrt has no line
 * buffering). Usage errors exit 2, run-time errors print "wecho_server: WHAT: error CODE:
 * TEXT" and exit 1.
 */
#include "sock_compat.h"
#include "wecho.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef _WIN32
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#endif

#define PROG "wecho_server"

static void usage(void)
{
    fprintf(stderr, "usage: " PROG " [-H HOST] [-n CLIENTS] PORT\n");
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

/* A whole number in [min, max], or a usage error. */
static long number(const char *arg, long min, long max)
{
    char *end;
    long v = strtol(arg, &end, 10);
    if (arg[0] == '\0' || *end != '\0' || v < min || v > max)
        usage();
    return v;
}

int main(int argc, char **argv)
{
    const char *host = "0.0.0.0";
    long clients = -1; /* -1: for ever */
    int i = 1;

    for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
        const char *opt = argv[i];
        if (strcmp(opt, "--") == 0) {
            i++;
            break;
        }
        if ((opt[1] != 'H' && opt[1] != 'n') || (opt[2] == '\0' && i + 1 >= argc))
            usage();
        const char *value = opt[2] != '\0' ? opt + 2 : argv[++i];
        if (opt[1] == 'H')
            host = value;
        else
            clients = number(value, 1, 1000000);
    }
    if (argc - i != 1)
        usage();
    uint16_t port = (uint16_t)number(argv[i], 0, 65535);

#ifndef _WIN32
    signal(SIGPIPE, SIG_IGN); /* a vanished client makes send fail, not kill the server */
#endif
    if (sock_init() != 0)
        fail("sock_init");

    sock_t lfd = wecho_listen(host, port);
    if (lfd == SOCK_INVALID) {
        char what[300];
        snprintf(what, sizeof what, "listen %s:%u", host, (unsigned)port);
        fail(what);
    }
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    if (getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        fail("getsockname");
    unsigned long ip = ntohl(a.sin_addr.s_addr);
    printf("listening on %lu.%lu.%lu.%lu:%u\n", (ip >> 24) & 255, (ip >> 16) & 255,
           (ip >> 8) & 255, ip & 255, (unsigned)ntohs(a.sin_port));
    fflush(stdout);

    for (long served = 0; clients < 0 || served < clients; served++) {
        sock_t c = accept(lfd, NULL, NULL);
        if (c == SOCK_INVALID)
            fail("accept");
        wecho_session(c); /* a session that fails ends that client only */
        sock_close(c);
    }
    sock_close(lfd);
    sock_cleanup();
    return 0;
}
