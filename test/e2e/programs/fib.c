/* The classic call-dense recursion. At -O2 clang turns one of the two
 * recursive calls into a loop (accumulator tail recursion), so the optimized
 * binary makes far fewer calls than the source suggests: the test compares
 * zinst's count with uftrace's on a -pg build of the same source. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20;
  printf("fib(%d) = %ld\n", n, fib(n));
  return 0;
}
