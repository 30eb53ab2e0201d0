/* test_wecho_listen.c - wecho_listen: socket, SO_REUSEADDR, bind, listen (POSIX side). */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "wecho.h"

static sock_t listen_or_fail(const char *host, uint16_t port)
{
    char call[128];
    snprintf(call, sizeof call, "wecho_listen(%s%s%s, %u)", host ? "'" : "",
             host ? host : "NULL", host ? "'" : "", (unsigned)port);
    errno = 0;
    sock_t s = wecho_listen(host, port);
    return expect_sock(call, s, errno);
}

static int int_option(int fd, int name)
{
    int value = -1;
    socklen_t len = sizeof value;
    cr_assert(getsockopt(fd, SOL_SOCKET, name, &value, &len) == 0,
              "getsockopt on the returned socket failed: %s", errno_text(errno));
    return value;
}

static void expect_any_address(const char *host, const char *shown)
{
    int fd = listen_or_fail(host, 0);
    struct sockaddr_in a = address_of(fd, 0);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
    cr_assert(a.sin_addr.s_addr == htonl(INADDR_ANY), "wecho_listen(%s, 0) should bind the "
              "any address 0.0.0.0, but instead it bound %s", shown, ip);
    close(fd);
}

Test(wecho_listen, returns_a_listening_tcp_socket, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("127.0.0.1", 0);
    cr_assert(int_option(fd, SO_TYPE) == SOCK_STREAM, "wecho_listen should return a TCP "
              "(SOCK_STREAM) socket");
    cr_assert(int_option(fd, SO_DOMAIN) == AF_INET, "wecho_listen should return an IPv4 "
              "(AF_INET) socket");
    cr_assert(int_option(fd, SO_ACCEPTCONN) == 1, "the socket wecho_listen returns should "
              "be listening (listen() was not called)");
    close(fd);
}

Test(wecho_listen, port_0_gets_a_real_port, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("127.0.0.1", 0);
    struct sockaddr_in a = address_of(fd, 0);
    cr_assert(a.sin_port != 0, "wecho_listen('127.0.0.1', 0) should bind, so that the system "
              "picks a port, but the socket has port 0 (bind() was not called)");
    close(fd);
}

Test(wecho_listen, binds_the_port_asked_for, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port = unused_port();
    int fd = listen_or_fail("127.0.0.1", port);
    struct sockaddr_in a = address_of(fd, 0);
    cr_assert(ntohs(a.sin_port) == port, "wecho_listen('127.0.0.1', %u) bound port %u "
              "(byte order: htons)", (unsigned)port, (unsigned)ntohs(a.sin_port));
    close(fd);
}

Test(wecho_listen, binds_the_host_asked_for, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("127.0.0.1", 0);
    struct sockaddr_in a = address_of(fd, 0);
    cr_assert(a.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "wecho_listen('127.0.0.1', 0) "
              "should bind 127.0.0.1");
    close(fd);
}

Test(wecho_listen, null_host_means_any_address, .timeout = TEST_TIMEOUT_S)
{
    expect_any_address(NULL, "NULL");
}

Test(wecho_listen, empty_host_means_any_address, .timeout = TEST_TIMEOUT_S)
{
    expect_any_address("", "''");
}

Test(wecho_listen, zero_address_means_any_address, .timeout = TEST_TIMEOUT_S)
{
    expect_any_address("0.0.0.0", "'0.0.0.0'");
}

Test(wecho_listen, sets_so_reuseaddr, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("127.0.0.1", 0);
    cr_assert(int_option(fd, SO_REUSEADDR) != 0, "wecho_listen should set SO_REUSEADDR on "
              "POSIX (SO_EXCLUSIVEADDRUSE is for Windows), but it is not set");
    close(fd);
}

Test(wecho_listen, accepts_a_client, .timeout = TEST_TIMEOUT_S)
{
    int fd = listen_or_fail("127.0.0.1", 0);
    uint16_t port = ntohs(address_of(fd, 0).sin_port);
    int c = connect_local(port);
    cr_assert(c >= 0, "connecting to the port wecho_listen bound failed: %s", errno_text(errno));
    int a = accept_within(fd, ARRIVAL_MS);
    cr_assert(a >= 0, "accept() on the socket wecho_listen returned failed: %s",
              errno_text(errno));
    close(a);
    close(c);
    close(fd);
}

Test(wecho_listen, port_in_use_fails, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port;
    int taken = open_listener(&port);
    errno = 0;
    sock_t s = wecho_listen("127.0.0.1", port);
    int err = errno;
    cr_assert(s == SOCK_INVALID, "wecho_listen on a port another socket listens on should "
              "return SOCK_INVALID, but it returned %d", (int)s);
    cr_assert(err == EADDRINUSE, "wecho_listen on a port in use should fail with EADDRINUSE, "
              "but errno was %s", errno_text(err));
    close(taken);
}

Test(wecho_listen, failure_leaks_no_socket, .timeout = TEST_TIMEOUT_S)
{
    /* A working call first, so that a stub that always fails does not pass. */
    close(listen_or_fail("127.0.0.1", 0));
    uint16_t port;
    int taken = open_listener(&port);
    int before = lowest_free_fd();
    sock_t s = wecho_listen("127.0.0.1", port);
    int after = lowest_free_fd();
    cr_assert(s == SOCK_INVALID, "wecho_listen on a port in use should fail");
    cr_assert(after == before, "after a failed wecho_listen the lowest free descriptor "
              "should still be %d, but it is %d: the socket was not closed", before, after);
    close(taken);
}

Test(wecho_listen, address_not_local_fails, .timeout = TEST_TIMEOUT_S)
{
    /* 192.0.2.1 (TEST-NET-1) is on no interface of this machine: bind fails. */
    errno = 0;
    sock_t s = wecho_listen("192.0.2.1", 0);
    int err = errno;
    cr_assert(s == SOCK_INVALID, "wecho_listen('192.0.2.1', 0) should fail (not a local "
              "address), but it returned %d", (int)s);
    cr_assert(err == EADDRNOTAVAIL, "wecho_listen('192.0.2.1', 0) should fail with "
              "EADDRNOTAVAIL, but errno was %s", errno_text(err));
}
