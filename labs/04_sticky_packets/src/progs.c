/* progs.c - starting a server, the accept loop (a thread per connection) and hanging up,
 * for lab 04's provided programs. Provided, not edited. */
#define _GNU_SOURCE /* ppoll */
#include "progs.h"

#include "cli.h"
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* How many connections may wait for accept(). */
#define BACKLOG 16

/* progs_stop() writes a byte here; progs_serve polls its read end next to the listener. */
static int wake_pipe[2] = {-1, -1};

int progs_start_server(const char *host, uint16_t port, volatile sig_atomic_t *stop)
{
    cli_ignore_sigpipe();
    cli_on_stop(stop); /* before "listening on": a signal may follow that line at once */
    if (pipe(wake_pipe) < 0)
        cli_fail("pipe");
    fcntl(wake_pipe[1], F_SETFL, O_NONBLOCK);
    int lfd = net_listen(host, port, BACKLOG);
    if (lfd < 0)
        cli_failf("listen %s:%u", host, (unsigned)port);
    cli_announce("listening on", lfd); /* with port 0, the port the system picked */
    return lfd;
}

void progs_stop(void)
{
    (void)!write(wake_pipe[1], "x", 1);
}

/* How long a hang-up waits for the peer's EOF before it closes anyway. */
#define HANG_UP_MS 1000

static long long monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void progs_hang_up(int fd)
{
    char drop[4096];
    struct pollfd peer = {.fd = fd, .events = POLLIN};
    long long deadline = monotonic_ms() + HANG_UP_MS;
    long long left;

    shutdown(fd, SHUT_WR); /* our FIN, after everything already sent */
    /* Read (and drop) what the peer still sends, until its EOF or HANG_UP_MS: closing with
     * unread input would send a reset, and a reset can destroy an ack not yet delivered. */
    while ((left = deadline - monotonic_ms()) > 0 && poll(&peer, 1, (int)left) > 0)
        if (recv(fd, drop, sizeof drop, 0) <= 0)
            break;
    close(fd);
}

/* What one connection's thread needs: its own copy, since the loop goes on at once. */
struct conn {
    int fd;
    char peer[CLI_ADDR_LEN];
    progs_session *session;
    void *arg;
};

static void *run_conn(void *p)
{
    struct conn *c = p;
    c->session(c->fd, c->peer, c->arg);
    progs_hang_up(c->fd);
    free(c);
    return NULL;
}

/* Serve fd on a detached thread; the thread inherits the caller's signal mask. 0 or -1. */
static int start_conn(int fd, const struct sockaddr_in *peer, progs_session *session,
                      void *arg)
{
    pthread_t thread;
    struct conn *c = malloc(sizeof *c);
    if (c == NULL)
        return -1;
    c->fd = fd;
    cli_addr(peer, c->peer);
    c->session = session;
    c->arg = arg;
    int err = pthread_create(&thread, NULL, run_conn, c);
    if (err != 0) {
        free(c);
        errno = err;
        return -1;
    }
    pthread_detach(thread);
    return 0;
}

/* accept() failures that concern only the client being accepted. */
static int is_client_error(int err)
{
    return err == ECONNABORTED || err == EPROTO || err == EPERM || err == ENETDOWN ||
           err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH || err == ENETUNREACH;
}

int progs_serve(int lfd, volatile sig_atomic_t *stop, progs_session *session, void *arg)
{
    sigset_t stops, before;
    int rc = 0;

    /* SIGINT and SIGTERM stay blocked on this thread except inside ppoll, which unblocks
     * them atomically: a signal that comes just before the wait still interrupts it (a plain
     * poll could miss it and sleep on). The sessions' threads, created meanwhile, inherit
     * the blocked mask, so these signals always land here. */
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stops, &before);
    while (!*stop) {
        struct pollfd pfd[2] = {{.fd = lfd, .events = POLLIN},
                                {.fd = wake_pipe[0], .events = POLLIN}};
        if (ppoll(pfd, 2, NULL, &before) < 0) {
            if (errno == EINTR)
                continue; /* a signal: look at *stop again */
            rc = -1;
            break;
        }
        if (pfd[1].revents != 0)
            break; /* progs_stop() */
        struct sockaddr_in peer;
        socklen_t peer_len = sizeof peer;
        int fd = accept(lfd, (struct sockaddr *)&peer, &peer_len);
        if (fd < 0) {
            if (errno == EINTR || errno == EAGAIN || is_client_error(errno))
                continue;
            rc = -1;
            break;
        }
        if (start_conn(fd, &peer, session, arg) < 0)
            progs_hang_up(fd); /* no thread for this client: drop it, serve the others */
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    errno = saved;
    return rc;
}
