/* udp_bind.c - lab 02, a correct submission in another style: the chat on two threads.
 *
 * - udp_bind fills in a sockaddr_in itself: INADDR_ANY for no host, inet_pton for a dotted
 *   quad, getaddrinfo only when the host is a name.
 * - udp_recv_from uses recvfrom with MSG_TRUNC, which makes Linux return the datagram's
 *   real length even when it did not fit: longer than cap means it was cut.
 * - udp_chat runs a receiving thread (recvfrom, print) while the calling thread read()s the
 *   input and sends. The receiver blocks every signal, so SIGINT/SIGTERM always land on
 *   the calling thread, where they interrupt read(). When the input side is done, it closes
 *   the write end of a pipe the receiver also waits on; the receiver sees the hang-up,
 *   returns, and is joined. (Not pthread_cancel: a thread cancelled inside recvfrom is
 *   unwound through the sanitizers' interceptors, which ASan then reports as stack errors.)
 */
#include "udp_bind.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ================================================================== addresses */

static int give_up(int fd)
{
    int keep = errno;
    close(fd);
    errno = keep;
    return -1;
}

/* host -> IPv4 address. NULL, "" and "0.0.0.0" are the any address. */
static int host_address(const char *host, struct in_addr *out)
{
    if (host == NULL || host[0] == '\0') {
        out->s_addr = htonl(INADDR_ANY);
        return 0;
    }
    if (inet_pton(AF_INET, host, out) == 1) /* "0.0.0.0" lands here as INADDR_ANY */
        return 0;

    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        if (rc != EAI_SYSTEM)
            errno = rc == EAI_MEMORY ? ENOMEM : rc == EAI_AGAIN ? EAGAIN : ENXIO;
        return -1;
    }
    *out = ((const struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return 0;
}

int udp_bind(const char *host, uint16_t port)
{
    struct sockaddr_in me;
    memset(&me, 0, sizeof me);
    me.sin_family = AF_INET;
    me.sin_port = htons(port);
    if (host_address(host, &me.sin_addr) < 0)
        return -1;

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    /* deliberately no SO_REUSEADDR: a port in use must fail with EADDRINUSE */
    if (bind(fd, (const struct sockaddr *)&me, sizeof me) < 0)
        return give_up(fd);
    return fd;
}

int udp_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;

    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family != AF_INET) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
}

int udp_implicit_port(const struct sockaddr_in *dst)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    if (sendto(fd, "ping", 4, 0, (const struct sockaddr *)dst, sizeof *dst) != 4)
        return give_up(fd);
    int port = udp_local_port(fd); /* the port sendto picked for us */
    if (port < 0)
        return give_up(fd);
    close(fd);
    return port;
}

/* ================================================================== receiving */

ssize_t udp_recv_from(int fd, void *buf, size_t cap, struct sockaddr_in *from)
{
    struct sockaddr_in src;
    socklen_t srclen = sizeof src;
    memset(&src, 0, sizeof src);

    /* With MSG_TRUNC, Linux returns the full length of the datagram, not just what was
     * copied: a result above cap means the rest was thrown away. No EINTR retry. */
    ssize_t real = recvfrom(fd, buf, cap, MSG_TRUNC, (struct sockaddr *)&src, &srclen);
    if (real < 0)
        return -1;
    if (from != NULL)
        memcpy(from, &src, sizeof src);
    if ((size_t)real > cap) {
        errno = EMSGSIZE;
        return -1;
    }
    return real;
}

int udp_echo_serve(int fd, int upper, volatile sig_atomic_t *stop)
{
    unsigned char pkt[UDP_MAX_PAYLOAD];

    while (!*stop) {
        struct sockaddr_in who;
        ssize_t n = udp_recv_from(fd, pkt, sizeof pkt, &who);
        if (n < 0) {
            if (errno == EINTR)
                continue; /* *stop decides */
            if (errno == EMSGSIZE)
                continue; /* cannot happen with 65507 bytes of room; not echoable anyway */
            return -1;
        }
        for (ssize_t i = 0; upper && i < n; i++)
            if (pkt[i] >= 'a' && pkt[i] <= 'z')
                pkt[i] = (unsigned char)(pkt[i] - 32);
        /* a lost reply is like a lost datagram: the server carries on */
        sendto(fd, pkt, (size_t)n, 0, (const struct sockaddr *)&who, sizeof who);
    }
    return 0;
}

/* ================================================================== chat */

/* What the two threads share. The receiver writes err only; it is read after the join. */
struct chat_rx {
    int fd;
    int quit;       /* read end of a pipe: hangs up when the input side is done */
    FILE *out;
    char *pkt;      /* UDP_MAX_PAYLOAD + 1 bytes, owned by udp_chat */
    int err;        /* errno that ended the receiver, 0 if it was told to quit */
};

/* The whole datagram must be one JSON object with string "name" and "msg". A raw NUL is
 * never part of a JSON text, and cJSON must reach the end (trailing whitespace aside). */
static cJSON *parse_message(const char *pkt, size_t len, const char **name, const char **msg)
{
    if (len == 0 || memchr(pkt, '\0', len) != NULL)
        return NULL;
    cJSON *root = cJSON_ParseWithOpts(pkt, NULL, 1);
    if (root == NULL)
        return NULL;
    cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "name");
    cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "msg");
    if (!cJSON_IsObject(root) || !cJSON_IsString(n) || !cJSON_IsString(m)) {
        cJSON_Delete(root);
        return NULL;
    }
    *name = cJSON_GetStringValue(n);
    *msg = cJSON_GetStringValue(m);
    return root;
}

static void *receiver(void *arg)
{
    struct chat_rx *rx = arg;

    for (;;) {
        struct pollfd w[2] = {{.fd = rx->quit, .events = POLLIN},
                              {.fd = rx->fd, .events = POLLIN}};
        if (poll(w, 2, -1) < 0) {
            if (errno == EINTR)
                continue; /* cannot happen: every signal is blocked here */
            rx->err = errno;
            return NULL;
        }
        if (w[0].revents != 0)
            return NULL; /* the input side is done */
        if (w[1].revents == 0)
            continue;

        struct sockaddr_in from;
        memset(&from, 0, sizeof from);
        ssize_t n = udp_recv_from(rx->fd, rx->pkt, UDP_MAX_PAYLOAD, &from);
        if (n < 0 && errno != EMSGSIZE) {
            rx->err = errno;
            return NULL;
        }

        const char *name = NULL, *msg = NULL;
        cJSON *root = NULL;
        if (n >= 0) {
            rx->pkt[n] = '\0';
            root = parse_message(rx->pkt, (size_t)n, &name, &msg);
        }
        if (root != NULL)
            fprintf(rx->out, "[%s] %s\n", name, msg);
        else
            fprintf(rx->out, "! invalid message from %s:%u\n", inet_ntoa(from.sin_addr),
                    (unsigned)ntohs(from.sin_port));
        cJSON_Delete(root);
        if (fflush(rx->out) == EOF) {
            rx->err = errno;
            return NULL;
        }
    }
}

/* {"name": name, "msg": line} to peer. The tree is printed with cJSON's indentation: the
 * other side parses it, so the layout does not matter. */
static int send_json(int fd, const struct sockaddr_in *peer, const char *name, const char *line)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON *jn = cJSON_CreateString(name);
    cJSON *jm = cJSON_CreateString(line);
    char *text = NULL;

    if (obj != NULL && jn != NULL && jm != NULL) {
        cJSON_AddItemToObject(obj, "name", jn);
        cJSON_AddItemToObject(obj, "msg", jm);
        jn = jm = NULL; /* obj owns them now */
        text = cJSON_Print(obj);
    }
    cJSON_Delete(jn);
    cJSON_Delete(jm);
    cJSON_Delete(obj);
    if (text == NULL) {
        errno = ENOMEM;
        return -1;
    }
    ssize_t rc = sendto(fd, text, strlen(text), 0, (const struct sockaddr *)peer, sizeof *peer);
    int keep = errno;
    cJSON_free(text);
    errno = keep;
    return rc < 0 ? -1 : 0;
}

enum { GO_ON = 1, DONE = 0, BROKEN = -1 };

/* One line, its "\n" already gone (line[len] may be overwritten). */
static int one_line(int fd, const struct sockaddr_in *peer, const char *name, char *line,
                    size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    if (strcmp(line, "stop") == 0)
        return DONE;
    if (send_json(fd, peer, name, line) == 0)
        return GO_ON;
    return errno == EINTR ? DONE : BROKEN;
}

/* The input side, on the calling thread: read() whatever comes, send each whole line. */
static int read_input(int fd, const struct sockaddr_in *peer, const char *name, int in_fd)
{
    size_t size = 1024, used = 0;
    char *text = malloc(size + 1); /* +1: room to end the last line with a NUL */
    if (text == NULL)
        return BROKEN;

    int state = GO_ON;
    while (state == GO_ON) {
        if (used == size) {
            if (size >= UDP_MAX_PAYLOAD) { /* a line that could never be one datagram */
                errno = EMSGSIZE;
                state = BROKEN;
                break;
            }
            size *= 2;
            char *bigger = realloc(text, size + 1);
            if (bigger == NULL) {
                state = BROKEN;
                break;
            }
            text = bigger;
        }

        ssize_t n = read(in_fd, text + used, size - used);
        if (n < 0) {
            /* EINTR: a signal came while we waited for input, and that ends the chat */
            state = errno == EINTR ? DONE : BROKEN;
            break;
        }
        if (n == 0) { /* EOF: a last line without "\n" still counts */
            state = used > 0 ? one_line(fd, peer, name, text, used) : DONE;
            if (state == GO_ON)
                state = DONE;
            break;
        }

        size_t from = used, start = 0;
        used += (size_t)n;
        for (size_t i = from; i < used && state == GO_ON; i++) {
            if (text[i] != '\n')
                continue;
            state = one_line(fd, peer, name, text + start, i - start);
            start = i + 1;
        }
        if (start > 0) {
            memmove(text, text + start, used - start);
            used -= start;
        }
    }

    int keep = errno;
    free(text);
    errno = keep;
    return state;
}

int udp_chat(int fd, const struct sockaddr_in *peer, const char *name, int in_fd, FILE *out)
{
    struct chat_rx rx = {.fd = fd, .quit = -1, .out = out, .pkt = NULL, .err = 0};
    int quit_pipe[2];
    pthread_t tid;
    sigset_t all, old;

    if (pipe(quit_pipe) < 0)
        return -1;
    rx.quit = quit_pipe[0];
    rx.pkt = malloc(UDP_MAX_PAYLOAD + 1);
    if (rx.pkt == NULL) {
        close(quit_pipe[0]);
        close(quit_pipe[1]);
        errno = ENOMEM;
        return -1;
    }

    /* The new thread inherits our signal mask: start it with every signal blocked, so a
     * SIGINT/SIGTERM for the process is never taken by it (it would interrupt nothing that
     * ends the chat), then unblock them again here. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&tid, NULL, receiver, &rx);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        free(rx.pkt);
        close(quit_pipe[0]);
        close(quit_pipe[1]);
        errno = err;
        return -1;
    }

    int state = read_input(fd, peer, name, in_fd);
    int keep = errno;

    close(quit_pipe[1]);       /* the receiver's poll sees the hang-up ... */
    pthread_join(tid, NULL);   /* ... and returns */
    close(quit_pipe[0]);
    free(rx.pkt);

    if (state == BROKEN) {
        errno = keep;
        return -1;
    }
    if (rx.err != 0) { /* the receiving side failed while the input side went on */
        errno = rx.err;
        return -1;
    }
    return 0;
}
