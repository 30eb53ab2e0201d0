/* socklab hostile: tcp_listen, called by a Criterion test in a worker (SOCKLAB_REPORT_FDS
 * is set there), kills Criterion's runner, so that it never writes the report of the tests
 * that failed. In the programs it is the solution. */
#define tcp_listen solution_tcp_listen
/*@SOLUTION@*/
#undef tcp_listen
#include <signal.h>

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    if (getenv("SOCKLAB_REPORT_FDS") != NULL) {
        kill(getppid(), SIGKILL);
        _exit(0);
    }
    return solution_tcp_listen(host, port, backlog);
}
