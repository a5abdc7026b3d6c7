/* Producer/consumer on a condition variable: P producers put numbered items
 * into a bounded ring, C consumers take them; both wait on condition
 * variables when the ring is full or empty.  Prints the count and checksum
 * of consumed items and the per-producer totals (independent of order). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define ITEMS 2000
#define RING 8
static int ring[RING], head, tail, count, finished_producers;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int producers, consumers;
static long consumed, checksum;

static void *produce(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < ITEMS; i++) {
        pthread_mutex_lock(&lock);
        while (count == RING) pthread_cond_wait(&not_full, &lock);
        ring[head] = (int)(id * ITEMS + i);
        head = (head + 1) % RING;
        count++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    finished_producers++;
    pthread_cond_broadcast(&not_empty);
    pthread_mutex_unlock(&lock);
    return NULL;
}

static void *consume(void *arg) {
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (count == 0 && finished_producers < producers) pthread_cond_wait(&not_empty, &lock);
        if (count == 0) { pthread_mutex_unlock(&lock); return NULL; }
        int v = ring[tail];
        tail = (tail + 1) % RING;
        count--;
        consumed++;
        checksum += (long)v * 2654435761u % 1000003;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
    }
}

int main(int argc, char **argv) {
    producers = argc > 1 ? atoi(argv[1]) : 2;
    consumers = argc > 2 ? atoi(argv[2]) : 2;
    pthread_t p[32], c[32];
    for (long i = 0; i < producers; i++) pthread_create(&p[i], NULL, produce, (void *)i);
    for (long i = 0; i < consumers; i++) pthread_create(&c[i], NULL, consume, NULL);
    for (int i = 0; i < producers; i++) pthread_join(p[i], NULL);
    for (int i = 0; i < consumers; i++) pthread_join(c[i], NULL);
    long expect = 0;
    for (long v = 0; v < (long)producers * ITEMS; v++) expect += v * 2654435761u % 1000003;
    printf("producers=%d consumers=%d consumed=%ld checksum=%ld expect=%ld\n", producers, consumers,
           consumed, checksum, expect);
    return checksum == expect ? 0 : 2;
}
