/* Echo argv and selected environment variables. */
#include <stdio.h>
#include <stdlib.h>

extern char **environ;

int main(int argc, char **argv) {
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("argv[%d]=<%s>\n", i, argv[i]);
    const char *v = getenv("RVAI_TEST");
    printf("RVAI_TEST=%s\n", v ? v : "(unset)");
    int n = 0;
    for (char **e = environ; *e; e++) n++;
    printf("environ has %d entries\n", n);
    return 0;
}
