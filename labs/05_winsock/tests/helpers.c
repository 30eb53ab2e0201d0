/* helpers.c - TCP peers and a session thread for lab 05's tests. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wecho.h"

sock_t expect_sock(const char *call, sock_t s, int err)
{
    cr_assert(s != SOCK_INVALID, "%s should have returned a socket, but instead it returned "
              "SOCK_INVALID with errno %s", call, errno_text(err));
    return s;
}

int fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1 || errno != EBADF;
}

struct sockaddr_in address_of(int fd, int remote)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    memset(&a, 0, sizeof a);
    int rc = remote ? getpeername(fd, (struct sockaddr *)&a, &alen)
                    : getsockname(fd, (struct sockaddr *)&a, &alen);
    cr_assert(rc == 0, "%s on the socket failed: %s", remote ? "getpeername" : "getsockname",
              errno_text(errno));
    return a;
}

static void *session_main(void *arg)
{
    struct session *s = arg;
    errno = 0;
    s->rc = wecho_session(s->fd);
    s->err = errno;
    s->done = 1;
    ssize_t w = write(s->done_pipe[1], "x", 1);
    (void)w;
    return NULL;
}

void session_start(struct session *s, int fd)
{
    s->fd = fd;
    s->rc = -2;
    s->err = 0;
    s->done = 0;
    cr_assert(pipe(s->done_pipe) == 0, "test set-up: pipe failed: %s", errno_text(errno));
    s->done_fd = s->done_pipe[0];
    cr_assert(pthread_create(&s->thread, NULL, session_main, s) == 0,
              "test set-up: starting the session thread failed");
}

int session_join(struct session *s, int timeout_ms)
{
    return join_within(s->thread, timeout_ms);
}

void expect_session_running(struct session *s, const char *what)
{
    struct pollfd pfd = {.fd = s->done_fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) == 1) {
        join_within(s->thread, ARRIVAL_MS);
        cr_assert(0, "wecho_session returned %d (errno %s) %s: it should echo until the peer "
                  "closes", s->rc, errno_text(s->err), what);
    }
}
