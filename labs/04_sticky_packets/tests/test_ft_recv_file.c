/* test_ft_recv_file.c - ft_recv_file: check the header, stream the body, ack, in step. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "filexfer.h"
#include "helpers.h"

#define HELLO "hello\n"
#define HELLO_MD5 "b1946ac92492d2347c6235b4d2611184"

/* fds and dir (helpers.h): fds[0] is the test's peer (the sender), fds[1] ft_recv_file's;
 * dir is where the files go. */
static char escaped[96]; /* where a file named ../NAME would land, if one did */

static void tear_down(void)
{
    pair_dir_tear_down();
    if (escaped[0] != '\0') { /* also after a failed assertion */
        temp_dir_remove(escaped);
        strcat(escaped, ".part");
        temp_dir_remove(escaped);
    }
}

TestSuite(ft_recv_file, .init = pair_dir_set_up, .fini = tear_down, .timeout = TEST_TIMEOUT_S);

/* ---- the sender's side ---- */

/* The header text {"file_name": name, "file_size": len, "md5": md5}, into out. */
static const char *header_text(char *out, size_t cap, const char *name, size_t len,
                               const char *md5)
{
    snprintf(out, cap, "{\"file_name\": \"%s\", \"file_size\": %zu, \"md5\": \"%s\"}", name,
             len, md5);
    return out;
}

/* One whole file: the header frame and the body, with the body's own md5. */
static void send_file_parts(const char *name, const void *data, size_t len)
{
    char md5[33], header[512];
    md5_of(data, len, md5);
    header_text(header, sizeof header, name, len, md5);
    send_frame_or_fail(fds[0], header, (uint32_t)strlen(header));
    send_or_fail(fds[0], data, len);
}

/* ft_recv_file(fds[1], dir, res) on the test's thread. */
static int recv_file(struct ft_result *res, int *err)
{
    memset(res, 0x5a, sizeof *res); /* every field must be set, not left as it was */
    errno = 0;
    int rc = ft_recv_file(fds[1], dir, res);
    *err = errno;
    return rc;
}

/* The ack frame ft_recv_file sent, parsed (cJSON_Delete it), or fail; what: the transfer.
 * ft_recv_file has returned: its side is shut down first, so a missing ack shows at once. */
static cJSON *read_ack(const char *what)
{
    char text[FT_ACK_MAX + 1], shown[DESCRIBE_LEN];
    uint32_t len = 0;
    shutdown(fds[1], SHUT_WR);
    int rc = recv_frame_for(fds[0], text, FT_ACK_MAX, &len, ARRIVAL_MS, -1);
    cr_assert(rc == 1, "%s, ft_recv_file should have sent an ack frame, but instead the "
              "sender got %s", what, rc == 0 ? "EOF" : len > FT_ACK_MAX
              ? "a length over FT_ACK_MAX" : "no whole frame");
    cJSON *ack = cJSON_ParseWithLength(text, len);
    cr_assert(cJSON_IsObject(ack), "%s, the ack frame should have held a JSON object, but "
              "instead it held %s", what, describe_bytes(text, len, shown));
    return ack;
}

/* The ack must be {"ok": false, "error": TEXT}. */
static void expect_refusal_ack(const char *what)
{
    cJSON *ack = read_ack(what);
    int ok = cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(ack, "ok"));
    int error = cJSON_IsString(cJSON_GetObjectItemCaseSensitive(ack, "error"));
    cJSON_Delete(ack);
    cr_assert(ok && error, "%s, the ack should have been {\"ok\": false, \"error\": TEXT}, but "
              "instead it had %s", what, ok ? "no \"error\" string" : "no \"ok\": false");
}

/* dir/name must hold exactly len bytes of data, and no .part may be left. */
static void expect_stored(const char *what, const char *name, const void *data, size_t len)
{
    char path[512], part[300], listing[512];
    size_t got_len = 0;
    unsigned char *got = read_file(path_join(path, sizeof path, dir, name), &got_len);
    cr_assert(got != NULL, "%s, the file DIR/%s should have been stored, but instead DIR held "
              "%s", what, name, dir_listing(dir, listing, sizeof listing));
    int same_len = got_len == len;
    if (same_len && len > 0 && memcmp(got, data, len) != 0) {
        static unsigned char copy[1 << 20];
        memcpy(copy, got, len < sizeof copy ? len : sizeof copy);
        free(got);
        expect_same_bytes("the stored file", data, copy, len < sizeof copy ? len : sizeof copy);
    }
    free(got);
    cr_assert(same_len, "%s, DIR/%s should have held %zu bytes, but instead it held %zu", what,
              name, len, got_len);
    snprintf(part, sizeof part, "%s.part", name);
    cr_assert(!file_exists(dir, part), "%s, DIR/%s should have been renamed to DIR/%s, but "
              "instead it was still there", what, part, name);
}

/* dir must be empty: no file and no .part. */
static void expect_nothing_stored(const char *what)
{
    char listing[512];
    dir_listing(dir, listing, sizeof listing);
    cr_assert(strcmp(listing, "nothing") == 0, "%s, nothing should have been left in DIR (no "
              "file, no .part), but instead it held %s", what, listing);
}

/* ---- a file stored ---- */

Test(ft_recv_file, stores_the_file_and_returns_1)
{
    struct ft_result res;
    int err;
    send_file_parts("hello.txt", HELLO, 6);
    int rc = recv_file(&res, &err);
    expect_returned("after the sender sent hello.txt (6 bytes), ft_recv_file(fd, DIR, &res)",
                    rc, 1, err);
    expect_stored("after ft_recv_file received hello.txt", "hello.txt", HELLO, 6);
}

Test(ft_recv_file, fills_res_and_acks_ok_true_with_the_md5)
{
    struct ft_result res;
    int err;
    send_file_parts("hello.txt", HELLO, 6);
    int rc = recv_file(&res, &err);
    expect_returned("after the sender sent hello.txt, ft_recv_file", rc, 1, err);
    cr_assert(strcmp(res.name, "hello.txt") == 0 && res.size == 6 &&
              strcmp(res.md5, HELLO_MD5) == 0 && res.ok == 1,
              "after ft_recv_file stored hello.txt (6 bytes), res should have held name "
              "'hello.txt', size 6, md5 " HELLO_MD5 " and ok 1, but instead it held name "
              "'%.40s', size %llu, md5 '%.32s', ok %d", res.name, (unsigned long long)res.size,
              res.md5, res.ok);
    cJSON *ack = read_ack("after ft_recv_file stored hello.txt");
    int ok = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ack, "ok"));
    const cJSON *md5 = cJSON_GetObjectItemCaseSensitive(ack, "md5");
    int md5_ok = cJSON_IsString(md5) && strcmp(md5->valuestring, HELLO_MD5) == 0;
    cJSON_Delete(ack);
    cr_assert(ok && md5_ok, "after ft_recv_file stored hello.txt, the ack should have been "
              "{\"ok\": true, \"md5\": \"" HELLO_MD5 "\"}, but instead it had %s",
              ok ? "another md5, or none" : "no \"ok\": true");
}

Test(ft_recv_file, returns_0_at_a_clean_eof_before_a_header)
{
    struct ft_result res;
    int err;
    shutdown(fds[0], SHUT_WR);
    int rc = recv_file(&res, &err);
    expect_returned("after the sender closed without sending a file, ft_recv_file", rc, 0,
                    err);
    cr_assert(res.name[0] == '\0' && res.ok == 0, "after a clean EOF, res should have held "
              "name \"\" and ok 0 (no header was read), but instead it held name '%.40s' and "
              "ok %d", res.name, res.ok);
}

Test(ft_recv_file, receives_two_files_sent_in_one_write_then_returns_0)
{
    static unsigned char all[4096];
    char h1[256], h2[256], md5a[33], md5b[33];
    struct ft_result res;
    int err;
    size_t used = 0;
    md5_of("first", 5, md5a);
    md5_of("second!", 7, md5b);
    header_text(h1, sizeof h1, "one.txt", 5, md5a);
    header_text(h2, sizeof h2, "two.txt", 7, md5b);
    /* Header, body, header, body: all in one write, as TCP may deliver them. */
    put_prefix(all + used, (uint32_t)strlen(h1));
    memcpy(all + used + 4, h1, strlen(h1));
    used += 4 + strlen(h1);
    memcpy(all + used, "first", 5);
    used += 5;
    put_prefix(all + used, (uint32_t)strlen(h2));
    memcpy(all + used + 4, h2, strlen(h2));
    used += 4 + strlen(h2);
    memcpy(all + used, "second!", 7);
    used += 7;
    send_or_fail(fds[0], all, used);
    shutdown(fds[0], SHUT_WR);

    int rc = recv_file(&res, &err);
    expect_returned("after the sender sent two files in one write, the first ft_recv_file", rc,
                    1, err);
    rc = recv_file(&res, &err);
    expect_returned("after the sender sent two files in one write, the second ft_recv_file "
                    "(read exactly file_size body bytes: the next header follows at once)",
                    rc, 1, err);
    expect_stored("after two files in one write", "one.txt", "first", 5);
    expect_stored("after two files in one write", "two.txt", "second!", 7);
    rc = recv_file(&res, &err);
    expect_returned("after both files, at EOF, the third ft_recv_file", rc, 0, err);
}

Test(ft_recv_file, receives_a_transfer_that_arrives_one_byte_at_a_time)
{
    unsigned char all[512];
    char header[256], md5[33];
    struct ft_result res;
    int err;
    md5_of("bytes one by one", 16, md5);
    header_text(header, sizeof header, "slow.txt", 16, md5);
    size_t hlen = strlen(header);
    put_prefix(all, (uint32_t)hlen);
    memcpy(all + 4, header, hlen);
    memcpy(all + 4 + hlen, "bytes one by one", 16);
    struct dribbler d = {.fd = fds[0], .reader_fd = fds[1], .data = all, .len = 4 + hlen + 16};
    dribbler_start(&d);
    int rc = recv_file(&res, &err);
    cr_assert(dribbler_join(&d, ARRIVAL_MS) == 0, "test set-up: the peer hung");
    expect_returned("after the sender sent a header and a 16-byte body one byte at a time, "
                    "ft_recv_file", rc, 1, err);
    expect_stored("after a transfer one byte at a time", "slow.txt", "bytes one by one", 16);
}

Test(ft_recv_file, receives_a_1_mib_body)
{
    enum { LEN = 1 << 20, GLUED = 4096 };
    static unsigned char data[LEN];
    char header[256], md5[33];
    struct ft_result res;
    int err;
    fill_pattern(data, LEN);
    md5_of(data, LEN, md5);
    header_text(header, sizeof header, "big.bin", LEN, md5);
    send_frame_or_fail(fds[0], header, (uint32_t)strlen(header));
    /* The body's first bytes are queued behind the header before ft_recv_file runs, so it
     * finds them glued to the header on every run, as a stream may deliver them. The rest
     * is more than the socket holds: the peer writes it on a thread of its own. */
    send_or_fail(fds[0], data, GLUED);
    struct writer w = {.fd = fds[0], .buf = data + GLUED, .len = LEN - GLUED};
    writer_start(&w);
    int rc = recv_file(&res, &err);
    expect_returned("after the sender sent a 1 MiB file, ft_recv_file", rc, 1, err);
    cr_assert(writer_join(&w, ARRIVAL_MS) == 0, "test set-up: the peer's writer hung");
    expect_stored("after a 1 MiB file", "big.bin", data, LEN);
}

/* ft_recv_file(fds[1], dir, res) on a thread of its own. */
static long call_ft_recv_file(void *arg)
{
    return ft_recv_file(fds[1], dir, arg);
}

/* 1 when dir/name exists within timeout_ms (0 at once when call has returned). */
static int appears_within(const char *name, int timeout_ms, struct bg_call *call)
{
    long long deadline = monotonic_ms() + timeout_ms;
    while (!file_exists(dir, name)) {
        if (monotonic_ms() >= deadline || bg_returned_within(call, 0))
            return 0;
        struct timespec ms = {.tv_sec = 0, .tv_nsec = 1000000};
        nanosleep(&ms, NULL);
    }
    return 1;
}

Test(ft_recv_file, writes_the_body_to_name_part_then_renames_it)
{
    char header[256], md5[33], listing[512];
    struct ft_result res;
    md5_of("0123456789", 10, md5);
    header_text(header, sizeof header, "ten.txt", 10, md5);
    send_frame_or_fail(fds[0], header, (uint32_t)strlen(header));
    send_or_fail(fds[0], "01234", 5);
    struct bg_call call;
    bg_start(&call, call_ft_recv_file, &res);
    cr_assert(appears_within("ten.txt.part", ARRIVAL_MS, &call), "with 5 of the 10 body bytes of "
              "ten.txt sent, ft_recv_file should have been writing DIR/ten.txt.part, but "
              "instead DIR held %s (ft_recv_file returned %ld, errno %s)",
              dir_listing(dir, listing, sizeof listing), call.rc, errno_text(call.err));
    cr_assert(!file_exists(dir, "ten.txt"), "with 5 of the 10 body bytes sent, DIR/ten.txt "
              "should not exist yet (only a checked body becomes NAME), but instead it did");
    send_or_fail(fds[0], "56789", 5);
    cr_assert(bg_join(&call, ARRIVAL_MS) == 0, "after the whole body was sent, ft_recv_file "
              "should have returned, but instead it was still running after %d ms",
              ARRIVAL_MS);
    expect_returned("after the sender sent ten.txt in two pieces, ft_recv_file", call.rc, 1,
                    call.err);
    expect_stored("after ten.txt", "ten.txt", "0123456789", 10);
}

Test(ft_recv_file, replaces_a_file_already_there)
{
    char path[512];
    struct ft_result res;
    int err;
    write_file_or_fail(path_join(path, sizeof path, dir, "hello.txt"), "an older, longer one",
                       20);
    send_file_parts("hello.txt", HELLO, 6);
    int rc = recv_file(&res, &err);
    expect_returned("with DIR/hello.txt already there, ft_recv_file of a new hello.txt", rc, 1,
                    err);
    expect_stored("after a new hello.txt replaced the old one", "hello.txt", HELLO, 6);
}

/* ---- a body rejected, the connection in step ---- */

/* A header announcing 6 bytes with the md5 of HELLO, then a body that is not HELLO. */
static void send_file_with_wrong_md5(void)
{
    char header[256];
    header_text(header, sizeof header, "hello.txt", 6, HELLO_MD5);
    send_frame_or_fail(fds[0], header, (uint32_t)strlen(header));
    send_or_fail(fds[0], "HELLO\n", 6);
}

Test(ft_recv_file, returns_1_with_ok_0_and_stores_nothing_on_an_md5_mismatch)
{
    struct ft_result res;
    int err;
    send_file_with_wrong_md5();
    int rc = recv_file(&res, &err);
    const char *what = "after the sender sent hello.txt whose body does not match its md5";
    char call[256];
    snprintf(call, sizeof call, "%s, ft_recv_file (the body was read in full: the "
             "connection is still in step)", what);
    expect_returned(call, rc, 1, err);
    cr_assert(res.ok == 0 && res.reason[0] != '\0', "%s, res should have held ok 0 and a "
              "reason, but instead it held ok %d and reason '%.159s'", what, res.ok,
              res.reason);
    expect_refusal_ack(what);
    expect_nothing_stored(what);
}

Test(ft_recv_file, goes_on_with_the_next_file_after_an_md5_mismatch)
{
    struct ft_result res;
    int err;
    send_file_with_wrong_md5();
    send_file_parts("next.txt", "next one", 8);
    recv_file(&res, &err);
    int rc = recv_file(&res, &err);
    expect_returned("after a file with a wrong md5, the next ft_recv_file on the same "
                    "connection", rc, 1, err);
    expect_stored("after a file with a wrong md5 and then next.txt", "next.txt", "next one", 8);
}

Test(ft_recv_file, reads_and_refuses_a_body_it_cannot_write)
{
    char missing[TEMP_DIR_LEN + 16];
    struct ft_result res;
    send_file_parts("hello.txt", HELLO, 6);
    send_or_fail(fds[0], "NEXT", 4); /* the start of whatever comes next */
    path_join(missing, sizeof missing, dir, "missing");
    errno = 0;
    int rc = ft_recv_file(fds[1], missing, &res);
    int err = errno;
    const char *what = "with a folder that does not exist, after the sender sent hello.txt";
    char call[256];
    snprintf(call, sizeof call, "%s, ft_recv_file (read the body in full anyway: the "
             "connection stays in step)", what);
    expect_returned(call, rc, 1, err);
    cr_assert(res.ok == 0, "%s, res.ok should have been 0, but instead it was %d", what,
              res.ok);
    expect_refusal_ack(what);
    int left = queued_bytes(fds[1]);
    cr_assert(left == 4, "%s, the 4 bytes after its body should still have been unread, but "
              "instead %d were: read exactly file_size bytes, even when you drop them", what,
              left);
}

/* ---- a connection given up ---- */

Test(ft_recv_file, returns_minus_1_and_leaves_no_part_when_the_body_is_cut_short)
{
    char header[256];
    struct ft_result res;
    int err;
    header_text(header, sizeof header, "cut.txt", 10, HELLO_MD5);
    send_frame_or_fail(fds[0], header, (uint32_t)strlen(header));
    send_or_fail(fds[0], "01234", 5);
    shutdown(fds[0], SHUT_WR);
    int rc = recv_file(&res, &err);
    const char *what = "after the sender sent 5 of 10 body bytes and closed";
    char call[256];
    snprintf(call, sizeof call, "%s, ft_recv_file", what);
    expect_returned(call, rc, -1, err);
    cr_assert(res.size == 10 && strcmp(res.md5, HELLO_MD5) == 0 && res.ok == 0, "%s, res "
              "should have held size 10 and md5 " HELLO_MD5 " (the header was valid) and ok 0, "
              "but instead it held size %llu, md5 '%.32s', ok %d", what,
              (unsigned long long)res.size, res.md5, res.ok);
    expect_nothing_stored(what);
}

/* A valid header declaring size bytes, then 13 of them and EOF: ft_recv_file must take the
 * size whole (res->size), then fail on the cut-short body and store nothing. Runs on a
 * fresh pair. */
static void expect_size_read_whole(unsigned long long size, const char *why)
{
    char header[256], what[256], call[320];
    struct ft_result res;
    int err;

    close(fds[0]);
    close(fds[1]);
    open_stream_pair(fds);
    snprintf(header, sizeof header, "{\"file_name\": \"huge.bin\", \"file_size\": %llu, "
             "\"md5\": \"" HELLO_MD5 "\"}", size);
    send_frame_or_fail(fds[0], header, (uint32_t)strlen(header));
    send_or_fail(fds[0], "only a little", 13);
    shutdown(fds[0], SHUT_WR);
    int rc = recv_file(&res, &err);
    snprintf(what, sizeof what, "after a header announcing %llu bytes (%s), then 13 bytes and "
             "EOF", size, why);
    snprintf(call, sizeof call, "%s, ft_recv_file", what);
    expect_returned(call, rc, -1, err);
    cr_assert(res.size == size, "%s, res.size should have been %llu (the header was valid), "
              "but instead it was %llu", what, size, (unsigned long long)res.size);
    expect_nothing_stored(what);
}

Test(ft_recv_file, reads_a_file_size_of_3000000000_as_a_64_bit_number)
{
    expect_size_read_whole(3000000000ull, "over 2^31: not an int");
    expect_size_read_whole(4295967296ull, "over 2^32: not a uint32_t either");
}

/* A header (len bytes) that must be refused: then a body that would suit a lenient reading
 * (5 bytes, "hello"), so that accepting it shows as a stored file and not as a cut-short
 * body. ft_recv_file must return -1 with res->name want_name (NULL: not checked), size 0,
 * md5 "", ok 0 and a reason, ack ok:false and store nothing. Runs on a fresh pair each time. */
static void expect_refused_header(const char *what, const char *header, size_t len,
                                  const char *want_name)
{
    struct ft_result res;
    int err;
    char call[512], name_text[DESCRIBE_LEN], want_text[DESCRIBE_LEN];

    close(fds[0]);
    close(fds[1]);
    open_stream_pair(fds);
    send_frame_or_fail(fds[0], header, (uint32_t)len);
    send_or_fail(fds[0], "hello", 5);
    shutdown(fds[0], SHUT_WR);
    int rc = recv_file(&res, &err);
    snprintf(call, sizeof call, "after the header %s (%s), ft_recv_file",
             describe_bytes(header, len, name_text), what);
    expect_returned(call, rc, -1, err);
    if (want_name != NULL)
        cr_assert(strcmp(res.name, want_name) == 0, "%s returned -1 as it should, but res.name "
                  "should have been %s (as received, valid or not), and instead it was %s",
                  call, describe_bytes(want_name, strlen(want_name), want_text),
                  describe_bytes(res.name, strnlen(res.name, sizeof res.name), name_text));
    cr_assert(res.size == 0 && res.md5[0] == '\0' && res.ok == 0 && res.reason[0] != '\0',
              "%s returned -1 as it should, but res should have held size 0 and md5 \"\" (the "
              "header was not valid), ok 0 and a reason, and instead it held size %llu, md5 "
              "'%.32s', ok %d, reason '%.100s'", call, (unsigned long long)res.size, res.md5,
              res.ok, res.reason);
    expect_refusal_ack(call);
    expect_nothing_stored(call);
}

/* A header with file_name written as JSON text (escapes allowed), and a valid size and md5
 * for the body "hello". */
static void expect_refused_name(const char *json_name, const char *want_name)
{
    char header[1024];
    snprintf(header, sizeof header, "{\"file_name\": \"%s\", \"file_size\": 5, \"md5\": "
             "\"5d41402abc4b2a76b9719d911017c592\"}", json_name);
    expect_refused_header("a bad file_name", header, strlen(header), want_name);
}

Test(ft_recv_file, refuses_names_that_are_paths)
{
    char escape[64];
    snprintf(escape, sizeof escape, "../socklab04-escaped-%d", (int)getpid());
    snprintf(escaped, sizeof escaped, "/tmp/socklab04-escaped-%d", (int)getpid());
    expect_refused_name(escape, escape);
    cr_assert(access(escaped, F_OK) != 0, "a file_name of ../NAME must be refused, but "
              "instead ft_recv_file wrote NAME in the folder above DIR");
    expect_refused_name("a/b", "a/b");
    expect_refused_name("a\\\\b", "a\\b");
    expect_refused_name(".", ".");
    expect_refused_name("..", "..");
}

Test(ft_recv_file, refuses_names_with_a_control_character)
{
    expect_refused_name("bad\\u0001name", "bad\x01name");
    expect_refused_name("tab\\there", "tab\there");
    expect_refused_name("del\\u007f", "del\x7f");
    expect_refused_name("nul\\u0000.txt", NULL); /* a C string ends at the NUL */
}

Test(ft_recv_file, refuses_an_empty_name_and_one_over_200_bytes)
{
    char long_name[202];
    memset(long_name, 'n', 201);
    long_name[201] = '\0';
    expect_refused_name("", "");
    expect_refused_name(long_name, long_name);
}

Test(ft_recv_file, reports_the_name_as_received_cut_to_255_bytes_or_empty)
{
    char long_name[301], want[256];
    memset(long_name, 'x', 300);
    long_name[300] = '\0';
    memcpy(want, long_name, 255);
    want[255] = '\0';
    expect_refused_name(long_name, want);
    const char *numeric = "{\"file_name\": 42, \"file_size\": 5, \"md5\": "
                          "\"5d41402abc4b2a76b9719d911017c592\"}";
    expect_refused_header("file_name not a string: res.name is \"\"", numeric, strlen(numeric),
                          "");
}

Test(ft_recv_file, refuses_a_bad_file_size_or_md5)
{
    static const char *const sizes[] = {"-5", "5.5", "\"5\"", "9007199254740994", "null"};
    static const char *const md5s[] = {"5D41402ABC4B2A76B9719D911017C592",
                                       "5d41402abc4b2a76b9719d911017c59",
                                       "5d41402abc4b2a76b9719d911017c5920",
                                       "5d41402abc4b2a76b9719d911017c59g"};
    char header[512];
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        snprintf(header, sizeof header, "{\"file_name\": \"ok.txt\", \"file_size\": %s, \"md5\": "
                 "\"5d41402abc4b2a76b9719d911017c592\"}", sizes[i]);
        expect_refused_header("file_size must be a whole number from 0 to 2^53", header,
                              strlen(header), "ok.txt");
    }
    for (size_t i = 0; i < sizeof md5s / sizeof md5s[0]; i++) {
        snprintf(header, sizeof header, "{\"file_name\": \"ok.txt\", \"file_size\": 5, \"md5\": "
                 "\"%s\"}", md5s[i]);
        expect_refused_header("md5 must be 32 lowercase hex digits", header, strlen(header),
                              "ok.txt");
    }
}

Test(ft_recv_file, refuses_a_header_that_is_not_exactly_one_json_object)
{
    static const char *const headers[] = {
        "[\"ok.txt\", 5, \"5d41402abc4b2a76b9719d911017c592\"]",
        "{\"file_name\": \"ok.txt\", \"file_size\": 5, \"md5\": "
        "\"5d41402abc4b2a76b9719d911017c592\"} trailing",
        "{\"file_name\": \"ok.txt\", \"file_size\": 5, \"md5\": "
        "\"5d41402abc4b2a76b9719d911017c592\"}{}",
        "{\"file_name\": \"ok.txt\", \"file_size\": 5, \"md5\": ",
        "file_name=ok.txt",
        "",
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++)
        expect_refused_header("not exactly one JSON object", headers[i], strlen(headers[i]),
                              NULL);
}

Test(ft_recv_file, accepts_white_space_extra_keys_and_a_200_byte_name)
{
    char name[201], header[512];
    struct ft_result res;
    int err;
    memset(name, 'n', 200);
    name[200] = '\0';
    snprintf(header, sizeof header, " \t\r\n{\"note\": [1, {\"x\": null}], \"md5\": \"%s\", "
             "\"file_size\": 6, \"file_name\": \"%s\"}\n ", HELLO_MD5, name);
    send_frame_or_fail(fds[0], header, (uint32_t)strlen(header));
    send_or_fail(fds[0], HELLO, 6);
    int rc = recv_file(&res, &err);
    expect_returned("after a header with white space around it, an extra key, the keys in "
                    "another order and a file_name of 200 bytes (all allowed), ft_recv_file",
                    rc, 1, err);
    expect_stored("after a header with a 200-byte name", name, HELLO, 6);
}

/* A header frame of len bytes: a valid header padded with spaces inside the object. */
static void send_padded_header(size_t len)
{
    static char header[FT_HEADER_MAX + 16];
    int head = snprintf(header, sizeof header, "{\"file_name\": \"pad.txt\", \"file_size\": 6, "
                        "\"md5\": \"%s\"", HELLO_MD5);
    memset(header + head, ' ', len - (size_t)head - 1);
    header[len - 1] = '}';
    send_frame_or_fail(fds[0], header, (uint32_t)len);
}

Test(ft_recv_file, refuses_a_header_over_ft_header_max_without_reading_it)
{
    struct bg_call call;
    struct ft_result res;
    unsigned char prefix[4];
    put_prefix(prefix, FT_HEADER_MAX + 1);
    send_or_fail(fds[0], prefix, 4);
    send_or_fail(fds[0], "{\"file_name\"", 12); /* and the peer stays open */
    bg_start(&call, call_ft_recv_file, &res);
    cr_assert(bg_join(&call, ARRIVAL_MS) == 0, "after a header frame of FT_HEADER_MAX + 1 bytes "
              "was announced, ft_recv_file should have refused it at once, but instead it was "
              "still running after %d ms (reading it?)", ARRIVAL_MS);
    expect_returned("after a header frame of FT_HEADER_MAX + 1 bytes was announced, "
                    "ft_recv_file", call.rc, -1, call.err);
    int left = queued_bytes(fds[1]);
    cr_assert(left == 12, "after refusing a header over FT_HEADER_MAX, the 12 bytes sent after "
              "its prefix should still have been unread, but instead %d were", left);
    expect_refusal_ack("after a header over FT_HEADER_MAX");
}

Test(ft_recv_file, accepts_a_header_of_exactly_ft_header_max_bytes)
{
    struct ft_result res;
    int err;
    send_padded_header(FT_HEADER_MAX);
    send_or_fail(fds[0], HELLO, 6);
    int rc = recv_file(&res, &err);
    expect_returned("after a valid header of exactly FT_HEADER_MAX bytes (padded with white "
                    "space), ft_recv_file", rc, 1, err);
    expect_stored("after a header of FT_HEADER_MAX bytes", "pad.txt", HELLO, 6);
}
