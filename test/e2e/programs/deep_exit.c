/* exit() from 200 instrumented frames deep: the profile is still written,
 * and each open frame counts its one call once. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) void descend(int remaining) {
  if (remaining == 1) {
    fflush(stdout);
    exit(0);
  }
  descend(remaining - 1);
  puts("unreachable");
}

int main(void) {
  descend(200);
  return 1;
}
