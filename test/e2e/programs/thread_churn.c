/* 1000 short-lived threads, 50 at a time; every third ends with
 * pthread_exit from inside an instrumented function. Each makes exactly 100
 * calls of work(). */
#include <pthread.h>
#include <stdio.h>

__attribute__((noinline)) long work(long i) { return i * i; }

__attribute__((noinline)) void finish_early(long sum) { pthread_exit((void *)sum); }

static void *thread_main(void *arg) {
  long id = (long)arg, sum = 0;
  for (long i = 0; i < 100; i++)
    sum += work(i);
  if (id % 3 == 0)
    finish_early(sum);
  return (void *)sum;
}

int main(void) {
  for (long batch = 0; batch < 20; batch++) {
    pthread_t threads[50];
    for (long k = 0; k < 50; k++)
      if (pthread_create(&threads[k], NULL, thread_main, (void *)(batch * 50 + k)) != 0)
        return 2;
    for (long k = 0; k < 50; k++)
      pthread_join(threads[k], NULL);
  }
  puts("done");
  return 0;
}
