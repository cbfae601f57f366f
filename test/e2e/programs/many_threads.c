/* 16 threads start together (a barrier) and each makes exactly N calls of
 * step_a and of step_b, and one call of step_c (from step_b) for every
 * fourth i: per-thread and summed counts must be exact. Every call writes
 * its thread's record, which main checks and prints, so the optimizer can
 * neither drop nor merge the calls. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 16

struct record { /* one cache line per thread: no false sharing */
  long a, b, c;
  unsigned long hash;
} __attribute__((aligned(64)));

static struct record records[THREADS];
static pthread_barrier_t start;
static long calls_per_thread = 1000000;

__attribute__((noinline)) void step_c(struct record *r, long i) {
  r->c++;
  r->hash ^= (unsigned long)i << 7;
}

__attribute__((noinline)) void step_b(struct record *r, long i) {
  r->b++;
  r->hash = r->hash * 31 + (unsigned long)i;
  if ((i & 3) == 0)
    step_c(r, i);
}

__attribute__((noinline)) void step_a(struct record *r, long i) {
  r->a++;
  r->hash += (unsigned long)(i ^ 0x5a);
}

static void *thread_main(void *arg) {
  struct record *r = arg;
  pthread_barrier_wait(&start);
  for (long i = 0; i < calls_per_thread; i++) {
    step_a(r, i);
    step_b(r, i);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1)
    calls_per_thread = atol(argv[1]);
  pthread_t threads[THREADS];
  if (pthread_barrier_init(&start, NULL, THREADS) != 0)
    return 2;
  for (int t = 0; t < THREADS; t++)
    if (pthread_create(&threads[t], NULL, thread_main, &records[t]) != 0)
      return 2;
  for (int t = 0; t < THREADS; t++)
    pthread_join(threads[t], NULL);
  const long quarter = (calls_per_thread + 3) / 4;
  unsigned long hash = 0;
  for (int t = 0; t < THREADS; t++) {
    if (records[t].a != calls_per_thread || records[t].b != calls_per_thread ||
        records[t].c != quarter) {
      printf("thread %d made %ld, %ld, %ld calls\n", t, records[t].a, records[t].b, records[t].c);
      return 1;
    }
    hash ^= records[t].hash;
  }
  printf("%ld %ld %ld %lx\n", calls_per_thread, calls_per_thread, quarter, hash);
  return 0;
}
