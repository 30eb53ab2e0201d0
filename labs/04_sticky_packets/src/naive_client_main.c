/* naive_client - the sticky-packet problem (粘包), seen from the sending side.
 *
 *   naive_client HOST PORT
 *
 * Provided, not edited: a demonstration, with no frames at all. It sends four messages with
 * four send() calls, printing each:
 *
 *     send 1: 5 bytes: 'hello'
 *     send 2: 5 bytes: 'hello'
 *     send 3: 5 bytes: 'hello'
 *     send 4: 47 bytes: 'this message is longer than the server's buffer'
 *
 * then half-closes (shutdown SHUT_WR) and waits for the server to close. Run naive_server
 * to see what its recv() calls make of them: TCP keeps the bytes and their order, never the
 * boundaries between send() calls.
 */
#include "cli.h"
#include "net.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const messages[] = {
    "hello",
    "hello",
    "hello",
    "this message is longer than the server's buffer",
};

/* Read and drop what the server sends until it closes. */
static void wait_for_close(int fd)
{
    char scratch[256];
    ssize_t n;
    while ((n = recv(fd, scratch, sizeof scratch, 0)) != 0)
        if (n < 0 && errno != EINTR)
            return;
}

int main(int argc, char **argv)
{
    cli_init("naive_client", "HOST PORT");
    if (getopt(argc, argv, "+") != -1 || argc - optind != 2)
        cli_usage();
    const char *host = argv[optind];
    uint16_t port = cli_port(argv[optind + 1]);
    cli_ignore_sigpipe();

    int fd = net_connect(host, port);
    if (fd < 0)
        cli_failf("connect %s:%u", host, (unsigned)port);
    for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++) {
        size_t len = strlen(messages[i]);
        /* One send() per message, as a naive protocol would; short enough to go in one. */
        if (send(fd, messages[i], len, MSG_NOSIGNAL) != (ssize_t)len)
            cli_fail("send");
        printf("send %zu: %zu bytes: '%s'\n", i + 1, len, messages[i]);
        fflush(stdout);
    }
    if (shutdown(fd, SHUT_WR) < 0) /* "that is all": the server's recv() will return 0 */
        cli_fail("shutdown");
    wait_for_close(fd);
    close(fd);
    return 0;
}
