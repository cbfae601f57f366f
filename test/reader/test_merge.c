/*
 * test_merge.c - the profile merge (cli/profile_merge.c) that `zinst merge`
 * and the runtime's `%m` outputs share, on hand-built profiles:
 *
 *   - ticks of a profile whose counter ran at another frequency are
 *     converted exactly (rounded down, 128-bit intermediate, UINT64_MAX when
 *     the result does not fit), and the result says so;
 *   - standard errors add in quadrature;
 *   - the hook costs: the smallest calibrated ones, their spread widened;
 *   - with merge_threads the main threads become one record counting them,
 *     other threads one record per name;
 *   - the checks: a mix of modes always refused, different executables
 *     refused unless forced (and said to be forceable).
 */
#include <stdlib.h>

#include "profile_builder.h"
#include "profile_merge.h"
#include "profile_reader.h"
#include "test_helpers.h"

/* One thread (main, or "worker") with one node main -> f. */
static void build(struct test_profile *tp, const char *exe, uint64_t ticks_per_second,
                  uint32_t thread_flags, const char *thread_name, uint64_t inclusive,
                  uint64_t error) {
  tp_init(tp);
  tp->process.exe_path = tp_string(tp, exe);
  tp->process.ticks_per_second = ticks_per_second;
  tp->process.elapsed_ns = 1000;
  tp_module(tp, "m.c");
  uint32_t f = tp_function(tp, "f", "m.c", 3);
  tp_thread(tp, 7, thread_name, thread_flags);
  uint32_t node = tp_node(tp, ZINST_NONE, f, 10, inclusive, inclusive);
  if (error) { /* a sampled node: its error is stated */
    tp->nodes[node].timed_calls = 5;
    tp->nodes[node].inclusive_error_ticks = error;
    tp->nodes[node].exclusive_error_ticks = error;
  }
}

static void parse(const struct test_profile *tp, struct zinst_profile *out) {
  size_t size;
  unsigned char *data = tp_serialize(tp, &size);
  char err[256];
  if (zinst_profile_parse(data, size, out, err, sizeof err) != 0) {
    fprintf(stderr, "test profile does not parse: %s\n", err);
    exit(1);
  }
  free(data);
}

/* Merge `count` profiles and parse the result back. */
static void merge(const struct zinst_profile *inputs, uint32_t count, bool merge_threads,
                  struct zinst_profile *out, struct zinst_merge_result *result) {
  void *image;
  size_t size;
  char err[256];
  if (zinst_merge_profiles(inputs, count, merge_threads, &image, &size, result, err, sizeof err) !=
      0) {
    fprintf(stderr, "merge failed: %s\n", err);
    exit(1);
  }
  if (zinst_profile_parse(image, size, out, err, sizeof err) != 0) {
    fprintf(stderr, "merged profile does not parse: %s\n", err);
    exit(1);
  }
  free(image);
}

static uint64_t expected_conversion(uint64_t ticks, uint64_t from, uint64_t to) {
  unsigned __int128 wide = (unsigned __int128)ticks * to / from;
  return wide > UINT64_MAX ? UINT64_MAX : (uint64_t)wide;
}

static void test_frequency_conversion(void) {
  const uint64_t values[] = {0, 1, 2, 3, 12345678901234567ull, 0x7fffffffffffffffull, UINT64_MAX};
  const uint64_t frequencies[][2] = {
      {1000000000, 3000000000}, {3000000000, 1000000000}, {2600000123, 2599999877}};
  for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
    for (size_t q = 0; q < sizeof frequencies / sizeof *frequencies; q++) {
      const uint64_t to = frequencies[q][0], from = frequencies[q][1];
      struct test_profile a, b;
      build(&a, "/bin/p", to, ZINST_THREAD_MAIN, "p", 0, 0);
      build(&b, "/bin/p", from, ZINST_THREAD_MAIN, "p", values[v], 0);
      struct zinst_profile inputs[2], out;
      parse(&a, &inputs[0]);
      parse(&b, &inputs[1]);
      struct zinst_merge_result result;
      merge(inputs, 2, false, &out, &result);
      CHECK(result.frequencies_differ);
      CHECK_EQ_U64(result.ticks_per_second, to);
      CHECK_EQ_U64(out.node_count, 2);
      CHECK_EQ_U64(out.nodes[1].inclusive_ticks, expected_conversion(values[v], from, to));
      CHECK_EQ_U64(out.nodes[1].exclusive_ticks, expected_conversion(values[v], from, to));
      zinst_profile_free(&inputs[0]);
      zinst_profile_free(&inputs[1]);
      zinst_profile_free(&out);
    }
  }
}

static void test_errors_and_threads(void) {
  struct test_profile a, b, c;
  build(&a, "/bin/p", 1000, ZINST_THREAD_MAIN, "p", 100, 3);
  build(&b, "/bin/p", 1000, ZINST_THREAD_MAIN, "p", 200, 4);
  build(&c, "/bin/p", 1000, ZINST_THREAD_EXITED, "worker", 50, 0);
  struct zinst_profile inputs[3], out;
  parse(&a, &inputs[0]);
  parse(&b, &inputs[1]);
  parse(&c, &inputs[2]);
  struct zinst_merge_result result;
  merge(inputs, 3, true, &out, &result);
  CHECK(!result.frequencies_differ);
  CHECK_EQ_U64(result.threads, 2);
  CHECK_EQ_U64(result.calls, 30);
  CHECK_EQ_U64(out.thread_count, 2);
  /* Main threads: one record counting both, their node summed. */
  CHECK_EQ_U64(out.threads[0].flags, ZINST_THREAD_MAIN | ZINST_THREAD_MERGED);
  CHECK_EQ_U64(out.threads[0].thread_count, 2);
  CHECK_EQ_U64(out.threads[0].tid, 0);
  CHECK_EQ_U64(out.nodes[out.threads[0].first_node].calls, 20);
  CHECK_EQ_U64(out.nodes[out.threads[0].first_node].inclusive_ticks, 300);
  CHECK_EQ_U64(out.nodes[out.threads[0].first_node].inclusive_error_ticks, 5); /* 3, 4: 5 */
  CHECK_STR(zinst_profile_string(&out, out.threads[1].name), "worker");
  CHECK_EQ_U64(out.threads[1].thread_count, 1);
  CHECK_EQ_U64(out.process.elapsed_ns, 3000);
  zinst_profile_free(&out);
  /* Without merge_threads every thread stays. */
  merge(inputs, 3, false, &out, &result);
  CHECK_EQ_U64(out.thread_count, 3);
  zinst_profile_free(&out);
  for (int k = 0; k < 3; k++)
    zinst_profile_free(&inputs[k]);
}

/* Hook costs of a merge: per cost the smallest of the calibrated inputs;
 * the spread covers the inputs' own and how far their costs lie apart; an
 * uncalibrated input takes no part; none calibrated gives none. */
static void test_hook_costs(void) {
  struct test_profile a, b, c;
  build(&a, "/bin/p", 1000, ZINST_THREAD_MAIN, "p", 100, 0);
  build(&b, "/bin/p", 1000, ZINST_THREAD_MAIN, "p", 100, 0);
  build(&c, "/bin/p", 1000, ZINST_THREAD_MAIN, "p", 100, 0); /* not calibrated */
  a.process.hook_untimed_pair_ps = 5600;
  a.process.hook_timed_pair_ps = 23000;
  a.process.hook_timed_inner_ps = 3300;
  a.process.hook_spread_ps = 400;
  b.process.hook_untimed_pair_ps = 5700;
  b.process.hook_timed_pair_ps = 22000;
  b.process.hook_timed_inner_ps = 3400;
  b.process.hook_spread_ps = 300;
  struct zinst_profile inputs[3], out;
  parse(&a, &inputs[0]);
  parse(&b, &inputs[1]);
  parse(&c, &inputs[2]);
  struct zinst_merge_result result;
  merge(inputs, 3, true, &out, &result);
  CHECK_EQ_U64(out.process.hook_untimed_pair_ps, 5600);
  CHECK_EQ_U64(out.process.hook_timed_pair_ps, 22000);
  CHECK_EQ_U64(out.process.hook_timed_inner_ps, 3300);
  CHECK_EQ_U64(out.process.hook_spread_ps, 1000); /* 23000 - 22000 */
  zinst_profile_free(&out);
  merge(&inputs[2], 1, true, &out, &result);
  CHECK_EQ_U64(out.process.hook_untimed_pair_ps, 0);
  CHECK_EQ_U64(out.process.hook_timed_pair_ps, 0);
  CHECK_EQ_U64(out.process.hook_timed_inner_ps, 0);
  CHECK_EQ_U64(out.process.hook_spread_ps, 0);
  zinst_profile_free(&out);
  for (int k = 0; k < 3; k++)
    zinst_profile_free(&inputs[k]);
}

static void test_checks(void) {
  struct test_profile a, b, c;
  build(&a, "/bin/p", 1000, ZINST_THREAD_MAIN, "p", 1, 0);
  build(&b, "/bin/q", 1000, ZINST_THREAD_MAIN, "q", 1, 0);
  build(&c, "/bin/p", 1000, ZINST_THREAD_MAIN, "p", 0, 0);
  c.process.mode = ZINST_MODE_COUNT;
  struct zinst_profile inputs[3];
  parse(&a, &inputs[0]);
  parse(&b, &inputs[1]);
  parse(&c, &inputs[2]);
  const char *names[3] = {"a", "b", "c"};
  char err[256];
  bool forceable;
  CHECK(zinst_merge_check(inputs, names, 2, false, &forceable, err, sizeof err) == -1);
  CHECK(forceable);
  CHECK_STR(err, "a profiles /bin/p but b profiles /bin/q: different programs");
  CHECK(zinst_merge_check(inputs, names, 2, true, &forceable, err, sizeof err) == 0);
  const struct zinst_profile mixed[2] = {inputs[0], inputs[2]};
  const char *mixed_names[2] = {"a", "c"};
  CHECK(zinst_merge_check(mixed, mixed_names, 2, true, &forceable, err, sizeof err) == -1);
  CHECK(!forceable);
  CHECK_STR(err, "a is a time-mode profile and c a count-mode one: counts and times cannot be "
                 "summed together");
  for (int k = 0; k < 3; k++)
    zinst_profile_free(&inputs[k]);
}

int main(void) {
  test_frequency_conversion();
  test_errors_and_threads();
  test_hook_costs();
  test_checks();
  if (test_failures)
    fprintf(stderr, "%d checks failed\n", test_failures);
  else
    printf("merge: ok\n");
  return test_failures != 0;
}
