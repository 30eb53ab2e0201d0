/* socklab hostile: looks through /proc for the machine's other processes (the grader, the
 * test suite, other students' runs), and fails the server, printing what it saw, if it finds
 * any command line beyond its own run's. */
#define tcp_listen solution_tcp_listen
/*@SOLUTION@*/
#undef tcp_listen
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>

int tcp_listen(const char *host, uint16_t port, int backlog)
{
    DIR *proc = opendir("/proc");
    struct dirent *entry;
    int seen = 0;
    while (proc != NULL && (entry = readdir(proc)) != NULL) {
        char path[300], line[256] = "";
        snprintf(path, sizeof path, "/proc/%s/cmdline", entry->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n = read(fd, line, sizeof line - 1);
        close(fd);
        for (ssize_t i = 0; i < n; i++)
            line[i] = line[i] == '\0' ? ' ' : line[i];
        if (n > 0 && (strstr(line, "pytest") || strstr(line, "grader/grade") ||
                      strstr(line, "--batch"))) {
            fprintf(stderr, "hostile: saw %s: %s\n", entry->d_name, line);
            seen = 1;
        }
    }
    if (proc != NULL)
        closedir(proc);
    if (seen) {
        errno = EACCES;
        return -1;
    }
    return solution_tcp_listen(host, port, backlog);
}
