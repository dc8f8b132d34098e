// Creates, uses and removes N cgroups under DIR (a cgroup2 directory):
// for each, mkdir DIR/c<i>, a child moves itself in, calls getppid once
// and exits, the parent reaps it and removes the cgroup.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    const char *dir = argv[1];
    int n = atoi(argv[2]);
    char path[4096], procs[4200];
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/c%d", dir, i);
        snprintf(procs, sizeof procs, "%s/cgroup.procs", path);
        if (mkdir(path, 0755) != 0) {
            perror(path);
            return 3;
        }
        pid_t c = fork();
        if (c == 0) {
            int fd = open(procs, O_WRONLY);
            if (fd < 0 || write(fd, "0", 1) != 1)
                _exit(4);
            close(fd);
            syscall(SYS_getppid);
            _exit(0);
        }
        int st;
        if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 5;
        if (rmdir(path) != 0) {
            perror(path);
            return 6;
        }
    }
    return 0;
}
