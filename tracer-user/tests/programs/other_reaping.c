/* Children reaped without wait4: the first by waitid, the second by the
 * kernel itself (SIGCHLD ignored: auto-reaped at its exit). Neither is
 * left behind when the parent exits. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    pid_t pid = fork();
    if (pid == 0)
        _exit(5);
    siginfo_t si;
    waitid(P_PID, pid, &si, WEXITED);
    signal(SIGCHLD, SIG_IGN);
    if (fork() == 0)
        _exit(6);
    usleep(50000);
    return 0;
}
