/* The walkthrough's process program, repeated: fork (clone with SIGCHLD),
 * the child exits 1, the parent reaps it with waitpid (wait4). */
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv) {
    long n = bench_iterations(argc, argv);
    long long start = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0)
            _exit(1);
        if (pid < 0) {
            perror("fork");
            return 1;
        }
        waitpid(pid, NULL, 0);
    }
    return bench_report(start);
}
