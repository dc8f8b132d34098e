/* The strace walkthrough's thread-creation program (pthread_create + join),
 * with one addition: the new thread maps and unmaps one page, so the thread
 * makes a traced call of its own and its tid can be checked in its events. */
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>

void *newthread(void *arg) {
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        munmap(p, 4096);
    printf("Thread running\n");
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t thread;
    int rc;

    rc = pthread_create(&thread, NULL, newthread, NULL);
    if (rc) {
        printf("ERROR; return code from pthread_create() is %d\n", rc);
        return -1;
    }

    printf("Main program waiting for thread to complete\n");
    pthread_join(thread, NULL);
    printf("Thread joined\n");

    return 0;
}
