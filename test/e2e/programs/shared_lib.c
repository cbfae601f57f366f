/* The shared library of shared_main.c: shared_sum(n) calls shared_term n
 * times. */
__attribute__((noinline)) long shared_term(long i) { return i * i % 7; }

long shared_sum(long n) {
  long s = 0;
  for (long i = 0; i < n; i++)
    s += shared_term(i);
  return s;
}
