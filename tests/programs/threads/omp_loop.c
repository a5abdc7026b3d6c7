/* An OpenMP loop: a parallel for with a reduction and a static schedule,
 * then a dynamic one writing an array, on as many threads as argv[1] says
 * (the process's CPU count when absent).  The printed values do not depend
 * on the thread count. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 100000
static double a[N];

int main(int argc, char **argv) {
    if (argc > 1) omp_set_num_threads(atoi(argv[1]));
    long sum = 0;
#pragma omp parallel for reduction(+:sum) schedule(static)
    for (long i = 0; i < N; i++) sum += i * i % 7919;
#pragma omp parallel for schedule(dynamic, 512)
    for (long i = 0; i < N; i++) a[i] = (double)i * 0.5 + 1.0;
    double s = 0;
    for (long i = 0; i < N; i++) s += a[i];
    int team = 0;
#pragma omp parallel
    {
#pragma omp atomic
        team++;
    }
    printf("sum=%ld s=%.1f team_matches=%d\n", sum, s, team == omp_get_max_threads());
    return 0;
}
