/*
 * write_sample.c - write the builder's sample profile (profile_builder.h) to
 * a file, for the tests that run the `zinst` command on it.
 *   write_sample OUTPUT [count]   "count": the same tree in count mode
 *   write_sample OUTPUT library    a Zig-like program with library code
 *   write_sample OUTPUT count-only count-only functions beside hooked ones
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_builder.h"

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 ||
      (argc == 3 && strcmp(argv[2], "count") != 0 && strcmp(argv[2], "library") != 0 &&
       strcmp(argv[2], "count-only") != 0)) {
    fprintf(stderr, "usage: write_sample OUTPUT [count|library|count-only]\n");
    return 2;
  }
  struct test_profile tp;
  const bool library = argc == 3 && strcmp(argv[2], "library") == 0;
  const bool count_only = argc == 3 && strcmp(argv[2], "count-only") == 0;
  if (library)
    tp_library_sample(&tp);
  else if (count_only)
    tp_count_only_sample(&tp);
  else
    tp_sample(&tp);
  if (argc == 3 && !library && !count_only) {
    tp.process.mode = ZINST_MODE_COUNT;
    tp.process.sample_interval = tp.process.exact_calls_per_context = 0;
    for (uint32_t n = 0; n < tp.node_count; n++) {
      tp.nodes[n].inclusive_ticks = tp.nodes[n].exclusive_ticks = 0;
      tp.nodes[n].timed_calls = 0;
    }
  }
  size_t size;
  unsigned char *data = tp_serialize(&tp, &size);
  FILE *out = fopen(argv[1], "wb");
  if (!out || fwrite(data, 1, size, out) != size || fclose(out) != 0) {
    perror(argv[1]);
    free(data);
    return 1;
  }
  free(data);
  return 0;
}
