/* Ends the way argv says, for testing that tracer reports a launched
 * command's exit status:
 *   exit_status exit N    exit(N)
 *   exit_status signal N  kill itself with signal N (default action)
 *   exit_status trap      print "ready", wait for SIGINT, then map 29 pages
 *                         and exit(7): a command that outlives the Ctrl-C
 *                         tracer passed on to it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile sig_atomic_t got;

static void on_sigint(int sig) {
    got = sig;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "exit") == 0)
        return atoi(argv[2]);
    if (argc == 3 && strcmp(argv[1], "signal") == 0) {
        int sig = atoi(argv[2]);
        signal(sig, SIG_DFL);
        raise(sig);
        return 99;
    }
    if (argc == 2 && strcmp(argv[1], "trap") == 0) {
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigprocmask(SIG_BLOCK, &block, &old);
        signal(SIGINT, on_sigint);
        printf("ready\n");
        fflush(stdout);
        while (!got)
            sigsuspend(&old);
        void *p = mmap(NULL, 29 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        return 7;
    }
    fprintf(stderr, "usage: exit_status exit N | signal N | trap\n");
    return 64;
}
