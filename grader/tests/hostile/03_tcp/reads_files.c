/* socklab hostile: the server prints what it can read of the solution and of the grader's
 * checks, then fails, so that the check's message shows it. */
#define tcp_listen solution_tcp_listen
/*@SOLUTION@*/
#undef tcp_listen
#include <stdio.h>

static void show(const char *path)
{
    char line[200];
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return;
    }
    for (int i = 0; i < 3 && fgets(line, sizeof line, f) != NULL; i++)
        fprintf(stderr, "%s: %s", path, line);
    fclose(f);
}

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    show("@REPO@/solutions/03_tcp/src/tcp.c");
    show("@REPO@/grader/socklab_grader/checks/lab03.py");
    show("/etc/passwd");
    (void)host, (void)port, (void)backlog;
    errno = EACCES;
    return -1;
}
