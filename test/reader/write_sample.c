/*
 * write_sample.c - write the builder's sample profile (profile_builder.h) to
 * a file, for the tests that run the `zinst` command on it.
 *   write_sample OUTPUT [count]   "count": the same tree in count mode
 *   write_sample OUTPUT library    a Zig-like program with library code
 *   write_sample OUTPUT hooks      the sample with a hook-cost calibration
 *                                  (test_model.c's test_hook_correction)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_builder.h"

/*
 * Library code (flag ZINST_FUNCTION_LIBRARY) around and inside user code;
 * one thread 7001, 1 GHz ticks (calls, inclusive/exclusive ticks):
 *   start.callMain [lib] (1, 1000/100)
 *     main (1, 900/100)
 *       std.sort.insertion [lib] (2, 500/150)
 *         lessThan (40, 200/200)            a user callback from library code
 *         std.mem.swap [lib] (30, 150/150)
 *       work (4, 300/200)
 *         std.fmt.format [lib] (4, 100/60)
 *           std.mem.swap [lib] (8, 40/40)
 * Inlined sites (counted, thread 0): work <- square 12 (line 14),
 * std.sort.insertion <- std.math.order 70 (library code), and
 * helper <- tiny 5 (helper has no record: inlined everywhere itself).
 */
static void library_sample(struct test_profile *tp) {
  tp_init(tp);
  tp->process.ticks_per_second = 1000000000;
  tp_module(tp, "main.zig");
  const char *std = "/opt/zig/lib/std/";
  char path[4][64];
  const char *files[4] = {"start.zig", "sort.zig", "mem.zig", "fmt.zig"};
  for (int i = 0; i < 4; i++)
    snprintf(path[i], sizeof path[i], "%s%s", std, files[i]);
  const uint32_t call_main = tp_function(tp, "start.callMain", path[0], 600);
  const uint32_t main_fn = tp_function(tp, "main", "main.zig", 5);
  const uint32_t sort = tp_function(tp, "std.sort.insertion", path[1], 10);
  const uint32_t less_than = tp_function(tp, "lessThan", "main.zig", 20);
  const uint32_t swap = tp_function(tp, "std.mem.swap", path[2], 30);
  const uint32_t work = tp_function(tp, "work", "main.zig", 12);
  const uint32_t format = tp_function(tp, "std.fmt.format", path[3], 40);
  const uint32_t library[] = {call_main, sort, swap, format};
  for (size_t i = 0; i < sizeof library / sizeof library[0]; i++)
    tp->functions[library[i]].flags |= ZINST_FUNCTION_LIBRARY;
  tp_thread(tp, 7001, "main", ZINST_THREAD_MAIN);
  const uint32_t n_start = tp_node(tp, ZINST_NONE, call_main, 1, 1000, 100);
  const uint32_t n_main = tp_node(tp, n_start, main_fn, 1, 900, 100);
  const uint32_t n_sort = tp_node(tp, n_main, sort, 2, 500, 150);
  tp_node(tp, n_sort, less_than, 40, 200, 200);
  tp_node(tp, n_sort, swap, 30, 150, 150);
  const uint32_t n_work = tp_node(tp, n_main, work, 4, 300, 200);
  const uint32_t n_format = tp_node(tp, n_work, format, 4, 100, 60);
  tp_node(tp, n_format, swap, 8, 40, 40);
  const uint32_t counted = ZINST_SITE_INLINED | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG;
  const uint32_t square = tp_site(tp, "work", "square", 14, counted, 0, 0, "");
  const uint32_t order = tp_site(tp, "std.sort.insertion", "std.math.order", 11, counted, 0, 0, "");
  const uint32_t tiny = tp_site(tp, "helper", "tiny", 50, counted, 0, 0, "");
  tp_site_count(tp, 0, square, 12);
  tp_site_count(tp, 0, order, 70);
  tp_site_count(tp, 0, tiny, 5);
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3 ||
      (argc == 3 && strcmp(argv[2], "count") != 0 && strcmp(argv[2], "library") != 0 &&
       strcmp(argv[2], "hooks") != 0)) {
    fprintf(stderr, "usage: write_sample OUTPUT [count|library|hooks]\n");
    return 2;
  }
  struct test_profile tp;
  const char *variant = argc == 3 ? argv[2] : "";
  if (strcmp(variant, "library") == 0)
    library_sample(&tp);
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
