/* Two threads, one after the other: the second pthread_create finds the
 * first thread's stack in glibc's stack cache, so no mmap precedes its
 * clone3 (thread_create reports stack_reused). */
#include <pthread.h>
#include <stdio.h>

static void *newthread(void *arg) {
    return arg;
}

int main(void) {
    for (int i = 0; i < 2; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, newthread, NULL) != 0) {
            perror("pthread_create");
            return 1;
        }
        pthread_join(t, NULL);
    }
    return 0;
}
