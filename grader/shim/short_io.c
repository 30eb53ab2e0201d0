/* short_io.c - make stream-socket I/O short on purpose, the same way on every run.
 *
 * Loaded with LD_PRELOAD into a student's program by the grader. Every send, sendto,
 * write, recv, recvfrom and read on a stream (SOCK_STREAM) socket is handed to the C library
 * with its length capped; calls on any other file (stdin, a pipe, a UDP socket) go through
 * untouched. A correct program loops until every byte is moved and cannot tell the
 * difference; one that ignores send()'s return value, resends from the start of its buffer,
 * or takes one recv() for one message breaks on every run, not once in a thousand.
 *
 *   SOCKLAB_SHORT_SEND=N   cap each sending call at N bytes (unset or 0: no cap)
 *   SOCKLAB_SHORT_RECV=N   cap each receiving call at N bytes (unset or 0: no cap)
 *   SOCKLAB_SHORT_SEED=S   0 or unset: every call gets the whole cap; otherwise the cap of
 *                          the k-th call on a socket is drawn from 1..N by a hash of
 *                          (S, fd, k), so the pattern is irregular but repeats exactly
 *
 * Built by the grader: cc -shared -fPIC -o short_io.so short_io.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define TRACKED_FDS 4096 /* per-fd call counters; higher fds share theirs modulo this */

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*read_fn)(int, void *, size_t);

static send_fn real_send;
static sendto_fn real_sendto;
static write_fn real_write;
static recv_fn real_recv;
static recvfrom_fn real_recvfrom;
static read_fn real_read;

static size_t send_cap, recv_cap; /* 0: no cap */
static uint64_t seed;
static atomic_uint_fast64_t calls[TRACKED_FDS];

static size_t number_from_env(const char *name)
{
    const char *text = getenv(name);
    return text != NULL ? (size_t)strtoull(text, NULL, 10) : 0;
}

/* Before main and before any thread: the real functions and the caps, once. */
__attribute__((constructor)) static void short_io_init(void)
{
    real_send = (send_fn)dlsym(RTLD_NEXT, "send");
    real_sendto = (sendto_fn)dlsym(RTLD_NEXT, "sendto");
    real_write = (write_fn)dlsym(RTLD_NEXT, "write");
    real_recv = (recv_fn)dlsym(RTLD_NEXT, "recv");
    real_recvfrom = (recvfrom_fn)dlsym(RTLD_NEXT, "recvfrom");
    real_read = (read_fn)dlsym(RTLD_NEXT, "read");
    send_cap = number_from_env("SOCKLAB_SHORT_SEND");
    recv_cap = number_from_env("SOCKLAB_SHORT_RECV");
    seed = number_from_env("SOCKLAB_SHORT_SEED");
}

/* Only stream sockets (TCP, and AF_UNIX stream pairs) are capped: a short UDP send would
 * cut a datagram, not delay bytes. */
static int is_stream_socket(int fd)
{
    int saved = errno, type = 0;
    socklen_t len = sizeof type;
    int stream = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
    errno = saved; /* ENOTSOCK on a pipe is none of the program's business */
    return stream;
}

/* splitmix64: a well-mixed hash, so neighbouring (fd, call) pairs get unrelated caps. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* The length to pass on: len itself, or at most cap when fd is a TCP socket. */
static size_t capped(int fd, size_t len, size_t cap)
{
    if (cap == 0 || len <= 1 || fd < 0 || !is_stream_socket(fd))
        return len;
    size_t limit = cap;
    if (seed != 0) {
        uint64_t call = atomic_fetch_add(&calls[fd % TRACKED_FDS], 1);
        limit = 1 + (size_t)(mix(seed ^ mix(((uint64_t)fd << 40) ^ call)) % cap);
    }
    return len < limit ? len : limit;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    return real_send(fd, buf, capped(fd, len, send_cap), flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
               socklen_t tolen)
{
    return real_sendto(fd, buf, capped(fd, len, send_cap), flags, to, tolen);
}

ssize_t write(int fd, const void *buf, size_t len)
{
    return real_write(fd, buf, capped(fd, len, send_cap));
}

/* MSG_WAITALL asks the kernel for all len bytes: a short return there would be a lie. */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    return real_recv(fd, buf, flags & MSG_WAITALL ? len : capped(fd, len, recv_cap), flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                 socklen_t *fromlen)
{
    return real_recvfrom(fd, buf, flags & MSG_WAITALL ? len : capped(fd, len, recv_cap), flags,
                         from, fromlen);
}

ssize_t read(int fd, void *buf, size_t len)
{
    return real_read(fd, buf, capped(fd, len, recv_cap));
}
