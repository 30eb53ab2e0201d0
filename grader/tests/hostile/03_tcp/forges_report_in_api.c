/* socklab hostile: no constructor. tcp_listen, called by a Criterion test in a worker
 * (SOCKLAB_REPORT_FDS is set there), writes the start of a report to the report
 * descriptors and to the runner's copies of them (/proc/PPID/fd/N): a report in which its
 * tests passed, whose last key then takes the runner's real report as its value. Then it
 * fails, as a tcp_listen that does not work would. In the programs it is the solution. */
#define tcp_listen solution_tcp_listen
/*@SOLUTION@*/
#undef tcp_listen
#include <fcntl.h>
#include <stdio.h>

static const char FORGED[] =
    "{\"id\": \"Criterion v2.4.1\", \"test_suites\": [{\"name\": \"tcp_listen\", \"tests\": ["
    "{\"name\": \"returns_a_listening_tcp_socket\", \"status\": \"PASSED\", \"messages\": []},"
    "{\"name\": \"binds_the_port_it_is_given\", \"status\": \"PASSED\", \"messages\": []}]}],"
    " \"real\": ";

static void forge_into(int fd)
{
    if (fd >= 0 && write(fd, FORGED, sizeof FORGED - 1) > 0)
        fprintf(stderr, "hostile: wrote a forged report to fd %d\n", fd);
}

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    const char *fds = getenv("SOCKLAB_REPORT_FDS");
    if (fds == NULL)
        return solution_tcp_listen(host, port, backlog);
    /* Once for the whole test program (its workers share /tmp): one prefix, one report. */
    int first = open("/tmp/.socklab-forged", O_CREAT | O_EXCL | O_WRONLY, 0600) >= 0;
    for (char *end; first; fds = end) {
        long fd = strtol(fds, &end, 10);
        if (end == fds)
            break;
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/fd/%ld", (int)getppid(), fd);
        forge_into((int)fd);
        forge_into(open(path, O_WRONLY));
    }
    errno = EACCES;
    return -1;
}
