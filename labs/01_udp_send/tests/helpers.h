/* helpers.h - what lab 01's Criterion tests share, on top of testutil.h: peers that must
 * receive (or must not), a peer thread that answers udp_request, input streams and readable
 * failure messages. Payloads in messages go through describe_bytes.
 */
#ifndef SOCKLAB_LAB01_HELPERS_H
#define SOCKLAB_LAB01_HELPERS_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>

#include "testutil.h"

/* How long the responder waits for a request before it gives up on its own (the call under
 * test normally tells it sooner, by returning). */
#define RESPONDER_WAIT_MS (2 * ARRIVAL_MS)

/* One datagram as a peer received it. Room for any UDP payload and one byte more. */
struct datagram {
    unsigned char data[65536];
    size_t len;
    struct sockaddr_in from;
};

/* Bind a peer to ip:0 ("127.0.0.1", or "0.0.0.0" for broadcasts), or fail the test. */
void open_peer(struct udp_peer *peer, const char *ip);

/* Fail the test if the call returned a negative value (it should have worked). */
void expect_succeeded(const char *call, long got, int err);

/* Fail the test unless the call returned -1 with errno want_err. */
void expect_failed_with(const char *call, long got, int err, int want_err);

/* Fail the test unless peer receives, within ARRIVAL_MS, a datagram of exactly these bytes.
 * The datagram is stored in *got (may be NULL) for further checks. */
void expect_datagram(struct udp_peer *peer, const char *after, const void *want, size_t len,
                     struct datagram *got);

/* Fail the test if anything more reached peer: called once the code under test has
 * returned, so what it sent has been sent (flush_local_delivery; QUIET_MS where that fails). */
void expect_nothing_more(struct udp_peer *peer, const char *after);

/* A stream reading these len bytes (fmemopen), or fail the test. */
FILE *input_of(const void *text, size_t len);

/* A peer thread for udp_request: it waits for one request on `listen`, optionally waits
 * delay_ms more, then sends `reply` from `answer` (the same peer or another one) back to
 * wherever the request came from. It never fails the test itself: it records what it saw. */
struct responder {
    struct udp_peer *listen;
    struct udp_peer *answer;
    const void *reply;
    size_t reply_len;
    int delay_ms;
    /* set by the thread */
    struct datagram request;
    int got_request;  /* 1 when a request arrived */
    int replied;      /* 1 when the reply was sent */
    int send_errno;   /* errno of a failed reply */
    /* private */
    int stop_pipe[2];
    pthread_t thread;
};

/* Start the thread (fields above the "set by the thread" line filled in), or fail the test. */
void responder_start(struct responder *r);

/* Tell the thread to give up waiting (the call under test has returned) and join it. */
void responder_finish(struct responder *r);

/* What the responder did, for messages: "never received the request" and the like. */
const char *responder_story(const struct responder *r);

#endif
