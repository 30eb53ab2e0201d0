/* test_sock_compat.c - sock_init, sock_cleanup, sock_close, sock_error, sock_strerror: the
 * POSIX side of the compatibility layer. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "sock_compat.h"

static int tcp_socket_or_fail(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "test set-up: socket() failed: %s", errno_text(errno));
    return fd;
}

Test(sock_init, returns_0, .timeout = TEST_TIMEOUT_S)
{
    errno = 0;
    int rc = sock_init();
    expect_returned("sock_init()", rc, 0, errno);
    sock_cleanup();
}

Test(sock_init, returns_0_when_called_again, .timeout = TEST_TIMEOUT_S)
{
    errno = 0;
    int first = sock_init();
    expect_returned("sock_init() the first time", first, 0, errno);
    errno = 0;
    int second = sock_init();
    expect_returned("sock_init() a second time (Winsock counts its start-ups)", second, 0, errno);
    sock_cleanup();
    sock_cleanup();
}

Test(sock_cleanup, leaves_open_sockets_alone, .timeout = TEST_TIMEOUT_S)
{
    cr_assert(sock_init() == 0, "sock_init() should return 0, but it failed: %s",
              errno_text(errno));
    int fd = tcp_socket_or_fail();
    sock_cleanup();
    cr_assert(fd_is_open(fd), "on POSIX sock_cleanup() has nothing to do, but after it the "
              "socket %d the test had opened was closed", fd);
    close(fd);
}

Test(sock_close, closes_an_open_socket, .timeout = TEST_TIMEOUT_S)
{
    int fd = tcp_socket_or_fail();
    errno = 0;
    int rc = sock_close(fd);
    expect_returned("sock_close(an open socket)", rc, 0, errno);
    cr_assert(!fd_is_open(fd), "sock_close(%d) returned 0, but the descriptor is still open: "
              "on POSIX it should close() it", fd);
}

Test(sock_close, frees_the_descriptor, .timeout = TEST_TIMEOUT_S)
{
    int before = lowest_free_fd();
    int fd = tcp_socket_or_fail();
    sock_close(fd);
    int after = lowest_free_fd();
    cr_assert(after == before, "after socket() and sock_close() the lowest free descriptor "
              "should be %d again, but it is %d: the socket was not closed", before, after);
}

Test(sock_close, invalid_socket_returns_minus_1, .timeout = TEST_TIMEOUT_S)
{
    int fd = tcp_socket_or_fail();
    int rc = sock_close(SOCK_INVALID);
    cr_assert(rc == -1, "sock_close(SOCK_INVALID) should return -1, but instead it returned %d",
              rc);
    cr_assert(fd_is_open(fd), "sock_close(SOCK_INVALID) closed descriptor %d, which the test "
              "had open", fd);
    errno = 0;
    rc = sock_close(fd);
    expect_returned("sock_close(an open socket) after sock_close(SOCK_INVALID)", rc, 0, errno);
}

Test(sock_close, already_closed_socket_returns_minus_1, .timeout = TEST_TIMEOUT_S)
{
    int fd = tcp_socket_or_fail();
    errno = 0;
    int rc = sock_close(fd);
    expect_returned("sock_close(an open socket)", rc, 0, errno);
    rc = sock_close(fd);
    cr_assert(rc == -1, "sock_close on a socket closed already should return -1 (close fails "
              "with EBADF), but instead it returned %d", rc);
}

Test(sock_error, returns_errno, .timeout = TEST_TIMEOUT_S)
{
    static const int codes[] = {ECONNREFUSED, EADDRINUSE, ETIMEDOUT, EINTR};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        errno = codes[i];
        int got = sock_error();
        cr_assert(got == codes[i], "with errno %s, sock_error() should return %d, but "
                  "instead it returned %d", errno_text(codes[i]), codes[i], got);
    }
}

Test(sock_error, reports_a_failed_socket_call, .timeout = TEST_TIMEOUT_S)
{
    uint16_t port = unused_port();
    int fd = tcp_socket_or_fail();
    struct sockaddr_in a = loopback_addr(port);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    cr_assert(rc == -1 && errno == ECONNREFUSED, "test set-up: connecting to a port nobody "
              "listens on should be refused");
    int got = sock_error();
    close(fd);
    cr_assert(got == ECONNREFUSED, "after a refused connect(), sock_error() should return "
              "ECONNREFUSED (%d), but instead it returned %d", ECONNREFUSED, got);
}

/* sock_strerror(err, buf, cap) should give exactly want (already cut to cap). */
static void expect_text(int err, size_t cap, const char *want)
{
    char buf[512];
    char shown[DESCRIBE_LEN], wanted[DESCRIBE_LEN];
    cr_assert(cap <= sizeof buf - 8);
    memset(buf, 'X', sizeof buf);
    const char *got = sock_strerror(err, buf, cap);
    cr_assert(got == buf, "sock_strerror(%d, buf, %zu) should return buf, but instead it "
              "returned %p (buf is %p)", err, cap, (const void *)got, (void *)buf);
    size_t len = strnlen(buf, cap);
    cr_assert(len < cap, "sock_strerror(%d, buf, %zu) left buf without its NUL", err, cap);
    cr_assert(strcmp(buf, want) == 0, "sock_strerror(%d, buf, %zu) should give %s, but "
              "instead it gave %s", err, cap, describe_bytes(want, strlen(want), wanted),
              describe_bytes(buf, len, shown));
    for (size_t i = cap; i < sizeof buf; i++)
        cr_assert(buf[i] == 'X', "sock_strerror(%d, buf, %zu) wrote byte %zu, past the end of "
                  "buf", err, cap, i);
}

Test(sock_strerror, gives_the_strerror_text, .timeout = TEST_TIMEOUT_S)
{
    expect_text(ECONNREFUSED, 256, strerror(ECONNREFUSED));
    expect_text(EADDRINUSE, 256, strerror(EADDRINUSE));
}

Test(sock_strerror, gives_the_text_of_the_code_asked_for, .timeout = TEST_TIMEOUT_S)
{
    errno = EINTR; /* not the code asked for */
    expect_text(ENOENT, 256, strerror(ENOENT));
}

Test(sock_strerror, has_no_trailing_newline, .timeout = TEST_TIMEOUT_S)
{
    char buf[256];
    for (int err = 1; err < 134; err++) {
        sock_strerror(err, buf, sizeof buf);
        size_t len = strlen(buf);
        cr_assert(len > 0, "sock_strerror(%d) gave an empty text", err);
        cr_assert(strcmp(buf, strerror(err)) == 0, "sock_strerror(%d) should give strerror's "
                  "text '%s', but instead it gave '%s'", err, strerror(err), buf);
        cr_assert(strchr(buf, '\n') == NULL && strchr(buf, '\r') == NULL,
                  "sock_strerror(%d) should be one line without CR or LF, but it has one", err);
    }
}

Test(sock_strerror, cuts_the_text_to_cap, .timeout = TEST_TIMEOUT_S)
{
    char want[8];
    memcpy(want, strerror(ECONNREFUSED), 7);
    want[7] = '\0';
    expect_text(ECONNREFUSED, 8, want);
}

Test(sock_strerror, cap_1_gives_an_empty_text, .timeout = TEST_TIMEOUT_S)
{
    /* The text must still be the right one when there is room: this fails a stub. */
    expect_text(ETIMEDOUT, 64, strerror(ETIMEDOUT));
    expect_text(ETIMEDOUT, 1, "");
}

Test(sock_strerror, unknown_code_gives_the_system_text, .timeout = TEST_TIMEOUT_S)
{
    /* glibc has a text for every code ("Unknown error 99999"): that is the text to give. */
    char want[256];
    snprintf(want, sizeof want, "%s", strerror(99999));
    expect_text(99999, 256, want);
}
