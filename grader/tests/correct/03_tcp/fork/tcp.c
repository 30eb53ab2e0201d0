/* tcp.c - lab 03, a correct submission in another style: one process per client.
 *
 * Written as a student who learnt networking from the classic Unix books might:
 *   - addresses are filled in by hand (inet_pton), getaddrinfo only when the host is a name;
 *   - recv_line takes one byte per recv(), so it can never read past the "\n";
 *   - tcp_echo_serve forks a child per client; the parent closes its copy of the client's
 *     socket at once, reaps finished children with waitpid(WNOHANG) between two polls of
 *     the listening socket, and polls with a timeout so *stop is seen quickly.
 */
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define POLL_MS 200   /* how often the accept loop looks at *stop */
#define CHUNK 4096    /* bytes per recv() in an echo session */

/* ------------------------------------------------------------------ helpers */

static int fail_closing(int fd)
{
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* Fill *sa with host:port. NULL/"" means INADDR_ANY. A dotted quad is taken as it is;
 * anything else is looked up as a name (IPv4 only). 0 or -1 with errno. */
static int make_sockaddr(const char *host, uint16_t port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);

    if (host == NULL || *host == '\0') {
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
        return 0;
    }
    if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
        return 0;

    struct addrinfo hints, *list = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &list);
    if (rc != 0 || list == NULL) {
        if (rc == EAI_SYSTEM)
            ; /* errno is already set */
        else if (rc == EAI_MEMORY)
            errno = ENOMEM;
        else if (rc == EAI_AGAIN)
            errno = EAGAIN;
        else
            errno = EHOSTUNREACH;
        return -1;
    }
    sa->sin_addr = ((struct sockaddr_in *)list->ai_addr)->sin_addr;
    freeaddrinfo(list);
    return 0;
}

/* ------------------------------------------------------------------ API */

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    struct sockaddr_in sa;
    int yes = 1;

    if (make_sockaddr(host, port, &sa) < 0)
        return -1;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes) < 0)
        return fail_closing(s);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) < 0)
        return fail_closing(s);
    if (listen(s, backlog) < 0)
        return fail_closing(s);
    return s;
}

int tcp_connect(const char *host, uint16_t port)
{
    struct sockaddr_in sa;

    if (make_sockaddr(host, port, &sa) < 0)
        return -1;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return -1;
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0)
        return fail_closing(s);
    return s;
}

ssize_t send_all(int fd, const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t done = 0;

    while (done < len) {
        ssize_t w = send(fd, p + done, len - done, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        done += (size_t)w;
    }
    return (ssize_t)done;
}

/* One byte per recv(): slow, but the byte after "\n" is never touched. */
ssize_t recv_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;

    if (buf == NULL || cap < 2) {
        errno = EINVAL;
        return -1;
    }
    while (n < cap - 1) {
        char c;
        ssize_t r = recv(fd, &c, 1, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0)
            break;          /* EOF: whatever we have (maybe nothing) */
        buf[n++] = c;
        if (c == '\n')
            break;
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

int tcp_echo_session(int fd, int upper)
{
    unsigned char data[CHUNK];

    for (;;) {
        ssize_t got = recv(fd, data, sizeof data, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -1;
        if (got == 0)
            return 0;
        if (upper) {
            for (ssize_t i = 0; i < got; i++)
                if (data[i] >= 'a' && data[i] <= 'z')
                    data[i] -= 'a' - 'A';
        }
        if (send_all(fd, data, (size_t)got) < 0)
            return -1;
    }
}

/* ------------------------------------------------------------------ the forking server */

/* The children this call of tcp_echo_serve started and has not reaped yet. Only our own
 * pids are waited for: waitpid(-1) would also reap children the caller started itself. */
struct kids {
    pid_t *pid;
    size_t count, room;
};

/* Room for one more pid, made BEFORE fork: once a child runs, it must be remembered. */
static int kids_make_room(struct kids *k)
{
    if (k->count < k->room)
        return 0;
    size_t room = k->room ? 2 * k->room : 16;
    pid_t *bigger = realloc(k->pid, room * sizeof *bigger);
    if (bigger == NULL)
        return -1;
    k->pid = bigger;
    k->room = room;
    return 0;
}

static void kids_reap(struct kids *k)
{
    size_t i = 0;
    while (i < k->count) {
        pid_t r = waitpid(k->pid[i], NULL, WNOHANG);
        if (r == 0) {               /* still serving */
            i++;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        /* reaped (or already gone): forget it */
        k->pid[i] = k->pid[--k->count];
    }
}

static void say(const char *what, const char *who)
{
    printf("%s %s\n", what, who);
    fflush(stdout);
}

/* The child: serve one client, then vanish with _exit (no atexit handlers, no stdio
 * flushing of buffers copied from the parent). */
static void serve_child(int lfd, int cfd, int upper, const char *who)
{
    struct sigaction dfl;

    /* The parent's SIGINT/SIGTERM handler only sets a flag the child never looks at:
     * take the default back, so stopping the server (a signal to its process group)
     * also ends its sessions instead of leaving orphans holding clients. */
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);

    close(lfd); /* only the parent accepts */
    tcp_echo_session(cfd, upper);
    close(cfd);
    say("disconnected", who);
    _exit(0);
}

static int accept_error_is_the_clients(int e)
{
    switch (e) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case EPERM:
    case ENETDOWN:
    case ENETUNREACH:
    case EHOSTDOWN:
    case EHOSTUNREACH:
    case ENONET:
    case ENOPROTOOPT:
    case EOPNOTSUPP:
        return 1;
    default:
        return 0;
    }
}

int tcp_echo_serve(int lfd, int upper, volatile sig_atomic_t *stop)
{
    struct kids kids = {NULL, 0, 0};
    int result = 0;

    while (!*stop) {
        kids_reap(&kids);

        struct pollfd pfd;
        pfd.fd = lfd;
        pfd.events = POLLIN;
        pfd.revents = 0;
        int ready = poll(&pfd, 1, POLL_MS);
        if (ready < 0 && errno == EINTR)
            continue;               /* a signal: look at *stop again */
        if (ready < 0) {
            result = -1;
            break;
        }
        if (ready == 0)
            continue;

        struct sockaddr_in peer;
        socklen_t plen = sizeof peer;
        int cfd = accept(lfd, (struct sockaddr *)&peer, &plen);
        if (cfd < 0) {
            if (accept_error_is_the_clients(errno))
                continue;
            result = -1;
            break;
        }

        char who[32];
        snprintf(who, sizeof who, "%s:%d", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
        say("connected", who); /* flushed: nothing buffered is copied into the child */

        pid_t pid = kids_make_room(&kids) < 0 ? -1 : fork();
        if (pid == 0)
            serve_child(lfd, cfd, upper, who); /* never returns */
        close(cfd); /* the child has its own copy; ours would keep the connection open */
        if (pid < 0) {
            say("disconnected", who); /* could not serve it: drop it, go on */
            continue;
        }
        kids.pid[kids.count++] = pid;
    }

    int saved = errno;
    kids_reap(&kids); /* the ones still running are not waited for */
    free(kids.pid);
    errno = saved;
    return result;
}
