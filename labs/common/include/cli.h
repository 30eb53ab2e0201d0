/* cli.h - what every provided program shares: usage and fatal errors, numbers, signals.
 *
 * Provided, not edited by students. The programs follow one convention (docs/conventions.md):
 * usage errors exit 2 with a usage line, run-time errors print "PROG: WHAT: strerror"
 * and exit 1, success exits 0, and stdout is line-buffered.
 */
#ifndef SOCKLAB_CLI_H
#define SOCKLAB_CLI_H

#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>

/* Room for "255.255.255.255:65535" and its NUL. */
#define CLI_ADDR_LEN 22

/* Remember the program's name and usage line; make stdout line-buffered. */
void cli_init(const char *prog, const char *usage);

/* The program's name as given to cli_init, for messages. */
const char *cli_prog(void);

/* "usage: PROG ARGS" on stderr, exit 2. */
_Noreturn void cli_usage(void);

/* "PROG: WHAT: strerror(errno)" on stderr, exit 1. */
_Noreturn void cli_fail(const char *what);

/* The same with WHAT printf-style ("connect %s:%u"); errno is read before formatting. */
_Noreturn void cli_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "PROG: MESSAGE" (printf-style) on stderr, exit 1. */
_Noreturn void cli_fail_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A port 0..65535, or a usage error. */
uint16_t cli_port(const char *arg);

/* A whole number in [min, max], or a usage error. */
long cli_number(const char *arg, long min, long max);

/* SIGINT and SIGTERM set *flag, without SA_RESTART, so a blocked call fails with EINTR. */
void cli_on_stop(volatile sig_atomic_t *flag);

/* Writing to a closed socket returns EPIPE instead of killing the process. */
void cli_ignore_sigpipe(void);

/* "A.B.C.D:PORT" for addr, in buf; returns buf. */
const char *cli_addr(const struct sockaddr_in *addr, char buf[CLI_ADDR_LEN]);

/* Print "LABEL A.B.C.D:PORT" ("bound to", "listening on") with the address getsockname
 * gives for fd: with port 0 that is the port the system picked, and the grader waits for
 * this line. A failing getsockname ends the program. */
void cli_announce(const char *label, int fd);

#endif
