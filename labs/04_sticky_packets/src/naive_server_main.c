/* naive_server - the sticky-packet problem (粘包), seen from the receiving side.
 *
 *   naive_server PORT
 *
 * Provided, not edited: a demonstration, with no frames at all. Prints "listening on
 * A.B.C.D:PORT"; then, for each client, it prints what every recv() returned:
 *
 *     recv 1: 32 bytes: 'hellohellohellothis message is l'
 *     recv 2: 30 bytes: 'onger than the server's buffer'
 *     recv 3: 0 bytes: the client closed
 *
 * naive_client sent four messages with four send() calls: 'hello' three times and one
 * message longer than this server's 32-byte buffer. A receiver that takes one recv() for one
 * message sees two "messages", neither of them one that was sent: the first three are glued
 * together (and to the start of the fourth), and the fourth is split in two.
 *
 * To give the same output on every run, this server waits until the client has sent
 * everything and half-closed (poll with POLLRDHUP, at most WAIT_MS) before its first recv().
 * A real server never does that, and it would not help: over a real network TCP glues and
 * splits data however it likes, at any moment. Only a protocol that marks where each message
 * ends (lab 04's length prefix) gets the messages back. Runs until SIGINT or SIGTERM.
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include "cli.h"
#include "progs.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NAIVE_BUF 32   /* the buffer of each recv(): smaller than one of the messages */
#define WAIT_MS   2000 /* how long to wait for the client to finish sending */

static volatile sig_atomic_t stop; /* set by SIGINT/SIGTERM */

/* Wait until the client has half-closed (its FIN has arrived), or WAIT_MS passed. */
static void wait_for_whole_stream(int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
    poll(&pfd, 1, WAIT_MS);
}

/* 'bytes' with every byte that is not printable ASCII shown as '?'. */
static void print_bytes(const unsigned char *bytes, size_t len)
{
    putchar('\'');
    for (size_t i = 0; i < len; i++)
        putchar(bytes[i] >= 0x20 && bytes[i] < 0x7f ? bytes[i] : '?');
    putchar('\'');
}

/* One client: print what each recv() returned, until it closes. progs_serve runs this on a
 * thread of its own and hangs up afterwards. */
static void show_recvs(int fd, const char *peer, void *arg)
{
    unsigned char buf[NAIVE_BUF];
    (void)peer;
    (void)arg;
    wait_for_whole_stream(fd);
    for (int call = 1;; call++) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "%s: recv: %s\n", cli_prog(), strerror(errno));
            return;
        }
        flockfile(stdout); /* one client's line at a time */
        if (n == 0) {
            printf("recv %d: 0 bytes: the client closed\n", call);
        } else {
            printf("recv %d: %zd bytes: ", call, n);
            print_bytes(buf, (size_t)n);
            putchar('\n');
        }
        fflush(stdout);
        funlockfile(stdout);
        if (n == 0)
            return;
    }
}

int main(int argc, char **argv)
{
    cli_init("naive_server", "PORT");
    if (getopt(argc, argv, "+") != -1 || argc - optind != 1)
        cli_usage();
    uint16_t port = cli_port(argv[optind]);

    int lfd = progs_start_server("0.0.0.0", port, &stop);
    if (progs_serve(lfd, &stop, show_recvs, NULL) < 0)
        cli_fail("accept");
    close(lfd);
    return 0;
}
