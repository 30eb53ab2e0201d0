/* udp_ask_main.c - udp_ask [-t MS] HOST PORT MESSAGE: one request, one reply, a timeout.
 *
 * Provided, not edited: it calls your udp_make_addr and udp_request.
 */
#include "cli.h"
#include "udp_send.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 2000
#define REPLY_CAP 65535 /* room for any datagram */

int main(int argc, char **argv)
{
    static char reply[REPLY_CAP];
    int timeout_ms = DEFAULT_TIMEOUT_MS;
    int opt;

    cli_init("udp_ask", "[-t MS] HOST PORT MESSAGE");
    cli_ignore_sigpipe();
    while ((opt = getopt(argc, argv, "+t:")) != -1) {
        if (opt != 't')
            cli_usage();
        timeout_ms = (int)cli_number(optarg, -1, INT_MAX); /* -1: wait forever */
    }
    if (argc - optind != 3)
        cli_usage();
    const char *host = argv[optind];
    uint16_t port = cli_port(argv[optind + 1]);
    const char *message = argv[optind + 2];

    struct sockaddr_in dst;
    if (udp_make_addr(host, port, &dst) < 0)
        cli_fail(host);

    struct sockaddr_in from;
    char where[CLI_ADDR_LEN];
    ssize_t n = udp_request(&dst, message, strlen(message), reply, sizeof reply, &from,
                            timeout_ms);
    if (n < 0 && errno == ETIMEDOUT)
        cli_fail_msg("no reply within %d ms", timeout_ms);
    if (n < 0)
        cli_fail("request");

    /* The payload is raw bytes, not a C string: write exactly n of them. */
    printf("reply from %s (%zd bytes): ", cli_addr(&from, where), n);
    fwrite(reply, 1, (size_t)n, stdout);
    putchar('\n');
    return 0;
}
