/* udp_bind.c - lab 02 reference solution: binding a UDP socket and receiving datagrams.
 *
 * A receiver must bind: that is how it gets a port the senders can know in advance. A sender
 * that never binds is given an ephemeral port by its first sendto, a different one each run.
 * Everything else here is about taking datagrams as they are: one recvfrom is one datagram,
 * whole, whatever its length (0 included) and whatever bytes it holds.
 */
#include "udp_bind.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* ---- small helpers ------------------------------------------------------------------- */

/* close(fd) without losing the errno that explains why we are giving up. */
static void close_keep_errno(int fd)
{
    int saved = errno;
    close(fd);
    errno = saved;
}

/* free(p) without losing errno (older C libraries may change it). */
static void free_keep_errno(void *p)
{
    int saved = errno;
    free(p);
    errno = saved;
}

/* getaddrinfo reports EAI_* codes, not errno values: turn one into an errno. */
static void set_errno_from_gai(int rc)
{
    if (rc == EAI_SYSTEM)
        return; /* errno already says what went wrong */
    if (rc == EAI_MEMORY)
        errno = ENOMEM;
    else if (rc == EAI_AGAIN)
        errno = EAGAIN;
    else
        errno = ENXIO; /* "No such device or address": no IPv4 address for that name */
}

/* The node to give getaddrinfo: NULL (with AI_PASSIVE: INADDR_ANY) for "any address". */
static const char *node_or_any(const char *host)
{
    if (host == NULL || host[0] == '\0' || strcmp(host, "0.0.0.0") == 0)
        return NULL;
    return host;
}

/* ---- binding ------------------------------------------------------------------------- */

int udp_bind(const char *host, uint16_t port)
{
    struct addrinfo hints = {
        .ai_family = AF_INET,
        .ai_socktype = SOCK_DGRAM,
        .ai_flags = AI_PASSIVE | AI_NUMERICSERV, /* no node: the any address */
    };
    struct addrinfo *res, *p;
    char service[8];
    int fd = -1;

    snprintf(service, sizeof service, "%u", (unsigned)port);
    int rc = getaddrinfo(node_or_any(host), service, &hints, &res);
    if (rc != 0) {
        set_errno_from_gai(rc);
        return -1;
    }

    /* Loop through all the results and bind to the first we can. No SO_REUSEADDR: on a UDP
     * socket it would let a second program bind the same port and take a share of our
     * datagrams. A port that is taken must fail, with EADDRINUSE. */
    for (p = res; p != NULL; p = p->ai_next) {
        fd = socket(p->ai_family, p->ai_socktype, p->ai_protocol);
        if (fd < 0)
            continue;
        if (bind(fd, p->ai_addr, p->ai_addrlen) == 0)
            break;
        close_keep_errno(fd); /* errno still says why bind failed */
        fd = -1;
    }
    freeaddrinfo(res); /* all done with this structure */
    return fd;         /* -1 with the errno of the last socket or bind that failed */
}

int udp_local_port(int fd)
{
    struct sockaddr_in local;
    socklen_t len = sizeof local; /* in: the room we give; out: the size filled */

    if (getsockname(fd, (struct sockaddr *)&local, &len) < 0)
        return -1;
    if (local.sin_family != AF_INET) {
        errno = EAFNOSUPPORT;
        return -1;
    }
    return ntohs(local.sin_port); /* the kernel keeps it in network byte order */
}

int udp_implicit_port(const struct sockaddr_in *dst)
{
    static const char ping[] = "ping";

    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    /* No bind: the first sendto binds the socket to an ephemeral port of the system's choice.
     * Asking getsockname before this send would give port 0. */
    if (sendto(fd, ping, sizeof ping - 1, 0, (const struct sockaddr *)dst, sizeof *dst) < 0) {
        close_keep_errno(fd);
        return -1;
    }
    int port = udp_local_port(fd);
    close_keep_errno(fd); /* keeps udp_local_port's errno when it failed */
    return port;
}

/* ---- receiving ----------------------------------------------------------------------- */

ssize_t udp_recv_from(int fd, void *buf, size_t cap, struct sockaddr_in *from)
{
    struct sockaddr_in sender;
    memset(&sender, 0, sizeof sender);
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr msg = {
        .msg_name = &sender,
        .msg_namelen = sizeof sender, /* initialised: the kernel reads it before writing */
        .msg_iov = &iov,
        .msg_iovlen = 1,
    };

    /* recvmsg, not recvfrom: only recvmsg tells us (MSG_TRUNC in msg_flags) that the kernel
     * cut the datagram to fit cap. The rest of a cut datagram is gone; there is no second
     * read of it. No retry on EINTR: the caller decides whether a signal means "stop". */
    ssize_t n = recvmsg(fd, &msg, 0);
    if (n < 0)
        return -1;
    if (from != NULL)
        *from = sender; /* even when the datagram was too long: say who sent it */
    if (msg.msg_flags & MSG_TRUNC) {
        errno = EMSGSIZE;
        return -1;
    }
    return n; /* 0 is a real, empty datagram, not "the other side closed" */
}

/* ---- echo server --------------------------------------------------------------------- */

/* ASCII a-z to A-Z; every other byte (UTF-8 bytes >= 0x80 too) stays as it is. Not toupper():
 * it depends on the locale, and a negative char is undefined behaviour for it. */
static void ascii_upper(unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 'a' && p[i] <= 'z')
            p[i] = (unsigned char)(p[i] - 'a' + 'A');
}

int udp_echo_serve(int fd, int upper, volatile sig_atomic_t *stop)
{
    /* The largest datagram IPv4 can carry; on the heap, not 64 KiB of stack. */
    unsigned char *buf = malloc(UDP_MAX_PAYLOAD);
    if (buf == NULL)
        return -1;

    /* A signal that lands between this test and recvmsg is only seen at the next one
     * (pselect/ppoll close that window; it is beyond this lab). */
    while (!*stop) {
        struct sockaddr_in client;
        ssize_t n = udp_recv_from(fd, buf, UDP_MAX_PAYLOAD, &client);
        if (n < 0) {
            if (errno == EINTR || errno == EMSGSIZE)
                continue; /* EINTR: the loop test looks at *stop; EMSGSIZE: not echoable */
            free_keep_errno(buf);
            return -1;
        }
        if (upper)
            ascii_upper(buf, (size_t)n);
        /* n bytes, never strlen: the payload may hold NULs, or be empty. Back to this
         * datagram's own sender, so every client gets its own reply. A reply that cannot be
         * sent is lost like any datagram may be; the server goes on. */
        (void)sendto(fd, buf, (size_t)n, 0, (const struct sockaddr *)&client, sizeof client);
    }
    free(buf);
    return 0;
}

/* ---- chat ---------------------------------------------------------------------------- */

/* What each step of the chat tells the loop. */
enum { CHAT_ERROR = -1, CHAT_END = 0, CHAT_GO_ON = 1 };

/* A line longer than this could never fit in one datagram. */
#define CHAT_LINE_MAX UDP_MAX_PAYLOAD

struct chat {
    int fd;
    const struct sockaddr_in *peer;
    const char *name;
    int in_fd;
    FILE *out;
    size_t line_len;                    /* bytes of an unfinished line in line[] */
    char line[CHAT_LINE_MAX + 1];       /* +1: room for the NUL after a full line */
    char datagram[UDP_MAX_PAYLOAD + 1]; /* +1: room for a NUL after the datagram */
};

/* {"name": NAME, "msg": LINE} built by cJSON, which escapes quotes, backslashes and control
 * characters; UTF-8 text (中文) goes through as it is. */
static int send_line(struct chat *c, const char *line)
{
    cJSON *obj = cJSON_CreateObject();
    char *json = NULL;

    if (obj != NULL && cJSON_AddStringToObject(obj, "name", c->name) != NULL &&
        cJSON_AddStringToObject(obj, "msg", line) != NULL)
        json = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    if (json == NULL) {
        errno = ENOMEM;
        return -1;
    }
    /* strlen is right here, and only here: cJSON's output is text with no NUL inside (a NUL
     * in a string would be written \u0000). */
    ssize_t sent = sendto(c->fd, json, strlen(json), 0, (const struct sockaddr *)c->peer,
                          sizeof *c->peer);
    free_keep_errno(json);
    return sent < 0 ? -1 : 0;
}

/* One whole line without its "\n": strip a "\r" before it, end on "stop", else send it. */
static int handle_line(struct chat *c, char *line, size_t len)
{
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0'; /* where the "\r" or "\n" was, or just past the last line's end */
    if (strcmp(line, "stop") == 0)
        return CHAT_END;
    if (send_line(c, line) < 0)
        return errno == EINTR ? CHAT_END : CHAT_ERROR;
    return CHAT_GO_ON;
}

/* in_fd is readable. read() gives whatever is there: half a line, or several lines. Send
 * every whole line and keep the rest for the next read. (Not stdio: a FILE would read ahead
 * into its own buffer, and poll would no longer say whether a line is waiting.) */
static int handle_input(struct chat *c)
{
    ssize_t n = read(c->in_fd, c->line + c->line_len, CHAT_LINE_MAX - c->line_len);
    if (n < 0)
        return errno == EINTR ? CHAT_END : CHAT_ERROR;
    if (n == 0) { /* EOF: a last line without "\n" is still a line */
        if (c->line_len == 0)
            return CHAT_END;
        return handle_line(c, c->line, c->line_len) == CHAT_ERROR ? CHAT_ERROR : CHAT_END;
    }
    c->line_len += (size_t)n;

    char *start = c->line;
    size_t left = c->line_len;
    char *newline;
    while ((newline = memchr(start, '\n', left)) != NULL) {
        size_t len = (size_t)(newline - start);
        int rc = handle_line(c, start, len);
        if (rc != CHAT_GO_ON)
            return rc;
        start = newline + 1;
        left -= len + 1;
    }
    memmove(c->line, start, left);
    c->line_len = left;
    if (c->line_len == CHAT_LINE_MAX) { /* full, and still no "\n" */
        errno = EMSGSIZE;
        return CHAT_ERROR;
    }
    return CHAT_GO_ON;
}

/* Whitespace JSON allows after a value (a sender may end its datagram with "\n"). */
static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The whole datagram must be one JSON object whose "name" and "msg" are strings (any key
 * order, extra keys fine). Returns the parsed object (cJSON_Delete it) or NULL. */
static cJSON *parse_chat_message(const char *text, size_t len, const char **name,
                                 const char **msg)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0); /* exactly len bytes */
    if (root == NULL)
        return NULL; /* not JSON at all (an empty datagram included) */
    while (end < text + len && is_json_space(*end))
        end++;
    if (end == text + len && cJSON_IsObject(root)) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "name");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "msg");
        if (cJSON_IsString(n) && cJSON_IsString(m)) {
            *name = n->valuestring;
            *msg = m->valuestring;
            return root;
        }
    }
    cJSON_Delete(root); /* bytes after the value, not an object, or no string name/msg */
    return NULL;
}

/* The socket is readable: print one datagram as "[NAME] MSG", or say it was not valid. */
static int handle_datagram(struct chat *c)
{
    struct sockaddr_in from;
    const char *name = NULL, *msg = NULL;
    cJSON *parsed = NULL;

    ssize_t n = udp_recv_from(c->fd, c->datagram, UDP_MAX_PAYLOAD, &from);
    if (n < 0 && errno != EMSGSIZE) /* an oversized datagram is just not a valid message */
        return errno == EINTR ? CHAT_END : CHAT_ERROR;
    if (n >= 0) {
        c->datagram[n] = '\0';
        parsed = parse_chat_message(c->datagram, (size_t)n, &name, &msg);
    }
    if (parsed != NULL) {
        fprintf(c->out, "[%s] %s\n", name, msg);
    } else {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &from.sin_addr, ip, sizeof ip);
        fprintf(c->out, "! invalid message from %s:%u\n", ip, (unsigned)ntohs(from.sin_port));
    }
    cJSON_Delete(parsed);
    /* Whoever reads out (a terminal, a pipe) sees the message now, not when a buffer fills. */
    return fflush(c->out) == EOF ? CHAT_ERROR : CHAT_GO_ON;
}

int udp_chat(int fd, const struct sockaddr_in *peer, const char *name, int in_fd, FILE *out)
{
    struct chat *c = malloc(sizeof *c); /* two 64 KiB buffers: the heap, not the stack */
    if (c == NULL)
        return -1;
    c->fd = fd;
    c->peer = peer;
    c->name = name;
    c->in_fd = in_fd;
    c->out = out;
    c->line_len = 0;

    /* Wait for whichever comes first, the keyboard or the network: an incoming message is
     * printed even while nobody types. */
    struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = in_fd, .events = POLLIN}};
    int rc = CHAT_GO_ON;
    while (rc == CHAT_GO_ON) {
        if (poll(fds, 2, -1) < 0) {
            rc = errno == EINTR ? CHAT_END : CHAT_ERROR; /* a signal ends the chat */
            break;
        }
        if ((fds[0].revents | fds[1].revents) & POLLNVAL) {
            errno = EBADF;
            rc = CHAT_ERROR;
            break;
        }
        if (fds[0].revents & (POLLIN | POLLERR))
            rc = handle_datagram(c);
        /* POLLHUP: the writer closed its end; read() will say EOF. */
        if (rc == CHAT_GO_ON && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)))
            rc = handle_input(c);
    }
    free_keep_errno(c);
    return rc == CHAT_ERROR ? -1 : 0;
}
