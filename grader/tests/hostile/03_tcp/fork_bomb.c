/* socklab hostile: the first call of tcp_listen in each process starts up to 1500 children
 * that sleep, to exhaust the machine's processes. Bounded (1500 children, 60 s each), so it
 * cannot harm a machine without the sandbox. */
#define tcp_listen solution_tcp_listen
/*@SOLUTION@*/
#undef tcp_listen
#include <sys/prctl.h>

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    static int done;
    for (int i = 0; !done && i < 1500; i++) {
        pid_t child = fork();
        if (child < 0)
            break;
        if (child == 0) {
            prctl(PR_SET_NAME, "sl-hostile-frk", 0, 0, 0);
            sleep(60);
            _exit(0);
        }
    }
    done = 1;
    return solution_tcp_listen(host, port, backlog);
}
