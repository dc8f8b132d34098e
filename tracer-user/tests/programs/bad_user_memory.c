/* clone3 and wait4 handed memory the kernel side cannot (or should not)
 * read: each call must still produce an event with the kernel's return
 * value, flagged where the read failed. */
#define _GNU_SOURCE
#include <linux/sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    /* 1. clone_args on a PROT_NONE page: EFAULT, read fails. */
    void *none = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    syscall(SYS_clone3, none, 88);
    /* 2. too small a size (32 < CLONE_ARGS_SIZE_VER0): EINVAL; 32 bytes read. */
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_THREAD; /* invalid without CLONE_SIGHAND|CLONE_VM */
    syscall(SYS_clone3, &ca, 32);
    /* 3. too large a size with a zero tail: the kernel accepts the size and
     * rejects the flags (EINVAL); tracer reads the 88 bytes it knows. */
    char big[256];
    memset(big, 0, sizeof big);
    memcpy(big, &ca, sizeof ca);
    syscall(SYS_clone3, big, sizeof big);
    /* 4. wait4 with a status pointer into a PROT_NONE page: the child is
     * reaped, the kernel cannot store the status (EFAULT), and tracer's read
     * of it fails too. */
    pid_t pid = fork();
    if (pid == 0)
        _exit(3);
    usleep(20000);
    syscall(SYS_wait4, pid, none, 0, NULL);
    return 0;
}
