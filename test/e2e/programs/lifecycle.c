/* Instrumented code outside main: a constructor, an atexit handler, a
 * destructor, and a thread whose very first event is an instrumented call.
 * helper() runs once in each of them and once in main. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static volatile long sink;

__attribute__((noinline)) void helper(void) { sink++; }

__attribute__((constructor)) static void early(void) { helper(); }
__attribute__((destructor)) static void late(void) { helper(); }
static void at_exit_handler(void) { helper(); }

static void *first_call_thread(void *arg) {
  helper();
  return arg;
}

int main(void) {
  atexit(at_exit_handler);
  pthread_t t;
  if (pthread_create(&t, NULL, first_call_thread, NULL) != 0 || pthread_join(t, NULL) != 0)
    return 2;
  helper();
  return 0;
}
