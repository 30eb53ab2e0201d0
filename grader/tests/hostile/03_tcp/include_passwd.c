/* socklab hostile: any readable file included, so that the compiler's error shows its
 * contents in the build log of the feedback. */
#include "/etc/passwd"
