/* Lab 01 - Kim's submission: correct, written another way (inet_pton first, fgets into a
 * fixed buffer, select() for the timeout, SO_RCVTIMEO nowhere). */
#include "udp_send.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

int udp_make_addr(const char *host, uint16_t port, struct sockaddr_in *out)
{
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons(port);
    if (inet_pton(AF_INET, host, &out->sin_addr) == 1)
        return 0;

    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    if (getaddrinfo(host, NULL, &hints, &res) != 0) {
        errno = EINVAL;
        return -1;
    }
    out->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}

ssize_t udp_send_once(const struct sockaddr_in *dst, const void *msg, size_t len)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s == -1)
        return -1;
    ssize_t n = sendto(s, msg, len, 0, (const struct sockaddr *)dst, sizeof(*dst));
    int err = errno;
    close(s);
    errno = err;
    return n;
}

static char line[UDP_MAX_PAYLOAD + 3];

long udp_send_lines(const struct sockaddr_in *dst, FILE *in)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s == -1)
        return -1;
    long count = 0;
    while (fgets(line, sizeof(line), in) != NULL) {
        size_t n = strlen(line);
        int had_newline = n > 0 && line[n - 1] == '\n';
        if (!had_newline && !feof(in)) {     /* longer than any datagram */
            close(s);
            errno = EMSGSIZE;
            return -1;
        }
        if (had_newline)
            line[--n] = '\0';
        if (n > 0 && had_newline && line[n - 1] == '\r')
            line[--n] = '\0';
        if (strcmp(line, "stop") == 0)
            break;
        if (n > UDP_MAX_PAYLOAD) {
            close(s);
            errno = EMSGSIZE;
            return -1;
        }
        if (sendto(s, line, n, 0, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
            int err = errno;
            close(s);
            errno = err;
            return -1;
        }
        count++;
    }
    close(s);
    return count;
}

ssize_t udp_request(const struct sockaddr_in *dst, const void *msg, size_t len,
                    void *reply, size_t cap, struct sockaddr_in *from, int timeout_ms)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s == -1)
        return -1;
    if (sendto(s, msg, len, 0, (const struct sockaddr *)dst, sizeof(*dst)) < 0) {
        int err = errno;
        close(s);
        errno = err;
        return -1;
    }
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(s, &readable);
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    int ready = select(s + 1, &readable, NULL, NULL, timeout_ms < 0 ? NULL : &tv);
    if (ready <= 0) {
        close(s);
        errno = ready == 0 ? ETIMEDOUT : errno;
        return -1;
    }
    struct sockaddr_in src;
    socklen_t srclen = sizeof(src);
    ssize_t n = recvfrom(s, reply, cap, 0, (struct sockaddr *)&src, &srclen);
    int err = errno;
    close(s);
    if (n >= 0 && from)
        memcpy(from, &src, sizeof(src));
    errno = err;
    return n;
}

ssize_t udp_broadcast(const char *bcast_ip, uint16_t port, const void *msg, size_t len)
{
    struct sockaddr_in dst;
    if (udp_make_addr(bcast_ip, port, &dst) < 0)
        return -1;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s == -1)
        return -1;
    int yes = 1;
    setsockopt(s, SOL_SOCKET, SO_BROADCAST, &yes, sizeof(yes));
    ssize_t n = sendto(s, msg, len, 0, (const struct sockaddr *)&dst, sizeof(dst));
    int err = errno;
    close(s);
    errno = err;
    return n;
}
