/*
 * test_model.c - call-tree merging, the flat profile (recursion counted
 * once), the hook-cost correction, tick conversion, human units and JSON
 * string escaping.
 */
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"
#include "profile_builder.h"
#include "profile_model.h"
#include "profile_reader.h"
#include "test_helpers.h"
#include "units.h"

/* Parse a builder profile; aborts the test binary if the builder made a bad file. */
static void load(const struct test_profile *tp, struct zinst_profile *profile) {
  size_t size;
  unsigned char *data = tp_serialize(tp, &size);
  char err[256];
  if (zinst_profile_parse(data, size, profile, err, sizeof err) != 0) {
    fprintf(stderr, "builder profile refused: %s\n", err);
    exit(1);
  }
  free(data);
}

/* Merged child of `parent` calling `function`, or ZINST_NONE. */
static uint32_t find_child(const struct zinst_call_tree *tree, uint32_t parent, uint32_t function) {
  for (uint32_t c = tree->nodes[parent].first_child; c != ZINST_NONE;
       c = tree->nodes[c].next_sibling)
    if (tree->nodes[c].function == function)
      return c;
  return ZINST_NONE;
}

static void test_recursion_counted_once(void) {
  struct test_profile tp;
  tp_init(&tp);
  tp_module(&tp, "r.c");
  const uint32_t f = tp_function(&tp, "f", "r.c", 1);
  const uint32_t g = tp_function(&tp, "g", "r.c", 2);
  tp_thread(&tp, 7, "main", ZINST_THREAD_MAIN);
  const uint32_t f1 = tp_node(&tp, ZINST_NONE, f, 1, 100, 10);
  const uint32_t f2 = tp_node(&tp, f1, f, 2, 90, 20);
  const uint32_t f3 = tp_node(&tp, f2, f, 4, 70, 40);
  tp_node(&tp, f3, g, 8, 30, 30);
  struct zinst_profile profile;
  load(&tp, &profile);
  struct zinst_call_tree tree;
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  CHECK_EQ_U64(tree.node_count, 5); /* root + f, f, f, g */
  CHECK_EQ_U64(tree.total_ticks, 100);
  CHECK_EQ_U64(tree.total_calls, 15);
  CHECK_EQ_U64(tree.nodes[find_child(&tree, ZINST_TREE_ROOT, f)].subtree_calls, 15);
  struct zinst_flat_profile flat;
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.total_ticks, 100);
  CHECK_EQ_U64(flat.entries[f].calls, 7);
  CHECK_EQ_U64(flat.entries[f].self_ticks, 70);   /* 10 + 20 + 40 */
  CHECK_EQ_U64(flat.entries[f].total_ticks, 100); /* outermost only, not 100 + 90 + 70 */
  CHECK_EQ_U64(flat.entries[g].calls, 8);
  CHECK_EQ_U64(flat.entries[g].self_ticks, 30);
  CHECK_EQ_U64(flat.entries[g].total_ticks, 30);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
}

/* A sampled profile: estimates with errors. Errors add in quadrature over
 * merged threads and over a function's nodes; a function's self time sums
 * the unfloored exclusive estimates, so noise that floors one node at 0
 * does not inflate it (the recursion's self time equals its total). */
static void test_sampled_estimates(void) {
  struct test_profile tp;
  tp_init(&tp);
  tp.process.sample_interval = 16;
  tp_module(&tp, "s.c");
  const uint32_t f = tp_function(&tp, "f", "s.c", 1);
  const uint32_t g = tp_function(&tp, "g", "s.c", 2);
  for (uint64_t tid = 1; tid <= 2; tid++) {
    tp_thread(&tp, tid, "t", 0);
    const uint32_t f1 = tp_node(&tp, ZINST_NONE, f, 1, 1000, 100);
    /* f -> f: estimated at 950 (more than it could be: its parent
     * measured 1000 but g takes 100); exclusive floored at 0 in the file. */
    const uint32_t f2 = tp_node(&tp, f1, f, 100, 950, 0);
    tp.nodes[f2].timed_calls = 20;
    tp.nodes[f2].inclusive_error_ticks = 30;
    tp.nodes[f2].exclusive_error_ticks = 50;
    const uint32_t g1 = tp_node(&tp, f1, g, 100, 100, 100);
    tp.nodes[g1].timed_calls = 30;
    tp.nodes[g1].inclusive_error_ticks = 40;
    tp.nodes[g1].exclusive_error_ticks = 40;
    tp.nodes[f1].exclusive_error_ticks = 50; /* sqrt(30^2 + 40^2) */
  }
  struct zinst_profile profile;
  load(&tp, &profile);
  struct zinst_call_tree tree;
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  const uint32_t f1 = find_child(&tree, ZINST_TREE_ROOT, f);
  const uint32_t f2 = find_child(&tree, f1, f);
  CHECK_EQ_U64(tree.nodes[f2].calls, 200);
  CHECK_EQ_U64(tree.nodes[f2].timed_calls, 40);
  CHECK_EQ_U64(tree.nodes[f2].inclusive_ticks, 1900);
  CHECK_EQ_U64(zinst_error_ticks(tree.nodes[f2].inclusive_variance), 42); /* 30 * sqrt(2) */
  CHECK_EQ_U64(tree.total_ticks, 2000);
  CHECK_EQ_U64(zinst_error_ticks(tree.total_variance), 0); /* the roots are exact */
  struct zinst_flat_profile flat;
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[f].calls, 202);
  CHECK_EQ_U64(flat.entries[f].timed_calls, 42);
  CHECK_EQ_U64(flat.entries[f].total_ticks, 2000);
  CHECK_EQ_U64(zinst_error_ticks(flat.entries[f].total_variance), 0);
  /* f's total comes from its outermost nodes, timed on every call: exact,
   * although the recursive f -> f nodes are sampled. g's is estimated. */
  CHECK_EQ_U64(flat.entries[f].total_untimed_calls, 0);
  CHECK_EQ_U64(flat.entries[g].total_untimed_calls, 140);
  /* (1000 - 950 - 100) + 950 per thread = 900 each, not 0 + 950 + 100 floored. */
  CHECK_EQ_U64(flat.entries[f].self_ticks, 1800);
  /* Two nodes of 50 per thread: sqrt(4 * 50^2). */
  CHECK_EQ_U64(zinst_error_ticks(flat.entries[f].self_variance), 100);
  CHECK_EQ_U64(flat.entries[g].self_ticks, 200);
  CHECK_EQ_U64(zinst_error_ticks(flat.entries[g].total_variance), 57); /* 40 * sqrt(2) */
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);

  char buffer[ZINST_UNIT_BUFFER];
  CHECK_STR(zinst_format_error(0, 1000, true, buffer, sizeof buffer), "exact");
  CHECK_STR(zinst_format_error(2, 1000, false, buffer, sizeof buffer), "\u00b10.4%");
  CHECK_STR(zinst_format_error(100, 1000, false, buffer, sizeof buffer), "\u00b120%");
  CHECK_STR(zinst_format_error(1, 100000000, false, buffer, sizeof buffer), "\u00b1<0.1%");
  CHECK_STR(zinst_format_error(1, 0, false, buffer, sizeof buffer), "\u00b1?");
  /* No error but not every call timed (no measurement to estimate from): unknown, not exact. */
  CHECK_STR(zinst_format_error(0, 1000, false, buffer, sizeof buffer), "\u00b1?");
}

/* Mutual recursion a -> b -> a: each function's total is its outermost activation. */
static void test_mutual_recursion(void) {
  struct test_profile tp;
  tp_init(&tp);
  tp_module(&tp, "m.c");
  const uint32_t a = tp_function(&tp, "a", "m.c", 1);
  const uint32_t b = tp_function(&tp, "b", "m.c", 2);
  tp_thread(&tp, 1, "t", 0);
  const uint32_t a1 = tp_node(&tp, ZINST_NONE, a, 1, 50, 5);
  const uint32_t b1 = tp_node(&tp, a1, b, 1, 45, 5);
  const uint32_t a2 = tp_node(&tp, b1, a, 1, 40, 10);
  tp_node(&tp, a2, b, 1, 30, 30);
  struct zinst_profile profile;
  load(&tp, &profile);
  struct zinst_call_tree tree;
  struct zinst_flat_profile flat;
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[a].total_ticks, 50);
  CHECK_EQ_U64(flat.entries[b].total_ticks, 45);
  CHECK_EQ_U64(flat.entries[a].self_ticks, 15);
  CHECK_EQ_U64(flat.entries[b].self_ticks, 35);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
}

static void test_threads_merge_by_path(void) {
  struct test_profile tp;
  tp_init(&tp);
  tp_module(&tp, "t.c");
  const uint32_t run = tp_function(&tp, "run", "t.c", 1);
  const uint32_t work = tp_function(&tp, "work", "t.c", 2);
  const uint32_t io = tp_function(&tp, "io", "t.c", 3);
  tp_thread(&tp, 10, "a", 0);
  const uint32_t a_run = tp_node(&tp, ZINST_NONE, run, 1, 100, 10);
  tp_node(&tp, a_run, work, 3, 60, 60);
  tp_node(&tp, a_run, io, 2, 30, 30);
  tp_thread(&tp, 11, "b", 0);
  const uint32_t b_run = tp_node(&tp, ZINST_NONE, run, 1, 200, 20);
  tp_node(&tp, b_run, work, 5, 180, 180);
  tp_node(&tp, ZINST_NONE, work, 7, 70, 70); /* same function, different path: not merged */
  struct zinst_profile profile;
  load(&tp, &profile);

  struct zinst_call_tree tree;
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  CHECK_EQ_U64(tree.node_count, 5); /* root, run, run>work, run>io, work */
  const uint32_t m_run = find_child(&tree, ZINST_TREE_ROOT, run);
  const uint32_t m_work = find_child(&tree, m_run, work);
  const uint32_t m_io = find_child(&tree, m_run, io);
  const uint32_t m_top_work = find_child(&tree, ZINST_TREE_ROOT, work);
  CHECK(m_run != ZINST_NONE && m_work != ZINST_NONE && m_io != ZINST_NONE &&
        m_top_work != ZINST_NONE);
  if (m_run != ZINST_NONE && m_work != ZINST_NONE && m_io != ZINST_NONE &&
      m_top_work != ZINST_NONE) {
    CHECK_EQ_U64(tree.nodes[m_run].calls, 2);
    CHECK_EQ_U64(tree.nodes[m_run].inclusive_ticks, 300);
    CHECK_EQ_U64(tree.nodes[m_run].exclusive_ticks, 30);
    CHECK_EQ_U64(tree.nodes[m_work].calls, 8);
    CHECK_EQ_U64(tree.nodes[m_work].inclusive_ticks, 240);
    CHECK_EQ_U64(tree.nodes[m_io].calls, 2);
    CHECK_EQ_U64(tree.nodes[m_top_work].calls, 7);
    CHECK_EQ_U64(tree.nodes[m_work].depth, 2);
  }
  CHECK_EQ_U64(tree.total_ticks, 370);
  struct zinst_flat_profile flat;
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[work].calls, 15);
  CHECK_EQ_U64(flat.entries[work].total_ticks, 310);
  CHECK_EQ_U64(flat.entries[work].self_ticks, 310);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);

  /* One thread alone. */
  const uint32_t second = 1;
  CHECK(zinst_call_tree_build(&profile, &second, 1, ZINST_TIMES_CORRECTED, &tree) == 0);
  CHECK_EQ_U64(tree.node_count, 4);
  CHECK_EQ_U64(tree.total_ticks, 270);
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[run].calls, 1);
  CHECK_EQ_U64(flat.entries[io].calls, 0);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
}

/* MEMORY records merged by path as the nodes are, a record of no
 * instrumented function on the root, one of a MERGED thread counted as its
 * threads; one thread alone takes only its records. */
static void test_memory_merge(void) {
  struct test_profile tp;
  tp_init(&tp);
  tp_module(&tp, "m.c");
  const uint32_t run = tp_function(&tp, "run", "m.c", 1);
  const uint32_t make = tp_function(&tp, "make", "m.c", 2);
  tp_thread(&tp, 10, "a", ZINST_THREAD_MAIN);
  const uint32_t a_run = tp_node(&tp, ZINST_NONE, run, 1, 100, 10);
  const uint32_t a_make = tp_node(&tp, a_run, make, 3, 60, 60);
  tp_thread(&tp, 0, "exited", ZINST_THREAD_EXITED | ZINST_THREAD_MERGED);
  tp.threads[1].thread_count = 4;
  const uint32_t b_run = tp_node(&tp, ZINST_NONE, run, 4, 200, 20);
  const uint32_t b_make = tp_node(&tp, b_run, make, 5, 180, 180);
  tp_memory(&tp, 0, a_make, 3, 300, 1, 100, 300);
  tp_memory(&tp, 0, ZINST_NONE, 2, 48, 2, 48, 32);
  tp_memory(&tp, 1, b_run, 1, 8, 0, 0, 8);
  tp_memory(&tp, 1, b_make, 10, 1000, 6, 600, 700);
  struct zinst_profile profile;
  load(&tp, &profile);

  struct zinst_call_tree tree;
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  const uint32_t m_run = find_child(&tree, ZINST_TREE_ROOT, run);
  const uint32_t m_make = m_run == ZINST_NONE ? ZINST_NONE : find_child(&tree, m_run, make);
  CHECK(m_make != ZINST_NONE);
  if (m_make != ZINST_NONE) {
    const struct zinst_tree_memory *m = &tree.nodes[m_make].memory;
    CHECK_EQ_U64(m->allocations, 13);
    CHECK_EQ_U64(m->allocated_bytes, 1300);
    CHECK_EQ_U64(m->frees, 7);
    CHECK_EQ_U64(m->freed_bytes, 700);
    CHECK_EQ_U64(m->peak_live_bytes, 1000); /* 300 + 700: a bound */
    CHECK_EQ_U64(m->threads, 5);            /* 1 + the 4 summed */
    CHECK_EQ_U64(m->records, 2);
    CHECK(m->summed);
    CHECK_EQ_U64(tree.nodes[m_run].memory.allocations, 1);
    CHECK_EQ_U64(tree.nodes[m_run].memory.threads, 4);
  }
  const struct zinst_tree_memory *root = &tree.nodes[ZINST_TREE_ROOT].memory;
  CHECK_EQ_U64(root->allocations, 2);
  CHECK_EQ_U64(root->allocated_bytes, 48);
  CHECK_EQ_U64(root->threads, 1);
  CHECK(!root->summed);
  zinst_call_tree_free(&tree);

  const uint32_t first = 0;
  CHECK(zinst_call_tree_build(&profile, &first, 1, ZINST_TIMES_CORRECTED, &tree) == 0);
  const uint32_t a_only = find_child(&tree, find_child(&tree, ZINST_TREE_ROOT, run), make);
  CHECK(a_only != ZINST_NONE);
  if (a_only != ZINST_NONE) {
    CHECK_EQ_U64(tree.nodes[a_only].memory.allocated_bytes, 300);
    CHECK_EQ_U64(tree.nodes[a_only].memory.threads, 1);
    CHECK(!tree.nodes[a_only].memory.summed);
  }
  CHECK_EQ_U64(tree.nodes[ZINST_TREE_ROOT].memory.allocated_bytes, 48);
  zinst_call_tree_free(&tree);

  /* A profile without memory: all zero. */
  tp_sample(&tp);
  zinst_profile_free(&profile);
  load(&tp, &profile);
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  uint64_t any = 0;
  for (uint32_t n = 0; n < tree.node_count; n++)
    any += tree.nodes[n].memory.allocations + tree.nodes[n].memory.records;
  CHECK_EQ_U64(any, 0);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
}

/* A tree wider than the child index's first capacity, and a chain deeper than any C stack frame
 * budget. */
static void test_large_trees(void) {
  struct test_profile tp;
  tp_init(&tp);
  tp_module(&tp, "big.c");
  const uint32_t f = tp_function(&tp, "f", "big.c", 1);
  tp_thread(&tp, 1, "t", 0);
  uint32_t parent = ZINST_NONE;
  for (int i = 0; i < TP_MAX_RECORDS; i++)
    parent = tp_node(&tp, parent, f, 1, (uint64_t)(TP_MAX_RECORDS - i), 1);
  struct zinst_profile profile;
  load(&tp, &profile);
  struct zinst_call_tree tree;
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  CHECK_EQ_U64(tree.node_count, TP_MAX_RECORDS + 1);
  CHECK_EQ_U64(tree.nodes[TP_MAX_RECORDS].depth, TP_MAX_RECORDS);
  struct zinst_flat_profile flat;
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[f].calls, TP_MAX_RECORDS);
  CHECK_EQ_U64(flat.entries[f].total_ticks, TP_MAX_RECORDS);
  CHECK_EQ_U64(flat.entries[f].self_ticks, TP_MAX_RECORDS);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
}

static void test_empty_profile(void) {
  struct test_profile tp;
  tp_init(&tp);
  struct zinst_profile profile;
  load(&tp, &profile);
  struct zinst_call_tree tree;
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  CHECK_EQ_U64(tree.node_count, 1);
  CHECK_EQ_U64(tree.total_ticks, 0);
  struct zinst_flat_profile flat;
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.count, 0);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
}

/* The hook-cost correction on the builder's sample (every call timed, 2
 * GHz ticks), with costs chosen to be whole ticks: an untimed pair 1000 ps
 * (2 ticks, unused here), a timed pair 2000 ps (4 ticks), its inner part
 * 500 ps (1 tick). Per node, hook = calls x 1 + 4 x the calls below it:
 *   thread 1: fib>fib 20 calls: 20; fib 10: 10 + 80 = 90;
 *             compute 10: 10 + 4 x 30 = 130; helper 5: 5;
 *             main 1: 1 + 4 x 45 = 181;
 *   thread 2: fib 4: 4; compute 3: 3 + 16 = 19.
 * Inclusive loses hook, exclusive hook less its children's. */
static void test_hook_correction(void) {
  struct test_profile tp;
  tp_sample(&tp);
  tp.process.hook_untimed_pair_ps = 1000;
  tp.process.hook_timed_pair_ps = 2000;
  tp.process.hook_timed_inner_ps = 500;
  tp.process.hook_spread_ps = 100;
  struct zinst_profile profile;
  load(&tp, &profile);
  CHECK(zinst_profile_has_hook_costs(&profile));
  CHECK(zinst_hook_correction(&profile, ZINST_TIMES_CORRECTED));
  CHECK(!zinst_hook_correction(&profile, ZINST_TIMES_RAW));
  const uint32_t main_fn = 0, compute = 1, fib = 2, helper = 3;

  struct zinst_call_tree tree;
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  const uint32_t n_main = find_child(&tree, ZINST_TREE_ROOT, main_fn);
  const uint32_t n_compute = find_child(&tree, n_main, compute);
  const uint32_t n_fib = find_child(&tree, n_compute, fib);
  const uint32_t n_fib2 = find_child(&tree, n_fib, fib);
  const uint32_t n_helper = find_child(&tree, n_main, helper);
  const uint32_t w_compute = find_child(&tree, ZINST_TREE_ROOT, compute);
  const uint32_t w_fib = find_child(&tree, w_compute, fib);
  const struct {
    uint32_t node;
    uint64_t inclusive, exclusive;
  } expected[] = {
      {n_main, 1000 - 181, 100 - (181 - 130 - 5)},
      {n_compute, 600 - 130, 200 - (130 - 90)},
      {n_fib, 400 - 90, 150 - (90 - 20)},
      {n_fib2, 250 - 20, 250 - 20},
      {n_helper, 300 - 5, 300 - 5},
      {w_compute, 500 - 19, 100 - (19 - 4)},
      {w_fib, 400 - 4, 400 - 4},
  };
  for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
    CHECK(expected[i].node != ZINST_NONE);
    if (expected[i].node == ZINST_NONE)
      continue;
    CHECK_EQ_U64(tree.nodes[expected[i].node].inclusive_ticks, expected[i].inclusive);
    CHECK_EQ_U64(tree.nodes[expected[i].node].exclusive_ticks, expected[i].exclusive);
  }
  CHECK_EQ_U64(tree.total_ticks, 819 + 481);
  struct zinst_flat_profile flat;
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[main_fn].self_ticks, 54);
  CHECK_EQ_U64(flat.entries[main_fn].total_ticks, 819);
  CHECK_EQ_U64(flat.entries[compute].self_ticks, 160 + 85);
  CHECK_EQ_U64(flat.entries[compute].total_ticks, 470 + 481);
  CHECK_EQ_U64(flat.entries[fib].self_ticks, 80 + 230 + 396);
  CHECK_EQ_U64(flat.entries[fib].total_ticks, 310 + 396); /* the outermost fib of each path */
  CHECK_EQ_U64(flat.entries[helper].self_ticks, 295);
  CHECK_EQ_U64(flat.entries[helper].total_ticks, 295);
  /* Counts and errors are not touched. */
  CHECK_EQ_U64(flat.entries[fib].calls, 34);
  CHECK_EQ_U64(flat.entries[fib].timed_calls, 34);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);

  /* --raw: the file's numbers. */
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_RAW, &tree) == 0);
  CHECK_EQ_U64(tree.total_ticks, 1500);
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[main_fn].self_ticks, 100);
  CHECK_EQ_U64(flat.entries[fib].self_ticks, 150 + 250 + 400);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);

  /* One thread alone: the same numbers for its nodes. */
  const uint32_t worker = 1;
  CHECK(zinst_call_tree_build(&profile, &worker, 1, ZINST_TIMES_CORRECTED, &tree) == 0);
  CHECK_EQ_U64(tree.total_ticks, 481);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);

  /* Count mode: nothing to correct, even with costs in the file. */
  tp.process.mode = ZINST_MODE_COUNT;
  tp.process.sample_interval = 0;
  for (uint32_t n = 0; n < tp.node_count; n++)
    tp.nodes[n].timed_calls = tp.nodes[n].inclusive_ticks = tp.nodes[n].exclusive_ticks = 0;
  load(&tp, &profile);
  CHECK(!zinst_profile_has_hook_costs(&profile));
  CHECK(!zinst_hook_correction(&profile, ZINST_TIMES_CORRECTED));
  zinst_profile_free(&profile);

  /* No calibration (an older runtime): as measured. */
  tp_sample(&tp);
  load(&tp, &profile);
  CHECK(!zinst_hook_correction(&profile, ZINST_TIMES_CORRECTED));
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  CHECK_EQ_U64(tree.total_ticks, 1500);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
}

/* Sampled calls, costs that are not whole ticks (2.5 GHz: a picosecond is
 * 0.0025 ticks, each node's hook rounded down), untimed pairs, and the
 * floor at 0. main (1) -> caller (10) -> leaf (1000 calls, 100 timed):
 *   leaf:   1000 x 3300 ps = 3300000 ps = 8250 ticks;
 *   caller: 10 x 3300 + 100 x 23000 + 900 x 5600 = 7373000 ps = 18432 ticks;
 *   main:   3300 + 10 x 23000 + 7340000 = 7573300 ps = 18933 ticks. */
static void test_hook_correction_sampled(void) {
  struct test_profile tp;
  tp_init(&tp);
  tp.process.ticks_per_second = 2500000000ULL;
  tp.process.sample_interval = 16;
  tp.process.hook_untimed_pair_ps = 5600;
  tp.process.hook_timed_pair_ps = 23000;
  tp.process.hook_timed_inner_ps = 3300;
  tp_module(&tp, "s.c");
  const uint32_t main_fn = tp_function(&tp, "main", "s.c", 1);
  const uint32_t caller = tp_function(&tp, "caller", "s.c", 2);
  const uint32_t leaf = tp_function(&tp, "leaf", "s.c", 3);
  const uint32_t tiny = tp_function(&tp, "tiny", "s.c", 4);
  tp_thread(&tp, 1, "main", ZINST_THREAD_MAIN);
  const uint32_t n_main = tp_node(&tp, ZINST_NONE, main_fn, 1, 1000000, 100000);
  const uint32_t n_caller = tp_node(&tp, n_main, caller, 10, 900000, 200000);
  const uint32_t n_leaf = tp_node(&tp, n_caller, leaf, 1000, 700000, 700000);
  tp.nodes[n_leaf].timed_calls = 100;
  tp.nodes[n_leaf].inclusive_error_ticks = 5000;
  tp.nodes[n_leaf].exclusive_error_ticks = 5000;
  tp.nodes[n_caller].exclusive_error_ticks = 5000;
  /* A second thread whose measured times are below the hooks' cost. */
  tp_thread(&tp, 2, "w", 0);
  const uint32_t w_main = tp_node(&tp, ZINST_NONE, main_fn, 1, 20000, 19000);
  tp_node(&tp, w_main, tiny, 1000, 1000, 1000);
  struct zinst_profile profile;
  load(&tp, &profile);

  struct zinst_call_tree tree;
  const uint32_t first = 0, second = 1;
  CHECK(zinst_call_tree_build(&profile, &first, 1, ZINST_TIMES_CORRECTED, &tree) == 0);
  const uint32_t m_main = find_child(&tree, ZINST_TREE_ROOT, main_fn);
  const uint32_t m_caller = find_child(&tree, m_main, caller);
  const uint32_t m_leaf = find_child(&tree, m_caller, leaf);
  CHECK(m_leaf != ZINST_NONE);
  if (m_leaf != ZINST_NONE) {
    CHECK_EQ_U64(tree.nodes[m_leaf].inclusive_ticks, 700000 - 8250);
    CHECK_EQ_U64(tree.nodes[m_leaf].exclusive_ticks, 700000 - 8250);
    CHECK_EQ_U64(tree.nodes[m_caller].inclusive_ticks, 900000 - 18432);
    CHECK_EQ_U64(tree.nodes[m_caller].exclusive_ticks, 200000 - (18432 - 8250));
    CHECK_EQ_U64(tree.nodes[m_main].inclusive_ticks, 1000000 - 18933);
    CHECK_EQ_U64(tree.nodes[m_main].exclusive_ticks, 100000 - (18933 - 18432));
    /* Estimated nodes' self times come from the corrected inclusive ones. */
    CHECK_EQ_U64((uint64_t)tree.nodes[m_caller].self_estimate, 881568 - 691750);
  }
  struct zinst_flat_profile flat;
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[leaf].self_ticks, 691750);
  CHECK_EQ_U64(flat.entries[caller].self_ticks, 189818);
  CHECK_EQ_U64(flat.entries[main_fn].self_ticks, 99499);
  CHECK_EQ_U64(flat.entries[main_fn].total_ticks, 981067);
  /* The errors are the sampling's, unchanged. */
  CHECK_EQ_U64(zinst_error_ticks(flat.entries[leaf].total_variance), 5000);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);

  /* Never below 0: tiny's 1000 calls cost 8250 ticks of inner part, more
   * than the 1000 measured; main's share (49258 ticks) exceeds its 19000:
   * each gives up its own self time, no more. */
  CHECK(zinst_call_tree_build(&profile, &second, 1, ZINST_TIMES_CORRECTED, &tree) == 0);
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[tiny].self_ticks, 0);
  CHECK_EQ_U64(flat.entries[tiny].total_ticks, 0);
  CHECK_EQ_U64(flat.entries[main_fn].self_ticks, 0);
  CHECK_EQ_U64(flat.entries[main_fn].total_ticks, 0);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
}

/* A node's share of the hooks is at most its own measured self time, so a
 * caller never ends up shorter than its callees (frames abandoned by
 * longjmp had no exit hook; the processor can hide hooks). At 2 GHz, inner
 * 1 tick, timed pair 4: p's share would be 10 x 4 = 40 ticks of its 10. */
static void test_hook_correction_capped(void) {
  struct test_profile tp;
  tp_init(&tp);
  tp.process.ticks_per_second = 2000000000ULL;
  tp.process.hook_untimed_pair_ps = 1000;
  tp.process.hook_timed_pair_ps = 2000;
  tp.process.hook_timed_inner_ps = 500;
  tp_module(&tp, "c.c");
  const uint32_t p = tp_function(&tp, "p", "c.c", 1);
  const uint32_t c = tp_function(&tp, "c", "c.c", 2);
  tp_thread(&tp, 1, "main", ZINST_THREAD_MAIN);
  const uint32_t n_p = tp_node(&tp, ZINST_NONE, p, 10, 1000, 10);
  tp_node(&tp, n_p, c, 10, 990, 990);
  struct zinst_profile profile;
  load(&tp, &profile);
  struct zinst_call_tree tree;
  CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
  const uint32_t m_p = find_child(&tree, ZINST_TREE_ROOT, p);
  const uint32_t m_c = find_child(&tree, m_p, c);
  CHECK(m_c != ZINST_NONE);
  if (m_c != ZINST_NONE) {
    CHECK_EQ_U64(tree.nodes[m_c].inclusive_ticks, 990 - 10); /* 10 inner parts */
    CHECK_EQ_U64(tree.nodes[m_c].exclusive_ticks, 980);
    CHECK_EQ_U64(tree.nodes[m_p].exclusive_ticks, 0);         /* 10 taken, not 40 */
    CHECK_EQ_U64(tree.nodes[m_p].inclusive_ticks, 1000 - 20); /* not 1000 - 50 */
  }
  struct zinst_flat_profile flat;
  CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
  CHECK_EQ_U64(flat.entries[p].total_ticks, 980);
  CHECK_EQ_U64(flat.entries[p].self_ticks + flat.entries[c].self_ticks, 980);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
}

static void test_ticks_to_ns(void) {
  uint64_t ns = 1;
  CHECK(!zinst_ticks_to_ns(100, 0, &ns));
  CHECK(zinst_ticks_to_ns(3, 2000000000ULL, &ns));
  CHECK_EQ_U64(ns, 1); /* 1.5 ns rounds down */
  CHECK(zinst_ticks_to_ns(UINT64_MAX, 1000000000ULL, &ns));
  CHECK_EQ_U64(ns, UINT64_MAX);
  CHECK(zinst_ticks_to_ns(UINT64_MAX, 3000000000ULL, &ns)); /* no overflow in between */
  CHECK_EQ_U64(ns, 6148914691236517205ULL);
  CHECK(zinst_ticks_to_ns(UINT64_MAX, 1, &ns));
  CHECK_EQ_U64(ns, UINT64_MAX); /* saturates */
}

static void test_units(void) {
  char b[ZINST_UNIT_BUFFER];
  CHECK_STR(zinst_format_count(0, b, sizeof b), "0");
  CHECK_STR(zinst_format_count(9999, b, sizeof b), "9999");
  CHECK_STR(zinst_format_count(10000, b, sizeof b), "10.0K");
  CHECK_STR(zinst_format_count(12345, b, sizeof b), "12.3K");
  CHECK_STR(zinst_format_count(99949, b, sizeof b), "99.9K");
  CHECK_STR(zinst_format_count(99950, b, sizeof b), "100K");
  CHECK_STR(zinst_format_count(999499, b, sizeof b), "999K");
  CHECK_STR(zinst_format_count(999500, b, sizeof b), "1.00M");
  CHECK_STR(zinst_format_count(3400000, b, sizeof b), "3.40M");
  CHECK_STR(zinst_format_count(5600000000ULL, b, sizeof b), "5.60G");
  CHECK_STR(zinst_format_count(UINT64_MAX, b, sizeof b), "18.4E");

  CHECK_STR(zinst_format_duration(0, b, sizeof b), "0 ns");
  CHECK_STR(zinst_format_duration(812, b, sizeof b), "812 ns");
  CHECK_STR(zinst_format_duration(999.4, b, sizeof b), "999 ns");
  CHECK_STR(zinst_format_duration(999.6, b, sizeof b), "1.00 us");
  CHECK_STR(zinst_format_duration(3400, b, sizeof b), "3.40 us");
  CHECK_STR(zinst_format_duration(34000, b, sizeof b), "34.0 us");
  CHECK_STR(zinst_format_duration(340000, b, sizeof b), "340 us");
  CHECK_STR(zinst_format_duration(1234567, b, sizeof b), "1.23 ms");
  CHECK_STR(zinst_format_duration(999999999, b, sizeof b), "1.00 s");
  CHECK_STR(zinst_format_duration(4.56e9, b, sizeof b), "4.56 s");
  CHECK_STR(zinst_format_duration(1234e9, b, sizeof b), "1234 s");
  CHECK_STR(zinst_format_duration(-1, b, sizeof b), "-");

  CHECK_STR(zinst_format_bytes(0, b, sizeof b), "0 B");
  CHECK_STR(zinst_format_bytes(9999, b, sizeof b), "9999 B");
  CHECK_STR(zinst_format_bytes(10240, b, sizeof b), "10.0 KiB");
  CHECK_STR(zinst_format_bytes(1024000, b, sizeof b), "0.98 MiB"); /* never "1000 KiB" */
  CHECK_STR(zinst_format_bytes(1289748, b, sizeof b), "1.23 MiB");
  CHECK_STR(zinst_format_bytes(UINT64_MAX, b, sizeof b), "16.0 EiB");

  CHECK_STR(zinst_format_percent(12.345, b, sizeof b), "12.3%");
  CHECK_STR(zinst_format_percent(100, b, sizeof b), "100.0%");
  CHECK_STR(zinst_format_percent(0, b, sizeof b), "0.0%");
}

/* The escaped form of `text` as zinst_json_write_string writes it. */
static void check_json_string(const char *text, const char *expected) {
  char buffer[256] = "";
  FILE *out = fmemopen(buffer, sizeof buffer - 1, "w");
  zinst_json_write_string(out, text);
  fclose(out);
  CHECK_STR(buffer, expected);
}

static void test_json_escaping(void) {
  check_json_string("plain", "\"plain\"");
  check_json_string("a\"b\\c", "\"a\\\"b\\\\c\"");
  check_json_string("\n\t\r\b\f\x01\x1f", "\"\\n\\t\\r\\b\\f\\u0001\\u001f\"");
  check_json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  check_json_string("bad \xff end", "\"bad \\ufffd end\"");
  check_json_string("cut \xe2\x82", "\"cut \\ufffd\\ufffd\"");
  check_json_string("overlong \xc0\xaf", "\"overlong \\ufffd\\ufffd\"");
  check_json_string("surrogate \xed\xa0\x80", "\"surrogate \\ufffd\\ufffd\\ufffd\"");

  char buffer[512] = "";
  FILE *out = fmemopen(buffer, sizeof buffer - 1, "w");
  struct zinst_json json;
  zinst_json_init(&json, out);
  zinst_json_begin_object(&json);
  zinst_json_key(&json, "n");
  zinst_json_uint(&json, 18446744073709551615ULL);
  zinst_json_key(&json, "list");
  zinst_json_begin_array(&json);
  zinst_json_double(&json, 12.5);
  zinst_json_null(&json);
  zinst_json_begin_array(&json);
  zinst_json_end_array(&json);
  zinst_json_end_array(&json);
  zinst_json_end_object(&json);
  CHECK(zinst_json_finish(&json) == 0);
  fclose(out);
  CHECK_STR(buffer, "{\n  \"n\": 18446744073709551615,\n  \"list\": [\n    12.5,\n    null,\n"
                    "    []\n  ]\n}\n");
}

/* The library sample (profile_builder.h) as the commands show it: grouped,
 * the inlined executions placed on the shown nodes, one frame's worth per
 * callee. */
static void test_shown_tree(void) {
  struct test_profile tp;
  tp_library_sample(&tp);
  tp_site(&tp, "work", "square", 15, ZINST_SITE_INLINED | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG, 0,
          0, "");
  tp_site_count(&tp, 0, 3, 8); /* a second site of square in work, 8 executions */
  struct zinst_profile profile;
  load(&tp, &profile);
  const uint32_t thread = 0;
  struct zinst_shown_tree shown;
  CHECK(zinst_shown_tree_build(&profile, &thread, 1, true, ZINST_TIMES_CORRECTED, &shown) == 0);
  /* root, [library], main, [library], lessThan, work, [library] */
  CHECK_EQ_U64(shown.tree.node_count, 7);
  const uint32_t group = profile.function_count;
  const uint32_t library = find_child(&shown.tree, ZINST_TREE_ROOT, group);
  const uint32_t main_node = find_child(&shown.tree, library, 1);
  const uint32_t work = find_child(&shown.tree, main_node, 5);
  CHECK(work != ZINST_NONE);
  CHECK_EQ_U64(shown.inlined.count, 2); /* square at lines 14 and 15, both in work */
  CHECK_EQ_U64(shown.inlined.start[work + 1] - shown.inlined.start[work], 2);
  const uint32_t first = shown.inlined.start[work];
  CHECK_EQ_U64(shown.inlined.lines[first].executions, 12); /* most executions first */
  CHECK_EQ_U64(shown.inlined.lines[first + 1].executions, 8);
  CHECK(!shown.inlined.lines[first].estimated);
  bool estimated = true;
  CHECK_EQ_U64(zinst_inlined_callee_executions(&profile, &shown.inlined, work, first, &estimated),
               20);
  CHECK(!estimated);
  CHECK_EQ_U64(zinst_inlined_callee_executions(&profile, &shown.inlined, work, first + 1, NULL),
               0); /* counted with the first */
  CHECK_EQ_U64(shown.inlined.library_executions, 70);
  CHECK_EQ_U64(shown.inlined.unplaced_executions, 5);
  zinst_shown_tree_free(&shown);
  /* Not grouped: std.math.order is placed on std.sort.insertion's node. */
  CHECK(zinst_shown_tree_build(&profile, &thread, 1, false, ZINST_TIMES_CORRECTED, &shown) == 0);
  CHECK_EQ_U64(shown.tree.node_count, 9);
  CHECK_EQ_U64(shown.inlined.count, 3);
  CHECK_EQ_U64(shown.inlined.library_executions, 0);
  zinst_shown_tree_free(&shown);
  zinst_profile_free(&profile);
}

/* Count-only functions (ENTRY sites): one per record, calls per thread,
 * inlined copies credited by linkage name in the site's module first, and
 * the inlined code inside them set apart from code inlined everywhere. */
static void test_count_only(void) {
  struct test_profile tp;
  tp_count_only_sample(&tp);
  /* A second module with a static tiny of its own, inlined there once. */
  tp_module(&tp, "other.c");
  const uint32_t entry = ZINST_SITE_ENTRY | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG;
  const uint32_t tiny2 = tp_site(&tp, "tiny", "tiny", 9, entry, 0, 0, "count-only function");
  const uint32_t inlined2 =
      tp_site(&tp, "helper", "tiny", 30, ZINST_SITE_INLINED | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG,
              0, 0, "");
  tp_site_count(&tp, 1, tiny2, 7);
  tp_site_count(&tp, 1, inlined2, 3);
  struct zinst_profile profile;
  load(&tp, &profile);
  const uint32_t both[] = {0, 1}, worker = 1;
  uint64_t *counts = zinst_site_counts_sum(&profile, both, 2);
  CHECK(counts != NULL);
  struct zinst_count_only_function *list;
  uint32_t count;
  CHECK(zinst_count_only_functions(&profile, counts, &list, &count) == 0);
  CHECK_EQ_U64(count, 4); /* tiny, unused (never ran), std.mem.eql, the other module's tiny */
  CHECK_EQ_U64(list[0].site, 0);
  CHECK_EQ_U64(list[0].calls, 42);
  CHECK_EQ_U64(list[0].inlined, 5); /* main <- tiny, in co.c */
  CHECK_EQ_U64(list[1].site, 1);
  CHECK_EQ_U64(list[1].calls, 0);
  CHECK_EQ_U64(list[2].calls, 3);
  CHECK(list[2].library && !list[0].library);
  CHECK_EQ_U64(list[3].site, tiny2);
  CHECK_EQ_U64(list[3].calls, 7);
  CHECK_EQ_U64(list[3].inlined, 3); /* helper <- tiny, in other.c */
  free(list);
  free(counts);
  uint32_t functions;
  uint64_t calls;
  CHECK(zinst_count_only_totals(&profile, both, 2, &functions, &calls) == 0);
  CHECK_EQ_U64(functions, 3);
  CHECK_EQ_U64(calls, 52);
  CHECK(zinst_count_only_totals(&profile, &worker, 1, &functions, &calls) == 0);
  CHECK_EQ_U64(functions, 2);
  CHECK_EQ_U64(calls, 19);
  CHECK(zinst_is_count_only(&profile, "tiny"));
  CHECK(zinst_is_count_only(&profile, "unused"));
  CHECK(!zinst_is_count_only(&profile, "work"));
  /* square, inlined into the count-only tiny: not placed, not "inlined
   * everywhere" either; helper has no record at all. */
  struct zinst_shown_tree shown;
  CHECK(zinst_shown_tree_build(&profile, both, 2, false, ZINST_TIMES_CORRECTED, &shown) == 0);
  CHECK_EQ_U64(shown.inlined.count_only_executions, 42);
  CHECK_EQ_U64(shown.inlined.unplaced_executions, 3);
  CHECK_EQ_U64(shown.inlined.count, 1); /* main <- tiny */
  zinst_shown_tree_free(&shown);
  zinst_profile_free(&profile);
}

/* How the modules were built, from their flags; a zone's module (one zone
 * function, flags 0 whatever the build) does not count. */
static void test_instrumentation(void) {
  struct test_profile tp;
  tp_sample(&tp);
  struct zinst_profile profile;
  load(&tp, &profile);
  CHECK_STR(zinst_profile_instrumentation(&profile), "hooks");
  zinst_profile_free(&profile);
  for (uint32_t m = 0; m < tp.module_count; m++)
    tp.modules[m].flags |= ZINST_MODULE_INLINE_CODE;
  load(&tp, &profile);
  CHECK_STR(zinst_profile_instrumentation(&profile), "inline tree");
  zinst_profile_free(&profile);
  for (uint32_t m = 0; m < tp.module_count; m++)
    tp.modules[m].flags |= ZINST_MODULE_INLINE_TIMING;
  tp_module(&tp, "(zone)");
  tp.functions[tp_function(&tp, "a zone", "z.c", 3)].flags |= ZINST_FUNCTION_ZONE;
  load(&tp, &profile);
  CHECK_STR(zinst_profile_instrumentation(&profile), "inline timing");
  zinst_profile_free(&profile);
  tp_module(&tp, "hooked.c"); /* a hooks module beside them: a merge */
  tp_function(&tp, "hooked", "hooked.c", 1);
  load(&tp, &profile);
  CHECK_STR(zinst_profile_instrumentation(&profile), "mixed");
  zinst_profile_free(&profile);
}

int main(void) {
  test_instrumentation();
  test_count_only();
  test_shown_tree();
  test_recursion_counted_once();
  test_mutual_recursion();
  test_sampled_estimates();
  test_threads_merge_by_path();
  test_hook_correction();
  test_hook_correction_sampled();
  test_hook_correction_capped();
  test_memory_merge();
  test_large_trees();
  test_empty_profile();
  test_ticks_to_ns();
  test_units();
  test_json_escaping();
  return TEST_RESULT();
}
