/*
 * write_sample.c - write the builder's sample profile (profile_builder.h) to
 * a file, for the tests that run the `zinst` command on it.
 *   write_sample OUTPUT [count]   "count": the same tree in count mode
 *   write_sample OUTPUT library    a Zig-like program with library code
 *   write_sample OUTPUT count-only count-only functions beside hooked ones
 *   write_sample OUTPUT hooks      the sample with a hook-cost calibration
 *                                  (test_model.c's test_hook_correction)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_builder.h"

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 ||
      (argc == 3 && strcmp(argv[2], "count") != 0 && strcmp(argv[2], "library") != 0 &&
       strcmp(argv[2], "count-only") != 0 && strcmp(argv[2], "hooks") != 0)) {
    fprintf(stderr, "usage: write_sample OUTPUT [count|library|count-only|hooks]\n");
    return 2;
  }
  struct test_profile tp;
  const char *variant = argc == 3 ? argv[2] : "";
  if (strcmp(variant, "library") == 0)
    tp_library_sample(&tp);
  else if (strcmp(variant, "count-only") == 0)
    tp_count_only_sample(&tp);
  else
    tp_sample(&tp);
  if (strcmp(variant, "hooks") == 0) {
    /* Whole ticks at 2 GHz: untimed 2, timed 4, of it inside 1. */
    tp.process.hook_untimed_pair_ps = 1000;
    tp.process.hook_timed_pair_ps = 2000;
    tp.process.hook_timed_inner_ps = 500;
    tp.process.hook_spread_ps = 100;
  }
  if (strcmp(variant, "count") == 0) {
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
