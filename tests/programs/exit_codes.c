/* Exit with the code given as argv[1], by return, exit() or abort(),
 * after writing to both stdout and stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int code = argc > 1 ? atoi(argv[1]) : 0;
    printf("exiting with %d\n", code);
    fprintf(stderr, "to stderr: %d\n", code);
    if (argc > 2 && strcmp(argv[2], "exit") == 0) exit(code);
    if (argc > 2 && strcmp(argv[2], "abort") == 0) { fflush(stdout); abort(); }
    return code;
}
