/* fork without exec: work() runs 10 times before the fork, 5 times in the
 * child after it and 3 times in the parent after it. Each process writes
 * its own file (%p); the child's starts at the fork. A finished thread
 * before the fork checks that the parent's exited threads are not copied
 * into the child's profile. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long calls_made; /* a side effect: no call may be merged with another */

__attribute__((noinline)) long work(long i) {
  calls_made++;
  return i * 3 + 1;
}

static void *early_thread(void *arg) {
  long *sum = arg;
  for (long i = 0; i < 7; i++)
    *sum += work(i);
  return NULL;
}

int main(void) {
  long sum = 0;
  pthread_t t;
  if (pthread_create(&t, NULL, early_thread, &sum) != 0 || pthread_join(t, NULL) != 0)
    return 2;
  for (long i = 0; i < 10; i++)
    sum += work(i);
  fflush(stdout);
  pid_t child = fork();
  if (child < 0)
    return 2;
  if (child == 0) {
    for (long i = 0; i < 5; i++)
      sum += work(i);
    exit(0);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return 3;
  for (long i = 0; i < 3; i++)
    sum += work(i);
  printf("%d %ld\n", (int)child, sum);
  return 0;
}
