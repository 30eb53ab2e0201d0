/* udp_send_main.c - udp_send HOST PORT [MESSAGE]: one datagram, or one per line of stdin.
 *
 * Provided, not edited: it calls your udp_make_addr, udp_send_once and udp_send_lines.
 */
#include "cli.h"
#include "udp_send.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    cli_init("udp_send", "HOST PORT [MESSAGE]");
    cli_ignore_sigpipe();
    /* No options; "+" stops at the first operand, so a MESSAGE may start with '-'. */
    if (getopt(argc, argv, "+") != -1)
        cli_usage();
    int nargs = argc - optind;
    if (nargs != 2 && nargs != 3)
        cli_usage();
    const char *host = argv[optind];
    uint16_t port = cli_port(argv[optind + 1]);

    struct sockaddr_in dst;
    char where[CLI_ADDR_LEN];
    if (udp_make_addr(host, port, &dst) < 0)
        cli_fail(host);
    cli_addr(&dst, where);

    if (nargs == 3) {
        const char *message = argv[optind + 2];
        /* strlen: the text's bytes, without the NUL that ends a C string. */
        ssize_t sent = udp_send_once(&dst, message, strlen(message));
        if (sent < 0)
            cli_fail("send");
        printf("sent %zd bytes to %s\n", sent, where);
    } else {
        long datagrams = udp_send_lines(&dst, stdin);
        if (datagrams < 0)
            cli_fail("send");
        printf("sent %ld datagrams to %s\n", datagrams, where);
    }
    return 0;
}
