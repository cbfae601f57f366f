/* A caller that calls a small leaf many times, both doing work of their
 * own: what the hook-cost correction changes (run_e2e.py, case hook_cost).
 * The work keeps both self times well above the hooks' cost, so that no
 * corrected time reaches the floor at 0. */
#include <stdio.h>
#include <stdlib.h>

/* `steps` dependent multiply-adds; the asm keeps them from being folded. */
static inline unsigned work(unsigned x, int steps) {
  for (int i = 0; i < steps; i++) {
    __asm__ volatile("" : "+r"(x));
    x = x * 2654435761u + 1;
  }
  return x;
}

__attribute__((noinline)) unsigned leaf(unsigned x) {
  return work(x, 40);
}

__attribute__((noinline)) unsigned caller(int calls) {
  unsigned x = 1;
  for (int i = 0; i < calls; i++)
    x = work(leaf(x + (unsigned)i), 40);
  return x;
}

int main(int argc, char **argv) {
  int calls = argc > 1 ? atoi(argv[1]) : 1000;
  printf("%u\n", caller(calls));
  return 0;
}
