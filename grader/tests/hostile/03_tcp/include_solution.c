/* socklab hostile: the whole tcp.c is the reference solution, included by its path in the
 * grader's repository (where a student who knows the repository looks for it). */
#include "@REPO@/solutions/03_tcp/src/tcp.c"
