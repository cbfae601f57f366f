/* Call sites whose counts come from the calling-context tree, with no
 * counter (the pass flags them when nothing else can start a context of
 * the callee under the caller's): a self-recursion, a call of a function
 * with external linkage from a function that calls nothing else, over
 * several contexts and threads. Each count must equal the calls made. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* down(k) calls down(k - 1), ..., down(0): k calls through its one site. */
__attribute__((noinline)) static long down(long k) {
  if (k <= 0)
    return 0;
  return k - down(k - 1);
}

__attribute__((noinline)) long step(long x) {
  return x * 3 + 1;
}

/* Calls nothing but step: its one site's count is step's calls under it. */
__attribute__((noinline)) long twice_step(long x) {
  return step(x) ^ x;
}

static long work(long n) {
  long sum = 0;
  for (long i = 0; i < n; i++)
    sum += twice_step(i) + down(i % 7);
  return sum;
}

static void *worker(void *arg) {
  return (void *)work((long)arg);
}

int main(int argc, char **argv) {
  long sizes[3] = {100, 200, 300};
  pthread_t threads[3];
  for (int t = 0; t < 3; t++)
    if (pthread_create(&threads[t], NULL, worker, (void *)sizes[t]) != 0)
      return 1;
  long total = work(argc > 1 ? atol(argv[1]) : 50);
  for (int t = 0; t < 3; t++) {
    void *result;
    pthread_join(threads[t], &result);
    total += (long)result;
  }
  printf("total=%ld\n", total);
  return 0;
}
