/* socklab hostile: each call of tcp_listen leaves a daemon behind (double fork, setsid, its
 * own name) that tries for a minute to change the canary, to outlive its check and its run.
 * Bounded: it gives up after 60 s, so it cannot harm a machine without the sandbox. */
#define tcp_listen solution_tcp_listen
/*@SOLUTION@*/
#undef tcp_listen
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>

static void linger(void)
{
    prctl(PR_SET_NAME, "sl-hostile-dmn", 0, 0, 0);
    for (int i = 0; i < 60; i++) {
        FILE *f = fopen("@CANARY@", "a");
        if (f != NULL) {
            fputs("# changed by a daemon\n", f);
            fclose(f);
        }
        sleep(1);
    }
}

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    pid_t child = fork();
    if (child == 0) {
        setsid();
        if (fork() == 0)
            linger();
        _exit(0);
    }
    if (child > 0)
        waitpid(child, NULL, 0);
    return solution_tcp_listen(host, port, backlog);
}
