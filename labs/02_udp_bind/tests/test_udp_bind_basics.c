/* test_udp_bind_basics.c - udp_bind, udp_local_port and udp_implicit_port.
 *
 * Every test binds only ports the system picked (port 0) or a port it just saw free, and
 * peers whose two port bytes differ, so a missing htons/ntohs cannot hide.
 */
#include "helpers.h"
#include "udp_bind.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fds[4] = {-1, -1, -1, -1}; /* sockets a test opened, closed by close_all */
static struct udp_peer peer = {.fd = -1};

static void close_all(void)
{
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    udp_peer_close(&peer);
}

/* Where fd is bound, from getsockname. */
static struct sockaddr_in local_addr(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    memset(&a, 0, sizeof a);
    cr_assert(getsockname(fd, (struct sockaddr *)&a, &len) == 0,
              "getsockname on the socket udp_bind returned failed: %s", errno_text(errno));
    return a;
}

/* "A.B.C.D:PORT" of a, for messages. */
static const char *show(const struct sockaddr_in *a, char buf[32])
{
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    snprintf(buf, 32, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    return buf;
}

/* udp_bind(host, port) that must succeed; the fd is kept in fds[slot]. */
static int bind_ok(const char *host, const char *shown, uint16_t port, int slot)
{
    int fd = udp_bind(host, port);
    cr_assert(fd >= 0, "udp_bind(%s, %u) should have returned a socket, but instead it returned %d "
              "(errno: %s)", shown, (unsigned)port, fd, errno_text(errno));
    fds[slot] = fd;
    return fd;
}

/* udp_bind(host, 0) that must succeed, drawn again while the system picks a port whose two
 * bytes are equal (a missing ntohs or htons would not show on it); the draws are kept in
 * fds[0..2] (held, so the same port is not drawn twice), the last one returned. */
static int bind_ok_asymmetric(const char *host, const char *shown)
{
    int fd = -1;
    for (int slot = 0; slot < 3; slot++) {
        fd = bind_ok(host, shown, 0, slot);
        uint16_t port = ntohs(local_addr(fd).sin_port);
        if ((port >> 8) != (port & 0xff))
            break;
    }
    return fd;
}

/* A port that was free a moment ago, its two bytes different. */
static uint16_t free_port(void)
{
    struct udp_peer p;
    cr_assert(udp_peer_open(&p, "127.0.0.1") == 0, "test set-up: no free UDP port");
    uint16_t port = p.port;
    udp_peer_close(&p);
    return port;
}

/* ---- udp_bind ------------------------------------------------------------------------ */

Test(udp_bind, returns_a_bound_udp_socket_for_port_0, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    int fd = bind_ok(NULL, "NULL", 0, 0);
    int type = 0;
    socklen_t len = sizeof type;
    cr_assert(getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_DGRAM,
              "udp_bind(NULL, 0) should have returned a SOCK_DGRAM socket, but instead its type "
              "was %d", type);
    struct sockaddr_in a = local_addr(fd);
    cr_assert(a.sin_family == AF_INET && a.sin_port != 0,
              "after udp_bind(NULL, 0) getsockname should have shown an AF_INET address with a "
              "port the system picked, but instead it showed family %d port %u (was bind called?)",
              a.sin_family, (unsigned)ntohs(a.sin_port));
}

Test(udp_bind, binds_the_port_it_is_given, .fini = close_all, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port = free_port();
    int fd = bind_ok("127.0.0.1", "127.0.0.1", port, 0);
    struct sockaddr_in a = local_addr(fd);
    cr_assert(ntohs(a.sin_port) == port,
              "udp_bind(127.0.0.1, %u) should have bound port %u, but instead getsockname shows "
              "port %u (htons missing?)", (unsigned)port, (unsigned)port,
              (unsigned)ntohs(a.sin_port));
}

Test(udp_bind, binds_the_any_address_for_null_empty_and_0_0_0_0, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    const char *hosts[] = {NULL, "", "0.0.0.0"};
    const char *shown[] = {"NULL", "empty string", "0.0.0.0"};
    for (int i = 0; i < 3; i++) {
        int fd = bind_ok(hosts[i], shown[i], 0, i);
        struct sockaddr_in a = local_addr(fd);
        char buf[32];
        cr_assert(a.sin_addr.s_addr == htonl(INADDR_ANY),
                  "udp_bind(%s, 0) should have bound the any address 0.0.0.0, but instead "
                  "getsockname shows %s", shown[i], show(&a, buf));
    }
}

Test(udp_bind, binds_only_loopback_when_host_is_127_0_0_1, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    int fd = bind_ok("127.0.0.1", "127.0.0.1", 0, 0);
    struct sockaddr_in a = local_addr(fd);
    char buf[32];
    cr_assert(a.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
              "udp_bind(127.0.0.1, 0) should have bound 127.0.0.1, but instead getsockname "
              "shows %s (is host ignored?)", show(&a, buf));
}

Test(udp_bind, resolves_the_name_localhost, .fini = close_all, .timeout = TEST_TIMEOUT_S)
{
    int fd = bind_ok("localhost", "localhost", 0, 0);
    struct sockaddr_in a = local_addr(fd);
    char buf[32];
    cr_assert(a.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
              "udp_bind(localhost, 0) should have bound 127.0.0.1, but instead getsockname "
              "shows %s (use getaddrinfo, not inet_pton)", show(&a, buf));
}

Test(udp_bind, receives_on_loopback_when_bound_to_any_address, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    int fd = bind_ok("0.0.0.0", "0.0.0.0", 0, 0);
    struct sockaddr_in dst = loopback_addr(ntohs(local_addr(fd).sin_port));
    cr_assert(udp_peer_open(&peer, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    cr_assert(sendto(peer.fd, "hi", 2, 0, (struct sockaddr *)&dst, sizeof dst) == 2,
              "test set-up: sendto failed");

    struct udp_peer rx = {.fd = fd};
    char buf[16], got[DESCRIBE_LEN];
    ssize_t n = udp_peer_recv(&rx, buf, sizeof buf, NULL, ARRIVAL_MS);
    if (n < 0)
        snprintf(got, sizeof got, "nothing within %d ms", ARRIVAL_MS);
    else
        describe_bytes(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf, got);
    cr_assert(n == 2 && memcmp(buf, "hi", 2) == 0,
              "a socket from udp_bind(0.0.0.0, 0) should have received the datagram 'hi' sent "
              "to 127.0.0.1 on its port, but instead it got %s", got);
}

Test(udp_bind, fails_with_eaddrinuse_when_the_port_is_taken, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    int first = bind_ok_asymmetric("127.0.0.1", "127.0.0.1");
    uint16_t port = ntohs(local_addr(first).sin_port);

    int second = udp_bind("127.0.0.1", port);
    int err = errno;
    fds[3] = second;
    cr_assert(second == -1 && err == EADDRINUSE,
              "udp_bind(127.0.0.1, %u) while another socket holds that port should have "
              "returned -1 with errno EADDRINUSE, but instead it returned %d (errno: %s). "
              "Was SO_REUSEADDR set?", (unsigned)port, second, errno_text(err));
}

Test(udp_bind, never_sets_so_reuseaddr, .fini = close_all, .timeout = TEST_TIMEOUT_S)
{
    int fd = bind_ok(NULL, "NULL", 0, 0);
    int on = -1;
    socklen_t len = sizeof on;
    cr_assert(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, &len) == 0,
              "getsockopt SO_REUSEADDR on the socket from udp_bind failed: %s", errno_text(errno));
    cr_assert(on == 0,
              "the socket from udp_bind(NULL, 0) should not have SO_REUSEADDR, but instead it "
              "is set to %d: another program could bind the same port and share the datagrams",
              on);
}

Test(udp_bind, fails_with_eaddrnotavail_for_an_address_this_host_lacks, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    bind_ok("127.0.0.1", "127.0.0.1", 0, 0); /* it works for an address we have */
    /* 192.0.2.1 (TEST-NET-1, RFC 5737) is on no interface of this machine. */
    int fd = udp_bind("192.0.2.1", 0);
    int err = errno;
    fds[1] = fd;
    cr_assert(fd == -1 && err == EADDRNOTAVAIL,
              "udp_bind(192.0.2.1, 0) should have returned -1 with errno EADDRNOTAVAIL (bind "
              "cannot use an address the host does not have), but instead it returned %d "
              "(errno: %s)", fd, errno_text(err));
}

Test(udp_bind, closes_the_socket_when_bind_fails, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    int first = bind_ok_asymmetric("127.0.0.1", "127.0.0.1");
    uint16_t port = ntohs(local_addr(first).sin_port);
    int before = lowest_free_fd();
    int fd = udp_bind("127.0.0.1", port);
    int err = errno;
    fds[3] = fd;
    cr_assert(fd == -1, "udp_bind(127.0.0.1, %u) while another socket holds that port should "
              "have returned -1, but instead it returned %d", (unsigned)port, fd);
    int after = lowest_free_fd();
    cr_assert(after == before,
              "a udp_bind that fails (port %u taken, errno: %s) should have closed its socket, "
              "but instead the lowest free descriptor went from %d to %d", (unsigned)port,
              errno_text(err), before, after);
}

/* ---- udp_local_port ------------------------------------------------------------------ */

Test(udp_local_port, returns_the_bound_port_in_host_byte_order, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    cr_assert(udp_peer_open(&peer, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    int port = udp_local_port(peer.fd);
    cr_assert(port == peer.port,
              "udp_local_port on a socket bound to 127.0.0.1:%u should have returned %u, but "
              "instead it returned %d (errno: %s)%s", (unsigned)peer.port, (unsigned)peer.port,
              port, port < 0 ? errno_text(errno) : "none",
              port == ((peer.port >> 8) | ((peer.port & 0xff) << 8)) ? ": ntohs missing" : "");
}

Test(udp_local_port, reports_the_port_the_system_picked_for_port_0, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    int fd = bind_ok_asymmetric(NULL, "NULL");
    unsigned real = ntohs(local_addr(fd).sin_port);
    int port = udp_local_port(fd);
    cr_assert(port > 0 && (unsigned)port == real,
              "udp_local_port after udp_bind(NULL, 0) should have returned the port getsockname "
              "shows, %u, but instead it returned %d (errno: %s)", real, port,
              port < 0 ? errno_text(errno) : "none");
}

Test(udp_local_port, fails_on_a_descriptor_that_is_not_a_socket, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    cr_assert(udp_peer_open(&peer, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    int good = udp_local_port(peer.fd);
    cr_assert(good == peer.port, "udp_local_port on a socket bound to 127.0.0.1:%u should have "
              "returned %u, but instead it returned %d (errno: %s)", (unsigned)peer.port,
              (unsigned)peer.port, good, good < 0 ? errno_text(errno) : "none");
    int p[2];
    cr_assert(pipe(p) == 0, "test set-up: pipe failed");
    fds[0] = p[0];
    fds[1] = p[1];
    int port = udp_local_port(p[0]);
    int err = errno;
    cr_assert(port == -1 && err == ENOTSOCK,
              "udp_local_port on a pipe should have returned -1 with errno ENOTSOCK (from "
              "getsockname), but instead it returned %d (errno: %s)", port, errno_text(err));
}

/* ---- udp_implicit_port --------------------------------------------------------------- */

/* udp_implicit_port's return value and the source port the peer saw (-1: nothing arrived).
 * A port whose two bytes are equal reads the same in both byte orders, so a missing ntohs
 * would pass on it: such a draw is thrown away and the function called again. */
static int implicit_port_and_source(int *seen)
{
    enum { TRIES = 8 };   /* 255 of 65536 ports are symmetric: 8 in a row never happen */
    int port = -1;
    for (int i = 0; i < TRIES; i++) {
        port = udp_implicit_port(&peer.addr);
        *seen = -1;
        if (port < 0)
            return port;
        struct sockaddr_in from;
        char buf[64];
        if (udp_peer_recv(&peer, buf, sizeof buf, &from, ARRIVAL_MS) < 0)
            return port;
        *seen = ntohs(from.sin_port);
        if ((*seen >> 8) != (*seen & 0xff))
            break;
    }
    return port;
}

Test(udp_implicit_port, returns_the_source_port_the_peer_saw, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    cr_assert(udp_peer_open(&peer, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    int seen;
    int port = implicit_port_and_source(&seen);
    cr_assert(port > 0, "udp_implicit_port should have returned a port, but instead it "
              "returned %d (errno: %s)", port, errno_text(errno));
    cr_assert(seen >= 0, "udp_implicit_port returned %d, but the peer received nothing within "
              "%d ms", port, ARRIVAL_MS);
    cr_assert(port == seen,
              "udp_implicit_port should have returned the source port the peer saw, %d, but "
              "instead it returned %d (a port read before the send, a bound port, or no "
              "ntohs?)", seen, port);
}

Test(udp_implicit_port, sends_exactly_the_4_bytes_ping, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    cr_assert(udp_peer_open(&peer, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    int port = udp_implicit_port(&peer.addr);
    cr_assert(port > 0, "udp_implicit_port should have returned a port, but instead it "
              "returned %d (errno: %s)", port, errno_text(errno));

    char buf[64], shown[DESCRIBE_LEN];
    ssize_t n = udp_peer_recv(&peer, buf, sizeof buf, NULL, ARRIVAL_MS);
    cr_assert(n == 4 && memcmp(buf, "ping", 4) == 0,
              "the peer should have received 'ping' (4 bytes), but instead it got %s",
              n < 0 ? "nothing" : describe_bytes(buf, (size_t)n, shown));
}

Test(udp_implicit_port, sends_from_a_port_of_the_ephemeral_range, .fini = close_all,
     .timeout = TEST_TIMEOUT_S)
{
    /* Judged on the port the datagram really came from, not on the value returned (whose
     * byte order is the other test's concern): a socket bound by hand shows here. */
    unsigned lo = 32768, hi = 60999;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (f != NULL) {
        if (fscanf(f, "%u %u", &lo, &hi) != 2) {
            lo = 1024;
            hi = 65535;
        }
        fclose(f);
    }
    cr_assert(udp_peer_open(&peer, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    int seen;
    int port = implicit_port_and_source(&seen);
    cr_assert(port > 0 && seen >= 0, "udp_implicit_port returned %d (errno: %s) and the peer "
              "received %s", port, port < 0 ? errno_text(errno) : "none",
              seen < 0 ? "nothing" : "a datagram");
    cr_assert(seen >= (int)lo && seen <= (int)hi,
              "udp_implicit_port's datagram came from port %d, outside the system's "
              "ephemeral range %u-%u: never bind this socket, let sendto pick its port", seen,
              lo, hi);
}

Test(udp_implicit_port, closes_its_socket, .fini = close_all, .timeout = TEST_TIMEOUT_S)
{
    cr_assert(udp_peer_open(&peer, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    int before = lowest_free_fd();
    int port = udp_implicit_port(&peer.addr);
    int after = lowest_free_fd();
    cr_assert(port > 0 && after == before,
              "udp_implicit_port should have returned a port and closed its socket, but "
              "instead it returned %d and the lowest free descriptor went from %d to %d",
              port, before, after);
}
