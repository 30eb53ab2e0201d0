/* test_tcp_connect.c - tcp_connect: socket, connect. */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "tcp.h"

/* Connect with tcp_connect(host, port) to the test's listener lfd, or fail the test; the
 * accepted end in *accepted. */
static int connect_or_fail(const char *host, uint16_t port, int lfd, int *accepted)
{
    char call[96];
    snprintf(call, sizeof call, "tcp_connect('%s', %u)", host, (unsigned)port);
    errno = 0;
    int fd = tcp_connect(host, port);
    expect_fd(call, fd, errno);
    *accepted = accept_within(lfd, ARRIVAL_MS);
    cr_assert(*accepted >= 0, "after %s returned, the server listening on port %u should have "
              "had a connection to accept, but instead nobody came within %d ms (is the port "
              "in network byte order: htons?)", call, (unsigned)port, ARRIVAL_MS);
    return fd;
}

/* The peer of fd as seen from fd is the other end: compare it with the other's address. */
static int same_connection(int fd, int accepted)
{
    struct sockaddr_in mine, theirs;
    socklen_t a = sizeof mine, b = sizeof theirs;
    if (getsockname(fd, (struct sockaddr *)&mine, &a) < 0 ||
        getpeername(accepted, (struct sockaddr *)&theirs, &b) < 0)
        return 0;
    return mine.sin_port == theirs.sin_port && mine.sin_addr.s_addr == theirs.sin_addr.s_addr;
}

Test(tcp_connect, connects_to_a_listening_server, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int accepted;
    int fd = connect_or_fail("127.0.0.1", port, lfd, &accepted);
    cr_assert(same_connection(fd, accepted), "the socket tcp_connect returned should be the "
              "client end of the connection the server accepted, but instead it is another "
              "socket");
    close(accepted);
    close(fd);
    close(lfd);
}

Test(tcp_connect, resolves_a_host_name, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int accepted;
    int fd = connect_or_fail("localhost", port, lfd, &accepted);
    close(accepted);
    close(fd);
    close(lfd);
}

Test(tcp_connect, fails_with_econnrefused_when_nobody_listens, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int accepted;
    close(connect_or_fail("127.0.0.1", port, lfd, &accepted)); /* it works at all */
    close(accepted);
    close(lfd); /* now nobody listens on the port */

    errno = 0;
    int fd = tcp_connect("127.0.0.1", port);
    int err = errno;
    if (fd >= 0)
        close(fd);
    cr_assert(fd == -1 && err == ECONNREFUSED, "with nobody listening on port %u, "
              "tcp_connect('127.0.0.1', %u) should have returned -1 with errno ECONNREFUSED, "
              "but instead it returned %d with errno %s: check what connect() returns",
              (unsigned)port, (unsigned)port, fd, errno_text(err));
}

Test(tcp_connect, closes_its_socket_when_the_connection_is_refused, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int accepted;
    close(connect_or_fail("127.0.0.1", port, lfd, &accepted)); /* it works at all */
    close(accepted);
    close(lfd);

    int before = lowest_free_fd();
    errno = 0;
    int fd = tcp_connect("127.0.0.1", port);
    int err = errno;
    cr_assert(fd == -1, "tcp_connect to a port nobody listens on should return -1, but "
              "instead it returned %d", fd);
    int after = lowest_free_fd();
    cr_assert(after == before, "after tcp_connect failed (errno %s), its socket should have "
              "been closed (fd %d free again), but instead fd %d was still open: close() it "
              "when connect fails", errno_text(err), before, before);
}
