/* udp_progs.c - resolving a peer and binding a server, for lab 02's provided programs. */
#include "udp_progs.h"

#include "cli.h"
#include "udp_bind.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

void progs_resolve(const char *host, uint16_t port, struct sockaddr_in *out)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM};
    struct addrinfo *res;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0)
        cli_fail_msg("%s: %s", host, gai_strerror(rc));
    memcpy(out, res->ai_addr, sizeof *out);
    out->sin_port = htons(port);
    freeaddrinfo(res);
}

int progs_start_server(const char *host, uint16_t port, volatile sig_atomic_t *stop)
{
    cli_ignore_sigpipe();
    cli_on_stop(stop); /* before "bound to": a signal may follow that line at once */
    int fd = udp_bind(host, port);
    if (fd < 0)
        cli_failf("bind %s:%u", host, (unsigned)port);
    cli_announce("bound to", fd);
    return fd;
}
