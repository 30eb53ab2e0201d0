/* testutil.h - what every lab's Criterion tests share: the timing constants, readable bytes
 * and errors, ports, UDP peers of the test's own, stream peers of the test's own (timed
 * reads, a background writer, bounded joins), and interrupting a blocked call with a
 * signal. A lab's own helpers are in its tests/helpers.h.
 *
 * Failure messages and the JSON report: Criterion 2.4.1 writes its JSON report without
 * escaping strings, so a message may hold any byte (a quote, a backslash, a control byte).
 * The grader reads the report by its structure (each message is one line of a "messages"
 * block) and copes with any byte in a message, so the tests need no escaping for its sake.
 * Payloads are shown with describe_bytes, for people: readable text, \xNN for the rest.
 */
#ifndef SOCKLAB_TESTUTIL_H
#define SOCKLAB_TESTUTIL_H

#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- timing: one name and one value each, in every lab ---- */

/* Every test's .timeout, in seconds: Criterion kills a test that runs longer (a hang, or a
 * skeleton that blocks). It is well beyond the longest wait of a passing test, so a slow
 * machine under sanitizers never hits it, and each wait below fits in it several times. */
#define TEST_TIMEOUT_S 10.0

/* How long something that should happen (a datagram, bytes, an EOF, a call returning, a
 * thread blocking) may take. Loopback needs well under a millisecond: this is room for a
 * loaded 2-core machine under ASan, not for the network. */
#define ARRIVAL_MS 2000

/* How long to watch for something that should NOT happen (one more datagram, a line sent
 * too early, a server that returns): long enough for the wrong thing to show on a loaded
 * machine, short enough to be paid once per test. */
#define QUIET_MS 300

/* ---- readable bytes and errors ---- */

/* Room for describe_bytes of a short payload; longer ones are cut with "...". */
#define DESCRIBE_LEN 160

/* 'text' (N bytes): printable ASCII as it is, every other byte (and the backslash, so that
 * \xNN stays unambiguous) as \xNN, cut after 32 bytes. Returns buf. */
const char *describe_bytes(const void *data, size_t len, char buf[DESCRIBE_LEN]);

/* "ENOSYS (38: Function not implemented)" and the like, for assertion messages;
 * "0 (errno was not set)" for 0. */
const char *errno_text(int err);

/* The fd number the next socket() would get: a call that leaks a descriptor moves it. */
int lowest_free_fd(void);

/* Milliseconds on a monotonic clock, for deadlines and for measuring how long a call took. */
long long monotonic_ms(void);

/* ---- ports and UDP peers ---- */

/* 127.0.0.1:port (host order) as a sockaddr_in. */
struct sockaddr_in loopback_addr(uint16_t port);

/* A socket of this type (SOCK_DGRAM, SOCK_STREAM) bound to ip:0 ("0.0.0.0" for any), the
 * port it got in *port (host order). The port is drawn again while its two bytes are equal
 * (a symmetric port such as 0x2727 reads the same in both byte orders, so a missing
 * htons/ntohs would hide behind it); symmetric draws stay bound until the end, so none is
 * drawn twice. The fd, or -1 with errno set. */
int bind_asymmetric_port(int type, const char *ip, uint16_t *port);

/* A TCP socket listening on 127.0.0.1 with a port whose two bytes differ (a missing
 * htons() cannot hide behind it: bind_asymmetric_port); the port in *port (host order).
 * Fails the test on error. */
int open_listener(uint16_t *port);

/* A port on 127.0.0.1, its two bytes different, that nothing was bound to a moment ago. */
uint16_t unused_port(void);

/* A socket connected to 127.0.0.1:port from a port whose two bytes differ (so that a
 * missing ntohs on the server side always shows), or -1 with errno set. */
int connect_local(uint16_t port);

/* connect_local, with SO_RCVBUF set to receive_buffer bytes before the handshake fixes the
 * window (a small one soon stops a peer that sends to a socket nobody reads). */
int connect_local_receiving(uint16_t port, int receive_buffer);

/* accept() on lfd within timeout_ms, or -1 (errno ETIMEDOUT when nobody came). */
int accept_within(int lfd, int timeout_ms);

/* A UDP socket of the test's own, bound before the code under test runs. */
struct udp_peer {
    int fd;
    uint16_t port;            /* host order; its two bytes always differ */
    struct sockaddr_in addr;  /* where to send to reach it (127.0.0.1:port) */
};

/* Bind a UDP peer to ip:0 with bind_asymmetric_port. 0, or -1 with errno set. */
int udp_peer_open(struct udp_peer *peer, const char *ip);

/* Wait up to timeout_ms for one datagram; its full length (MSG_TRUNC: it may exceed cap),
 * or -1 (errno ETIMEDOUT when none came). */
ssize_t udp_peer_recv(struct udp_peer *peer, void *buf, size_t cap,
                      struct sockaddr_in *from, int timeout_ms);

void udp_peer_close(struct udp_peer *peer);

/* Wait until every datagram already sent on this machine has reached its socket. A local
 * datagram is not delivered inside sendto(): it waits in the sending CPU's backlog queue for
 * that CPU's softirq, which a loaded machine may put off. Each queue is first in, first out,
 * so a marker sent from each CPU in turn (this thread pinned there) arrives only after all
 * that was queued there before it. After the code under test has returned, "nothing more
 * came" can then be read at once instead of waited out. 0, or -1 if that could not be done
 * (then wait QUIET_MS instead). */
int flush_local_delivery(void);

/* ---- messages ---- */

/* Fail the test unless call returned want. call describes the call, e.g.
 * "udp_send_once(peer, 'abc', 3)"; err is errno right after it, named in the message when
 * the call returned a negative value (after a success errno means nothing). */
void expect_returned(const char *call, long got, long want, int err);

/* Fail the test unless got (len bytes) equals want (len bytes); what names the bytes. */
void expect_same_bytes(const char *what, const void *want, const void *got, size_t len);

/* ---- stream peers of the test's own ----
 *
 * Helpers that can fail the test (cr_assert) run on the test's own thread only; the
 * background threads just record what they saw. */

/* A connected AF_UNIX stream pair (socketpair), where TCP itself does not matter, or fail
 * the test. */
void open_stream_pair(int fds[2]);

/* Send all len bytes from the test's side (MSG_NOSIGNAL), or fail the test. */
void send_or_fail(int fd, const void *buf, size_t len);

/* Read into buf until want bytes came, EOF, an error or timeout_ms passed; also stops early
 * when stop_fd (-1: none) becomes readable. Returns the count; *eof (may be NULL) is 1 when
 * the peer closed. Never fails the test. */
size_t recv_for(int fd, void *buf, size_t want, int timeout_ms, int stop_fd, int *eof);

/* How many bytes wait unread on fd (FIONREAD), or -1. */
int queued_bytes(int fd);

/* Wait until every byte queued for reading on fd (FIONREAD) has been read by someone, up
 * to timeout_ms. 1 when the queue is empty, else 0. */
int wait_until_read(int fd, int timeout_ms);

/* byte[i] = i % 251: a shifted or repeated piece of it shows at once. */
void fill_pattern(unsigned char *buf, size_t len);

/* Let 1 ms pass, in a loop that watches something no fd can signal (a thread's state, the
 * bytes queued on a socket, a child process). */
void tick(void);

/* pthread_join with a bound: 0 when the thread ended within timeout_ms, else -1. */
int join_within(pthread_t thread, int timeout_ms);

/* A thread that sends len bytes from buf (MSG_NOSIGNAL), then shutdown(SHUT_WR) if
 * half_close. It records how many bytes went out.
 * With first > 0 it sends the first `first` bytes alone and the rest only once they have
 * been read from reader_fd (the other end): the reader's first recv then returns that short
 * piece on every run, so code that takes a short recv for the end of the data fails every
 * time, not only when the scheduler happens to split the stream. */
struct writer {
    int fd;
    const void *buf;
    size_t len;
    int half_close;
    size_t first;         /* optional: a first piece, sent alone (0: none) */
    int reader_fd;        /* with first: the end whose reading releases the rest */
    /* set by the thread */
    size_t sent;
    int err;              /* errno of a failed send, or 0 */
    /* private */
    pthread_t thread;
};
void writer_start(struct writer *w);
/* Join the writer: 0, or -1 when it did not end within timeout_ms. */
int writer_join(struct writer *w, int timeout_ms);

/* ---- interrupting a blocked call with a signal ----
 *
 * A test of what a call does when a signal interrupts it (retry, or return -1 with EINTR)
 * must prove that the signal did interrupt it, or it could pass without testing anything:
 *   - interrupt_setup() installs a handler for INTERRUPT_SIGNAL without SA_RESTART (so an
 *     interrupted system call fails with EINTR);
 *   - the thread that makes the call brackets it with call_begin() and call_end();
 *   - another thread calls interrupt_call(): it waits until the call's thread sleeps inside
 *     the call (state S in its /proc/thread-self/stat), sends INTERRUPT_SIGNAL to that thread,
 *     and waits until the handler has run; the handler tells (through a pipe) whether the
 *     call was still under way on that thread when it ran.
 * A test repeats its set-up (up to INTERRUPT_ATTEMPTS times) while the call returned before
 * it could be interrupted, fails when it never could, and only then checks what the call
 * did. One call is watched at a time. */

/* The signal the tests interrupt a blocked call with. */
#define INTERRUPT_SIGNAL SIGUSR1

/* How many times a test sets up its interrupted call before it gives up and fails. */
#define INTERRUPT_ATTEMPTS 5

/* Install the handler (no SA_RESTART), drop what it reported before, forget the watched
 * call. Call it on the test's thread before starting the call (again for each attempt). */
void interrupt_setup(void);

/* On the thread making the call, right before and right after it. */
void call_begin(void);
void call_end(void);

/* Wait up to timeout_ms until the watched call's thread sleeps inside the call: 1 when it
 * does, 0 when the call returned first, -1 when neither happened in time. */
int wait_call_blocked(int timeout_ms);

/* 1 when every thread of this process but the caller sleeps (state S) right now, else 0. */
int other_threads_asleep(void);

enum interrupt_outcome {
    INTERRUPTED,      /* the handler ran while the call was blocked in it */
    RETURNED_FIRST,   /* the call returned before the signal could reach it */
    NEVER_BLOCKED,    /* the call neither blocked nor returned within the time */
    NOT_HANDLED,      /* the signal was sent to the blocked call, but no handler ran in time */
};

/* wait_call_blocked, then INTERRUPT_SIGNAL to the call's thread, then wait for the handler;
 * each wait up to timeout_ms. Never fails the test itself (any thread may call it). */
enum interrupt_outcome interrupt_call(int timeout_ms);

/* What an outcome means, for messages. */
const char *interrupt_outcome_text(enum interrupt_outcome outcome);

/* A peer on a thread of its own for a call that waits to read: it interrupts the watched
 * call (interrupt_call(ARRIVAL_MS)), then sends len bytes of data on fd (MSG_NOSIGNAL)
 * whatever happened, so that the call never waits for ever. outcome is NEVER_BLOCKED until
 * the thread sets it; join the thread (join_within) before reading it. */
struct late_sender {
    int fd;
    const void *data;
    size_t len;
    /* set by the thread */
    enum interrupt_outcome outcome;
    /* private */
    pthread_t thread;
};
/* Start one, or fail the test. */
void late_sender_start(struct late_sender *s, int fd, const void *data, size_t len);

/* On the test's thread, after attempt number `attempt` (1, 2, ...) at interrupting call:
 * 1 when the signal interrupted it (go on: check what the call did); 0 when the set-up
 * should be made again (the call returned first, and attempts are left). Otherwise the test
 * FAILS, its message naming call (e.g. "recv_line(fd, buf, 64) with no line to read"), the
 * outcome and what the call did (did, e.g. "returned -1 with errno ENOSYS ...", or NULL). */
int interrupt_attempt(enum interrupt_outcome outcome, int attempt, const char *call,
                      const char *did);

#endif
