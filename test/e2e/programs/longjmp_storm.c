/* 100000 times: setjmp, descend 10 instrumented frames, longjmp out of the
 * deepest. Afterwards after_jump() runs under main, and the shadow stack
 * must have been repaired each time. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

static jmp_buf env;
static volatile long sink;

__attribute__((noinline)) void descend(int depth) {
  sink++;
  if (depth == 10)
    longjmp(env, 1);
  descend(depth + 1);
  sink--; /* never reached: keeps the call out of tail position */
}

__attribute__((noinline)) long after_jump(long i) { return i ^ sink; }

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100000;
  long s = 0;
  for (long i = 0; i < n; i++) {
    if (setjmp(env) == 0)
      descend(1);
    s += after_jump(i);
  }
  printf("%ld\n", s);
  return 0;
}
