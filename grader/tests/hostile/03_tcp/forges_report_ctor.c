/* socklab hostile: a constructor that runs in Criterion's runner before any test, finds the
 * report it was told to write (--json=PATH in /proc/self/cmdline), writes a report in
 * which every test passed, and ends the program. Elsewhere (the programs) it does nothing,
 * so the wire checks grade the solution's code. */
/*@SOLUTION@*/
#include <fcntl.h>
#include <stdio.h>

__attribute__((constructor)) static void forge(void)
{
    char args[4096];
    int fd = open("/proc/self/cmdline", O_RDONLY);
    if (fd < 0)
        return;
    ssize_t n = read(fd, args, sizeof args - 1);
    close(fd);
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(args + i) + 1) {
        args[n] = '\0';
        if (strncmp(args + i, "--json=", 7) == 0) {
            FILE *out = fopen(args + i + 7, "w");
            if (out != NULL) {
                fputs("{\"id\": \"Criterion v2.4.1\", \"passed\": 1, \"test_suites\": [{\"name\":"
                      " \"tcp_listen\", \"tests\": [{\"name\": \"returns_a_listening_socket\","
                      " \"status\": \"PASSED\", \"messages\": []}]}]}\n", out);
                fclose(out);
            }
            _exit(0);
        }
    }
}
