/* The thread-group leader exits first (pthread_exit from main) while another
 * thread lives on; that thread then forks a child that maps 31 pages. A
 * tracer following this process must still follow it after its leader's
 * exit. Blocks reading one byte from stdin first, like family --wait-stdin. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void *survivor(void *arg) {
    /* Let the leader get through do_exit first. */
    struct timespec t = {0, 200 * 1000 * 1000};
    nanosleep(&t, NULL);
    pid_t child = fork();
    if (child == 0) {
        void *p = mmap(NULL, 31 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        _exit(p == MAP_FAILED);
    }
    int st = 1;
    if (child > 0)
        waitpid(child, &st, 0);
    exit(WIFEXITED(st) ? WEXITSTATUS(st) : 5);
}

int main(void) {
    char b;
    if (read(0, &b, 1) != 1)
        return 2;
    pthread_t t;
    if (pthread_create(&t, NULL, survivor, NULL) != 0)
        return 3;
    pthread_exit(NULL);
}
