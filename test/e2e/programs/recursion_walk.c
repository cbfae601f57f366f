/* Binary recursion with a known call count: walk(d) makes 2^(d+1) - 1 calls
 * of walk. Neither recursive call is in tail position, so no optimization
 * level can remove one; noinline keeps the first call out of main.
 * usage: walk [DEPTH [WORK]]: WORK busy iterations in every call (default 0). */
#include <stdlib.h>

volatile long leaves;
volatile long inner;
volatile long busy;
static int work;

__attribute__((noinline)) void walk(int depth) {
  for (int i = 0; i < work; i++)
    busy++;
  if (depth == 0) {
    leaves++;
    return;
  }
  walk(depth - 1);
  walk(depth - 1);
  inner++;
}

int main(int argc, char **argv) {
  int depth = argc > 1 ? atoi(argv[1]) : 12;
  work = argc > 2 ? atoi(argv[2]) : 0;
  walk(depth);
  return leaves == (1L << depth) ? 0 : 1;
}
