/* helpers.c - peers, a responder thread and failure messages for lab 01's tests. */
#include "helpers.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void open_peer(struct udp_peer *peer, const char *ip)
{
    int rc = udp_peer_open(peer, ip);
    cr_assert(rc == 0, "test set-up: binding a UDP peer to %s:0 should have worked, but instead "
              "it failed with %s", ip, errno_text(errno));
}

void expect_succeeded(const char *call, long got, int err)
{
    cr_assert(got >= 0, "%s should have worked, but instead it returned %ld with errno %s", call,
              got, errno_text(err));
}

void expect_failed_with(const char *call, long got, int err, int want_err)
{
    char want_text[96];

    snprintf(want_text, sizeof want_text, "%s", errno_text(want_err));
    cr_assert(got == -1, "%s should have returned -1 with errno %s, but instead it returned %ld",
              call, want_text, got);
    cr_assert(err == want_err, "%s should have failed with errno %s, but instead errno was %s",
              call, want_text, errno_text(err));
}

/* The offset of the first byte where a and b differ (both n bytes long). */
static size_t first_difference(const unsigned char *a, const unsigned char *b, size_t n)
{
    size_t i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* A word on the classic length mistakes, when the received length gives one away. */
static const char *length_hint(const unsigned char *got, size_t got_len, size_t want_len)
{
    if (got_len == want_len + 1 && got[want_len] == 0x00)
        return ": one byte too many, a NUL at the end (strlen + 1?)";
    if (got_len == sizeof(void *) && want_len != sizeof(void *))
        return ": 8 bytes is sizeof a pointer, not the length of the message";
    return "";
}

void expect_datagram(struct udp_peer *peer, const char *after, const void *want, size_t len,
                     struct datagram *got)
{
    static struct datagram scratch; /* big: keep it off the stack */
    char want_text[DESCRIBE_LEN], got_text[DESCRIBE_LEN];
    struct datagram *d = got != NULL ? got : &scratch;

    describe_bytes(want, len, want_text);
    ssize_t n = udp_peer_recv(peer, d->data, sizeof d->data, &d->from, ARRIVAL_MS);
    cr_assert(n >= 0, "%s, the peer should have received %s within %d ms, but instead nothing "
              "came (%s)", after, want_text, ARRIVAL_MS, errno_text(errno));
    d->len = (size_t)n;
    describe_bytes(d->data, d->len, got_text);
    cr_assert(d->len == len, "%s, the peer should have received %s, but instead it received "
              "%s%s", after, want_text, got_text, length_hint(d->data, d->len, len));
    size_t at = first_difference(want, d->data, len);
    cr_assert(at == len, "%s, the peer should have received %s, but instead it received %s "
              "(first difference at byte %zu)", after, want_text, got_text, at);
}

void expect_nothing_more(struct udp_peer *peer, const char *after)
{
    static struct datagram extra;
    char text[DESCRIBE_LEN];

    /* The code under test has returned: whatever it sent is on its way already. */
    int wait_ms = flush_local_delivery() == 0 ? 0 : QUIET_MS;
    ssize_t n = udp_peer_recv(peer, extra.data, sizeof extra.data, NULL, wait_ms);
    cr_assert(n < 0, "%s, the peer should have received nothing more, but instead it received "
              "%s", after, describe_bytes(extra.data, n < 0 ? 0 : (size_t)n, text));
}

FILE *input_of(const void *text, size_t len)
{
    /* "r": fmemopen never writes to the buffer, so casting const away is safe. */
    FILE *in = fmemopen((void *)text, len, "r");
    cr_assert(in != NULL, "test set-up: fmemopen of %zu bytes should have worked, but instead "
              "it failed with %s", len, errno_text(errno));
    return in;
}

/* Wait for a byte on the stop pipe for up to timeout_ms: 1 if told to stop, else 0. */
static int told_to_stop(struct responder *r, int timeout_ms)
{
    struct pollfd pfd = {.fd = r->stop_pipe[0], .events = POLLIN};
    return poll(&pfd, 1, timeout_ms) > 0;
}

static void *responder_main(void *arg)
{
    struct responder *r = arg;
    struct pollfd pfds[2] = {
        {.fd = r->listen->fd, .events = POLLIN},
        {.fd = r->stop_pipe[0], .events = POLLIN},
    };

    /* Wait for the request, unless the call under test gives up (returns) first. */
    if (poll(pfds, 2, RESPONDER_WAIT_MS) <= 0 || !(pfds[0].revents & POLLIN))
        return NULL;
    ssize_t n = udp_peer_recv(r->listen, r->request.data, sizeof r->request.data,
                              &r->request.from, 0);
    if (n < 0)
        return NULL;
    r->request.len = (size_t)n;
    r->got_request = 1;

    if (r->delay_ms > 0 && told_to_stop(r, r->delay_ms))
        return NULL;
    if (sendto(r->answer->fd, r->reply, r->reply_len, 0,
               (const struct sockaddr *)&r->request.from, sizeof r->request.from) < 0) {
        r->send_errno = errno;
        return NULL;
    }
    r->replied = 1;
    return NULL;
}

void responder_start(struct responder *r)
{
    memset(&r->request, 0, sizeof r->request);
    r->got_request = 0;
    r->replied = 0;
    r->send_errno = 0;
    cr_assert(pipe(r->stop_pipe) == 0, "test set-up: pipe failed with %s", errno_text(errno));
    int rc = pthread_create(&r->thread, NULL, responder_main, r);
    cr_assert(rc == 0, "test set-up: pthread_create failed with %s", errno_text(rc));
}

void responder_finish(struct responder *r)
{
    /* Wakes the thread if it still waits; harmless if it is done. */
    ssize_t w = write(r->stop_pipe[1], "x", 1);
    (void)w; /* a pipe with room for 64 KiB cannot refuse one byte */
    pthread_join(r->thread, NULL);
    close(r->stop_pipe[0]);
    close(r->stop_pipe[1]);
}

const char *responder_story(const struct responder *r)
{
    static char story[160];

    if (!r->got_request)
        return "the peer never received the request";
    if (r->replied)
        return "the peer had received the request and replied";
    if (r->send_errno != 0) {
        snprintf(story, sizeof story, "the peer received the request, but its reply failed "
                 "with %s", errno_text(r->send_errno));
        return story;
    }
    return "the peer received the request; the call returned before the reply was sent";
}
