/* 8 threads, each making exactly CALLS calls of work() and CALLS/2 of
 * helper(): per-thread and summed counts must be exact. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define THREADS 8
static long calls_per_thread = 100000;

__attribute__((noinline)) long helper(long x) { return x * 3 + 1; }

__attribute__((noinline)) long work(long i) {
  long r = i ^ 0x5a;
  if (i % 2 == 0)
    r += helper(i);
  return r;
}

static void *thread_main(void *arg) {
  long sum = 0;
  for (long i = 0; i < calls_per_thread; i++)
    sum += work(i);
  *(long *)arg = sum;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1)
    calls_per_thread = atol(argv[1]);
  pthread_t threads[THREADS];
  long sums[THREADS];
  for (int t = 0; t < THREADS; t++)
    if (pthread_create(&threads[t], NULL, thread_main, &sums[t]) != 0)
      return 2;
  for (int t = 0; t < THREADS; t++)
    pthread_join(threads[t], NULL);
  long total = 0;
  for (int t = 0; t < THREADS; t++)
    total += sums[t];
  printf("%ld\n", total);
  return 0;
}
