/* The strace walkthrough's process-creation program: fork, the child
 * returns 1, the parent reaps it with waitpid(pid, NULL, 0).
 * Built with -DWITH_STATUS, the parent passes a status pointer instead;
 * with -DWITH_HANDLER it catches SIGCHLD (so the signal is delivered, not
 * discarded as the default action would have it). */
#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>
#include <sys/wait.h>
#include <stdio.h>

#ifdef WITH_HANDLER
static void on_sigchld(int sig) {
    (void)sig;
}
#endif

int main(int argc, char **argv) {
    pid_t pid;
#ifdef WITH_HANDLER
    signal(SIGCHLD, on_sigchld);
#endif
    if ((pid = fork()) > 0) {
#ifdef WITH_STATUS
        int status;
        waitpid(pid, &status, 0);
#else
        waitpid(pid, NULL, 0);
#endif
        return 0;
    } else if (pid == 0) {
        return 1;
    } else {
        perror("fork");
        return -1;
    }
}
