/* Leaves calls in flight in every way a thread can stop without returning
 * from a traced syscall, N times over, so the test can check the kernel
 * side's pairing state (PENDING's slots, counted by the calls-in-flight
 * gauge) gets back to where it was:
 *
 *   pending_churn sigkill N    N processes, each with 5 threads blocked in
 *                              wait4 (the leader and 4 others), SIGKILLed
 *   pending_churn exitgroup N  N processes: 4 threads blocked in wait4 while
 *                              the leader calls exit_group
 *   pending_churn exec N       N processes: the leader and 4 threads blocked
 *                              in wait4 while a fifth thread calls execve
 *   pending_churn eagain N     N clones that fail with EAGAIN (RLIMIT_NPROC
 *                              of 0 as an unprivileged user), half clone and
 *                              half clone3, on 2 threads
 *
 * A blocked thread is one /proc/self/task/TID/syscall shows inside wait4
 * (so its sys_enter has run and its PENDING slot holds the call): each process
 * waits for all of them before it dies, and the child they wait for
 * outlives them, so every iteration really leaves 4 or 5 calls in flight
 * (in the kernel, each ends in wait4 returning -ERESTARTSYS as its thread
 * dies). Prints "MODE N CALLS" (calls left in flight or
 * failed clones made) on stdout; exits non-zero if anything went otherwise.
 * The driver is a child subreaper and reaps everything it started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAITERS 4

static pid_t child;
static atomic_int tids[WAITERS + 1];

static void *block_in_wait4(void *arg) {
    int i = (int)(intptr_t)arg;
    int st;
    atomic_store(&tids[i], (int)syscall(SYS_gettid));
    syscall(SYS_wait4, child, &st, 0, NULL);
    return NULL;
}

/* Is thread `tid` of this process blocked in wait4? */
static int in_wait4(int tid) {
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    char want[16];
    int w = snprintf(want, sizeof want, "%d ", SYS_wait4);
    return strncmp(buf, want, (size_t)w) == 0;
}

/* Waits until threads 0..n-1 are all blocked in wait4. */
static void await_blocked(int n) {
    for (int i = 0; i < n; i++) {
        int tid;
        while ((tid = atomic_load(&tids[i])) == 0 || !in_wait4(tid))
            sched_yield();
    }
}

static void *exec_self(void *arg) {
    (void)arg;
    await_blocked(WAITERS + 1);
    char *argv[] = {"pending_churn", "exec-done", NULL};
    execv("/proc/self/exe", argv);
    _exit(4);
}

/* One doomed process: a child to wait for, threads blocked waiting for it,
 * then the way out `mode` names. Never returns. */
static void doomed(const char *mode) {
    /* The child lives until every thread of this process is gone: it
     * reads a pipe whose write end only this process holds (close-on-exec,
     * and an exec closes it only after the other threads are dead). So no
     * waiter can see it exit: each is cut short by the way out. */
    int alive[2];
    if (pipe2(alive, O_CLOEXEC))
        _exit(5);
    child = fork();
    if (child == 0) {
        char c;
        close(alive[1]);
        while (read(alive[0], &c, 1) > 0)
            ;
        _exit(0);
    }
    close(alive[0]);
    pthread_t t;
    for (int i = 0; i < WAITERS; i++)
        if (pthread_create(&t, NULL, block_in_wait4, (void *)(intptr_t)i))
            _exit(5);
    if (strcmp(mode, "sigkill") == 0) {
        /* A fifth waiter; the leader kills the process once all five block. */
        if (pthread_create(&t, NULL, block_in_wait4, (void *)(intptr_t)WAITERS))
            _exit(5);
        await_blocked(WAITERS + 1);
        kill(getpid(), SIGKILL);
        pause();
    } else if (strcmp(mode, "exitgroup") == 0) {
        await_blocked(WAITERS);
        syscall(SYS_exit_group, 0);
    } else {
        if (pthread_create(&t, NULL, exec_self, NULL))
            _exit(5);
        block_in_wait4((void *)(intptr_t)WAITERS);
        _exit(6); /* the exec should have ended this thread in wait4 */
    }
    _exit(7);
}

static atomic_long eagain_fails;
static atomic_int limit_set;

static void *clone_fail_loop(void *arg) {
    long n = (long)(intptr_t)arg;
    while (!atomic_load(&limit_set))
        sched_yield();
    for (long i = 0; i < n; i++) {
        long r;
        if (i & 1) {
            struct clone_args ca;
            memset(&ca, 0, sizeof ca);
            ca.exit_signal = SIGCHLD;
            r = syscall(SYS_clone3, &ca, sizeof ca);
        } else {
            r = syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);
        }
        if (r == 0)
            _exit(0);
        if (r > 0 || errno != EAGAIN)
            atomic_fetch_add(&eagain_fails, 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "sigkill";
    long n = argc > 2 ? atol(argv[2]) : 1;
    if (strcmp(mode, "exec-done") == 0)
        return 0;
    if (strcmp(mode, "eagain") == 0) {
        if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
            return 2;
        /* The thread first (under the limit, creating it would fail too);
         * it starts cloning once the limit is set. */
        pthread_t t;
        struct rlimit lim = {0, 0};
        if (pthread_create(&t, NULL, clone_fail_loop, (void *)(intptr_t)(n / 2)))
            return 2;
        if (setrlimit(RLIMIT_NPROC, &lim))
            return 2;
        atomic_store(&limit_set, 1);
        clone_fail_loop((void *)(intptr_t)(n - n / 2));
        pthread_join(t, NULL);
        if (atomic_load(&eagain_fails))
            return 3; /* a clone succeeded or failed otherwise */
        printf("eagain %ld %ld\n", n, n);
        return 0;
    }
    if (strcmp(mode, "sigkill") && strcmp(mode, "exitgroup") && strcmp(mode, "exec"))
        return 2;
    /* Orphaned grandchildren come back to us to be reaped. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    int want_sig = strcmp(mode, "sigkill") == 0 ? SIGKILL : 0;
    for (long i = 0; i < n; i++) {
        pid_t p = fork();
        if (p < 0)
            return 8;
        if (p == 0)
            doomed(mode);
        int st;
        if (waitpid(p, &st, 0) != p)
            return 9;
        if (want_sig ? !(WIFSIGNALED(st) && WTERMSIG(st) == want_sig) : !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
            fprintf(stderr, "iteration %ld: status %#x\n", i, st);
            return 10;
        }
        /* Doomed processes' children, orphaned to us once they exit. */
        while (waitpid(-1, &st, WNOHANG) > 0)
            ;
    }
    while (wait(NULL) > 0)
        ;
    long per = strcmp(mode, "exitgroup") == 0 ? WAITERS : WAITERS + 1;
    printf("%s %ld %ld\n", mode, n, n * per);
    return 0;
}
