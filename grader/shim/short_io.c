/* short_io.c - make stream-socket I/O short on purpose, the same way on every run.
 *
 * Loaded with LD_PRELOAD into a student's program by the grader. Every send, sendto,
 * sendmsg, write, writev, recv, recvfrom, recvmsg, read and readv on a stream (SOCK_STREAM)
 * socket is handed to the C library with its length capped (the scatter/gather calls get
 * their buffer list cut to the cap); calls on any other file (stdin, a pipe, a UDP socket)
 * go through untouched. A correct program loops until every byte is moved and cannot tell the
 * difference; one that ignores send()'s return value, resends from the start of its buffer,
 * or takes one recv() for one message breaks on every run, not once in a thousand.
 *
 *   SOCKLAB_SHORT_SEND=N   cap each sending call at N bytes (unset or 0: no cap)
 *   SOCKLAB_SHORT_RECV=N   cap each receiving call at N bytes (unset or 0: no cap)
 *   SOCKLAB_SHORT_SEED=S   0 or unset: every call gets the whole cap; otherwise the cap of
 *                          the k-th call on a socket is drawn from 1..N by a hash of
 *                          (S, fd, k), so the pattern is irregular but repeats exactly;
 *                          k counts from 0 again once the descriptor is closed, so every
 *                          connection sees the same pattern whatever came before it
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
#include <sys/uio.h>
#include <unistd.h>

#define TRACKED_FDS 4096 /* per-fd call counters; higher fds share theirs modulo this */

typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef ssize_t (*iov_fn)(int, const struct iovec *, int);
typedef int (*close_fn)(int);

static send_fn real_send;
static sendto_fn real_sendto;
static write_fn real_write;
static recv_fn real_recv;
static recvfrom_fn real_recvfrom;
static read_fn real_read;
static sendmsg_fn real_sendmsg;
static recvmsg_fn real_recvmsg;
static iov_fn real_writev, real_readv;
static close_fn real_close;

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
    real_sendmsg = (sendmsg_fn)dlsym(RTLD_NEXT, "sendmsg");
    real_recvmsg = (recvmsg_fn)dlsym(RTLD_NEXT, "recvmsg");
    real_writev = (iov_fn)dlsym(RTLD_NEXT, "writev");
    real_readv = (iov_fn)dlsym(RTLD_NEXT, "readv");
    real_close = (close_fn)dlsym(RTLD_NEXT, "close");
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

/* Left whole: MSG_WAITALL, which asks the kernel for all len bytes (a short return there
 * would be a lie), and MSG_PEEK, which shows what has arrived without taking it (a capped
 * peek would never show more than the cap, and a reader waiting to see a whole prefix would
 * wait for ever). */
#define UNCAPPED_FLAGS (MSG_WAITALL | MSG_PEEK)

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    return real_recv(fd, buf, flags & UNCAPPED_FLAGS ? len : capped(fd, len, recv_cap), flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
                 socklen_t *fromlen)
{
    return real_recvfrom(fd, buf, flags & UNCAPPED_FLAGS ? len : capped(fd, len, recv_cap),
                         flags, from, fromlen);
}

ssize_t read(int fd, void *buf, size_t len)
{
    return real_read(fd, buf, capped(fd, len, recv_cap));
}

/* ---- scatter/gather: the same caps over a list of buffers ---- */

#define IOV_KEPT 64 /* a cut list holds at most this many buffers (the cap is small) */

static size_t iov_total(const struct iovec *iov, size_t count)
{
    size_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += iov[i].iov_len;
    return total;
}

/* The first `limit` bytes of the list iov, as a list in out; its length. */
static size_t iov_cut(const struct iovec *iov, size_t count, size_t limit,
                      struct iovec out[IOV_KEPT])
{
    size_t kept = 0;
    for (size_t i = 0; i < count && limit > 0 && kept < IOV_KEPT; i++) {
        size_t take = iov[i].iov_len < limit ? iov[i].iov_len : limit;
        out[kept].iov_base = iov[i].iov_base;
        out[kept++].iov_len = take;
        limit -= take;
    }
    return kept;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    size_t total = iov_total(msg->msg_iov, msg->msg_iovlen);
    size_t limit = capped(fd, total, send_cap);
    if (limit == total)
        return real_sendmsg(fd, msg, flags);
    struct iovec cut[IOV_KEPT];
    struct msghdr shorter = *msg;
    shorter.msg_iov = cut;
    shorter.msg_iovlen = iov_cut(msg->msg_iov, msg->msg_iovlen, limit, cut);
    return real_sendmsg(fd, &shorter, flags);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    size_t total = iov_total(msg->msg_iov, msg->msg_iovlen);
    size_t limit = flags & UNCAPPED_FLAGS ? total : capped(fd, total, recv_cap);
    if (limit == total)
        return real_recvmsg(fd, msg, flags);
    struct iovec cut[IOV_KEPT], *whole = msg->msg_iov;
    size_t count = msg->msg_iovlen;
    msg->msg_iov = cut;
    msg->msg_iovlen = iov_cut(whole, count, limit, cut);
    ssize_t got = real_recvmsg(fd, msg, flags);
    msg->msg_iov = whole; /* the caller's list, as it gave it (the kernel fills its buffers) */
    msg->msg_iovlen = count;
    return got;
}

ssize_t writev(int fd, const struct iovec *iov, int count)
{
    struct iovec cut[IOV_KEPT];
    size_t total = count > 0 ? iov_total(iov, (size_t)count) : 0;
    size_t limit = capped(fd, total, send_cap);
    if (limit == total)
        return real_writev(fd, iov, count);
    return real_writev(fd, cut, (int)iov_cut(iov, (size_t)count, limit, cut));
}

ssize_t readv(int fd, const struct iovec *iov, int count)
{
    struct iovec cut[IOV_KEPT];
    size_t total = count > 0 ? iov_total(iov, (size_t)count) : 0;
    size_t limit = capped(fd, total, recv_cap);
    if (limit == total)
        return real_readv(fd, iov, count);
    return real_readv(fd, cut, (int)iov_cut(iov, (size_t)count, limit, cut));
}

/* A closed descriptor's number comes back for the next socket or connection: its count
 * starts again, so how many calls an earlier connection took (which depends on timing)
 * never changes the caps a later one sees. */
int close(int fd)
{
    if (fd >= 0)
        atomic_store(&calls[fd % TRACKED_FDS], 0);
    return real_close(fd);
}
