/* ft_recv - receive files from ft_send into a folder.
 *
 *   ft_recv [-H HOST] [-d DIR] [-n COUNT] PORT
 *
 * Provided, not edited: each connection runs on a thread of its own, calling your
 * ft_recv_file until it returns 0 (the sender is done) or -1 (the connection is unusable).
 * Prints "listening on A.B.C.D:PORT", then per file
 *
 *     received NAME (N bytes, md5 OK)     or     rejected NAME: REASON
 *
 * where a rejected NAME is the name as received, every control character printed as '?',
 * or '-' when the header had no file_name string. Files go into DIR (default "."). With -n
 * it exits 0 after COUNT files, received or rejected; otherwise it runs until SIGINT or
 * SIGTERM and exits 0.
 */
#include "cli.h"
#include "filexfer.h"
#include "md5.h"
#include "progs.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop; /* set by SIGINT/SIGTERM */

/* What every connection's thread shares. */
static const char *dir = ".";
static long count;    /* files to report before exiting; 0: no limit */
static long reported; /* files reported so far, under lock */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* text with every control character (0x00-0x1F, 0x7F) as '?', into out (cap bytes). */
static const char *printable(const char *text, char *out, size_t cap)
{
    size_t i;
    for (i = 0; text[i] != '\0' && i + 1 < cap; i++)
        out[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? '?' : text[i];
    out[i] = '\0';
    return out;
}

/* Print one outcome, unless COUNT files were reported already. 1 when this was the last
 * one to report (the program is to stop), else 0. */
static int report(const struct ft_result *res, int err)
{
    char name[sizeof res->name], reason[sizeof res->reason];
    int last = 0;

    pthread_mutex_lock(&lock);
    if (count == 0 || reported < count) {
        if (res->ok)
            printf("received %s (%" PRIu64 " bytes, md5 OK)\n", res->name, res->size);
        else
            printf("rejected %s: %s\n",
                   res->name[0] != '\0' ? printable(res->name, name, sizeof name) : "-",
                   res->reason[0] != '\0' ? printable(res->reason, reason, sizeof reason)
                   : err != 0 ? strerror(err) : "unknown error");
        fflush(stdout);
        reported++;
        last = count != 0 && reported == count;
    }
    pthread_mutex_unlock(&lock);
    return last;
}

/* One connection: files until the sender is done (0) or the connection is unusable (-1).
 * progs_serve hangs up afterwards. */
static void receive_files(int fd, const char *peer, void *arg)
{
    (void)peer;
    (void)arg;
    for (;;) {
        struct ft_result res;
        memset(&res, 0, sizeof res);
        errno = 0;
        int rc = ft_recv_file(fd, dir, &res);
        if (rc == 0)
            return;
        if (report(&res, errno)) {
            shutdown(fd, SHUT_WR); /* our FIN after the ack, before the program exits */
            progs_stop();
            return;
        }
        if (rc < 0)
            return;
    }
}

int main(int argc, char **argv)
{
    const char *host = "0.0.0.0";
    struct stat st;
    int opt;

    cli_init("ft_recv", "[-H HOST] [-d DIR] [-n COUNT] PORT");
    while ((opt = getopt(argc, argv, "H:d:n:")) != -1) {
        switch (opt) {
        case 'H': host = optarg; break;
        case 'd': dir = optarg; break;
        case 'n': count = cli_number(optarg, 1, LONG_MAX); break;
        default: cli_usage();
        }
    }
    if (argc - optind != 1)
        cli_usage();
    uint16_t port = cli_port(argv[optind]);
    if (stat(dir, &st) < 0)
        cli_fail(dir);
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        cli_fail(dir);
    }

    /* libcrypto sets itself up on its first use; do it here, on the main thread, so that its
     * state does not belong to a session thread that is still running when we exit. */
    char warm_up[MD5_HEX_LEN + 1];
    if (md5_hex("", 0, warm_up) < 0)
        cli_fail("md5");
    int lfd = progs_start_server(host, port, &stop);
    if (progs_serve(lfd, &stop, receive_files, NULL) < 0)
        cli_fail("accept");
    close(lfd);
    return 0;
}
