/* frame_client - a line client that speaks frames: each line of stdin is one frame.
 *
 *   frame_client HOST PORT
 *
 * Provided, not edited: it calls your frame_send and frame_recv. Each line of stdin, without
 * its "\n", is sent as one frame, and the payload of each reply frame is printed as a line.
 * EOF on stdin ends it. A server that closes the connection: "connection closed by server",
 * exit 0.
 */
#include "cli.h"
#include "frame.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* The server has gone, as a send or a receive sees it. */
static int is_gone(int err)
{
    return err == EPIPE || err == ECONNRESET;
}

/* Send one line as a frame and print the reply's payload as a line. 1: printed; 0: the
 * server closed; a failure ends the program. */
static int exchange(int fd, const char *line, size_t len, unsigned char *reply)
{
    uint32_t reply_len;

    if (len > FRAME_MAX) {
        errno = EMSGSIZE;
        cli_fail("send");
    }
    if (frame_send(fd, line, (uint32_t)len) < 0) {
        if (is_gone(errno))
            return 0;
        cli_fail("send");
    }
    int rc = frame_recv(fd, reply, FRAME_MAX, &reply_len);
    if (rc < 0 && !is_gone(errno))
        cli_fail("recv");
    if (rc <= 0)
        return 0;
    fwrite(reply, 1, reply_len, stdout);
    putchar('\n');
    fflush(stdout);
    return 1;
}

int main(int argc, char **argv)
{
    char *line = NULL;
    size_t line_cap = 0;
    ssize_t len;

    cli_init("frame_client", "HOST PORT");
    if (getopt(argc, argv, "+") != -1 || argc - optind != 2)
        cli_usage();
    const char *host = argv[optind];
    uint16_t port = cli_port(argv[optind + 1]);
    cli_ignore_sigpipe();

    int fd = net_connect(host, port);
    if (fd < 0)
        cli_failf("connect %s:%u", host, (unsigned)port);
    unsigned char *reply = malloc(FRAME_MAX); /* a reply may be as long as any frame */
    if (reply == NULL)
        cli_fail("malloc");
    while ((len = getline(&line, &line_cap, stdin)) > 0) {
        if (line[len - 1] == '\n')
            len--;
        if (!exchange(fd, line, (size_t)len, reply)) {
            printf("connection closed by server\n");
            fflush(stdout);
            break;
        }
    }
    free(reply);
    free(line);
    close(fd);
    return 0;
}
