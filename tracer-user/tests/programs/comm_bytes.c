/* Renames itself, 15 bytes at a time, to every byte value 1..255 in turn
 * (quotes, backslash, newline, ESC, DEL, bytes that are not UTF-8), and
 * after each rename makes one recognisable mmap (length 20480) so the event
 * carries the new comm. */
#include <stddef.h>
#include <sys/mman.h>
#include <sys/prctl.h>

int main(void) {
    for (int start = 1; start <= 255; start += 15) {
        char name[16] = {0};
        for (int i = 0; i < 15 && start + i <= 255; i++)
            name[i] = (char)(start + i);
        prctl(PR_SET_NAME, name, 0, 0, 0);
        void *p = mmap(NULL, 20480, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        munmap(p, 20480);
    }
    return 0;
}
