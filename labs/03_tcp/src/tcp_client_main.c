/* tcp_client - a line client: each line of stdin goes to the server, its reply comes back.
 *
 *   tcp_client HOST PORT
 *
 * Provided, not edited: it calls your tcp_connect, send_all and recv_line. Each line of
 * stdin is sent with its "\n" and the server's reply line is printed; the line "exit" (or
 * EOF) ends it. A server that closes the connection: "connection closed by server", exit 0.
 */
#include "cli.h"
#include "tcp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REPLY_PIECE 4096 /* a longer reply line is read and printed in pieces */

/* The line "exit" (its "\n", and a "\r" before it, do not count) ends the client. */
static int is_exit(const char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\n')
        len--;
    if (len > 0 && line[len - 1] == '\r')
        len--;
    return len == 4 && memcmp(line, "exit", 4) == 0;
}

/* Send one line of stdin, with a "\n" even if stdin's last line had none. 0 or -1. */
static int send_line(int fd, const char *line, size_t len)
{
    if (send_all(fd, line, len) < 0)
        return -1;
    if (len == 0 || line[len - 1] != '\n')
        return send_all(fd, "\n", 1) < 0 ? -1 : 0;
    return 0;
}

/* Read one reply line and print it. 1: printed; 0: the server closed (a part of a line
 * that came before its EOF is printed first); -1: error. */
static int print_reply(int fd)
{
    char piece[REPLY_PIECE];
    ssize_t n;
    int printed = 0;

    /* recv_line stops after REPLY_PIECE-1 bytes: go on until the "\n". */
    while ((n = recv_line(fd, piece, sizeof piece)) > 0) {
        fwrite(piece, 1, (size_t)n, stdout);
        printed = 1;
        if (piece[n - 1] == '\n')
            return 1;
    }
    if (n < 0)
        return -1;
    if (printed)
        putchar('\n'); /* the server closed in the middle of a line */
    return 0;
}

int main(int argc, char **argv)
{
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;

    cli_init("tcp_client", "HOST PORT");
    /* No options; "+" stops at the first operand. */
    if (getopt(argc, argv, "+") != -1 || argc - optind != 2)
        cli_usage();
    const char *host = argv[optind];
    uint16_t port = cli_port(argv[optind + 1]);
    /* SIGPIPE is left at its default on purpose: send_all must not raise it. */

    int fd = tcp_connect(host, port);
    if (fd < 0)
        cli_failf("connect %s:%u", host, (unsigned)port);
    while ((len = getline(&line, &line_cap, stdin)) > 0 && !is_exit(line, (size_t)len)) {
        int got;
        if (send_line(fd, line, (size_t)len) == 0)
            got = print_reply(fd);
        else if (errno == EPIPE)
            got = 0; /* the server had closed already and our line found it gone */
        else
            cli_fail("send");
        if (got < 0)
            cli_fail("recv");
        if (got == 0) {
            printf("connection closed by server\n");
            break;
        }
    }
    free(line);
    close(fd);
    return 0;
}
