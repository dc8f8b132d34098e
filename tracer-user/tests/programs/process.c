/* The strace walkthrough's process-creation program: fork, the child
 * returns 1, the parent reaps it with waitpid(pid, NULL, 0).
 * Built with -DWITH_STATUS, the parent passes a status pointer instead. */
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>
#include <sys/wait.h>
#include <stdio.h>

int main(int argc, char **argv) {
    pid_t pid;
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
