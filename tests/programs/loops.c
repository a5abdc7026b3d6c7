/* A loop nest: an integer matrix product and a stencil, printed as checksums. */
#include <stdio.h>
#include <stdint.h>

#define N 48
static int32_t a[N][N], b[N][N], c[N][N];

int main(void) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (i * 31 + j * 17) % 101 - 50;
            b[i][j] = (i * 7 - j * 13) % 89;
        }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            int32_t s = 0;
            for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
    int64_t sum = 0;
    uint32_t h = 2166136261u;
    for (int i = 1; i < N - 1; i++)
        for (int j = 1; j < N - 1; j++) {
            int32_t v = c[i][j] * 4 - c[i - 1][j] - c[i + 1][j] - c[i][j - 1] - c[i][j + 1];
            sum += v;
            h = (h ^ (uint32_t)v) * 16777619u;
        }
    printf("sum=%lld hash=%08x c[5][7]=%d\n", (long long)sum, h, c[5][7]);
    return 0;
}
