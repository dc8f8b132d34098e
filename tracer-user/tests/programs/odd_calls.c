/* Calls that exercise the corners of decoding: failures (errno), clone3
 * with its struct on an unmapped page (the kernel side's read fails),
 * wait4 with a rusage pointer, and a child killed by a signal. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    /* EBADF: a file mapping of a closed fd. */
    mmap(NULL, 4096, PROT_READ, MAP_SHARED, 999, 0);
    /* EFAULT: clone_args on a page that is not mapped. */
    syscall(SYS_clone3, (void *)0x1000, 88);
    /* A child killed by SIGKILL once it has run, reaped with status and
     * rusage. */
    int ready[2];
    if (pipe(ready) != 0)
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        write(ready[1], "r", 1);
        pause();
        _exit(0);
    }
    char r;
    read(ready[0], &r, 1);
    kill(pid, SIGKILL);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    /* A child that exits 7 once released, polled with WNOHANG|__WALL first
     * (nothing to reap yet: returns 0), then reaped by the same call. */
    int gate[2];
    if (pipe(gate) != 0)
        return 2;
    pid = fork();
    if (pid == 0) {
        char c;
        close(gate[1]);
        read(gate[0], &c, 1);
        _exit(7);
    }
    close(gate[0]);
    wait4(pid, &status, WNOHANG | __WALL, NULL);
    close(gate[1]);
    while (wait4(pid, &status, WNOHANG | __WALL, NULL) == 0)
        usleep(1000);
    return 0;
}
