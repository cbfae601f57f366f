/*
 * viz_profiles.c - the hand-made profiles the visualization tests read,
 * written with test/reader's builder (independent of the runtime):
 *
 *   sample.zinst      the builder's sample (two threads, main/compute/fib/helper)
 *   grown.zinst       the same program, fib's work grown: calls and ticks known exactly
 *   other.zinst       another executable with the sample's functions
 *   rebuilt.zinst     the sample's executable with one more function
 *   count.zinst       the sample in count mode
 *   sampled.zinst     the sample with sampled timing: estimates and errors
 *   base-N.zinst, new-N.zinst (N = 1..3)
 *                     three runs per side: helper varies from run to run
 *                     and its change is noise; fib's change is real
 *   wide.zinst        main calling 50 tiny functions and one big one
 *   library.zinst     the builder's Zig-like library sample (library code
 *                     around user code, inlined sites in both)
 *   memory.zinst      the sample with memory records (ZINST_MEMORY=1):
 *                     contexts of both threads that allocated, and some
 *                     with no instrumented function on the stack
 *   hooks.zinst       the sample with a hook-cost calibration (test/reader's
 *                     write_sample "hooks": the corrected times are known)
 *
 * usage: viz_profiles DIRECTORY
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_builder.h"

static int save(const struct test_profile *tp, const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t size;
  unsigned char *data = tp_serialize(tp, &size);
  FILE *out = fopen(path, "wb");
  const int ok = data && out && fwrite(data, 1, size, out) == size;
  if (out && fclose(out) != 0)
    perror(path);
  free(data);
  if (!ok) {
    perror(path);
    return -1;
  }
  return 0;
}

/* The sample with fib's nodes scaled: calls x2, ticks x3 (main's and
 * compute's inclusive ticks grow by what their fib children gained). */
static void grown(struct test_profile *tp) {
  tp_sample(tp);
  /* Nodes, in tp_sample's order: 0 main, 1 compute, 2 fib, 3 fib, 4 helper,
   * 5 worker compute, 6 worker fib. */
  const uint64_t gain_main_fib = 2 * 400, gain_worker_fib = 2 * 400;
  tp->nodes[2].calls *= 2;
  tp->nodes[3].calls *= 2;
  tp->nodes[2].inclusive_ticks *= 3; /* 1200: children 750 */
  tp->nodes[2].exclusive_ticks *= 3; /* 450 */
  tp->nodes[3].inclusive_ticks *= 3; /* 750 */
  tp->nodes[3].exclusive_ticks *= 3;
  tp->nodes[1].inclusive_ticks += gain_main_fib;
  tp->nodes[0].inclusive_ticks += gain_main_fib;
  tp->nodes[6].calls *= 2;
  tp->nodes[6].inclusive_ticks *= 3;
  tp->nodes[6].exclusive_ticks *= 3;
  tp->nodes[5].inclusive_ticks += gain_worker_fib;
}

/* A run of the noise series: helper's ticks vary by `jitter`, fib's by `fib_extra`. */
static void run_variant(struct test_profile *tp, int64_t jitter, uint64_t fib_extra) {
  tp_sample(tp);
  tp->nodes[4].inclusive_ticks = (uint64_t)(300 + jitter);
  tp->nodes[4].exclusive_ticks = (uint64_t)(300 + jitter);
  tp->nodes[0].inclusive_ticks = (uint64_t)(1000 + jitter) + fib_extra;
  tp->nodes[3].inclusive_ticks += fib_extra;
  tp->nodes[3].exclusive_ticks += fib_extra;
  tp->nodes[2].inclusive_ticks += fib_extra;
  tp->nodes[1].inclusive_ticks += fib_extra;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: viz_profiles DIRECTORY\n");
    return 2;
  }
  const char *dir = argv[1];
  static struct test_profile tp;
  int status = 0;

  tp_sample(&tp);
  status |= save(&tp, dir, "sample.zinst");

  grown(&tp);
  status |= save(&tp, dir, "grown.zinst");

  tp_sample(&tp);
  tp.process.exe_path = tp_string(&tp, "/opt/other/bin/other");
  status |= save(&tp, dir, "other.zinst");

  tp_sample(&tp);
  tp_function(&tp, "added", "sample.c", 50);
  status |= save(&tp, dir, "rebuilt.zinst");

  tp_sample(&tp);
  tp.process.mode = ZINST_MODE_COUNT;
  tp.process.sample_interval = tp.process.exact_calls_per_context = 0;
  for (uint32_t n = 0; n < tp.node_count; n++)
    tp.nodes[n].inclusive_ticks = tp.nodes[n].exclusive_ticks = tp.nodes[n].timed_calls = 0;
  status |= save(&tp, dir, "count.zinst");

  /* Sampled: fib's deep node (20 calls) had 6 timed, error 30 ticks; its
   * parent's exclusive error combines both (sqrt(40^2 + 30^2) = 50). */
  tp_sample(&tp);
  tp.process.sample_interval = 4;
  tp.process.exact_calls_per_context = 2;
  tp.nodes[3].timed_calls = 6;
  tp.nodes[3].inclusive_error_ticks = 30;
  tp.nodes[3].exclusive_error_ticks = 30;
  tp.nodes[2].timed_calls = 5;
  tp.nodes[2].inclusive_error_ticks = 40;
  tp.nodes[2].exclusive_error_ticks = 50;
  status |= save(&tp, dir, "sampled.zinst");

  /* Helper: 300 +- 30 ticks in each series (noise); fib's deep node gains
   * 400 ticks in the new series (a real change). */
  static const int64_t jitter[3] = {-30, 0, 30};
  for (int r = 0; r < 3; r++) {
    char name[32];
    run_variant(&tp, jitter[r], 0);
    snprintf(name, sizeof name, "base-%d.zinst", r + 1);
    status |= save(&tp, dir, name);
    run_variant(&tp, -jitter[r] / 2 + 6, 400);
    snprintf(name, sizeof name, "new-%d.zinst", r + 1);
    status |= save(&tp, dir, name);
  }

  /* Wide: main (self 1000) calls big (100000 ticks) and tiny_00..tiny_49
   * (10 ticks each): at 1200 px, a tiny one is 0.12 px wide. */
  tp_init(&tp);
  tp.process.ticks_per_second = 1000000000;
  tp.process.exe_path = tp_string(&tp, "/opt/wide/bin/wide");
  tp_module(&tp, "wide.c");
  const uint32_t main_fn = tp_function(&tp, "main", "wide.c", 1);
  const uint32_t big = tp_function(&tp, "big", "wide.c", 2);
  tp_thread(&tp, 7, "main", ZINST_THREAD_MAIN);
  const uint32_t root = tp_node(&tp, ZINST_NONE, main_fn, 1, 1000 + 100000 + 50 * 10, 1000);
  tp_node(&tp, root, big, 1, 100000, 100000);
  for (int i = 0; i < 50; i++) {
    char name[16];
    snprintf(name, sizeof name, "tiny_%02d", i);
    const uint32_t tiny = tp_function(&tp, name, "wide.c", (uint32_t)(10 + i));
    tp_node(&tp, root, tiny, 1, 10, 10);
  }
  status |= save(&tp, dir, "wide.zinst");

  tp_library_sample(&tp);
  status |= save(&tp, dir, "library.zinst");

  /* Memory (allocations, bytes, frees, freed bytes, peak) on the sample's
   * nodes: 0 main, 1 main>compute, 3 main>compute>fib>fib, 4 main>helper
   * (thread 1001), 5 compute, 6 compute>fib (thread 1002), and ZINST_NONE
   * (no instrumented function) in both threads. */
  tp_sample(&tp);
  tp_memory(&tp, 0, 1, 4, 400, 3, 300, 200);
  tp_memory(&tp, 0, 3, 2, 64, 2, 64, 32);
  tp_memory(&tp, 0, 4, 1, 1000, 0, 0, 1000);
  tp_memory(&tp, 0, ZINST_NONE, 3, 30, 1, 10, 30);
  tp_memory(&tp, 1, 5, 10, 100, 10, 100, 50);
  tp_memory(&tp, 1, 6, 5, 500, 4, 400, 200);
  tp_memory(&tp, 1, ZINST_NONE, 1, 8, 0, 0, 8);
  status |= save(&tp, dir, "memory.zinst");

  /* As write_sample's "hooks" (check_cli.py derives its corrected times):
   * at 2 GHz an untimed pair is 2 ticks, a timed one 4, of it inside 1. */
  tp_sample(&tp);
  tp.process.hook_untimed_pair_ps = 1000;
  tp.process.hook_timed_pair_ps = 2000;
  tp.process.hook_timed_inner_ps = 500;
  tp.process.hook_spread_ps = 100;
  status |= save(&tp, dir, "hooks.zinst");
  return status ? 1 : 0;
}
