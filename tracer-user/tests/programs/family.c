/* A process tree for the filter tests: the parent forks a child, the child
 * forks a grandchild, the grandchild starts a thread. Each of the four maps
 * (and unmaps) an anonymous region of its own distinctive size, so a test can
 * tell from a trace which of them was seen:
 *   parent 7 pages, child 11, grandchild 13, the grandchild's thread 17.
 * With --wait-stdin the parent first blocks reading one byte from stdin, so a
 * test can start it, attach tracer to its pid, and then let it go. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static void map_pages(long pages) {
    void *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        munmap(p, pages * 4096);
}

static void *thread_main(void *arg) {
    map_pages(17);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--wait-stdin") == 0) {
        char b;
        if (read(0, &b, 1) != 1)
            return 2;
    }
    map_pages(7);
    pid_t child = fork();
    if (child < 0)
        return 3;
    if (child == 0) {
        map_pages(11);
        pid_t grandchild = fork();
        if (grandchild < 0)
            _exit(3);
        if (grandchild == 0) {
            map_pages(13);
            pthread_t t;
            if (pthread_create(&t, NULL, thread_main, NULL) != 0)
                _exit(4);
            pthread_join(t, NULL);
            _exit(0);
        }
        int st;
        waitpid(grandchild, &st, 0);
        _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 5);
    }
    int st;
    waitpid(child, &st, 0);
    printf("family %d done\n", (int)getpid());
    return WIFEXITED(st) ? WEXITSTATUS(st) : 5;
}
