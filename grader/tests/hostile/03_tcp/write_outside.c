/* socklab hostile: every call of tcp_listen tries to change what lies outside its run: a
 * file of the machine's (the canary), the grader's own code, the reference solution, and
 * a file in the shared /var/tmp; then it behaves as the solution does. */
#define tcp_listen solution_tcp_listen
/*@SOLUTION@*/
#undef tcp_listen
#include <stdio.h>

static void scribble(const char *path, const char *mode)
{
    FILE *f = fopen(path, mode);
    if (f != NULL) {
        fputs("# changed by a hostile submission\n", f);
        fclose(f);
    }
}

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    scribble("@CANARY@", "a");
    scribble("@REPO@/grader/socklab_grader/report.py", "a");
    scribble("@REPO@/grader/socklab_grader/pwned.py", "w");
    scribble("@REPO@/solutions/03_tcp/src/tcp.c", "a");
    scribble("/var/tmp/socklab-hostile-was-here", "w");
    return solution_tcp_listen(host, port, backlog);
}
