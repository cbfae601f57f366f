/* An executable linked at build time against an instrumented shared
 * library (DT_NEEDED, not dlopen): two modules registered at startup, the
 * calls between them counted in one tree. */
#include <stdio.h>
#include <stdlib.h>

long shared_sum(long n);

__attribute__((noinline)) long drive(long n) { return shared_sum(n) + 1; }

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100;
  long total = 0;
  for (int i = 0; i < 3; i++)
    total += drive(n);
  printf("%ld\n", total);
  return 0;
}
