/* A storm of traced calls: what glibc does for every new thread stack,
 * without the thread — mmap 8 MiB + 4 KiB PROT_NONE with MAP_STACK, open all
 * but the lowest page with mprotect, then munmap (untraced).
 *
 * The region lands just below the lowest mapping. Left to chance (ASLR),
 * that is libc's, and the 2 MiB page-table block the two share holds a page
 * table whose entries mprotect and munmap then walk: anywhere from 0 to 512
 * of them, a different number in every process, which swung one run's time
 * by ±15 % against the next. A spacer of untouched address space above the
 * loop's region keeps it out of any populated block, so every run does the
 * same work: the calls themselves, with no page table to walk. */
#include <sys/mman.h>
#include "bench.h"

#define GUARD 4096UL
#define STACK (8UL << 20)
#define SPACER (4UL << 20)

int main(int argc, char **argv) {
    long n = bench_iterations(argc, argv);
    if (mmap(NULL, SPACER, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0) == MAP_FAILED) {
        perror("mmap spacer");
        return 1;
    }
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
