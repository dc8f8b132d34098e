/* execve with more argv strings than tracer reads (8) and one longer than
 * strace's 32 bytes: first of a path that does not exist (ENOENT, the
 * process goes on), then of /bin/true. Before each, the page holding the
 * string literals is dropped from the page tables (MADV_DONTNEED on a
 * private file mapping): the kernel faults it back in, a BPF read at entry
 * cannot, so tracer must fetch the strings at exit — from the same
 * pointers after the failure, from the new image after the success. */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

static void drop_page_of(const char *s) {
    madvise((void *)((uintptr_t)s & ~(uintptr_t)4095), 4096, MADV_DONTNEED);
}

int main(void) {
    char *argv[] = {"true", "a-long-argument-that-is-longer-than-32-bytes", "2", "3", "4", "5", "6", "7", "8", "9", NULL};
    char *envp[] = {"A=1", NULL};
    drop_page_of("/nonexistent/prog");
    execve("/nonexistent/prog", argv, envp);
    drop_page_of("/bin/true");
    execve("/bin/true", argv, envp);
    return 1;
}
