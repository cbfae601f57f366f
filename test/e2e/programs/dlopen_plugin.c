/* The shared library loaded by dlopen_main.c: plugin_entry(n) calls
 * plugin_step n times. */
__attribute__((noinline)) long plugin_step(long i) { return (i * 7) % 13; }

long plugin_entry(long n) {
  long sum = 0;
  for (long i = 0; i < n; i++)
    sum += plugin_step(i);
  return sum;
}
