/* udp_whoami - send "ping" from a socket that was never bound and print the port it got.
 *
 *   udp_whoami HOST PORT
 *
 * Prints "local port P". Run it twice: the system picks a new ephemeral port each time.
 */
#include "cli.h"
#include "udp_bind.h"
#include "udp_progs.h"

#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct sockaddr_in dst;

    cli_init("udp_whoami", "HOST PORT");
    if (getopt(argc, argv, "") != -1 || argc - optind != 2)
        cli_usage();
    uint16_t port = cli_port(argv[optind + 1]);
    progs_resolve(argv[optind], port, &dst);

    cli_ignore_sigpipe();
    int local = udp_implicit_port(&dst);
    if (local < 0)
        cli_fail("ping");
    printf("local port %d\n", local);
    return 0;
}
