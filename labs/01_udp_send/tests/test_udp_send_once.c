/* test_udp_send_once.c - udp_send_once: one datagram of exactly len bytes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "udp_send.h"

/* Send len bytes of msg to peer with udp_send_once; fail the test if that fails. What it
 * returns is checked by returns_the_number_of_bytes_sent: here the bytes on the wire count. */
static void send_once(struct udp_peer *peer, const char *call, const void *msg, size_t len)
{
    errno = 0;
    ssize_t sent = udp_send_once(&peer->addr, msg, len);
    expect_succeeded(call, sent, errno);
}

Test(udp_send_once, sends_exactly_the_3_bytes_given, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;

    open_peer(&peer, "127.0.0.1");
    send_once(&peer, "udp_send_once(peer, 'abc', 3)", "abc", 3);
    /* Catches strlen + 1 (a trailing NUL) and sizeof of a buffer (padding): the datagram
     * must be exactly these 3 bytes, its length included. */
    expect_datagram(&peer, "after udp_send_once(peer, 'abc', 3)", "abc", 3, NULL);
    udp_peer_close(&peer);
}

Test(udp_send_once, sends_a_40_byte_message_whole, .timeout = TEST_TIMEOUT_S)
{
    static const char msg[] = "forty bytes of text, and no more, no les";
    struct udp_peer peer;

    _Static_assert(sizeof msg - 1 == 40, "the message is 40 bytes");
    open_peer(&peer, "127.0.0.1");
    send_once(&peer, "udp_send_once(peer, msg, 40)", msg, 40);
    /* sizeof msg inside the function is the size of a pointer: 8 bytes would arrive. */
    expect_datagram(&peer, "after udp_send_once(peer, msg, 40)", msg, 40, NULL);
    udp_peer_close(&peer);
}

Test(udp_send_once, sends_the_bytes_after_a_nul_too, .timeout = TEST_TIMEOUT_S)
{
    static const char msg[] = {'a', 0x00, 'b'};
    struct udp_peer peer;

    open_peer(&peer, "127.0.0.1");
    /* A payload is bytes, not a C string: strlen(msg) would stop at the NUL. */
    send_once(&peer, "udp_send_once(peer, {'a', 0, 'b'}, 3)", msg, 3);
    expect_datagram(&peer, "after udp_send_once(peer, {'a', 0, 'b'}, 3)", msg, 3, NULL);
    udp_peer_close(&peer);
}

Test(udp_send_once, returns_the_number_of_bytes_sent, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;

    open_peer(&peer, "127.0.0.1");
    errno = 0;
    ssize_t sent = udp_send_once(&peer.addr, "hello, peer", 11);
    expect_returned("udp_send_once(peer, 'hello, peer', 11)", sent, 11, errno);
    udp_peer_close(&peer);
}

Test(udp_send_once, sends_an_empty_datagram_when_len_is_0, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;

    open_peer(&peer, "127.0.0.1");
    /* An empty datagram is a real datagram: the receiver's recvfrom returns 0 for it. */
    send_once(&peer, "udp_send_once(peer, '', 0)", "", 0);
    expect_datagram(&peer, "after udp_send_once(peer, '', 0)", "", 0, NULL);
    udp_peer_close(&peer);
}

Test(udp_send_once, closes_its_socket, .timeout = TEST_TIMEOUT_S)
{
    struct udp_peer peer;

    open_peer(&peer, "127.0.0.1");
    int before = lowest_free_fd();
    send_once(&peer, "udp_send_once(peer, 'x', 1)", "x", 1);
    int after = lowest_free_fd();
    cr_assert(after == before, "after udp_send_once returned, its socket should have been "
              "closed (fd %d free again), but instead fd %d was still open: close() it on "
              "every path", before, before);
    udp_peer_close(&peer);
}
