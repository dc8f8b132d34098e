/* A storm of a known number of traced calls from several threads:
 * THREADS threads each call getppid(2) CALLS times, as fast as they can.
 * Usage: storm THREADS CALLS */
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long calls;

static void *run(void *arg) {
    (void)arg;
    for (long i = 0; i < calls; i++)
        syscall(SYS_getppid);
    return NULL;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    calls = argc > 2 ? atol(argv[2]) : 100000;
    pthread_t t[64];
    for (int i = 0; i < threads && i < 64; i++)
        pthread_create(&t[i], NULL, run, NULL);
    for (int i = 0; i < threads && i < 64; i++)
        pthread_join(t[i], NULL);
    return 0;
}
