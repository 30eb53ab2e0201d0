/* frame_echo_server - a concurrent echo server that speaks frames.
 *
 *   frame_echo_server [-H HOST] [-u] PORT
 *
 * Provided, not edited: each client runs your frame_echo_session on a thread of its own.
 * Prints "listening on A.B.C.D:PORT", then sends every frame back as a frame (its payload
 * upper-cased with -u) until SIGINT or SIGTERM, and exits 0. A client that announces a
 * length over FRAME_MAX, or cuts a frame short, is hung up on, with a message on stderr.
 */
#include "cli.h"
#include "frame.h"
#include "progs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop; /* set by SIGINT/SIGTERM */

/* One client: echo frames until it closes; progs_serve then hangs up. */
static void echo_client(int fd, const char *peer, void *arg)
{
    const int *upper = arg;
    if (frame_echo_session(fd, *upper) < 0)
        fprintf(stderr, "%s: %s: %s\n", cli_prog(), peer,
                errno != 0 ? strerror(errno) : "failed (errno was not set)");
}

int main(int argc, char **argv)
{
    const char *host = "0.0.0.0";
    int upper = 0;
    int opt;

    cli_init("frame_echo_server", "[-H HOST] [-u] PORT");
    while ((opt = getopt(argc, argv, "H:u")) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'u': upper = 1; break;
        default: cli_usage();
        }
    }
    if (argc - optind != 1)
        cli_usage();
    uint16_t port = cli_port(argv[optind]);

    int lfd = progs_start_server(host, port, &stop);
    if (progs_serve(lfd, &stop, echo_client, &upper) < 0)
        cli_fail("accept");
    close(lfd);
    return 0;
}
