/* udp_recv - bind a UDP port and print every datagram that arrives on it.
 *
 *   udp_recv [-H HOST] [-n COUNT] [-b BUFSIZE] PORT
 *
 * Prints "bound to A.B.C.D:PORT", then "from A.B.C.D:PORT (N bytes): PAYLOAD" per datagram.
 * Runs until COUNT datagrams came (a dropped one counts) or SIGINT/SIGTERM.
 */
#include "cli.h"
#include "udp_bind.h"
#include "udp_progs.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DEFAULT_BUFSIZE 65535 /* room for any datagram IPv4 can carry */

static volatile sig_atomic_t stop; /* set by SIGINT/SIGTERM */

/* "from A.B.C.D:PORT (N bytes): " and the payload as raw bytes, then "\n". */
static void print_datagram(const struct sockaddr_in *from, const char *payload, size_t n)
{
    char addr[CLI_ADDR_LEN];
    printf("from %s (%zu bytes): ", cli_addr(from, addr), n);
    fwrite(payload, 1, n, stdout);
    putchar('\n');
}

/* A datagram that did not fit in the buffer: say so, it is gone. */
static void report_dropped(const struct sockaddr_in *from, long bufsize)
{
    char addr[CLI_ADDR_LEN];
    printf("from %s: datagram larger than %ld bytes, dropped\n", cli_addr(from, addr), bufsize);
}

int main(int argc, char **argv)
{
    const char *host = "0.0.0.0";
    long count = -1; /* -1: until a signal */
    long bufsize = DEFAULT_BUFSIZE;
    int opt;

    cli_init("udp_recv", "[-H HOST] [-n COUNT] [-b BUFSIZE] PORT");
    while ((opt = getopt(argc, argv, "H:n:b:")) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'n': count = cli_number(optarg, 1, LONG_MAX); break;
        case 'b': bufsize = cli_number(optarg, 0, DEFAULT_BUFSIZE); break;
        default: cli_usage();
        }
    }
    if (argc - optind != 1)
        cli_usage();
    uint16_t port = cli_port(argv[optind]);

    int fd = progs_start_server(host, port, &stop);
    char *buf = malloc((size_t)bufsize + 1); /* +1: malloc(0) may return NULL */
    if (buf == NULL)
        cli_fail("malloc");

    for (long got = 0; !stop && (count < 0 || got < count);) {
        struct sockaddr_in from = {0};
        ssize_t n = udp_recv_from(fd, buf, (size_t)bufsize, &from);
        if (n < 0 && errno == EINTR)
            continue; /* a signal: the loop test looks at stop */
        if (n < 0 && errno != EMSGSIZE)
            cli_fail("recvfrom");
        if (n < 0)
            report_dropped(&from, bufsize);
        else
            print_datagram(&from, buf, (size_t)n);
        got++;
    }
    free(buf);
    close(fd);
    return 0;
}
