/* qsort of integers and of strings, malloc/realloc/free, string functions. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_int(const void *x, const void *y) {
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

int main(void) {
    unsigned seed = 12345;
    int n = 5000;
    int *v = malloc(n * sizeof *v);
    for (int i = 0; i < n; i++) { seed = seed * 1103515245u + 12345u; v[i] = (int)(seed >> 8) % 100000 - 50000; }
    qsort(v, n, sizeof *v, cmp_int);
    for (int i = 1; i < n; i++) if (v[i - 1] > v[i]) { printf("not sorted at %d\n", i); return 1; }
    printf("min=%d median=%d max=%d\n", v[0], v[n / 2], v[n - 1]);

    const char *words[] = {"vector", "risc", "emulator", "kernel", "attention", "softmax",
                           "gemm", "qwen", "decode", "prefill", "norm", "tile"};
    int nw = sizeof words / sizeof *words;
    char **copy = NULL;
    for (int i = 0; i < nw; i++) {
        copy = realloc(copy, (i + 1) * sizeof *copy);
        copy[i] = strdup(words[i]);
    }
    qsort(copy, nw, sizeof *copy, cmp_str);
    char joined[256] = "";
    for (int i = 0; i < nw; i++) {
        strcat(joined, copy[i]);
        if (i + 1 < nw) strcat(joined, ",");
    }
    printf("%s (%zu chars)\n", joined, strlen(joined));
    printf("strstr=%s strchr=%s memcmp=%d\n", strstr(joined, "qwen"), strrchr(joined, ','),
           memcmp("abc", "abd", 3) < 0);
    char *big = malloc(1 << 20);     /* large enough to be mmapped by malloc */
    memset(big, 'x', 1 << 20);
    big[(1 << 20) - 1] = 0;
    printf("big=%zu\n", strlen(big));
    free(big);
    for (int i = 0; i < nw; i++) free(copy[i]);
    free(copy);
    free(v);
    return 0;
}
