/* test_udp_broadcast.c - udp_broadcast: SO_BROADCAST, then one datagram. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "udp_send.h"

/* Loopback's own broadcast address (127.0.0.0/8): needs SO_BROADCAST like any other, and is
 * delivered to sockets bound to 0.0.0.0 without a network. */
#define LO_BCAST "127.255.255.255"

/* What a plain sendto() to LO_BCAST gets: the errno (0 if it was sent). */
static int plain_sendto_errno(uint16_t port)
{
    struct sockaddr_in dst = loopback_addr(port);
    dst.sin_addr.s_addr = htonl(0x7fffffff);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert(fd >= 0, "test set-up: socket failed with %s", errno_text(errno));
    ssize_t n = sendto(fd, "x", 1, 0, (const struct sockaddr *)&dst, sizeof dst);
    int err = n < 0 ? errno : 0;
    close(fd);
    return err;
}

Test(udp_broadcast, delivers_to_a_broadcast_address, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;

    open_peer(&peer, "0.0.0.0");
    /* The lesson: without SO_BROADCAST the kernel refuses a broadcast destination. */
    int err = plain_sendto_errno(peer.port);
    cr_assert(err == EACCES, "test set-up: a sendto to " LO_BCAST " without SO_BROADCAST "
              "should have failed with EACCES, but instead it gave %s", errno_text(err));

    errno = 0;
    ssize_t sent = udp_broadcast(LO_BCAST, peer.port, "hello", 5);
    expect_succeeded("udp_broadcast('" LO_BCAST "', port, 'hello', 5) (it needs SO_BROADCAST)",
                     sent, errno);
    expect_datagram(&peer, "after udp_broadcast('" LO_BCAST "', port, 'hello', 5), a peer "
                    "bound to 0.0.0.0", "hello", 5, NULL);
    udp_peer_close(&peer);
}

Test(udp_broadcast, sends_exactly_len_bytes, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;

    open_peer(&peer, "0.0.0.0");
    errno = 0;
    ssize_t sent = udp_broadcast(LO_BCAST, peer.port, "abc", 3);
    expect_succeeded("udp_broadcast('" LO_BCAST "', port, 'abc', 3)", sent, errno);
    /* No NUL, no padding: the broadcast carries exactly len bytes too. */
    expect_datagram(&peer, "after udp_broadcast('" LO_BCAST "', port, 'abc', 3)", "abc", 3,
                    NULL);
    udp_peer_close(&peer);
}

Test(udp_broadcast, returns_the_number_of_bytes_sent, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;

    open_peer(&peer, "0.0.0.0");
    errno = 0;
    ssize_t sent = udp_broadcast(LO_BCAST, peer.port, "hello, everyone", 15);
    expect_returned("udp_broadcast('" LO_BCAST "', port, 'hello, everyone', 15)", sent,
                        15, errno);
    udp_peer_close(&peer);
}

Test(udp_broadcast, accepts_a_host_name_for_the_address, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;

    open_peer(&peer, "127.0.0.1");
    /* SO_BROADCAST allows broadcasts; it does not forbid sending to one host. */
    errno = 0;
    ssize_t sent = udp_broadcast("localhost", peer.port, "hi", 2);
    expect_succeeded("udp_broadcast('localhost', port, 'hi', 2)", sent, errno);
    expect_datagram(&peer, "after udp_broadcast('localhost', port, 'hi', 2)", "hi", 2, NULL);
    udp_peer_close(&peer);
}

Test(udp_broadcast, closes_its_socket, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;

    open_peer(&peer, "0.0.0.0");
    int before = lowest_free_fd();
    errno = 0;
    ssize_t sent = udp_broadcast(LO_BCAST, peer.port, "x", 1);
    int err = errno;
    int after = lowest_free_fd();
    expect_succeeded("udp_broadcast('" LO_BCAST "', port, 'x', 1)", sent, err);
    cr_assert(after == before, "after udp_broadcast returned, its socket should have been "
              "closed (fd %d free again), but instead fd %d was still open: close() it on "
              "every path", before, before);
    udp_peer_close(&peer);
}
