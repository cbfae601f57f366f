/* The library dlclose_main.c opens, uses from four threads, closes while
 * frames of its functions are still open on two of them, and opens again. */
#include <semaphore.h>

__attribute__((noinline)) long lib_leaf(long i) {
  return (i * 7) % 13;
}

__attribute__((noinline)) long lib_sum(long n) {
  long sum = 0;
  for (long i = 0; i < n; i++)
    sum += lib_leaf(i);
  return sum;
}

/* Calls back into the program (which leaves by longjmp). */
__attribute__((noinline)) long lib_call_back(void (*callback)(long), long n) {
  long x = lib_leaf(n);
  callback(x);
  return x + 1;
}

__attribute__((noinline)) long lib_run_callback(void (*callback)(long), long n) {
  return lib_call_back(callback, n) * 2;
}

/* Says it is ready, then waits for a post that never comes: the calling
 * thread stays inside the library for good. */
__attribute__((noinline)) long lib_wait(sem_t *ready, sem_t *never) {
  sem_post(ready);
  while (sem_wait(never) != 0)
    continue;
  return 0;
}

__attribute__((noinline)) long lib_block(sem_t *ready, sem_t *never) {
  long x = lib_leaf(1);
  return lib_wait(ready, never) + x;
}
