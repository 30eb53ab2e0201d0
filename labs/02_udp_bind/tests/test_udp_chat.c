/* test_udp_chat.c - the duplex JSON chat, run on a thread, typed at through a pipe.
 *
 * The chat's socket ("me") and the other side ("friend") are the test's own sockets. Lines
 * are typed into a pipe (in_fd); what the chat prints goes to another pipe (out), read with
 * deadlines. JSON is always compared parsed, never byte for byte.
 */
#include "helpers.h"
#include "udp_bind.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* UTF-8 spelled in escapes, so this file is plain ASCII. */
#define ZHONGWEN "\xe4\xb8\xad" "\xe6\x96\x87" /* the two characters for Chinese text */
#define LI       "\xe6\x9d\x8e"                /* a family name */

static struct udp_peer me = {.fd = -1}, friend = {.fd = -1};
static int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
static FILE *out;
static struct worker worker;
static struct line_reader printed;
static const char *chat_name;

static long run_chat(void *arg)
{
    (void)arg;
    return udp_chat(me.fd, &friend.addr, chat_name, in_pipe[0], out);
}

/* Start udp_chat(me, friend, name, in_pipe, out) on its own thread. */
static void start_chat(const char *name)
{
    cr_assert(udp_peer_open(&me, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    cr_assert(udp_peer_open(&friend, "127.0.0.1") == 0, "test set-up: udp_peer_open failed");
    cr_assert(pipe(in_pipe) == 0 && pipe(out_pipe) == 0, "test set-up: pipe failed");
    out = fdopen(out_pipe[1], "w");
    cr_assert(out != NULL, "test set-up: fdopen failed");
    memset(&printed, 0, sizeof printed);
    printed.fd = out_pipe[0];
    interrupt_setup();
    chat_name = name;
    worker_start(&worker, run_chat, NULL);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void stop_chat(void)
{
    close_fd(&in_pipe[1]); /* EOF, then signals: a chat that hears neither is left */
    if (worker.started && !worker_wait(&worker, QUIET_MS))
        worker_end(&worker, ARRIVAL_MS);
    if (worker.joined && out != NULL) {
        fclose(out);
        out = NULL;
        out_pipe[1] = -1;
    }
    worker_cleanup(&worker);
    close_fd(&in_pipe[0]);
    close_fd(&out_pipe[0]);
    udp_peer_close(&me);
    udp_peer_close(&friend);
}

/* Type text into the chat's input. */
static void type(const char *text)
{
    size_t len = strlen(text);
    cr_assert(write(in_pipe[1], text, len) == (ssize_t)len, "test set-up: write to in_fd failed");
}

/* friend sends len bytes to the chat. */
static void friend_sends(const void *data, size_t len)
{
    ssize_t n = sendto(friend.fd, data, len, 0, (struct sockaddr *)&me.addr, sizeof me.addr);
    cr_assert(n == (ssize_t)len, "test set-up: sendto failed");
}

/* The next datagram friend gets from the chat must be {"name": name, "msg": msg}. */
static void expect_message(const char *name, const char *msg, const char *after)
{
    char buf[4096], res[160], got[DESCRIBE_LEN], want[DESCRIBE_LEN];
    struct sockaddr_in from;
    describe_bytes(msg, strlen(msg), want);

    ssize_t n = peer_recv_or_done(&friend, &worker, buf, sizeof buf - 1, &from, ARRIVAL_MS);
    if (n < 0 && errno == ECHILD)
        cr_assert_fail("after %s udp_chat should have sent a message with msg %s, but instead "
                       "it %s without sending it", after, want,
                       describe_result(&worker, res, sizeof res));
    cr_assert(n >= 0, "after %s udp_chat should have sent a message with msg %s, but instead "
              "nothing came within %d ms", after, want, ARRIVAL_MS);
    cr_assert((size_t)n < sizeof buf, "the chat message was %zd bytes, too long", n);
    describe_bytes(buf, (size_t)n, got);

    cJSON *root = cJSON_ParseWithLength(buf, (size_t)n);
    cr_assert(cJSON_IsObject(root), "after %s udp_chat should have sent a JSON object, but "
              "instead it sent %s, which is not one (build it with cJSON, never sprintf: "
              "quotes and backslashes need escaping)", after, got);
    const cJSON *jname = cJSON_GetObjectItemCaseSensitive(root, "name");
    const cJSON *jmsg = cJSON_GetObjectItemCaseSensitive(root, "msg");
    cr_assert(cJSON_IsString(jname) && strcmp(jname->valuestring, name) == 0,
              "the message sent after %s should have had name %s, but instead it was %s",
              after, describe_bytes(name, strlen(name), (char[DESCRIBE_LEN]){0}), got);
    cr_assert(cJSON_IsString(jmsg) && strcmp(jmsg->valuestring, msg) == 0,
              "the message sent after %s should have had msg %s, but instead it was %s", after,
              want, got);
    cJSON_Delete(root);
}

/* friend must get nothing more from the chat within ms. */
static void expect_no_message(const char *why, int ms)
{
    char buf[4096] = {0}, got[DESCRIBE_LEN];
    ssize_t n = udp_peer_recv(&friend, buf, sizeof buf, NULL, ms);
    cr_assert(n < 0, "udp_chat should not have sent anything %s, but instead it sent %s", why,
              describe_bytes(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf, got));
}

/* Once udp_chat has returned: it sent nothing more. What it sent is delivered by the time a
 * mark sent from every CPU has come back (flush_local_delivery), so no wait is needed. */
static void expect_nothing_more_sent(const char *why)
{
    cr_assert(flush_local_delivery() == 0, "test set-up: the loopback marks did not come back");
    expect_no_message(why, 0);
}

/* The next line the chat prints to out must be exactly line. */
static void expect_printed(const char *line, const char *after)
{
    char buf[4096], res[160], want[DESCRIBE_LEN];
    describe_bytes(line, strlen(line), want);
    ssize_t n = read_line_or_done(&printed, &worker, buf, sizeof buf, ARRIVAL_MS);
    if (n < 0 && errno == ECHILD)
        cr_assert_fail("after %s udp_chat should have printed %s, but instead it %s without "
                       "printing it", after, want, describe_result(&worker, res, sizeof res));
    cr_assert(n >= 0, "after %s udp_chat should have printed %s to out (and flushed it), but "
              "instead nothing came within %d ms", after, want, ARRIVAL_MS);
    cr_assert(strcmp(buf, line) == 0, "after %s udp_chat should have printed %s, but instead "
              "it printed %s", after, want, describe_bytes(buf, (size_t)n, (char[DESCRIBE_LEN]){0}));
}

/* The line the chat must print for a bad datagram from friend. */
static const char *invalid_line(char buf[64])
{
    snprintf(buf, 64, "! invalid message from 127.0.0.1:%u", (unsigned)friend.port);
    return buf;
}

/* The chat must end, with 0, within ARRIVAL_MS. */
static void expect_end(const char *after)
{
    char res[160];
    cr_assert(worker_wait(&worker, ARRIVAL_MS), "after %s udp_chat should have returned 0, but "
              "instead it was still running %d ms later", after, ARRIVAL_MS);
    cr_assert(worker.result == 0, "after %s udp_chat should have returned 0, but instead it %s",
              after, describe_result(&worker, res, sizeof res));
}

/* ---- sending ------------------------------------------------------------------------- */

Test(udp_chat, sends_a_line_as_json_with_name_and_msg, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    start_chat("alice");
    type("hello\n");
    expect_message("alice", "hello", "the line 'hello'");
}

Test(udp_chat, sends_from_its_own_socket, .fini = stop_chat, .timeout = TEST_TIMEOUT_S)
{
    char buf[256];
    struct sockaddr_in from;
    start_chat("alice");
    type("hello\n");
    ssize_t n = peer_recv_or_done(&friend, &worker, buf, sizeof buf, &from, ARRIVAL_MS);
    cr_assert(n > 0, "after the line 'hello' udp_chat should have sent a message, but instead "
              "%s", errno == ECHILD ? "it returned without sending it" : "nothing came");
    cr_assert(from.sin_port == htons(me.port),
              "the message should have come from the chat socket fd (port %u), so replies "
              "reach it, but instead it came from port %u", (unsigned)me.port,
              (unsigned)ntohs(from.sin_port));
}

Test(udp_chat, escapes_quotes_backslashes_tabs_and_chinese, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    static const char name[] = "Li \"Lee\" \\ " LI;
    static const char msg[] = "say \"hi\"\tto C:\\temp\\ " ZHONGWEN " {\"x\": 1}";
    start_chat(name);
    type(msg);
    type("\n");
    expect_message(name, msg, "a line with quotes, backslashes, a tab and UTF-8");
}

Test(udp_chat, strips_a_carriage_return_before_the_newline, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    start_chat("alice");
    type("dos line\r\n");
    expect_message("alice", "dos line", "the line 'dos line' ending in CR LF");
    type("a\rb\n"); /* only a CR right before the newline goes */
    expect_message("alice", "a\rb", "the line 'a CR b'");
}

Test(udp_chat, sends_an_empty_line_as_an_empty_msg, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    start_chat("alice");
    type("\n");
    expect_message("alice", "", "an empty line");
    type("after\n");
    expect_message("alice", "after", "the line 'after'");
}

Test(udp_chat, sends_a_last_line_without_a_newline_at_eof, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    start_chat("alice");
    type("tail");
    close_fd(&in_pipe[1]);
    expect_message("alice", "tail", "'tail' then EOF");
    expect_end("EOF");
}

Test(udp_chat, waits_for_the_whole_line_before_sending, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    start_chat("alice");
    type("hel");
    expect_no_message("before the line was finished by its newline", QUIET_MS);
    type("lo\n");
    expect_message("alice", "hello", "'hel' then 'lo' and a newline");
}

Test(udp_chat, sends_each_line_of_one_read_as_its_own_message, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    start_chat("alice");
    type("one\ntwo\nthree\n");
    expect_message("alice", "one", "'one', 'two', 'three' in one write");
    expect_message("alice", "two", "'one', 'two', 'three' in one write");
    expect_message("alice", "three", "'one', 'two', 'three' in one write");
}

/* ---- receiving ----------------------------------------------------------------------- */

Test(udp_chat, prints_an_incoming_message_while_input_is_idle, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    static const char json[] = "{\"name\": \"bob\", \"msg\": \"hi there\"}";
    start_chat("alice");
    friend_sends(json, sizeof json - 1); /* nothing typed: in_fd stays idle */
    expect_printed("[bob] hi there", "a message came in while nobody typed");
}

Test(udp_chat, accepts_any_key_order_and_extra_keys, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    static const char json[] = "{\"msg\":\"m\",\"extra\":[1,{\"name\":\"no\"}],\"name\":\"n\"}";
    start_chat("alice");
    friend_sends(json, sizeof json - 1);
    expect_printed("[n] m", "a message with msg first and an extra key");
}

Test(udp_chat, prints_unicode_escapes_as_utf8, .fini = stop_chat, .timeout = TEST_TIMEOUT_S)
{
    static const char json[] = "{\"name\":\"\\u674e\",\"msg\":\"\\u4e2d\\u6587 \\\"q\\\" \\\\\"}";
    start_chat("alice");
    friend_sends(json, sizeof json - 1);
    expect_printed("[" LI "] " ZHONGWEN " \"q\" \\", "a message written with u-escapes");
}

Test(udp_chat, reports_a_datagram_that_is_not_json_and_goes_on, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    static const char json[] = "{\"name\":\"bob\",\"msg\":\"still here\"}";
    char line[64];
    start_chat("alice");
    friend_sends("hello?", 6);
    expect_printed(invalid_line(line), "the datagram 'hello?'");
    friend_sends(json, sizeof json - 1);
    expect_printed("[bob] still here", "an invalid datagram, then a valid one");
}

Test(udp_chat, reports_json_without_string_name_and_msg_as_invalid, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    static const char *bad[] = {
        "[\"name\", \"msg\"]",
        "\"just a string\"",
        "{\"name\":\"x\"}",
        "{\"msg\":\"y\"}",
        "{\"name\":\"x\",\"msg\":5}",
        "{\"name\":null,\"msg\":\"y\"}",
        "{\"name\":\"x\",\"msg\":\"y\"",
    };
    char line[64], what[DESCRIBE_LEN + 16];
    start_chat("alice");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        friend_sends(bad[i], strlen(bad[i]));
        snprintf(what, sizeof what, "the datagram %s",
                 describe_bytes(bad[i], strlen(bad[i]), (char[DESCRIBE_LEN]){0}));
        expect_printed(invalid_line(line), what);
    }
}

Test(udp_chat, reports_an_empty_datagram_as_invalid_and_goes_on, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    static const char json[] = "{\"name\":\"bob\",\"msg\":\"after empty\"}";
    char line[64];
    start_chat("alice");
    friend_sends("", 0);
    expect_printed(invalid_line(line), "an empty datagram");
    friend_sends(json, sizeof json - 1);
    expect_printed("[bob] after empty", "an empty datagram, then a valid one");
}

/* ---- ending -------------------------------------------------------------------------- */

Test(udp_chat, ends_on_the_line_stop_without_sending_it, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    start_chat("alice");
    type("before\nstop\nafter\n");
    expect_message("alice", "before", "the line 'before'");
    expect_end("the line 'stop'");
    expect_nothing_more_sent("for the line 'stop' or after it");
}

Test(udp_chat, ends_with_0_at_eof_on_input, .fini = stop_chat, .timeout = TEST_TIMEOUT_S)
{
    start_chat("alice");
    close_fd(&in_pipe[1]);
    expect_end("EOF on in_fd");
    expect_nothing_more_sent("at EOF with no line typed");
}

Test(udp_chat, ends_with_0_when_a_signal_interrupts_it, .fini = stop_chat,
     .timeout = TEST_TIMEOUT_S)
{
    char res[160];
    for (int attempt = 1;; attempt++) {
        start_chat("alice");
        enum interrupt_outcome outcome = interrupt_call(ARRIVAL_MS);
        int returned = worker_wait(&worker, outcome == RETURNED_FIRST ? ARRIVAL_MS : 0);
        if (interrupt_attempt(outcome, attempt, "udp_chat, with nothing typed and nothing "
                              "received,", returned ? describe_result(&worker, res, sizeof res)
                              : NULL))
            break;
        stop_chat();
    }
    int done = worker_wait(&worker, ARRIVAL_MS);
    cr_assert(done, "udp_chat should have ended when a signal interrupted its wait (poll), but "
              "instead it was still running %d ms later", ARRIVAL_MS);
    cr_assert(worker.result == 0, "udp_chat ended by a signal should have returned 0, but "
              "instead it %s", describe_result(&worker, res, sizeof res));
}
