/* test_wecho_connect.c - wecho_connect: getaddrinfo, socket, connect (POSIX side). */
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "wecho.h"

static sock_t connect_or_fail(const char *host, uint16_t port)
{
    char call[128];
    snprintf(call, sizeof call, "wecho_connect('%s', %u)", host, (unsigned)port);
    errno = 0;
    sock_t s = wecho_connect(host, port);
    return expect_sock(call, s, errno);
}

Test(wecho_connect, connects_to_the_port, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int fd = connect_or_fail("127.0.0.1", port);
    int a = accept_within(lfd, ARRIVAL_MS);
    cr_assert(a >= 0, "the test's listener on port %u got no connection: %s", (unsigned)port,
              errno_text(errno));
    struct sockaddr_in mine = address_of(fd, 0), theirs = address_of(a, 1);
    cr_assert(mine.sin_port == theirs.sin_port, "the connection the listener accepted is not "
              "the socket wecho_connect returned");
    close(a);
    close(fd);
    close(lfd);
}

Test(wecho_connect, resolves_a_name, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int fd = connect_or_fail("localhost", port);
    int a = accept_within(lfd, ARRIVAL_MS);
    cr_assert(a >= 0, "wecho_connect('localhost', %u) did not reach the listener on "
              "127.0.0.1: %s", (unsigned)port, errno_text(errno));
    close(a);
    close(fd);
    close(lfd);
}

Test(wecho_connect, returns_a_connected_tcp_socket, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int lfd = open_listener(&port);
    int fd = connect_or_fail("127.0.0.1", port);
    int a = accept_within(lfd, ARRIVAL_MS);
    cr_assert(a >= 0, "no connection came: %s", errno_text(errno));
    send_or_fail(a, "ping", 4);
    char buf[8];
    size_t n = recv_for(fd, buf, 4, ARRIVAL_MS, -1, NULL);
    cr_assert(n == 4 && memcmp(buf, "ping", 4) == 0, "bytes sent by the server did not arrive "
              "on the socket wecho_connect returned (%zu of 4 bytes)", n);
    struct sockaddr_in peer = address_of(fd, 1);
    cr_assert(ntohs(peer.sin_port) == port, "the socket is connected to port %u instead of %u",
              (unsigned)ntohs(peer.sin_port), (unsigned)port);
    close(a);
    close(fd);
    close(lfd);
}

Test(wecho_connect, refused_returns_sock_invalid, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port = unused_port();
    /* A working call first, so that a stub that always fails does not pass. */
    uint16_t lport;
    int lfd = open_listener(&lport);
    int ok = connect_or_fail("127.0.0.1", lport);
    close(ok);
    close(lfd);

    errno = 0;
    sock_t s = wecho_connect("127.0.0.1", port);
    int err = sock_error();
    cr_assert(s == SOCK_INVALID, "wecho_connect to a port nobody listens on should return "
              "SOCK_INVALID, but it returned %d", (int)s);
    cr_assert(err == ECONNREFUSED, "after a refused wecho_connect, sock_error() should be "
              "ECONNREFUSED (the error must survive closing the socket), but it was %s",
              errno_text(err));
}

Test(wecho_connect, refused_leaks_no_socket, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port = unused_port();
    int before = lowest_free_fd();
    sock_t s = wecho_connect("127.0.0.1", port);
    int after = lowest_free_fd();
    cr_assert(s == SOCK_INVALID, "wecho_connect to a port nobody listens on should fail");
    cr_assert(after == before, "after a refused wecho_connect the lowest free descriptor "
              "should still be %d, but it is %d: the socket was not closed", before, after);
    /* and a working call, so that a stub cannot pass */
    uint16_t lport;
    int lfd = open_listener(&lport);
    int ok = connect_or_fail("127.0.0.1", lport);
    close(ok);
    close(lfd);
}
