/* Many threads exiting while their main thread exits, to race the kernel's
 * decision of which exit is the thread group's (group_dead).
 *
 * group_exit PROCS THREADS forks PROCS processes of each of three kinds,
 * all at once, each with THREADS threads besides its main one:
 *  - "exit": every thread, main included, waits at a barrier and then calls
 *    exit (SYS_exit, the thread alone) at once: the group dies with
 *    whichever thread decrements signal->live last;
 *  - "group": the threads spin while main calls exit_group, which kills
 *    them all at once;
 *  - "join": the threads return, main joins them and returns from main
 *    (exit_group): pthread_join returns once the kernel clears the
 *    thread's tid, in exit_mm, before the thread reaches the tracepoint.
 * Each way threads are between their own decrement of signal->live and the
 * sched_process_exit tracepoint when another thread brings it to 0.
 * Prints one line per child: its kind and pid. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_barrier_t barrier;
enum kind { EXIT, GROUP, JOIN };
static const char *const kinds[] = { "exit", "group", "join" };
static enum kind kind;

static void *worker(void *arg) {
    (void)arg;
    if (kind == JOIN)
        return NULL;
    pthread_barrier_wait(&barrier);
    if (kind == GROUP)
        for (;;)
            ;
    syscall(SYS_exit, 0);
    return NULL;
}

static void child(int threads) {
    pthread_t t[threads];
    pthread_barrier_init(&barrier, NULL, threads + 1);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0)
            _exit(2);
    if (kind == JOIN) {
        for (int i = 0; i < threads; i++)
            pthread_join(t[i], NULL);
        exit(0);
    }
    pthread_barrier_wait(&barrier);
    if (kind == GROUP)
        syscall(SYS_exit_group, 0);
    syscall(SYS_exit, 0);
}

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    int procs = atoi(argv[1]), threads = atoi(argv[2]);
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 0; i < 3 * procs; i++) {
        kind = i % 3;
        pid_t pid = fork();
        if (pid < 0)
            return 1;
        if (pid == 0)
            child(threads);
        printf("%s %d\n", kinds[kind], pid);
    }
    int st, bad = 0;
    while (wait(&st) > 0)
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad = 1;
    return bad;
}
