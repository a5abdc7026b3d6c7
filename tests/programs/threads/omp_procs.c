/* What OpenMP and glibc see of the machine: processors, default team size, get_nprocs. */
#include <omp.h>
#include <stdio.h>
#include <sys/sysinfo.h>

int main(void) {
    printf("procs=%d max_threads=%d nprocs=%d\n", omp_get_num_procs(), omp_get_max_threads(), get_nprocs());
    return 0;
}
