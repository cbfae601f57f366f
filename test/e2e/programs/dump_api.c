/* zinst_dump() mid-run writes a profile of what ran so far; zinst_reset()
 * makes later dumps count from that point; the exit dump still happens. */
#include <stdio.h>
#include <stdlib.h>
#include <zinst.h>

__attribute__((noinline)) long tick(long i) { return i * 2 + 1; }

int main(int argc, char **argv) {
  if (argc < 3)
    return 2;
  long s = 0;
  for (long i = 0; i < 100; i++)
    s += tick(i);
  if (zinst_dump(argv[1]) != 0)
    return 3;
  zinst_reset();
  for (long i = 0; i < 40; i++)
    s += tick(i);
  if (zinst_dump(argv[2]) != 0)
    return 4;
  for (long i = 0; i < 2; i++)
    s += tick(i);
  printf("%ld\n", s);
  return 0;
}
