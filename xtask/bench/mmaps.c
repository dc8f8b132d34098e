/* A storm of traced calls: what glibc does for every new thread stack,
 * without the thread — mmap 8 MiB + 4 KiB PROT_NONE with MAP_STACK, open all
 * but the lowest page with mprotect, then munmap (untraced). */
#include <sys/mman.h>
#include "bench.h"

#define GUARD 4096UL
#define STACK (8UL << 20)

int main(int argc, char **argv) {
    long n = bench_iterations(argc, argv);
    long long start = bench_now_ns();
    for (long i = 0; i < n; i++) {
        char *p = mmap(NULL, STACK + GUARD, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        if (mprotect(p + GUARD, STACK, PROT_READ | PROT_WRITE)) {
            perror("mprotect");
            return 1;
        }
        munmap(p, STACK + GUARD);
    }
    return bench_report(start);
}
