/* "join": main joins a thread that waits on a condition variable nobody
 * signals (a deadlock of every thread).  "timedlock": main times out locking
 * a mutex it holds itself (prints the error number, ETIMEDOUT = 110). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *wait_forever(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) pthread_cond_wait(&never, &lock);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "timedlock") == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_mutex_lock(&lock);
        printf("timedlock=%d\n", pthread_mutex_timedlock(&lock, &ts));
        return 0;
    }
    pthread_t t;
    pthread_create(&t, NULL, wait_forever, NULL);
    pthread_join(t, NULL);
    puts("joined");
    return 0;
}
