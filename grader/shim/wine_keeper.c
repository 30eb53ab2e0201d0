/* wine_keeper.c - a Windows program that says "ready" and then waits for its stdin to end.
 *
 * Wine ends the processes of its session (services.exe, winedevice.exe, plugplay.exe ...)
 * soon after the last ordinary program exits, and starting them again takes about a second.
 * The grader keeps one of these running for a whole grading run, so the session lives from
 * one Windows check to the next; closing its stdin ends it.
 */
#include <stdio.h>

int main(void)
{
    puts("ready");
    fflush(stdout);
    while (getchar() != EOF)
        continue;
    return 0;
}
