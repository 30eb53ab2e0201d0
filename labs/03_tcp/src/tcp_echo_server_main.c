/* tcp_echo_server - a concurrent TCP echo server.
 *
 *   tcp_echo_server [-H HOST] [-u] [-b BACKLOG] PORT
 *
 * Provided, not edited: it calls your tcp_listen and tcp_echo_serve. Prints
 * "listening on A.B.C.D:PORT", then "connected A.B.C.D:P" and "disconnected A.B.C.D:P" per
 * client, echoing (upper-cased with -u) until SIGINT or SIGTERM, and exits 0.
 */
#include "cli.h"
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_BACKLOG 16 /* how many connections may wait for accept() */

static volatile sig_atomic_t stop; /* set by SIGINT/SIGTERM */

/* tcp_listen(host, port, backlog), then print the address it really got. */
static int listen_and_announce(const char *host, uint16_t port, int backlog)
{
    int lfd = tcp_listen(host, port, backlog);
    if (lfd < 0)
        cli_failf("listen %s:%u", host, (unsigned)port);
    cli_announce("listening on", lfd); /* with port 0, the port the system picked */
    return lfd;
}

int main(int argc, char **argv)
{
    const char *host = "0.0.0.0";
    int upper = 0;
    int backlog = DEFAULT_BACKLOG;
    int opt;

    cli_init("tcp_echo_server", "[-H HOST] [-u] [-b BACKLOG] PORT");
    while ((opt = getopt(argc, argv, "H:ub:")) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'u': upper = 1; break;
        case 'b': backlog = (int)cli_number(optarg, 1, INT_MAX); break;
        default: cli_usage();
        }
    }
    if (argc - optind != 1)
        cli_usage();
    uint16_t port = cli_port(argv[optind]);

    /* SIGPIPE is left at its default on purpose: a client that goes away must not kill
     * the server, and it is tcp.c (MSG_NOSIGNAL) that makes sure of that. */
    cli_on_stop(&stop); /* before "listening on": a signal may follow that line at once */
    int lfd = listen_and_announce(host, port, backlog);
    if (tcp_echo_serve(lfd, upper, &stop) < 0)
        cli_fail("accept");
    close(lfd);
    return 0;
}
