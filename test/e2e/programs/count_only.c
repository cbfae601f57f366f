/* Count-only functions (built with ZINST_COUNT_ONLY='tiny,bare,compare'):
 * tiny is called from several callers in several threads; bare is the start
 * routine of threads that run no hooked function at all (their first event
 * is tiny's counter); compare is called by the C library's qsort, which
 * zinst never instrumented, and counts its own calls to say how many there
 * were. run_e2e.py's case_count_only asserts every count exactly. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define WORKERS 4
#define BARE_THREADS 2
#define SORTED 1000

static long n = 1000;
static volatile long sink;
static long compare_calls; /* main thread only */

__attribute__((noinline)) long tiny(long x) {
  return x * 3 + 1;
}

__attribute__((noinline)) long caller_a(long count) {
  long s = 0;
  for (long i = 0; i < count; i++)
    s += tiny(i);
  return s;
}

__attribute__((noinline)) long caller_b(long count) {
  long s = 0;
  for (long i = 0; i < count; i++)
    s += tiny(i) ^ tiny(i + 1);
  return s;
}

static void *worker(void *arg) {
  (void)arg;
  sink = caller_a(n) + caller_b(n);
  return NULL;
}

/* A start routine with no hooks: its thread's only events are counters. */
__attribute__((noinline)) void *bare(void *arg) {
  (void)arg;
  long s = 0;
  for (long i = 0; i < n; i++)
    s += tiny(i);
  sink = s;
  return NULL;
}

__attribute__((noinline)) int compare(const void *a, const void *b) {
  compare_calls++;
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (argc > 1)
    n = atol(argv[1]);
  pthread_t threads[WORKERS + BARE_THREADS];
  for (int t = 0; t < WORKERS + BARE_THREADS; t++)
    if (pthread_create(&threads[t], NULL, t < WORKERS ? worker : bare, NULL) != 0)
      return 2;
  long s = 0;
  for (long i = 0; i < n; i++)
    s += tiny(i);
  static long values[SORTED];
  for (long i = 0; i < SORTED; i++)
    values[i] = (i * 7919) % SORTED;
  qsort(values, SORTED, sizeof values[0], compare);
  for (int t = 0; t < WORKERS + BARE_THREADS; t++)
    pthread_join(threads[t], NULL);
  printf("sum=%ld compare_calls=%ld\n", s + sink, compare_calls);
  return 0;
}
