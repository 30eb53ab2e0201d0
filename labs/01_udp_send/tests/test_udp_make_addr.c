/* test_udp_make_addr.c - udp_make_addr: family, port in network order, address. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "helpers.h"
#include "udp_send.h"

/* Fill *a with 0xff first, so that a field left unset cannot look right by chance. */
static int make_addr(const char *host, uint16_t port, struct sockaddr_in *a, int *err)
{
    memset(a, 0xff, sizeof *a);
    errno = 0;
    int rc = udp_make_addr(host, port, a);
    *err = errno;
    return rc;
}

/* The address as text, without trusting the family the function set. */
static const char *ip_text(const struct sockaddr_in *a)
{
    static char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    return text;
}

Test(udp_make_addr, sets_the_family_to_af_inet, .timeout = TEST_TIMEOUT_S)
{
    struct sockaddr_in a;
    int err;

    int rc = make_addr("127.0.0.1", 8000, &a, &err);
    expect_returned("udp_make_addr('127.0.0.1', 8000, &a)", rc, 0, err);
    cr_assert(a.sin_family == AF_INET, "after udp_make_addr('127.0.0.1', 8000, &a), a.sin_family "
              "should have been AF_INET (%d), but instead it was %d", AF_INET, a.sin_family);
}

Test(udp_make_addr, stores_the_port_in_network_byte_order, .timeout = TEST_TIMEOUT_S)
{
    struct sockaddr_in a;
    int err;

    int rc = make_addr("127.0.0.1", 8000, &a, &err);
    expect_returned("udp_make_addr('127.0.0.1', 8000, &a)", rc, 0, err);
    const unsigned char *p = (const unsigned char *)&a.sin_port;
    cr_assert(a.sin_port == htons(8000), "after udp_make_addr('127.0.0.1', 8000, &a), a.sin_port "
              "should have held the bytes 1f 40 (htons(8000)), but instead it held %02x %02x, "
              "which is port %u on the wire%s", p[0], p[1], (unsigned)ntohs(a.sin_port),
              a.sin_port == 8000 ? ": htons is missing" : "");
}

Test(udp_make_addr, stores_a_dotted_quad_address, .timeout = TEST_TIMEOUT_S)
{
    struct sockaddr_in a;
    int err;

    int rc = make_addr("198.51.100.7", 9000, &a, &err);
    expect_returned("udp_make_addr('198.51.100.7', 9000, &a)", rc, 0, err);
    cr_assert(a.sin_addr.s_addr == htonl(0xc6336407), "after udp_make_addr('198.51.100.7', "
              "9000, &a), a.sin_addr should have been 198.51.100.7, but instead it was %s",
              ip_text(&a));
}

Test(udp_make_addr, resolves_localhost_by_name, .timeout = TEST_TIMEOUT_S)
{
    struct sockaddr_in a;
    int err;

    int rc = make_addr("localhost", 9000, &a, &err);
    expect_returned("udp_make_addr('localhost', 9000, &a)", rc, 0, err);
    cr_assert(a.sin_addr.s_addr == htonl(INADDR_LOOPBACK), "after udp_make_addr('localhost', "
              "9000, &a), a.sin_addr should have been 127.0.0.1, but instead it was %s",
              ip_text(&a));
}

Test(udp_make_addr, accepts_255_255_255_255, .timeout = TEST_TIMEOUT_S)
{
    struct sockaddr_in a;
    int err;

    /* inet_addr returns INADDR_NONE for an error, and INADDR_NONE is this very address. */
    int rc = make_addr("255.255.255.255", 9000, &a, &err);
    expect_returned("udp_make_addr('255.255.255.255', 9000, &a)", rc, 0, err);
    cr_assert(a.sin_addr.s_addr == htonl(INADDR_BROADCAST), "after udp_make_addr("
              "'255.255.255.255', 9000, &a), a.sin_addr should have been 255.255.255.255, but "
              "instead it was %s", ip_text(&a));
}

Test(udp_make_addr, fails_for_a_host_that_does_not_resolve, .timeout = TEST_TIMEOUT_S)
{
    struct sockaddr_in a;
    int err;

    int rc = make_addr("127.0.0.1", 9000, &a, &err);
    expect_returned("udp_make_addr('127.0.0.1', 9000, &a)", rc, 0, err);
    /* Not a valid host name at all, so the resolver refuses it without asking a DNS server:
     * the answer is the same, and as fast, on a machine without a network. */
    rc = make_addr("no such host", 9000, &a, &err);
    cr_assert(rc == -1, "udp_make_addr('no such host', 9000, &a) should have returned -1 (the "
              "name does not resolve), but instead it returned %d", rc);
}
