/* Leaves calls in flight in every way a thread can stop without returning
 * from a traced syscall, so the test can check the kernel side's pairing
 * map (PENDING) gets its entries back:
 *   sigkill   threads blocked in wait4 when the process is SIGKILLed
 *   exitgroup exit_group from one thread while others block in wait4
 *   exec      execve from a non-leader thread while others block in wait4
 *   eagain    clones that fail: fork under RLIMIT_NPROC as an unprivileged user
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t child;

static void *block_in_wait4(void *arg) {
    (void)arg;
    int st;
    syscall(SYS_wait4, child, &st, 0, NULL);
    return NULL;
}

static void *exec_true(void *arg) {
    (void)arg;
    usleep(20000);
    char *argv[] = {"true", NULL};
    execv("/bin/true", argv);
    return NULL;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "sigkill";
    if (strcmp(mode, "eagain") == 0) {
        struct rlimit lim = {0, 0};
        if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
            return 2;
        setrlimit(RLIMIT_NPROC, &lim);
        for (int i = 0; i < 20; i++) {
            pid_t p = fork();
            if (p == 0)
                _exit(0);
            if (p > 0)
                return 3; /* the limit did not hold */
        }
        return 0;
    }
    child = fork();
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        pause();
        _exit(0);
    }
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, block_in_wait4, NULL);
    if (strcmp(mode, "exec") == 0) {
        pthread_t e;
        pthread_create(&e, NULL, exec_true, NULL);
        pause();
    }
    usleep(20000);
    if (strcmp(mode, "sigkill") == 0)
        kill(getpid(), SIGKILL);
    syscall(SYS_exit_group, 0);
    return 0;
}
