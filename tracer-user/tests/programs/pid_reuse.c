// Two children on the same pid, one after the other: clone3 with set_tid
// (root only) puts both on the first free pid at or below argv[1]. Each
// child calls getppid once and exits; the parent reaps it before making
// the next. Prints the pid to stdout.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t spawn_on(pid_t want) {
    struct clone_args a;
    memset(&a, 0, sizeof a);
    a.exit_signal = SIGCHLD;
    a.set_tid = (uint64_t)(uintptr_t)&want;
    a.set_tid_size = 1;
    long r = syscall(SYS_clone3, &a, sizeof a);
    if (r == 0) {
        syscall(SYS_getppid);
        _exit(0);
    }
    return (pid_t)r;
}

int main(int argc, char **argv) {
    pid_t want = argc > 1 ? atoi(argv[1]) : 30000;
    pid_t got = -1;
    for (int i = 0; i < 1000 && got < 0; i++, want--) {
        got = spawn_on(want);
        if (got < 0 && errno != EEXIST) {
            perror("clone3");
            return 2;
        }
    }
    if (got < 0 || waitpid(got, NULL, 0) != got)
        return 3;
    pid_t again = spawn_on(got);
    if (again != got) {
        perror("clone3 again");
        return 4;
    }
    if (waitpid(again, NULL, 0) != again)
        return 5;
    printf("%d\n", got);
    return 0;
}
