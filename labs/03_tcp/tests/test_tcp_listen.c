/* test_tcp_listen.c - tcp_listen: socket, SO_REUSEADDR, bind, listen. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "tcp.h"

/* tcp_listen(host, port, 16), or fail the test naming the call. */
static int listen_or_fail(const char *host, uint16_t port)
{
    char call[128];
    snprintf(call, sizeof call, "tcp_listen(%s%s%s, %u, 16)", host ? "'" : "",
             host ? host : "NULL", host ? "'" : "", (unsigned)port);
    errno = 0;
    int fd = tcp_listen(host, port, 16);
    return expect_fd(call, fd, errno);
}

static struct sockaddr_in bound_address(int fd)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    cr_assert(getsockname(fd, (struct sockaddr *)&a, &alen) == 0,
              "getsockname on the returned socket failed: %s", errno_text(errno));
    return a;
}

static int int_option(int fd, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof value;
    cr_assert(getsockopt(fd, level, name, &value, &len) == 0,
              "getsockopt on the returned socket failed: %s", errno_text(errno));
    return value;
}

/* Check that host binds the wildcard address 0.0.0.0. */
static void expect_any_address(const char *host, const char *shown)
{
    int fd = listen_or_fail(host, 0);
    struct sockaddr_in a = bound_address(fd);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    cr_assert(a.sin_addr.s_addr == htonl(INADDR_ANY), "tcp_listen(%s, 0, 16) should have bound "
              "the any address 0.0.0.0, but instead it bound %s", shown, ip);
    close(fd);
}

Test(tcp_listen, returns_a_listening_tcp_socket, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("127.0.0.1", 0);
    cr_assert(int_option(fd, SOL_SOCKET, SO_TYPE) == SOCK_STREAM,
              "tcp_listen should return a SOCK_STREAM (TCP) socket, but instead its type was %d",
              int_option(fd, SOL_SOCKET, SO_TYPE));
    cr_assert(int_option(fd, SOL_SOCKET, SO_DOMAIN) == AF_INET,
              "tcp_listen should return an AF_INET (IPv4) socket, but instead its domain was %d",
              int_option(fd, SOL_SOCKET, SO_DOMAIN));
    cr_assert(int_option(fd, SOL_SOCKET, SO_ACCEPTCONN) == 1,
              "tcp_listen should return a socket that listens, but instead SO_ACCEPTCONN was 0: "
              "call listen(fd, backlog) after bind");
    close(fd);
}

Test(tcp_listen, sets_so_reuseaddr_on_the_socket, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("127.0.0.1", 0);
    cr_assert(int_option(fd, SOL_SOCKET, SO_REUSEADDR) != 0,
              "tcp_listen should set SO_REUSEADDR to 1 (before bind), but instead it was 0");
    close(fd);
}

Test(tcp_listen, binds_a_real_port_when_given_port_0, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("127.0.0.1", 0);
    uint16_t port = ntohs(bound_address(fd).sin_port);
    cr_assert(port != 0, "after tcp_listen('127.0.0.1', 0, 16), getsockname should show the "
              "port the system picked, but instead it showed port 0: was bind called?");
    int client = connect_local(port);
    cr_assert(client >= 0, "connecting to the port tcp_listen('127.0.0.1', 0, 16) bound (%u) "
              "should succeed, but instead it failed: %s", (unsigned)port, errno_text(errno));
    int conn = accept_within(fd, ARRIVAL_MS);
    cr_assert(conn >= 0, "accept() on the socket tcp_listen returned should take the client "
              "that connected, but instead it failed: %s", errno_text(errno));
    close(conn);
    close(client);
    close(fd);
}

Test(tcp_listen, binds_the_port_it_is_given, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port = unused_port(); /* its two bytes differ: a missing htons shows */
    int fd = listen_or_fail("127.0.0.1", port);
    uint16_t got = ntohs(bound_address(fd).sin_port);
    cr_assert(got == port, "tcp_listen('127.0.0.1', %u, 16) should have bound port %u, but "
              "instead it bound port %u (is the port in network byte order: htons?)",
              (unsigned)port, (unsigned)port, (unsigned)got);
    close(fd);
}

Test(tcp_listen, binds_the_host_it_is_given, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("127.0.0.1", 0);
    struct sockaddr_in a = bound_address(fd);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    cr_assert(a.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "tcp_listen('127.0.0.1', 0, 16) "
              "should have bound 127.0.0.1, but instead it bound %s", ip);
    close(fd);
}

Test(tcp_listen, resolves_a_host_name, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("localhost", 0);
    struct sockaddr_in a = bound_address(fd);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    cr_assert(a.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "tcp_listen('localhost', 0, 16) "
              "should have bound 127.0.0.1 (use getaddrinfo), but instead it bound %s", ip);
    close(fd);
}

Test(tcp_listen, binds_any_address_when_host_is_null, .timeout = TEST_TIMEOUT_S)
{
    expect_any_address(NULL, "NULL");
}

Test(tcp_listen, binds_any_address_when_host_is_empty, .timeout = TEST_TIMEOUT_S)
{
    expect_any_address("", "''");
}

Test(tcp_listen, binds_any_address_when_host_is_0_0_0_0, .timeout = TEST_TIMEOUT_S)
{
    expect_any_address("0.0.0.0", "'0.0.0.0'");
}

/* The restart that SO_REUSEADDR is for: the server closed a connection first, so the
 * server's end of it waits in TIME_WAIT on the server's port (when the client closes first,
 * TIME_WAIT is on the client's port, and the restart works even without the option). */
Test(tcp_listen, restarts_on_the_same_port_after_the_server_closed_a_connection_first,
     .timeout = TEST_TIMEOUT_S)
{
    int lfd = listen_or_fail("127.0.0.1", 0);
    uint16_t port = ntohs(bound_address(lfd).sin_port);
    int client = connect_local(port);
    cr_assert(client >= 0, "test set-up: connecting failed: %s", errno_text(errno));
    int conn = accept_within(lfd, ARRIVAL_MS);
    cr_assert(conn >= 0, "test set-up: accept failed: %s", errno_text(errno));
    close(conn); /* the server closes first ... */
    cr_assert(wait_for_eof(client, ARRIVAL_MS) == 1, "test set-up: the client saw no EOF");
    close(client); /* ... then the client: the server's end goes to TIME_WAIT */
    close(lfd);    /* the server stops */

    /* Without SO_REUSEADDR the port is taken for about a minute: */
    struct sockaddr_in a = loopback_addr(port);
    int plain = socket(AF_INET, SOCK_STREAM, 0);
    int rc = bind(plain, (struct sockaddr *)&a, sizeof a);
    int bind_errno = errno;
    close(plain);
    cr_assert(rc < 0 && bind_errno == EADDRINUSE, "test set-up: a plain bind to the port should "
              "fail with EADDRINUSE while the old connection lingers, but it did not");

    /* ... and with it, the restarted server gets its port back at once. */
    char call[64];
    snprintf(call, sizeof call, "tcp_listen('127.0.0.1', %u, 16)", (unsigned)port);
    errno = 0;
    int again = tcp_listen("127.0.0.1", port, 16);
    cr_assert(again >= 0, "restarting right after the server closed a connection first, %s "
              "should have returned a socket, but instead it returned %d with errno %s: set "
              "SO_REUSEADDR to 1 BEFORE bind", call, again, errno_text(errno));
    uint16_t got = ntohs(bound_address(again).sin_port);
    cr_assert(got == port, "%s should have bound port %u again, but instead it bound port %u",
              call, (unsigned)port, (unsigned)got);
    close(again);
}

Test(tcp_listen, fails_with_eaddrinuse_while_another_server_listens_on_the_port,
     .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int other = open_listener(&port);
    /* SO_REUSEADDR never lets two servers listen on one port (SO_REUSEPORT would). */
    errno = 0;
    int fd = tcp_listen("127.0.0.1", port, 16);
    int err = errno;
    if (fd >= 0)
        close(fd);
    cr_assert(fd == -1 && err == EADDRINUSE, "with another server listening on port %u, "
              "tcp_listen('127.0.0.1', %u, 16) should have returned -1 with errno EADDRINUSE, "
              "but instead it returned %d with errno %s", (unsigned)port, (unsigned)port, fd,
              errno_text(err));
    close(other);
}

Test(tcp_listen, closes_its_socket_when_bind_fails, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int other = open_listener(&port);
    close(listen_or_fail("127.0.0.1", 0)); /* it works at all */
    int before = lowest_free_fd();
    errno = 0;
    int fd = tcp_listen("127.0.0.1", port, 16); /* taken: bind fails */
    int err = errno;
    cr_assert(fd == -1, "tcp_listen on a port another server listens on should return -1, but "
              "instead it returned %d", fd);
    int after = lowest_free_fd();
    cr_assert(after == before, "after tcp_listen failed (errno %s), its socket should have been "
              "closed (fd %d free again), but instead fd %d was still open: close() it on every "
              "failure path", errno_text(err), before, before);
    close(other);
}
