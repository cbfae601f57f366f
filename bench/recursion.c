/* The call-dense recursion benchmark: almost nothing but calls, so the time
 * a profiler adds per call dominates. The call count of the optimized binary
 * is read from zinst's own profile (exact), not from the source. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) long fib(int n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 32;
  printf("fib(%d) = %ld\n", n, fib(n));
  return 0;
}
