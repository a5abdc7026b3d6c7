/* A mutex-protected counter: T threads increment a shared counter (and a
 * shared histogram) under one pthread mutex, with a read-modify-write the
 * mutex must make atomic (load, some work, store). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define ITERS 3000
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile long counter;
static long hist[8];
static int nthreads;

static void *worker(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        long c = counter;
        for (volatile int k = 0; k < 3; k++) {}   /* widen the window a lost update needs */
        counter = c + 1;
        hist[id % 8]++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv) {
    nthreads = argc > 1 ? atoi(argv[1]) : 4;
    pthread_t t[64];
    for (long i = 0; i < nthreads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < nthreads; i++) pthread_join(t[i], NULL);
    printf("threads=%d counter=%ld expect=%ld\n", nthreads, counter, (long)nthreads * ITERS);
    for (int i = 0; i < 8; i++) printf("hist[%d]=%ld\n", i, hist[i]);
    return counter == (long)nthreads * ITERS ? 0 : 2;
}
