/* tcp_send - one message, a half-close, and everything the server sends back.
 *
 *   tcp_send HOST PORT MESSAGE
 *
 * Provided, not edited: it calls your tcp_connect and send_all. It sends MESSAGE, then
 * shutdown(SHUT_WR): "I have nothing more to say" (the server's recv() returns 0), while
 * the connection stays open the other way. Then it prints every byte that comes back until
 * the server closes too.
 */
#include "cli.h"
#include "tcp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Copy every byte the peer sends to stdout, as raw bytes, until EOF. 0 or -1. */
static int print_until_eof(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            return 0; /* the server closed its side: that is all */
        if (n < 0)
            return -1;
        fwrite(buf, 1, (size_t)n, stdout);
    }
}

int main(int argc, char **argv)
{

    cli_init("tcp_send", "HOST PORT MESSAGE");
    /* No options; "+" stops at the first operand, so a MESSAGE may start with '-'. */
    if (getopt(argc, argv, "+") != -1 || argc - optind != 3)
        cli_usage();
    const char *host = argv[optind];
    uint16_t port = cli_port(argv[optind + 1]);
    const char *message = argv[optind + 2];
    /* SIGPIPE is left at its default on purpose: send_all must not raise it. */

    int fd = tcp_connect(host, port);
    if (fd < 0)
        cli_failf("connect %s:%u", host, (unsigned)port);
    if (send_all(fd, message, strlen(message)) < 0)
        cli_fail("send");
    if (shutdown(fd, SHUT_WR) < 0) /* half-close: our FIN, the reading side stays open */
        cli_fail("shutdown");
    if (print_until_eof(fd) < 0)
        cli_fail("recv");
    fflush(stdout);
    close(fd);
    return 0;
}
