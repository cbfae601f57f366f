/* Calls through a table of function pointers: the callee is only known at
 * run time, so only entry hooks can count it. op_add runs 3 times in every
 * 4 iterations, op_mul once. */
#include <stdio.h>
#include <stdlib.h>

typedef long (*op_fn)(long, long);

__attribute__((noinline)) long op_add(long a, long b) { return a + b; }
__attribute__((noinline)) long op_mul(long a, long b) { return a * b % 1000003; }

static op_fn table[4] = {op_add, op_add, op_mul, op_add};

__attribute__((noinline)) long run(op_fn *ops, long iterations) {
  long acc = 1;
  for (long i = 0; i < iterations; i++)
    acc = ops[i & 3](acc, i);
  return acc;
}

int main(int argc, char **argv) {
  long iterations = argc > 1 ? atol(argv[1]) : 40000;
  op_fn *volatile ops = table; /* hide the table from constant propagation */
  printf("%ld\n", run(ops, iterations));
  return 0;
}
