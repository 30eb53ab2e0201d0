/* test_ft_send_file.c - ft_send_file: header frame, raw body, then the receiver's ack. */
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

/* "hello\n", a file everybody can check with md5sum. */
#define HELLO "hello\n"
#define HELLO_MD5 "b1946ac92492d2347c6235b4d2611184"

/* fds and dir (helpers.h): fds[0] is where ft_send_file writes, fds[1] the test's peer; dir
 * holds the files to send. */
TestSuite(ft_send_file, .init = pair_dir_set_up, .fini = pair_dir_tear_down,
          .timeout = TEST_TIMEOUT_S);

/* dir/name with len bytes of data; its path in path (PATH_LEN bytes). */
#define PATH_LEN 256
static void make_file(char path[PATH_LEN], const char *name, const void *data, size_t len)
{
    write_file_or_fail(path_join(path, PATH_LEN, dir, name), data, len);
}

/* The receiver's ack, sent before ft_send_file runs: it waits in the socket until read. */
static void queue_ack(const char *json)
{
    send_frame_or_fail(fds[1], json, (uint32_t)strlen(json));
}

static void queue_ok_ack(const char *md5)
{
    char ack[128];
    snprintf(ack, sizeof ack, "{\"ok\": true, \"md5\": \"%s\"}", md5);
    queue_ack(ack);
}

/* ft_send_file(fds[0], path, res) on the test's thread; call describes it. */
static int send_file(const char *path, struct ft_result *res, int *err)
{
    memset(res, 0x5a, sizeof *res); /* every field must be set, not left as it was */
    errno = 0;
    int rc = ft_send_file(fds[0], path, res);
    *err = errno;
    return rc;
}

/* Read the header frame ft_send_file sent and parse it (cJSON_Delete it), or fail. stop_fd:
 * readable once ft_send_file returned (it runs on a thread of its own), or -1 when it has
 * returned already (its side is then shut down: a header that never came shows at once). */
static cJSON *read_header(int stop_fd)
{
    static char text[FT_HEADER_MAX + 1];
    uint32_t len = 0;
    if (stop_fd < 0)
        shutdown(fds[0], SHUT_WR);
    int rc = recv_frame_for(fds[1], text, FT_HEADER_MAX, &len, ARRIVAL_MS, stop_fd);
    cr_assert(rc == 1, "ft_send_file should have sent a header frame first (a 4-byte "
              "big-endian length, then that many bytes of JSON), but instead the peer got %s",
              rc == 0 ? "EOF" : len > FT_HEADER_MAX ? "a length over FT_HEADER_MAX"
              : "no whole frame");
    cJSON *header = cJSON_ParseWithLength(text, len);
    char shown[DESCRIBE_LEN];
    cr_assert(cJSON_IsObject(header), "the header frame should have held a JSON object, but "
              "instead it held %s", describe_bytes(text, len, shown));
    return header;
}

/* Expect the body (len bytes of want) next on the peer, then EOF once ft_send_file's side is
 * shut down; call ft_send_file first. */
static void expect_body(const void *want, size_t len)
{
    static unsigned char got[1 << 16];
    int eof;
    shutdown(fds[0], SHUT_WR);
    size_t n = recv_for(fds[1], got, len + 1, ARRIVAL_MS, -1, &eof);
    cr_assert(n == len && eof, "after the header frame, ft_send_file should have sent the "
              "body: exactly the file's %zu bytes, raw (not framed), and nothing more; but "
              "instead the peer got %zu bytes%s", len, n, eof ? "" : " and no EOF");
    expect_same_bytes("the body", want, got, len);
}

Test(ft_send_file, sends_a_header_with_exactly_file_name_file_size_and_md5)
{
    char path[PATH_LEN];
    struct ft_result res;
    int err;
    make_file(path, "hello.txt", HELLO, 6);
    queue_ok_ack(HELLO_MD5);
    send_file(path, &res, &err);
    cJSON *header = read_header(-1);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(header, "file_name");
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(header, "file_size");
    const cJSON *md5 = cJSON_GetObjectItemCaseSensitive(header, "md5");
    int keys = cJSON_GetArraySize(header);
    int name_ok = cJSON_IsString(name) && strcmp(name->valuestring, "hello.txt") == 0;
    int size_ok = cJSON_IsNumber(size) && size->valuedouble == 6.0;
    int md5_ok = cJSON_IsString(md5) && strcmp(md5->valuestring, HELLO_MD5) == 0;
    char *text = cJSON_PrintUnformatted(header);
    char shown[DESCRIBE_LEN];
    describe_bytes(text, strlen(text), shown);
    cJSON_free(text);
    cJSON_Delete(header);
    cr_assert(keys == 3 && name_ok && size_ok && md5_ok, "for the file hello.txt holding "
              "'hello' and a newline, the header should have been {\"file_name\": "
              "\"hello.txt\", \"file_size\": 6, \"md5\": \"" HELLO_MD5 "\"} (exactly these "
              "keys; file_size a number), but instead it was %s", shown);
}

Test(ft_send_file, sends_the_body_raw_right_after_the_header)
{
    static unsigned char data[5000];
    char path[PATH_LEN], md5[33];
    struct ft_result res;
    int err;
    fill_pattern(data, sizeof data);
    memcpy(data, "\x00\x0a\x0d\x0a\x1a", 5); /* bytes that text mode or strlen would break */
    md5_of(data, sizeof data, md5);
    make_file(path, "data.bin", data, sizeof data);
    queue_ok_ack(md5);
    send_file(path, &res, &err);
    cJSON_Delete(read_header(-1));
    expect_body(data, sizeof data);
}

Test(ft_send_file, returns_0_and_fills_res_when_the_ack_is_ok)
{
    char path[PATH_LEN];
    struct ft_result res;
    int err;
    make_file(path, "hello.txt", HELLO, 6);
    queue_ok_ack(HELLO_MD5);
    int rc = send_file(path, &res, &err);
    expect_returned("ft_send_file(fd, \"DIR/hello.txt\", &res), acked {\"ok\": true, \"md5\": "
                    "the file's md5},", rc, 0, err);
    cr_assert(strcmp(res.name, "hello.txt") == 0 && res.size == 6 &&
              strcmp(res.md5, HELLO_MD5) == 0 && res.ok == 1,
              "after ft_send_file sent hello.txt (6 bytes) and got an ok ack, res should have "
              "held name 'hello.txt', size 6, md5 " HELLO_MD5 " and ok 1, but instead it held "
              "name '%.40s', size %llu, md5 '%.32s', ok %d", res.name,
              (unsigned long long)res.size, res.md5, res.ok);
}

Test(ft_send_file, names_the_file_by_the_base_name_of_its_path)
{
    char sub[PATH_LEN], path[PATH_LEN];
    struct ft_result res;
    int err;
    path_join(sub, sizeof sub, dir, "sub");
    cr_assert(mkdir(sub, 0700) == 0, "test set-up: mkdir failed");
    write_file_or_fail(path_join(path, sizeof path, sub, "inner.txt"), HELLO, 6);
    queue_ok_ack(HELLO_MD5);
    send_file(path, &res, &err);
    cJSON *header = read_header(-1);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(header, "file_name");
    char got[64];
    snprintf(got, sizeof got, "%s", cJSON_IsString(name) ? name->valuestring : "(none)");
    cJSON_Delete(header);
    cr_assert(strcmp(got, "inner.txt") == 0, "for the path DIR/sub/inner.txt, file_name "
              "should have been the base name 'inner.txt' (the receiver refuses paths), but "
              "instead it was '%s'", got);
}

Test(ft_send_file, sends_an_empty_file_as_a_header_with_size_0_and_no_body)
{
    char path[PATH_LEN], md5[33];
    struct ft_result res;
    int err;
    md5_of("", 0, md5);
    make_file(path, "empty", "", 0);
    queue_ok_ack(md5);
    int rc = send_file(path, &res, &err);
    cJSON *header = read_header(-1);
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(header, "file_size");
    double got = cJSON_IsNumber(size) ? size->valuedouble : -1;
    cJSON_Delete(header);
    cr_assert(got == 0.0, "for an empty file, file_size should have been 0, but instead it "
              "was %g", got);
    expect_body("", 0);
    expect_returned("ft_send_file of an empty file, acked ok,", rc, 0, err);
}

/* ft_send_file(fds[0], path, &res) on a thread of its own. */
struct send_args {
    const char *path;
    struct ft_result res;
};

static long call_ft_send_file(void *arg)
{
    struct send_args *a = arg;
    return ft_send_file(fds[0], a->path, &a->res);
}

Test(ft_send_file, streams_a_1_mib_file_then_waits_for_the_ack)
{
    enum { LEN = 1 << 20 };
    static unsigned char data[LEN], got[LEN];
    char path[PATH_LEN], md5[33];
    fill_pattern(data, LEN);
    md5_of(data, LEN, md5);
    make_file(path, "big.bin", data, LEN);
    struct send_args args = {.path = path};
    struct bg_call call;
    bg_start(&call, call_ft_send_file, &args);
    cJSON_Delete(read_header(call.done_pipe[0]));
    size_t n = recv_for(fds[1], got, LEN, 3 * ARRIVAL_MS, call.done_pipe[0], NULL);
    cr_assert(n == LEN, "ft_send_file of a 1 MiB file should have sent a body of 1048576 "
              "bytes, but instead the peer got %zu (ft_send_file returned %ld, errno %s)", n,
              call.rc, errno_text(call.err));
    expect_same_bytes("the 1 MiB body", data, got, LEN);
    cr_assert(!bg_returned_within(&call, QUIET_MS), "ft_send_file should have waited for the "
              "receiver's ack after the body, but instead it returned %ld before any ack was "
              "sent", call.rc);
    queue_ok_ack(md5);
    cr_assert(bg_join(&call, ARRIVAL_MS) == 0, "after the receiver sent its ack, ft_send_file "
              "should have returned, but instead it was still running after %d ms", ARRIVAL_MS);
    expect_returned("ft_send_file of a 1 MiB file, acked ok,", call.rc, 0, call.err);
}

Test(ft_send_file, returns_minus_1_with_the_receivers_error_as_reason)
{
    char path[PATH_LEN];
    struct ft_result res;
    int err;
    make_file(path, "hello.txt", HELLO, 6);
    queue_ack("{\"ok\": false, \"error\": \"disk full\"}");
    int rc = send_file(path, &res, &err);
    expect_returned("ft_send_file, acked {\"ok\": false, \"error\": \"disk full\"},", rc, -1,
                    err);
    cr_assert(res.ok == 0 && strstr(res.reason, "disk full") != NULL, "after the receiver "
              "acked {\"ok\": false, \"error\": \"disk full\"}, res should have held ok 0 and "
              "the receiver's error text in reason, but instead it held ok %d and reason "
              "'%.159s'", res.ok, res.reason);
}

Test(ft_send_file, returns_minus_1_when_the_acks_md5_differs)
{
    char path[PATH_LEN];
    struct ft_result res;
    int err;
    make_file(path, "hello.txt", HELLO, 6);
    queue_ok_ack("0123456789abcdef0123456789abcdef");
    int rc = send_file(path, &res, &err);
    cJSON_Delete(read_header(-1)); /* it did send the file */
    expect_returned("ft_send_file of hello.txt, acked {\"ok\": true} with another file's md5 "
                    "(the receiver stored something else),", rc, -1, err);
    cr_assert(res.ok == 0 && res.reason[0] != '\0', "after an ack with the wrong md5, res "
              "should have held ok 0 and a reason, but instead it held ok %d and reason "
              "'%.159s'", res.ok, res.reason);
}

/* An ok ack with the right md5, padded with an extra key to exactly len bytes. */
static void queue_padded_ok_ack(const char *md5, size_t len)
{
    static char ack[FT_ACK_MAX + 64];
    int head = snprintf(ack, sizeof ack, "{\"ok\": true, \"md5\": \"%s\", \"pad\": \"", md5);
    memset(ack + head, 'p', len - (size_t)head - 2);
    memcpy(ack + len - 2, "\"}", 2);
    send_frame_or_fail(fds[1], ack, (uint32_t)len);
}

Test(ft_send_file, fails_when_the_ack_is_longer_than_ft_ack_max)
{
    char path[PATH_LEN];
    struct ft_result res;
    int err;
    make_file(path, "hello.txt", HELLO, 6);
    queue_padded_ok_ack(HELLO_MD5, FT_ACK_MAX + 1);
    int rc = send_file(path, &res, &err);
    cJSON_Delete(read_header(-1)); /* it did send the file */
    expect_returned("ft_send_file, acked ok with the right md5 but in a frame of FT_ACK_MAX + "
                    "1 bytes (read the ack with frame_recv and a cap of FT_ACK_MAX),", rc, -1,
                    err);
    cr_assert(res.ok == 0 && res.reason[0] != '\0', "after an ack over FT_ACK_MAX bytes, res "
              "should have held ok 0 and a reason, but instead it held ok %d and reason "
              "'%.159s'", res.ok, res.reason);
}

Test(ft_send_file, accepts_an_ack_of_exactly_ft_ack_max_bytes)
{
    char path[PATH_LEN];
    struct ft_result res;
    int err;
    make_file(path, "hello.txt", HELLO, 6);
    queue_padded_ok_ack(HELLO_MD5, FT_ACK_MAX);
    int rc = send_file(path, &res, &err);
    expect_returned("ft_send_file, acked ok in a frame of exactly FT_ACK_MAX bytes (an extra "
                    "key pads it; extra keys are ignored),", rc, 0, err);
}

Test(ft_send_file, fails_when_the_receiver_closes_without_an_ack)
{
    char path[PATH_LEN];
    struct ft_result res;
    int err;
    make_file(path, "hello.txt", HELLO, 6);
    shutdown(fds[1], SHUT_WR); /* the receiver sends nothing more: no ack will come */
    int rc = send_file(path, &res, &err);
    cJSON_Delete(read_header(-1)); /* it did send the file */
    expect_returned("ft_send_file, when the receiver closed without sending an ack,", rc, -1,
                    err);
    cr_assert(res.ok == 0 && res.reason[0] != '\0', "when no ack came, res should have held "
              "ok 0 and a reason, but instead it held ok %d and reason '%.159s'", res.ok,
              res.reason);
}

Test(ft_send_file, refuses_a_directory_or_a_missing_file_and_sends_nothing)
{
    char path[PATH_LEN], folder[PATH_LEN], missing[PATH_LEN];
    struct ft_result res;
    int err;
    make_file(path, "hello.txt", HELLO, 6);
    path_join(folder, sizeof folder, dir, "folder");
    cr_assert(mkdir(folder, 0700) == 0, "test set-up: mkdir failed");
    path_join(missing, sizeof missing, dir, "no-such-file");
    queue_ok_ack(HELLO_MD5);
    int rc = send_file(path, &res, &err);
    expect_returned("ft_send_file(fd, \"DIR/hello.txt\", &res), acked ok,", rc, 0, err);
    int before = queued_bytes(fds[1]);

    rc = send_file(folder, &res, &err);
    expect_returned("after a file was sent, ft_send_file(fd, \"DIR/folder\", &res), a "
                    "directory (not a regular file: fstat and S_ISREG),", rc, -1, err);
    cr_assert(res.ok == 0 && res.reason[0] != '\0', "after refusing a directory, res should "
              "have held ok 0 and a reason, but instead it held ok %d and reason '%.159s'",
              res.ok, res.reason);
    rc = send_file(missing, &res, &err);
    expect_returned("ft_send_file(fd, \"DIR/no-such-file\", &res)", rc, -1, err);
    int sent = queued_bytes(fds[1]) - before;
    cr_assert(sent == 0, "ft_send_file should have refused a directory and a missing file "
              "before sending anything, but instead it sent %d bytes for them", sent);
}
