/* Parallel sum with atomics: T threads each add their slice of 1..N into one
 * counter with __atomic_fetch_add, and count their finished slices with an
 * atomic increment.  Prints the totals (independent of the interleaving). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define N 200000
static long total;
static int done;
static int nthreads;

static void *worker(void *arg) {
    long id = (long)arg, part = 0;
    for (long i = 1 + id; i <= N; i += nthreads) {
        part += i;
        if (i % 64 == 0) { __atomic_fetch_add(&total, part, __ATOMIC_RELAXED); part = 0; }
    }
    __atomic_fetch_add(&total, part, __ATOMIC_RELAXED);
    __atomic_fetch_add(&done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int main(int argc, char **argv) {
    nthreads = argc > 1 ? atoi(argv[1]) : 4;
    pthread_t t[64];
    for (long i = 0; i < nthreads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i)) { puts("create failed"); return 1; }
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    printf("threads=%d done=%d total=%ld expect=%ld\n", nthreads, done, total, (long)N * (N + 1) / 2);
    return total == (long)N * (N + 1) / 2 ? 0 : 2;
}
