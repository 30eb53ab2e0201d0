/* udp_broadcast_main.c - udp_broadcast [-a BCAST] PORT MESSAGE: one datagram to everyone.
 *
 * Provided, not edited: it calls your udp_broadcast.
 */
#include "cli.h"
#include "udp_send.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_BCAST "255.255.255.255" /* the limited broadcast: this LAN, any subnet */

int main(int argc, char **argv)
{
    const char *bcast = DEFAULT_BCAST;
    int opt;

    cli_init("udp_broadcast", "[-a BCAST] PORT MESSAGE");
    cli_ignore_sigpipe();
    while ((opt = getopt(argc, argv, "+a:")) != -1) {
        if (opt != 'a')
            cli_usage();
        bcast = optarg;
    }
    if (argc - optind != 2)
        cli_usage();
    uint16_t port = cli_port(argv[optind]);
    const char *message = argv[optind + 1];

    /* udp_broadcast resolves BCAST itself: a failure names it, whether it did not resolve
     * or the send was refused (EACCES without SO_BROADCAST). */
    ssize_t sent = udp_broadcast(bcast, port, message, strlen(message));
    if (sent < 0)
        cli_fail(bcast);
    printf("broadcast %zd bytes to %s:%u\n", sent, bcast, (unsigned)port);
    return 0;
}
