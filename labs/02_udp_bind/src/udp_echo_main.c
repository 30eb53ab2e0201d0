/* udp_echo - a UDP echo server: every datagram goes back to its sender.
 *
 *   udp_echo [-H HOST] [-u] PORT
 *
 * Prints "bound to A.B.C.D:PORT", then echoes (upper-cased with -u) until SIGINT/SIGTERM.
 */
#include "cli.h"
#include "udp_bind.h"
#include "udp_progs.h"

#include <unistd.h>

static volatile sig_atomic_t stop; /* set by SIGINT/SIGTERM */

int main(int argc, char **argv)
{
    const char *host = "0.0.0.0";
    int upper = 0;
    int opt;

    cli_init("udp_echo", "[-H HOST] [-u] PORT");
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

    int fd = progs_start_server(host, port, &stop);
    if (udp_echo_serve(fd, upper, &stop) < 0)
        cli_fail("echo");
    close(fd);
    return 0;
}
