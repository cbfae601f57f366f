/* A profiling timer fires every 50 us during a hot loop; its handler calls
 * an instrumented function. The main path's counts must stay exact, errno
 * must survive every hook, and nothing may deadlock. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

static volatile sig_atomic_t handler_runs;
static volatile long tick_sink;

__attribute__((noinline)) void on_tick(void) {
  tick_sink++;
}

static void handler(int sig) {
  (void)sig;
  int saved = errno;
  handler_runs++;
  on_tick();
  errno = saved;
}

__attribute__((noinline)) long step(long i) {
  return (i * 2654435761u) >> 7;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 5000000;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGPROF, &sa, NULL);
  struct itimerval every = {{0, 50}, {0, 50}};
  setitimer(ITIMER_PROF, &every, NULL);
  unsigned long sum = 0; /* wraps: a signed sum of 5M such steps would overflow */
  long errno_lost = 0;
  for (long i = 0; i < n; i++) {
    errno = 1234;
    sum += step(i);
    if (errno != 1234)
      errno_lost++;
  }
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_PROF, &off, NULL);
  printf("%ld %ld %lu\n", (long)handler_runs, errno_lost, sum);
  return errno_lost == 0 ? 0 : 1;
}
