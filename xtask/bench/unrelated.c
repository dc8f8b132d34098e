/* What every other process on the machine pays: a tight loop of getppid, a
 * syscall no tracer here traces (called directly: glibc never caches it). */
#include <sys/syscall.h>
#include <unistd.h>
#include "bench.h"

int main(int argc, char **argv) {
    long n = bench_iterations(argc, argv);
    long long start = bench_now_ns();
    for (long i = 0; i < n; i++)
        syscall(SYS_getppid);
    return bench_report(start);
}
