/* ft_send - send files to an ft_recv, one after another over one connection.
 *
 *   ft_send HOST PORT FILE...
 *
 * Provided, not edited: it calls your ft_send_file for each FILE and prints
 *
 *     sent NAME (N bytes, md5 HEX)        or        failed NAME: REASON
 *
 * After a failure it goes on with the next file. Whether the receiver kept the connection
 * (an md5 mismatch) or closed it (a bad header) cannot be told from here without a race, so
 * the next file always goes on a new connection. Exits 1 if any file failed, else 0.
 */
#include "cli.h"
#include "filexfer.h"
#include "net.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The part of path after its last '/'. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Send one file over fd and print what happened. 0 or -1. */
static int send_one(int fd, const char *path)
{
    struct ft_result res;
    memset(&res, 0, sizeof res);
    errno = 0;
    int rc = ft_send_file(fd, path, &res);
    int err = errno;
    const char *name = res.name[0] != '\0' ? res.name : base_name(path);
    if (rc == 0)
        printf("sent %s (%" PRIu64 " bytes, md5 %s)\n", name, res.size, res.md5);
    else
        printf("failed %s: %s\n", name, res.reason[0] != '\0' ? res.reason
                                        : err != 0 ? strerror(err) : "unknown error");
    fflush(stdout);
    return rc == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    int fd = -1;
    int failed = 0;

    cli_init("ft_send", "HOST PORT FILE...");
    if (getopt(argc, argv, "+") != -1 || argc - optind < 3)
        cli_usage();
    const char *host = argv[optind];
    uint16_t port = cli_port(argv[optind + 1]);
    cli_ignore_sigpipe();

    for (int i = optind + 2; i < argc; i++) {
        if (fd < 0) {
            fd = net_connect(host, port);
            if (fd < 0)
                cli_failf("connect %s:%u", host, (unsigned)port);
        }
        if (send_one(fd, argv[i]) < 0) {
            failed = 1;
            close(fd); /* the next file starts on a new connection */
            fd = -1;
        }
    }
    if (fd >= 0) {
        shutdown(fd, SHUT_WR); /* no more files: the receiver's ft_recv_file returns 0 */
        close(fd);
    }
    return failed ? 1 : 0;
}
