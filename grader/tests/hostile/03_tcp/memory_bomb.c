/* socklab hostile: the first call of tcp_listen in each process starts 5 children that each
 * take 1 GiB and hold it: far more than a run may hold in all, though each stays under the
 * per-process limit. Bounded (5 GiB, 30 s), so it cannot harm a machine without the limits. */
#define tcp_listen solution_tcp_listen
/*@SOLUTION@*/
#undef tcp_listen
#include <sys/prctl.h>

enum { CHILDREN = 5, CHUNK = 64 << 20, CHUNKS = 16 };

static void hoard(void)
{
    prctl(PR_SET_NAME, "sl-hostile-mem", 0, 0, 0);
    for (int i = 0; i < CHUNKS; i++) {
        char *p = malloc(CHUNK);
        if (p == NULL)
            break;
        memset(p, i + 1, CHUNK);
    }
    sleep(30);
    _exit(0);
}

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    static int done;
    for (int i = 0; !done && i < CHILDREN; i++)
        if (fork() == 0)
            hoard();
    done = 1;
    return solution_tcp_listen(host, port, backlog);
}
