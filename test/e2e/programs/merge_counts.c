/* Known counts per process, for `%m` outputs that many processes share:
 * main 1, work 100, thread_main 2, leaf 2 x 10, on the main thread and two
 * threads (named "merge-worker"). */
#define _GNU_SOURCE /* pthread_setname_np */
#include <pthread.h>
#include <stdio.h>

static volatile unsigned long sink;

__attribute__((noinline)) void work(unsigned long i) {
  sink += i;
}
__attribute__((noinline)) void leaf(unsigned long i) {
  sink ^= i;
}

__attribute__((noinline)) void *thread_main(void *arg) {
  pthread_setname_np(pthread_self(), "merge-worker");
  for (unsigned long i = 0; i < 10; i++)
    leaf(i + (unsigned long)arg);
  return NULL;
}

int main(void) {
  for (unsigned long i = 0; i < 100; i++)
    work(i);
  pthread_t threads[2];
  for (unsigned long t = 0; t < 2; t++)
    if (pthread_create(&threads[t], NULL, thread_main, (void *)t) != 0)
      return 1;
  for (int t = 0; t < 2; t++)
    pthread_join(threads[t], NULL);
  return 0;
}
