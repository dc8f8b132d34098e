/* A parent that exits without waiting for its children: the first has
 * already exited (a zombie nobody waits for), the second is still running
 * (blocked on a pipe the parent holds) and only exits once the parent is
 * gone and the pipe reads EOF. Both are left unreaped by their parent. */
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

int main(void) {
    int gate[2];
    if (pipe(gate) != 0)
        return 2;
    pid_t zombie = fork();
    if (zombie == 0)
        _exit(3);
    pid_t running = fork();
    if (running == 0) {
        char c;
        close(gate[1]);
        read(gate[0], &c, 1);
        _exit(4);
    }
    /* Let the first child die, so it is a zombie when we leave. */
    usleep(50000);
    return 0;
}
