/* report_guard.c - keeps the grader's copy of the test report out of the tested code's reach.
 *
 * The grader runs this test program with its JSON and TAP reports going to descriptors it
 * names in SOCKLAB_REPORT_FDS ("3 4"): pipes that only the grader reads. Criterion's runner
 * writes the reports; the tests themselves, and so the student's code they call, run in
 * worker processes that BoxFort starts from the same program (it sets BXFI_MAP in their
 * environment) and that inherit every descriptor. So, before main and before any test:
 *   - a worker closes the report descriptors: nothing it runs can write a report;
 *   - the runner makes itself non-dumpable: no worker can reopen them through
 *     /proc/RUNNER/fd (or read its memory), even as the same user.
 * Outside the grader (no SOCKLAB_REPORT_FDS) nothing changes. The grader also refuses a
 * student object file that has a constructor of its own, so this runs first.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

__attribute__((constructor)) static void guard_the_report(void)
{
    const char *fds = getenv("SOCKLAB_REPORT_FDS");
    if (fds == NULL)
        return;
    if (getenv("BXFI_MAP") == NULL) {
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        return;
    }
    while (*fds != '\0') {
        char *end;
        long fd = strtol(fds, &end, 10);
        if (end == fds)
            break;
        if (fd > 2)
            close((int)fd);
        fds = end + strspn(end, " ");
    }
}
