/*
 * Inline-site counters end to end: known executions at inlined and
 * non-inlined sites, on several threads.
 *
 * work(n) runs mix() n times and add1() 5n times (once through mix, four
 * times in an inner loop the compiler unrolls), and calls slow() from two
 * sites: always from the first, from the second when n > 5.
 * Main thread: work(10), work(3). Thread k (n = 20, 30, 40): work(n) 3 times.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile int sink;

static int add1(int x) { return x + 1; }

static int mix(int a, int b) { return add1(a) ^ (b * 7); }

__attribute__((noinline)) int slow(int x) {
  sink = x;
  return x * 3;
}

__attribute__((noinline)) void work(int n, int *out) {
  for (int i = 0; i < n; i++) {
    out[i % 16] += mix(i, n);
    for (int k = 0; k < 4; k++)
      out[(i + k) % 16] += add1(k * i);
  }
  out[0] += slow(n);
  if (n > 5)
    out[1] += slow(n + 1);
}

static void *worker(void *arg) {
  int n = (int)(long)arg;
  int out[16] = {0};
  for (int round = 0; round < 3; round++)
    work(n, out);
  sink = out[3];
  return NULL;
}

int main(void) {
  int out[16] = {0};
  work(10, out);
  work(3, out);
  pthread_t threads[3];
  for (long k = 0; k < 3; k++)
    if (pthread_create(&threads[k], NULL, worker, (void *)(20 + 10 * k)) != 0)
      return 1;
  for (int k = 0; k < 3; k++)
    pthread_join(threads[k], NULL);
  printf("%d\n", out[0] + out[1]);
  return 0;
}
