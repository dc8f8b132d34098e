/* Maps 19 pages under the name it was started with; then, given a name in
 * argv[1], renames itself with prctl(PR_SET_NAME) and maps 23 pages under
 * the new name. */
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static void map_pages(long pages) {
    void *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED)
        munmap(p, pages * 4096);
}

int main(int argc, char **argv) {
    map_pages(19);
    if (argc > 1 && prctl(PR_SET_NAME, argv[1], 0, 0, 0) != 0) {
        perror("prctl");
        return 1;
    }
    map_pages(23);
    return 0;
}
