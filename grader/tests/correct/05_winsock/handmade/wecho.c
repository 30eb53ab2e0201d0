/* wecho.c - lab 05, a correct submission in another style: addresses filled in by hand.
 *
 * No getaddrinfo: the struct sockaddr_in is filled field by field. A dotted quad goes
 * through inet_pton (InetPtonA in Winsock, which mingw-w64 declares from Windows Vista on,
 * i.e. with _WIN32_WINNT=0x0601), and only what is not one is looked up as a name with
 * gethostbyname; NULL, "" and "0.0.0.0" are INADDR_ANY without asking anybody. Failed calls
 * are compared with SOCKET_ERROR, Winsock's own spelling (-1 on POSIX, defined below). The
 * echo uses 1500-byte pieces, and wecho_request fills the reply first and then drains what
 * does not fit through a small scratch buffer, in two loops of their own. On POSIX a connect
 * interrupted by a signal is waited for with poll().
 */
#include "wecho.h"

#include <errno.h>
#include <string.h>

#ifdef _WIN32
#define SEND_FLAGS 0        /* Winsock never raises a signal */
#define SHUTDOWN_SENDING SD_SEND
#define PORT_GUARD SO_EXCLUSIVEADDRUSE /* SO_REUSEADDR would let others steal the port */
#else
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#define SOCKET_ERROR (-1)
#define SEND_FLAGS MSG_NOSIGNAL /* a vanished peer fails the send instead of killing us */
#define SHUTDOWN_SENDING SHUT_WR
#define PORT_GUARD SO_REUSEADDR /* restart at once on a port left in TIME_WAIT */
#endif

enum {
    ECHO_PIECE = 1500,  /* one recv of the echo: an Ethernet frame's worth */
    SCRATCH = 256,      /* where the part of a reply that does not fit is dropped */
    MAX_CALL = 1 << 30, /* the most one send/recv is asked for: Winsock takes an int */
};

/* ---- errors ---------------------------------------------------------------------------- */

static void set_sock_error(int err)
{
#ifdef _WIN32
    WSASetLastError(err);
#else
    errno = err;
#endif
}

/* Close s after a failed step and return SOCK_INVALID, with that step's error still the
 * one sock_error() reports: closing may overwrite it. */
static sock_t give_up(sock_t s)
{
    int err = sock_error();
    sock_close(s);
    set_sock_error(err);
    return SOCK_INVALID;
}

/* ---- addresses ------------------------------------------------------------------------- */

static int means_any(const char *host)
{
    return host == NULL || host[0] == '\0' || strcmp(host, "0.0.0.0") == 0;
}

/* Look host up as a name. gethostbyname reports through WSAGetLastError on Windows but
 * through h_errno on POSIX, where errno is made to say something sensible. */
static int lookup_name(const char *host, struct in_addr *out)
{
    struct hostent *h = gethostbyname(host);
    if (h == NULL || h->h_addrtype != AF_INET || h->h_addr_list[0] == NULL) {
#ifndef _WIN32
        errno = h == NULL && h_errno == TRY_AGAIN ? EAGAIN : ENXIO;
#else
        if (h != NULL)
            WSASetLastError(WSANO_DATA); /* a name with no IPv4 address */
#endif
        return -1;
    }
    memcpy(out, h->h_addr_list[0], sizeof *out);
    return 0;
}

/* Fill *sa with host:port; 0, or -1 with the error set when host is no address. */
static int make_addr(const char *host, uint16_t port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    if (means_any(host)) {
        sa->sin_addr.s_addr = htonl(INADDR_ANY);
        return 0;
    }
    if (inet_pton(AF_INET, host, &sa->sin_addr) == 1)
        return 0;
    return lookup_name(host, &sa->sin_addr);
}

/* ---- bytes in and out ------------------------------------------------------------------ */

/* One send of at most len bytes: how many went, or SOCKET_ERROR. POSIX retries EINTR. */
static long send_some(sock_t s, const char *p, size_t len)
{
    int want = len > MAX_CALL ? MAX_CALL : (int)len;
    for (;;) {
        long n = (long)send(s, p, want, SEND_FLAGS);
#ifndef _WIN32
        if (n == SOCKET_ERROR && errno == EINTR)
            continue;
#endif
        return n;
    }
}

/* One recv of at most cap bytes: how many came (0: end of stream), or SOCKET_ERROR. */
static long recv_some(sock_t s, char *p, size_t cap)
{
    int want = cap > MAX_CALL ? MAX_CALL : (int)cap;
    for (;;) {
        long n = (long)recv(s, p, want, 0);
#ifndef _WIN32
        if (n == SOCKET_ERROR && errno == EINTR)
            continue;
#endif
        return n;
    }
}

/* Every byte of p out: send may take fewer than asked. 0 or -1. */
static int send_every_byte(sock_t s, const char *p, size_t len)
{
    size_t done = 0;
    while (done < len) {
        long n = send_some(s, p + done, len - done);
        if (n == SOCKET_ERROR)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

/* ---- the API --------------------------------------------------------------------------- */

sock_t wecho_listen(const char *host, uint16_t port)
{
    struct sockaddr_in sa;
    if (make_addr(host, port, &sa) != 0)
        return SOCK_INVALID;

    sock_t s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == SOCK_INVALID)
        return SOCK_INVALID;
    int on = 1;
    /* the (const char *) cast: Winsock's setsockopt takes a char pointer, POSIX a void one */
    if (setsockopt(s, SOL_SOCKET, PORT_GUARD, (const char *)&on, sizeof on) == SOCKET_ERROR)
        return give_up(s);
    if (bind(s, (const struct sockaddr *)&sa, sizeof sa) == SOCKET_ERROR)
        return give_up(s);
    if (listen(s, SOMAXCONN) == SOCKET_ERROR)
        return give_up(s);
    return s;
}

#ifndef _WIN32
/* A connect cut short by a signal goes on in the background, and calling connect again
 * may fail with EALREADY: wait in poll until it is decided (writable), then read its
 * outcome from SO_ERROR. 0 or SOCKET_ERROR with errno set. */
static int finish_connect(sock_t s)
{
    struct pollfd p = {.fd = s, .events = POLLOUT};
    while (poll(&p, 1, -1) == SOCKET_ERROR)
        if (errno != EINTR)
            return SOCKET_ERROR;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) == SOCKET_ERROR)
        return SOCKET_ERROR;
    if (err != 0) {
        errno = err;
        return SOCKET_ERROR;
    }
    return 0;
}
#endif

sock_t wecho_connect(const char *host, uint16_t port)
{
    struct sockaddr_in sa;
    if (make_addr(host, port, &sa) != 0)
        return SOCK_INVALID;

    sock_t s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (s == SOCK_INVALID)
        return SOCK_INVALID;
    if (connect(s, (const struct sockaddr *)&sa, sizeof sa) == SOCKET_ERROR) {
#ifndef _WIN32
        if (errno == EINTR && finish_connect(s) == 0)
            return s;
#endif
        return give_up(s);
    }
    return s;
}

int wecho_session(sock_t c)
{
    char piece[ECHO_PIECE];
    for (;;) {
        long n = recv_some(c, piece, sizeof piece);
        if (n == 0)
            return 0; /* only 0 is the end: a short recv just means no more has come yet */
        if (n == SOCKET_ERROR || send_every_byte(c, piece, (size_t)n) != 0)
            return -1;
    }
}

/* Read until the end of the stream and throw it away: bytes left unread when the socket is
 * closed would make the close reset the connection. 0 or -1. */
static int drain(sock_t s)
{
    char scratch[SCRATCH];
    for (;;) {
        long n = recv_some(s, scratch, sizeof scratch);
        if (n == 0)
            return 0;
        if (n == SOCKET_ERROR)
            return -1;
    }
}

long wecho_request(sock_t s, const char *msg, char *reply, size_t cap)
{
    if (send_every_byte(s, msg, strlen(msg)) != 0)
        return -1;
    if (shutdown(s, SHUTDOWN_SENDING) == SOCKET_ERROR)
        return -1;

    /* First the reply itself, straight into the caller's buffer, while there is room. */
    size_t room = cap > 0 ? cap - 1 : 0, kept = 0;
    long n = 1;
    while (kept < room) {
        n = recv_some(s, reply + kept, room - kept);
        if (n == SOCKET_ERROR)
            return -1;
        if (n == 0)
            break;
        kept += (size_t)n;
    }
    /* Then, unless the end came already, whatever does not fit. */
    if (n != 0 && drain(s) != 0)
        return -1;
    if (cap > 0)
        reply[kept] = '\0';
    return (long)kept;
}
