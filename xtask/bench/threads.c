/* The walkthrough's thread program, repeated: pthread_create + pthread_join.
 * glibc maps the first stack (mmap MAP_STACK + mprotect of the guard) and
 * caches it, so the steady state is clone3 + rt_sigprocmask + futex. */
#include <pthread.h>
#include "bench.h"

static void *newthread(void *arg) {
    return arg;
}

int main(int argc, char **argv) {
    long n = bench_iterations(argc, argv);
    long long start = bench_now_ns();
    for (long i = 0; i < n; i++) {
        pthread_t thread;
        int rc = pthread_create(&thread, NULL, newthread, NULL);
        if (rc) {
            fprintf(stderr, "pthread_create: error %d\n", rc);
            return 1;
        }
        pthread_join(thread, NULL);
    }
    return bench_report(start);
}
