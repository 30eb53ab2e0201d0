/* udp_chat - a two-way chat over UDP: lines typed go out as JSON, messages in are printed.
 *
 *   udp_chat [-n NAME] [-H HOST] LOCAL_PORT PEER_HOST PEER_PORT
 *
 * Prints "bound to A.B.C.D:PORT", then sends each line of stdin to the peer as
 * {"name": NAME, "msg": LINE} and prints each message that comes in as "[NAME] MSG".
 * The line "stop", end of input (Ctrl-D) or SIGINT/SIGTERM ends it. NAME defaults to the
 * login name in $USER, or "anon".
 */
#include "cli.h"
#include "udp_bind.h"
#include "udp_progs.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile sig_atomic_t stop; /* set by SIGINT/SIGTERM; udp_chat sees EINTR */

/* $USER when it is set, else "anon". */
static const char *default_name(void)
{
    const char *user = getenv("USER");
    return user != NULL && user[0] != '\0' ? user : "anon";
}

int main(int argc, char **argv)
{
    const char *name = default_name();
    const char *host = "0.0.0.0";
    struct sockaddr_in peer;
    int opt;

    cli_init("udp_chat", "[-n NAME] [-H HOST] LOCAL_PORT PEER_HOST PEER_PORT");
    while ((opt = getopt(argc, argv, "n:H:")) != -1) {
        switch (opt) {
        case 'n': name = optarg; break;
        case 'H': host = optarg; break;
        default: cli_usage();
        }
    }
    if (argc - optind != 3)
        cli_usage();
    uint16_t local_port = cli_port(argv[optind]);
    uint16_t peer_port = cli_port(argv[optind + 2]);
    progs_resolve(argv[optind + 1], peer_port, &peer);

    int fd = progs_start_server(host, local_port, &stop);
    /* A signal that came while we printed would not interrupt the chat's first poll. */
    if (!stop && udp_chat(fd, &peer, name, STDIN_FILENO, stdout) < 0)
        cli_fail("chat");
    close(fd);
    return 0;
}
