/* Lab 01 - Sam's submission: it works when tried by hand, and has three bugs students
 * really write: inet_addr (no names), strlen + 1 (a NUL on the wire), no SO_BROADCAST. */
#include "udp_send.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int udp_make_addr(const char *host, uint16_t port, struct sockaddr_in *out)
{
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons(port);
    out->sin_addr.s_addr = inet_addr(host);
    return 0;
}

ssize_t udp_send_once(const struct sockaddr_in *dst, const void *msg, size_t len)
{
    (void)len;
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    ssize_t n = sendto(sock, msg, strlen(msg) + 1, 0, (struct sockaddr *)dst, sizeof(*dst));
    close(sock);
    return n < 0 ? -1 : n - 1;
}

long udp_send_lines(const struct sockaddr_in *dst, FILE *in)
{
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long count = 0;
    while ((n = getline(&line, &cap, in)) != -1) {
        if (n > 0 && line[n - 1] == '\n')
            line[--n] = '\0';
        if (n > 0 && line[n - 1] == '\r')
            line[--n] = '\0';
        if (strcmp(line, "stop") == 0)
            break;
        if (n > 65507) {
            errno = EMSGSIZE;
            count = -1;
            break;
        }
        sendto(sock, line, n, 0, (struct sockaddr *)dst, sizeof(*dst));
        count++;
    }
    free(line);
    close(sock);
    return count;
}

ssize_t udp_request(const struct sockaddr_in *dst, const void *msg, size_t len,
                    void *reply, size_t cap, struct sockaddr_in *from, int timeout_ms)
{
    int sock = socket(AF_INET, SOCK_DGRAM, 0);
    sendto(sock, msg, len, 0, (struct sockaddr *)dst, sizeof(*dst));
    struct pollfd p = {sock, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) == 0) {
        close(sock);
        errno = ETIMEDOUT;
        return -1;
    }
    struct sockaddr_in src;
    socklen_t srclen = sizeof(src);
    ssize_t n = recvfrom(sock, reply, cap, 0, (struct sockaddr *)&src, &srclen);
    if (from != NULL)
        *from = src;
    close(sock);
    return n;
}

ssize_t udp_broadcast(const char *bcast_ip, uint16_t port, const void *msg, size_t len)
{
    struct sockaddr_in dst;
    udp_make_addr(bcast_ip, port, &dst);
    return udp_send_once(&dst, msg, len);
}
