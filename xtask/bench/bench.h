/* Shared by the benchmark workloads: parse the iteration count, time the
 * loop with CLOCK_MONOTONIC, print the elapsed nanoseconds on stdout (and
 * nothing else), so tracer start-up never counts. */
#ifndef BENCH_H
#define BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long bench_iterations(int argc, char **argv) {
    char *end;
    long n;
    if (argc != 2 || (n = strtol(argv[1], &end, 10)) <= 0 || *end) {
        fprintf(stderr, "usage: %s ITERATIONS\n", argv[0]);
        exit(2);
    }
    return n;
}

static long long bench_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int bench_report(long long start_ns) {
    printf("%lld\n", bench_now_ns() - start_ns);
    return fflush(stdout) == 0 ? 0 : 1;
}

#endif
