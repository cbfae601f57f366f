/*
 * test_sampling.c - time mode samples activations (hooks.c): counts stay
 * exact, the first K calls of every context are timed, later ones 1 in R on
 * average at random, and the writer's estimates (profile_writer.c) hold
 * their stated error.
 *
 * Each scenario runs on a thread of its own, created after the test set
 * zinst_config.sample_interval: a thread's sampling settings are fixed when
 * its state is created. Estimates are read back from a serialized profile.
 */
#include "profile_writer.h"
#include "test_support.h"

#include <math.h>
#include <pthread.h>
#include <setjmp.h>

enum {
  F_DRIVER,
  F_SPIN,
  F_COLD,
  F_EXACTLY_K,
  F_A,
  F_B,
  F_CATCHER,
  F_THROWER,
  F_LEAF,
  F_LONG_THEN_SHORT,
  F_PHASED,
  F_STEADY,
  F_SPREAD,
  F_HEAVY,
  F_STALLED,
  F_INFLATED,
  F_INFLATED_INNER,
  F_COUNT
};
static const struct zinst_function_info functions[F_COUNT] = {
    {"driver", "driver", "s.c", 1, 0},
    {"spin", "spin", "s.c", 2, 0},
    {"cold", "cold", "s.c", 3, 0},
    {"exactly_k", "exactly_k", "s.c", 4, 0},
    {"a", "a", "s.c", 5, 0},
    {"b", "b", "s.c", 6, 0},
    {"catcher", "catcher", "s.c", 7, 0},
    {"thrower", "thrower", "s.c", 8, 0},
    {"leaf", "leaf", "s.c", 9, 0},
    {"long_then_short", "long_then_short", "s.c", 10, 0},
    {"phased", "phased", "s.c", 11, 0},
    {"steady", "steady", "s.c", 12, 0},
    {"spread", "spread", "s.c", 13, 0},
    {"heavy", "heavy", "s.c", 14, 0},
    {"stalled", "stalled", "s.c", 15, 0},
    {"inflated", "inflated", "s.c", 16, 0},
    {"inflated_inner", "inflated_inner", "s.c", 17, 0},
};
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, F_COUNT, functions, "s.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

enum { SPIN_CALLS = 10000, AB_CALLS = 16000, ROUNDS = 2000, DEPTH = 5 };

static volatile int sink;
static uint64_t spin_body_ticks; /* the spins' requested lengths, summed: the truth */
static uint64_t test_rng = 88172645463325252ull;

/* The runtime under test reads this clock (ZINST_TEST_FAKE_CLOCK). */
uint64_t zinst_test_fake_ticks = 1000000;

static uint64_t test_random(void) { /* the test's own xorshift, unrelated to the runtime's */
  test_rng ^= test_rng << 13;
  test_rng ^= test_rng >> 7;
  test_rng ^= test_rng << 17;
  return test_rng;
}

/* Lasts exactly `ticks` on the test's clock (plus the tick of the exit
 * hook's own read); adds them to spin_body_ticks. */
NOINLINE static void spin(uint64_t ticks) {
  TEST_ENTER(&module, F_SPIN);
  __atomic_fetch_add(&zinst_test_fake_ticks, ticks, __ATOMIC_RELAXED);
  spin_body_ticks += ticks;
  TEST_EXIT(&module, F_SPIN);
}

/* Like spin, as another context. */
NOINLINE static void long_then_short(uint64_t ticks) {
  TEST_ENTER(&module, F_LONG_THEN_SHORT);
  __atomic_fetch_add(&zinst_test_fake_ticks, ticks, __ATOMIC_RELAXED);
  TEST_EXIT(&module, F_LONG_THEN_SHORT);
}

/* Like spin, as another context; its bodies are summed in phased_body_ticks. */
static uint64_t phased_body_ticks;
NOINLINE static void phased(uint64_t ticks) {
  TEST_ENTER(&module, F_PHASED);
  __atomic_fetch_add(&zinst_test_fake_ticks, ticks, __ATOMIC_RELAXED);
  phased_body_ticks += ticks;
  TEST_EXIT(&module, F_PHASED);
}

/* Like spin, as contexts of their own; their bodies are summed in
 * own_body_ticks[id]. */
static uint64_t own_body_ticks[F_COUNT];
#define TIMED(name, id)                                                                            \
  NOINLINE static void name(uint64_t ticks) {                                                      \
    TEST_ENTER(&module, id);                                                                       \
    __atomic_fetch_add(&zinst_test_fake_ticks, ticks, __ATOMIC_RELAXED);                           \
    own_body_ticks[id] += ticks;                                                                   \
    TEST_EXIT(&module, id);                                                                        \
  }
TIMED(steady, F_STEADY)
TIMED(spread, F_SPREAD)
TIMED(heavy, F_HEAVY)

#define SIMPLE(name, id)                                                                           \
  NOINLINE static void name(void) {                                                                \
    TEST_ENTER(&module, id);                                                                       \
    sink++;                                                                                        \
    TEST_EXIT(&module, id);                                                                        \
  }
SIMPLE(cold, F_COLD)
SIMPLE(exactly_k, F_EXACTLY_K)
SIMPLE(call_a, F_A)
SIMPLE(call_b, F_B)
SIMPLE(leaf, F_LEAF)

static jmp_buf target;

NOINLINE static void thrower(int depth) {
  TEST_ENTER(&module, F_THROWER);
  leaf();
  if (depth == 1)
    longjmp(target, 1);
  thrower(depth - 1);
  TEST_EXIT(&module, F_THROWER);
}

NOINLINE static void catcher(void) {
  TEST_ENTER(&module, F_CATCHER);
  if (!setjmp(target))
    thrower(DEPTH);
  leaf();
  TEST_EXIT(&module, F_CATCHER);
}

/* The whole workload, under one driver frame. */
NOINLINE static void driver(void) {
  TEST_ENTER(&module, F_DRIVER);
  for (int i = 0; i < SPIN_CALLS; i++)
    spin(test_random() % 20000); /* durations spread over [0, 20000) ticks */
  for (int i = 0; i < 10; i++)
    cold();
  for (int i = 0; i < 16; i++)
    exactly_k();
  for (int i = 0; i < AB_CALLS; i++) { /* a period-2 pattern: A, B, A, B, ... */
    call_a();
    call_b();
  }
  for (int i = 0; i < ROUNDS; i++)
    catcher();
  TEST_EXIT(&module, F_DRIVER);
}

/* What a scenario thread leaves behind. */
struct result {
  struct zinst_tree tree; /* the thread's raw tree */
  uint64_t spin_body_ticks;
  uint64_t elapsed;
  uint32_t depth_after;
};

static void *scenario(void *out) {
  struct result *result = out;
  spin_body_ticks = 0;
  uint64_t start = zinst_read_ticks();
  driver();
  result->elapsed = zinst_read_ticks() - start;
  result->depth_after = zinst_tls_state->depth;
  result->spin_body_ticks = spin_body_ticks;
  result->tree = test_own_tree();
  return NULL;
}

/* Runs `body` on a thread of its own (whose sampling settings are the
 * config's now) and returns what it left. */
static struct result run_on_thread(void *(*body)(void *)) {
  struct result result;
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, body, &result) == 0, "create");
  CHECK(pthread_join(thread, NULL) == 0, "join");
  return result;
}

static struct result run_scenario(uint32_t sample_interval) {
  zinst_config.sample_interval = sample_interval;
  return run_on_thread(scenario);
}

/* The sample limit the trees written below were sampled with. */
static uint32_t written_sample_limit = ZINST_DEFAULT_SAMPLE_LIMIT;

/* Serialize `tree` alone; returns the image (free it) and its NODES records. */
static void *write_tree(const struct zinst_tree *tree, uint32_t sample_interval,
                        const struct zinst_node_record **nodes) {
  /* Ids up to the module's, which start at ZINST_ID_BASE_ALIGNMENT. */
  enum { NAMED = 2 * ZINST_ID_BASE_ALIGNMENT };
  static struct zinst_snapshot_function names[NAMED];
  for (int f = 0; f < NAMED; f++)
    names[f] = (struct zinst_snapshot_function){"f", "f", "s.c", 1, 0, 0};
  static const struct zinst_snapshot_module modules[1] = {{"s.c", 0, NAMED, 0}};
  struct zinst_snapshot_thread thread = {.tid = 1, .name = "t", .thread_count = 1, .tree = *tree};
  struct zinst_snapshot snapshot = {
      .mode = ZINST_MODE_TIME,
      .sample_interval = sample_interval,
      .exact_calls_per_context = ZINST_EXACT_CALLS,
      .sample_limit = sample_interval > 1 ? written_sample_limit : 0,
      .functions = names,
      .function_count = NAMED,
      .modules = modules,
      .module_count = 1,
      .threads = &thread,
      .thread_count = 1,
  };
  void *image;
  size_t size;
  char err[200];
  CHECK(zinst_build_profile_image(&snapshot, &image, &size, err, sizeof err) == 0, "write: %s",
        err);
  const struct zinst_file_header *header = image;
  const struct zinst_section_entry *table =
      (const void *)((const char *)image + header->section_table_offset);
  *nodes = NULL;
  for (uint32_t i = 0; i < header->section_count; i++)
    if (table[i].kind == ZINST_SECTION_NODES)
      *nodes = (const void *)((const char *)image + table[i].offset);
  CHECK(*nodes != NULL, "no NODES section");
  return image;
}

/* Tree index of the context driver -> `function`. */
static uint32_t under_driver(const struct zinst_tree *tree, uint32_t function) {
  uint32_t driver_node = test_child(tree, 0, module.id_base + F_DRIVER);
  return test_child(tree, driver_node, module.id_base + function);
}

static void check_counts(const struct result *r) {
  const struct zinst_tree *t = &r->tree;
  CHECK_EQ_U64(r->depth_after, 1, "stack empty after the workload");
  CHECK_EQ_U64(t->nodes[under_driver(t, F_SPIN)].calls, SPIN_CALLS, "spin calls");
  CHECK_EQ_U64(t->nodes[under_driver(t, F_COLD)].calls, 10, "cold calls");
  CHECK_EQ_U64(t->nodes[under_driver(t, F_EXACTLY_K)].calls, 16, "exactly_k calls");
  CHECK_EQ_U64(t->nodes[under_driver(t, F_A)].calls, AB_CALLS, "a calls");
  CHECK_EQ_U64(t->nodes[under_driver(t, F_B)].calls, AB_CALLS, "b calls");
  uint32_t node = under_driver(t, F_CATCHER);
  CHECK_EQ_U64(t->nodes[node].calls, ROUNDS, "catcher calls");
  for (int level = 0; level < DEPTH; level++) {
    node = test_child(t, node, module.id_base + F_THROWER);
    CHECK_EQ_U64(t->nodes[node].calls, ROUNDS, "thrower calls at each level");
    CHECK_EQ_U64(t->nodes[test_child(t, node, module.id_base + F_LEAF)].calls, ROUNDS,
                 "leaf calls under each thrower");
  }
}

/* ZINST_SAMPLE=1: every activation timed; the file states no error. */
static void exact_mode(void) {
  struct result r = run_scenario(1);
  check_counts(&r);
  const struct zinst_node_record *nodes;
  void *image = write_tree(&r.tree, 1, &nodes);
  for (uint32_t n = 1; n < r.tree.count; n++) {
    const struct zinst_node_record *record = &nodes[n - 1];
    CHECK_EQ_U64(record->timed_calls, record->calls, "exact mode times every call");
    CHECK_EQ_U64(r.tree.nodes[n].exact_calls + r.tree.nodes[n].sampled_calls, r.tree.nodes[n].calls,
                 "every call in one of the strata");
    CHECK_EQ_U64(record->inclusive_error_ticks, 0, "exact inclusive");
    CHECK_EQ_U64(record->exclusive_error_ticks, 0, "exact exclusive");
    CHECK_EQ_U64(record->inclusive_ticks, r.tree.nodes[n].inclusive_ticks,
                 "the estimate is the measured sum");
  }
  uint32_t spin_node = under_driver(&r.tree, F_SPIN);
  CHECK(r.tree.nodes[spin_node].inclusive_ticks >= r.spin_body_ticks,
        "measured spin total %" PRIu64 " covers the bodies' %" PRIu64,
        r.tree.nodes[spin_node].inclusive_ticks, r.spin_body_ticks);
  free(image);
  zinst_tree_free(&r.tree);
  printf("exact mode (ZINST_SAMPLE=1): every call timed, no error\n");
}

/* The sampled stratum's size: 1 in 16 of the calls beyond the first K. */
static void check_sampled_share(const char *what, uint64_t timed, uint64_t calls) {
  const uint64_t rest = calls - ZINST_EXACT_CALLS;
  CHECK(timed > ZINST_EXACT_CALLS, "%s: no activation beyond the first K sampled", what);
  const uint64_t sampled = timed - ZINST_EXACT_CALLS;
  /* Expected rest/16; the bounds are far outside the random spread. */
  CHECK(sampled >= rest / 32 && sampled <= rest / 8,
        "%s: %" PRIu64 " of %" PRIu64 " later calls sampled, expected about %" PRIu64, what,
        sampled, rest, rest / 16);
}

/*
 * The error a sample states covers the spread it sees. The spins' durations
 * are random on the test's own clock, so the truth is exact and only the
 * runtime's sampling decides how far the estimate lands from it. The spins
 * are long enough to be timed always (long_contexts below): that is turned
 * off here, to test the estimator itself.
 */
static void default_mode(void) {
  zinst_config.long_activation_ticks = UINT32_MAX;
  /* 1 in R throughout: the contexts here stay below the sample limit, and
   * thinning once a context's mean is known (precise_contexts below) would
   * take A and B, whose activations are alike, off the rate checked here. */
  zinst_config.sample_error = 0;
  struct result r = run_scenario(ZINST_DEFAULT_SAMPLE_INTERVAL);
  zinst_config.sample_error = ZINST_DEFAULT_SAMPLE_ERROR;
  zinst_config.long_activation_ticks = ZINST_LONG_ACTIVATION_TICKS;
  check_counts(&r);
  const struct zinst_tree *t = &r.tree;
  const struct zinst_node_record *nodes;
  void *image = write_tree(t, ZINST_DEFAULT_SAMPLE_INTERVAL, &nodes);

  /* Cold contexts: every call in the exact stratum, measured exactly. */
  for (int f = F_COLD; f <= F_EXACTLY_K; f++) {
    const struct zinst_node_record *record = &nodes[under_driver(t, (uint32_t)f) - 1];
    CHECK_EQ_U64(record->timed_calls, record->calls, "the first K calls are all timed");
    CHECK_EQ_U64(record->inclusive_error_ticks, 0, "a cold context is exact");
    CHECK(record->inclusive_ticks > 0, "a cold context has its time");
  }
  const struct zinst_node_record *driver_record = &nodes[test_child(t, 0, module.id_base) - 1];
  CHECK_EQ_U64(driver_record->timed_calls, 1, "the driver (called once) is timed");
  CHECK_EQ_U64(driver_record->inclusive_error_ticks, 0, "the driver is exact");

  /* A hot context: counts exact, a sample timed, the estimate within its error. */
  const struct zinst_node_record *spin_record = &nodes[under_driver(t, F_SPIN) - 1];
  CHECK_EQ_U64(spin_record->calls, SPIN_CALLS, "spin calls in the file");
  CHECK(spin_record->timed_calls < spin_record->calls, "spin is sampled");
  check_sampled_share("spin", spin_record->timed_calls, SPIN_CALLS);
  const double estimate = (double)spin_record->inclusive_ticks;
  const double error = (double)spin_record->inclusive_error_ticks;
  /* The truth: the bodies as the spins measured them. The hooks' interval
   * is longer by a few instructions per call (~50 ticks of ~10000 on
   * average: 0.5%), far inside the error stated for a 1-in-16 sample of
   * durations spread over [0, 20000). */
  const double truth = (double)r.spin_body_ticks;
  CHECK(error > 0, "a sampled estimate states its error");
  CHECK(error < 0.1 * truth, "error %.0f is informative for a total of %.0f", error, truth);
  CHECK(fabs(estimate - truth) <= 4 * error,
        "spin estimate %.0f vs true %.0f: %.1f standard errors off (stated error %.0f)", estimate,
        truth, fabs(estimate - truth) / error, error);
  printf("spin: %" PRIu64 " of %" PRIu64 " calls timed; estimate %.4g, true %.4g ticks, "
         "%.2f SE off (1 SE = %.2f%%)\n",
         spin_record->timed_calls, spin_record->calls, estimate, truth,
         fabs(estimate - truth) / error, 100 * error / truth);

  /* A period-2 pattern: both callees sampled, in about equal shares. */
  check_sampled_share("a", nodes[under_driver(t, F_A) - 1].timed_calls, AB_CALLS);
  check_sampled_share("b", nodes[under_driver(t, F_B) - 1].timed_calls, AB_CALLS);

  /* longjmp: abandoned frames of either stratum are closed; nothing is
   * longer than the run beyond the error stated. */
  for (uint32_t n = 1; n < t->count; n++) {
    const struct zinst_node_record *record = &nodes[n - 1];
    CHECK(record->timed_calls <= record->calls, "node %u timed calls", n);
    CHECK(t->nodes[n].inclusive_ticks <= r.elapsed, "node %u measured beyond the run", n);
    CHECK((double)record->inclusive_ticks <=
              (double)r.elapsed + 4 * (double)record->inclusive_error_ticks,
          "node %u estimate %" PRIu64 " beyond the run's %" PRIu64, n, record->inclusive_ticks,
          r.elapsed);
  }
  free(image);
  zinst_tree_free(&r.tree);
}

/* Under a driver frame: 200 spins of 3x the long-activation threshold T,
 * 200 short leaves, and long_then_short: 20 calls of 3T, then 300 of 0. */
static void *long_scenario(void *out) {
  struct result *result = out;
  const uint64_t three_t = 3ull * ZINST_LONG_ACTIVATION_TICKS;
  spin_body_ticks = 0;
  TEST_ENTER(&module, F_DRIVER);
  for (int i = 0; i < 200; i++)
    spin(three_t);
  for (int i = 0; i < 200; i++)
    leaf();
  for (int i = 0; i < 320; i++)
    long_then_short(i < 20 ? three_t : 0);
  TEST_EXIT(&module, F_DRIVER);
  result->spin_body_ticks = spin_body_ticks;
  result->tree = test_own_tree();
  return NULL;
}

/* The exact stratum of a context whose activations are long runs on for as
 * long as they average long: its total is then measured, not estimated. A
 * short context keeps the first K calls only, and one that turns short
 * ends its stratum once the average drops below T. */
static void long_contexts(void) {
  zinst_config.sample_interval = ZINST_DEFAULT_SAMPLE_INTERVAL;
  struct result r = run_on_thread(long_scenario);
  const struct zinst_tree *t = &r.tree;
  const struct zinst_tree_node *spin_node = &t->nodes[under_driver(t, F_SPIN)];
  CHECK_EQ_U64(spin_node->calls, 200, "spin calls");
  CHECK_EQ_U64(spin_node->exact_calls, 200, "every spin in the exact stratum");
  CHECK_EQ_U64(spin_node->sampled_calls, 0, "no spin sampled");
  CHECK(spin_node->inclusive_ticks >= r.spin_body_ticks &&
            spin_node->inclusive_ticks <= r.spin_body_ticks + 200 * 8,
        "spin measured whole: %" PRIu64 " ticks for bodies of %" PRIu64, spin_node->inclusive_ticks,
        r.spin_body_ticks);
  const struct zinst_tree_node *leaf_node = &t->nodes[under_driver(t, F_LEAF)];
  CHECK_EQ_U64(leaf_node->calls, 200, "leaf calls");
  CHECK_EQ_U64(leaf_node->exact_calls, ZINST_EXACT_CALLS, "a short context keeps K exact calls");
  /* 20 x 3T = 60T, plus a few ticks per call for the clock reads: the
   * average stays at or above T through call 60 and drops below at 61. */
  const struct zinst_tree_node *turning = &t->nodes[under_driver(t, F_LONG_THEN_SHORT)];
  CHECK_EQ_U64(turning->calls, 320, "long_then_short calls");
  CHECK_EQ_U64(turning->exact_calls, 61, "the stratum ends when the average drops below T");
  CHECK(turning->sampled_calls > 0, "later calls are sampled");
  const struct zinst_node_record *nodes;
  void *image = write_tree(t, ZINST_DEFAULT_SAMPLE_INTERVAL, &nodes);
  const struct zinst_node_record *spin_record = &nodes[under_driver(t, F_SPIN) - 1];
  CHECK_EQ_U64(spin_record->timed_calls, 200, "the file says every spin was timed");
  CHECK_EQ_U64(spin_record->inclusive_error_ticks, 0, "and states no error");
  CHECK(nodes[under_driver(t, F_LEAF) - 1].timed_calls < 200, "leaf is sampled");
  free(image);
  zinst_tree_free(&r.tree);
  printf("long contexts: timed while their activations average %u ticks or more\n",
         ZINST_LONG_ACTIVATION_TICKS);
}

/* A hot context whose activations lengthen tenfold halfway: 60,000 calls
 * of [0, 2000) ticks, then 50,000 of [0, 20000). */
enum { SHORT_PHASE = 60000, LONG_PHASE = 50000, THIN_LIMIT = 256 };

static void *phased_scenario(void *out) {
  struct result *result = out;
  phased_body_ticks = 0;
  uint64_t start = __atomic_load_n(&zinst_test_fake_ticks, __ATOMIC_RELAXED);
  /* From the root: under a measured caller, an estimate that came out
   * high would be fitted to it (fitted_children), and the check below
   * would not see it. */
  for (int i = 0; i < SHORT_PHASE + LONG_PHASE; i++)
    phased(test_random() % (i < SHORT_PHASE ? 2000 : 20000));
  /* The clock moved by the bodies and one tick per read: two reads per
   * timed activation. */
  result->elapsed = __atomic_load_n(&zinst_test_fake_ticks, __ATOMIC_RELAXED) - start;
  result->spin_body_ticks = phased_body_ticks;
  result->tree = test_own_tree();
  return NULL;
}

/*
 * ZINST_SAMPLE_LIMIT: once a context has that many samples its interval
 * doubles and its sums are halved. With a limit of 256 at 1 in 16, the
 * interval doubles after about 4096 calls, then 4096, 8192, ... more
 * (128 samples each time): 5 times by call 65,536, the 6th only near
 * 131,072, far beyond the 110,000 calls here. Most samples are taken in the
 * short phase, at the higher rates; counted unweighted they would put the
 * mean near 2,300 ticks, against a true 5,100. Weighted, the estimate must
 * hold within its stated error.
 */
static void thinned_samples(void) {
  zinst_config.sample_interval = ZINST_DEFAULT_SAMPLE_INTERVAL;
  zinst_config.sample_limit = THIN_LIMIT;
  zinst_config.long_activation_ticks = UINT32_MAX;
  struct result r = run_on_thread(phased_scenario);
  zinst_config.sample_limit = ZINST_DEFAULT_SAMPLE_LIMIT;
  zinst_config.long_activation_ticks = ZINST_LONG_ACTIVATION_TICKS;
  const struct zinst_tree *t = &r.tree;
  const struct zinst_tree_node *node = &t->nodes[test_child(t, 0, module.id_base + F_PHASED)];
  CHECK_EQ_U64(node->calls, SHORT_PHASE + LONG_PHASE, "every call counted");
  CHECK_EQ_U64(node->exact_calls, ZINST_EXACT_CALLS, "the exact stratum");
  CHECK_EQ_U64(node->sample_shift, 5, "the interval doubled 5 times");
  CHECK(node->sampled_calls >= THIN_LIMIT / 2 && node->sampled_calls <= THIN_LIMIT,
        "%" PRIu64 " samples' worth kept, between half the limit and the limit",
        node->sampled_calls);
  const struct zinst_node_record *nodes;
  written_sample_limit = THIN_LIMIT;
  void *image = write_tree(t, ZINST_DEFAULT_SAMPLE_INTERVAL, &nodes);
  written_sample_limit = ZINST_DEFAULT_SAMPLE_LIMIT;
  const struct zinst_node_record *record = &nodes[test_child(t, 0, module.id_base + F_PHASED) - 1];
  /* The file counts the activations timed, weights aside. */
  const uint64_t clock_reads = r.elapsed - r.spin_body_ticks;
  CHECK_EQ_U64(record->timed_calls, clock_reads / 2, "timed activations in the file");
  CHECK(record->timed_calls < (SHORT_PHASE + LONG_PHASE) / 64,
        "%" PRIu64 " activations timed: far fewer than 1 in 16", record->timed_calls);
  const double estimate = (double)record->inclusive_ticks;
  const double error = (double)record->inclusive_error_ticks;
  const double truth = (double)r.spin_body_ticks;
  CHECK(error > 0 && error < 0.15 * truth, "error %.0f is informative for a total of %.0f", error,
        truth);
  CHECK(fabs(estimate - truth) <= 4 * error,
        "phased estimate %.0f vs true %.0f: %.1f standard errors off (stated error %.0f)", estimate,
        truth, fabs(estimate - truth) / error, error);
  printf("thinned samples: interval doubled %u times, %" PRIu64 " samples' worth; estimate "
         "%.4g, true %.4g ticks, %.2f SE off (1 SE = %.2f%%)\n",
         node->sample_shift, node->sampled_calls, estimate, truth, fabs(estimate - truth) / error,
         100 * error / truth);
  free(image);
  zinst_tree_free(&r.tree);
}

/*
 * ZINST_SAMPLE_ERROR: a context's interval doubles at the first power of
 * two of its samples, from 256 on, where its mean's 95% interval is within
 * 5% (the default), and at 4096 samples at the latest; that power is then
 * the context's own limit. Three contexts at 1 in 16:
 *   - steady, 1000 to 1099 ticks (spread 3% of the mean): enough at 256
 *     samples; thinned at about 4,100, 8,200, 16,400 and 32,800 calls;
 *   - spread, 300 or 1700 ticks (spread 70%): 1.96 x 0.7 / sqrt(n) <= 5%
 *     needs n >= 753, so not at 512 but at 1024 samples, near call 16,400,
 *     and again near 32,800;
 *   - heavy, 1 call in 10 of 20,000 ticks, else 100 (285%): never enough
 *     before the limit, 4096 samples, near call 65,500.
 * The call counts keep every thinning far from the end of the run. The file
 * must count the activations timed exactly, and each estimate hold within
 * its stated error.
 */
enum { STEADY_CALLS = 48000, SPREAD_CALLS = 48000, HEAVY_CALLS = 100000 };

static void *precise_scenario(void *out) {
  struct result *result = out;
  memset(own_body_ticks, 0, sizeof own_body_ticks);
  uint64_t start = __atomic_load_n(&zinst_test_fake_ticks, __ATOMIC_RELAXED);
  /* From the root, as phased_scenario. */
  for (int i = 0; i < STEADY_CALLS; i++)
    steady(1000 + test_random() % 100);
  for (int i = 0; i < SPREAD_CALLS; i++)
    spread(test_random() % 2 ? 300 : 1700);
  for (int i = 0; i < HEAVY_CALLS; i++)
    heavy(test_random() % 10 == 0 ? 20000 : 100);
  result->elapsed = __atomic_load_n(&zinst_test_fake_ticks, __ATOMIC_RELAXED) - start;
  result->spin_body_ticks =
      own_body_ticks[F_STEADY] + own_body_ticks[F_SPREAD] + own_body_ticks[F_HEAVY];
  result->tree = test_own_tree();
  return NULL;
}

static void precise_contexts(void) {
  zinst_config.sample_interval = ZINST_DEFAULT_SAMPLE_INTERVAL;
  zinst_config.long_activation_ticks = UINT32_MAX;
  CHECK_EQ_U64(zinst_config.sample_error, ZINST_DEFAULT_SAMPLE_ERROR, "default error");
  struct result r = run_on_thread(precise_scenario);
  zinst_config.long_activation_ticks = ZINST_LONG_ACTIVATION_TICKS;
  static const struct {
    uint32_t function;
    const char *name;
    uint64_t calls, limit;
    uint32_t shift;
  } expected[] = {
      {F_STEADY, "steady", STEADY_CALLS, 256, 4},
      {F_SPREAD, "spread", SPREAD_CALLS, 1024, 2},
      {F_HEAVY, "heavy", HEAVY_CALLS, 4096, 1},
  };
  const struct zinst_tree *t = &r.tree;
  const struct zinst_node_record *nodes;
  void *image = write_tree(t, ZINST_DEFAULT_SAMPLE_INTERVAL, &nodes);
  uint64_t timed = 0;
  for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
    uint32_t index = test_child(t, 0, module.id_base + expected[i].function);
    const struct zinst_tree_node *node = &t->nodes[index];
    printf("precise contexts: %s\n", expected[i].name);
    CHECK_EQ_U64(node->calls, expected[i].calls, "every call counted");
    CHECK_EQ_U64(node->sample_shift, expected[i].shift, "times the interval doubled");
    CHECK_EQ_U64(node->samples_thinned, expected[i].shift * (expected[i].limit / 2),
                 "each thinning took half of the context's own limit");
    CHECK(node->sampled_calls >= expected[i].limit / 2 && node->sampled_calls <= expected[i].limit,
          "%s: %" PRIu64 " samples' worth kept, between half its limit and its limit",
          expected[i].name, node->sampled_calls);
    const struct zinst_node_record *record = &nodes[index - 1];
    timed += record->timed_calls;
    const double estimate = (double)record->inclusive_ticks;
    const double error = (double)record->inclusive_error_ticks;
    const double truth = (double)own_body_ticks[expected[i].function];
    CHECK(fabs(estimate - truth) <= 4 * error,
          "%s: estimate %.0f vs true %.0f: %.1f standard errors off (stated error %.0f)",
          expected[i].name, estimate, truth, fabs(estimate - truth) / error, error);
    printf("precise contexts: %s thinned %u times at %" PRIu64 " samples; estimate %.4g, "
           "true %.4g ticks (1 SE = %.2f%%)\n",
           expected[i].name, node->sample_shift, expected[i].limit, estimate, truth,
           100 * error / truth);
  }
  /* Two clock reads per timed activation. */
  CHECK_EQ_U64(timed, (r.elapsed - r.spin_body_ticks) / 2, "timed activations in the file");
  free(image);
  zinst_tree_free(&r.tree);
}

/*
 * An outlier (thread_state.h, zinst_sample_part): a context of 20,000
 * activations of 100 ticks, one of which, sampled, stalls for 10 M ticks,
 * as a thread the host stopped does. The truth is 12 M ticks; the stall,
 * weighted as a sample of 1 in 16 calls, would make it about 162 M. With
 * ZINST_SAMPLE_OUTLIER at its default (64) the sample counts as one of
 * 8192 ticks (the floor: 64 x 100 is below it) and its excess once; with
 * 0, whole. Each time the stated 95% interval must reach the other
 * estimate: clipping moves the value, not what the error admits.
 */
enum { STALLED_CALLS = 20000, STALLED_BODY = 100, STALL = 10000000, STALL_AT = 10000 };

static uint64_t stalled_body_ticks;

/* Lasts STALLED_BODY ticks, or STALL if `may_stall` and its activation is
 * sampled; returns whether it stalled. */
NOINLINE static int stalled(int may_stall) {
  TEST_ENTER(&module, F_STALLED);
  const struct zinst_thread_state *ts = zinst_tls_state;
  uint64_t body = STALLED_BODY;
  if (may_stall && ts->frames[ts->depth - 1].kind == ZINST_FRAME_SAMPLED)
    body = STALL;
  __atomic_fetch_add(&zinst_test_fake_ticks, body, __ATOMIC_RELAXED);
  stalled_body_ticks += body;
  TEST_EXIT(&module, F_STALLED);
  return body == STALL;
}

static void *stalled_scenario(void *out) {
  struct result *result = out;
  stalled_body_ticks = 0;
  int stalls = 0;
  /* The first sampled activation from STALL_AT on stalls. Called with
   * nothing instrumented on the stack: no measured caller bounds the
   * estimate (fitted_children). */
  for (int i = 0; i < STALLED_CALLS; i++)
    stalls += stalled(i >= STALL_AT && stalls == 0);
  CHECK_EQ_U64(stalls, 1, "one activation stalled");
  result->spin_body_ticks = stalled_body_ticks;
  result->tree = test_own_tree();
  return NULL;
}

struct stalled_estimate {
  double estimate, error, truth, weight;
};

static struct stalled_estimate stalled_run(uint32_t outlier) {
  zinst_config.sample_interval = ZINST_DEFAULT_SAMPLE_INTERVAL;
  zinst_config.sample_outlier = outlier;
  /* 1 in R throughout: alike before the stall, the samples would have
   * enough at 256 (precise_contexts) and thin. */
  zinst_config.sample_error = 0;
  struct result r = run_on_thread(stalled_scenario);
  zinst_config.sample_outlier = ZINST_DEFAULT_SAMPLE_OUTLIER;
  zinst_config.sample_error = ZINST_DEFAULT_SAMPLE_ERROR;
  const struct zinst_tree *t = &r.tree;
  uint32_t index = test_child(t, 0, module.id_base + F_STALLED);
  const struct zinst_tree_node *node = &t->nodes[index];
  CHECK_EQ_U64(node->calls, STALLED_CALLS, "every call counted");
  CHECK_EQ_U64(node->exact_calls, ZINST_EXACT_CALLS, "the exact stratum");
  CHECK_EQ_U64(node->sample_shift, 0, "no thinning below the limit");
  const struct zinst_node_record *nodes;
  void *image = write_tree(t, ZINST_DEFAULT_SAMPLE_INTERVAL, &nodes);
  const struct zinst_node_record *record = &nodes[index - 1];
  struct stalled_estimate e = {
      .estimate = (double)record->inclusive_ticks,
      .error = (double)record->inclusive_error_ticks,
      .truth = (double)r.spin_body_ticks,
      .weight = (double)(node->calls - node->exact_calls) / (double)node->sampled_calls,
  };
  CHECK(e.weight > 8 && e.weight < 32, "a sample stands for %.1f calls", e.weight);
  free(image);
  zinst_tree_free(&r.tree);
  return e;
}

static void outliers(void) {
  struct stalled_estimate whole = stalled_run(0);
  struct stalled_estimate clipped = stalled_run(ZINST_DEFAULT_SAMPLE_OUTLIER);
  /* Each run's clock reads add 2 ticks per timed activation: far below
   * the bounds here. */
  CHECK(whole.estimate > 8 * whole.truth,
        "unclipped, the stall counts for every call its sample stands for: %.4g against %.4g",
        whole.estimate, whole.truth);
  CHECK(fabs(clipped.estimate - clipped.truth) <= 0.02 * clipped.truth,
        "clipped: estimate %.4g within 2%% of the true %.4g", clipped.estimate, clipped.truth);
  /* The unclipped estimate of the clipped run: its sample's excess
   * (STALL - 8192) weighted as a sample instead of once. */
  const double unclipped =
      clipped.estimate + (double)(STALL - ZINST_LONG_ACTIVATION_TICKS) * (clipped.weight - 1);
  CHECK(unclipped - clipped.estimate <= 1.96 * clipped.error,
        "the clipped run's interval (%.4g) reaches its unclipped estimate %.4g from %.4g",
        1.96 * clipped.error, unclipped, clipped.estimate);
  CHECK(whole.estimate - whole.truth <= 1.96 * whole.error,
        "the unclipped run's interval (%.4g) reaches the truth %.4g from %.4g", 1.96 * whole.error,
        whole.truth, whole.estimate);
  printf("outliers: a 10 M-tick stall among 20,000 calls of 100: estimate %.4g unclipped, "
         "%.4g clipped, true %.4g (clipped run's 95%% interval %.3g)\n",
         whole.estimate, clipped.estimate, clipped.truth, 1.96 * clipped.error);
}

/*
 * Estimated children never add up to more than their parent's total
 * (profile_writer.c, write_thread_nodes). `inflated` and the
 * `inflated_inner` it calls each last 100 ticks, or 1000 when their
 * activation is sampled, as a timed call that runs slower than the
 * calibration does: scaled to all calls, each estimate is about ten times
 * its truth, and inflated's is far above its measured caller's total.
 * The written estimates must fit: inflated's and cold's (exact) within the
 * driver's, inflated_inner's within inflated's, each still at least what
 * its timed calls measured, and cold's unchanged.
 */
enum { INFLATED_CALLS = 20000, INFLATED_BODY = 100, INFLATED_SAMPLE = 1000 };

/* Lasts INFLATED_BODY ticks, or INFLATED_SAMPLE if its activation is
 * sampled. */
static void inflated_body(void) {
  const struct zinst_thread_state *ts = zinst_tls_state;
  int sampled = ts->frames[ts->depth - 1].kind == ZINST_FRAME_SAMPLED;
  __atomic_fetch_add(&zinst_test_fake_ticks, sampled ? INFLATED_SAMPLE : INFLATED_BODY,
                     __ATOMIC_RELAXED);
}

NOINLINE static void inflated_inner(void) {
  TEST_ENTER(&module, F_INFLATED_INNER);
  inflated_body();
  TEST_EXIT(&module, F_INFLATED_INNER);
}

NOINLINE static void inflated(void) {
  TEST_ENTER(&module, F_INFLATED);
  inflated_body();
  inflated_inner();
  TEST_EXIT(&module, F_INFLATED);
}

static void *fitted_scenario(void *out) {
  struct result *result = out;
  TEST_ENTER(&module, F_DRIVER);
  for (int i = 0; i < INFLATED_CALLS; i++)
    inflated();
  for (int i = 0; i < 10; i++)
    cold();
  TEST_EXIT(&module, F_DRIVER);
  result->tree = test_own_tree();
  return NULL;
}

/* The estimate the writer starts from (profile_writer.c, estimate_node):
 * the exact stratum plus the samples scaled to all later calls. */
static double unfitted_estimate(const struct zinst_tree_node *node) {
  double exact = (double)(node->inclusive_ticks - node->sampled_ticks);
  return exact + (double)node->sampled_ticks * (double)(node->calls - node->exact_calls) /
                     (double)node->sampled_calls;
}

static void fitted_children(void) {
  zinst_config.sample_interval = ZINST_DEFAULT_SAMPLE_INTERVAL;
  zinst_config.sample_error = 0; /* 1 in R throughout */
  struct result r = run_on_thread(fitted_scenario);
  zinst_config.sample_error = ZINST_DEFAULT_SAMPLE_ERROR;
  const struct zinst_tree *t = &r.tree;
  uint32_t driver = test_child(t, 0, module.id_base + F_DRIVER);
  uint32_t outer = test_child(t, driver, module.id_base + F_INFLATED);
  uint32_t inner = test_child(t, outer, module.id_base + F_INFLATED_INNER);
  uint32_t cold_node = test_child(t, driver, module.id_base + F_COLD);
  CHECK_EQ_U64(t->nodes[outer].calls, INFLATED_CALLS, "inflated calls");
  CHECK_EQ_U64(t->nodes[inner].calls, INFLATED_CALLS, "inflated_inner calls");
  CHECK(t->nodes[outer].sampled_calls > 0 && t->nodes[inner].sampled_calls > 0, "both sampled");
  const double driver_measured = (double)t->nodes[driver].inclusive_ticks;
  CHECK(unfitted_estimate(&t->nodes[outer]) > 2 * driver_measured,
        "the scenario inflates: inflated estimated at %.4g, its caller measured %.4g",
        unfitted_estimate(&t->nodes[outer]), driver_measured);

  const struct zinst_node_record *nodes;
  void *image = write_tree(t, ZINST_DEFAULT_SAMPLE_INTERVAL, &nodes);
  const struct zinst_node_record *d = &nodes[driver - 1], *o = &nodes[outer - 1],
                                 *i = &nodes[inner - 1], *c = &nodes[cold_node - 1];
  CHECK_EQ_U64(d->timed_calls, 1, "the driver is measured");
  CHECK_EQ_U64(d->inclusive_ticks, t->nodes[driver].inclusive_ticks, "the driver as measured");
  CHECK_EQ_U64(c->inclusive_ticks, t->nodes[cold_node].inclusive_ticks, "cold (exact) as measured");
  /* One tick of rounding per fitted child at most. */
  CHECK(o->inclusive_ticks + c->inclusive_ticks <= d->inclusive_ticks + 1,
        "the driver's children (%" PRIu64 " + %" PRIu64 ") fit its %" PRIu64, o->inclusive_ticks,
        c->inclusive_ticks, d->inclusive_ticks);
  CHECK(d->exclusive_ticks <= 1, "the driver's self time is what the children left: %" PRIu64,
        d->exclusive_ticks);
  CHECK(i->inclusive_ticks <= o->inclusive_ticks + 1,
        "inflated_inner (%" PRIu64 ") fits inflated's %" PRIu64, i->inclusive_ticks,
        o->inclusive_ticks);
  CHECK(o->inclusive_ticks >= t->nodes[outer].inclusive_ticks &&
            i->inclusive_ticks >= t->nodes[inner].inclusive_ticks,
        "each at least what its timed calls measured");
  CHECK(o->inclusive_error_ticks > 0, "inflated is still an estimate, with its error");
  printf("fitted children: inflated estimated %.4g, written %" PRIu64 " within its caller's "
         "measured %" PRIu64 "\n",
         unfitted_estimate(&t->nodes[outer]), o->inclusive_ticks, d->inclusive_ticks);
  free(image);
  zinst_tree_free(&r.tree);
}

/* zinst_reset() subtracts every sampling field: a hot context starts over
 * with no exact stratum (its first K calls are long gone). */
static void *reset_scenario(void *unused) {
  (void)unused;
  for (int i = 0; i < 1000; i++)
    leaf();
  zinst_reset();
  struct zinst_tree tree = test_own_tree();
  const struct zinst_tree_node *node = &tree.nodes[test_child(&tree, 0, module.id_base + F_LEAF)];
  CHECK_EQ_U64(node->calls, 0, "calls after reset");
  CHECK_EQ_U64(node->inclusive_ticks, 0, "ticks after reset");
  CHECK_EQ_U64(node->exact_calls, 0, "exact calls after reset");
  CHECK_EQ_U64(node->sampled_calls, 0, "sampled calls after reset");
  CHECK_EQ_U64(node->sampled_ticks, 0, "sampled ticks after reset");
  CHECK(node->sampled_sq == 0, "sampled squares after reset");
  zinst_tree_free(&tree);
  for (int i = 0; i < 1000; i++)
    leaf();
  tree = test_own_tree();
  node = &tree.nodes[test_child(&tree, 0, module.id_base + F_LEAF)];
  CHECK_EQ_U64(node->calls, 1000, "calls counted after reset");
  CHECK_EQ_U64(node->exact_calls, 0, "no exact stratum after reset");
  CHECK(node->sampled_calls > 0 && node->sampled_calls < 1000, "sampled after reset: %" PRIu64,
        node->sampled_calls);
  zinst_tree_free(&tree);
  return NULL;
}

int main(void) {
  zinst_disable_exit_dump();
  /* The settings: garbage is refused (one warning, the default kept);
   * NULL unsets the variable. */
  static const struct {
    const char *name, *value;
    const uint32_t *field;
    uint32_t expected;
  } settings[] = {
      {"ZINST_SAMPLE", "often", &zinst_config.sample_interval, ZINST_DEFAULT_SAMPLE_INTERVAL},
      {"ZINST_SAMPLE", "0", &zinst_config.sample_interval, ZINST_DEFAULT_SAMPLE_INTERVAL},
      {"ZINST_SAMPLE", "1", &zinst_config.sample_interval, 1},
      {"ZINST_SAMPLE", NULL, &zinst_config.sample_interval, 16},
      {"ZINST_SAMPLE_LIMIT", "8", &zinst_config.sample_limit, ZINST_DEFAULT_SAMPLE_LIMIT},
      {"ZINST_SAMPLE_LIMIT", "0", &zinst_config.sample_limit, 0},
      {"ZINST_SAMPLE_LIMIT", "1000", &zinst_config.sample_limit, 512},
      {"ZINST_SAMPLE_LIMIT", NULL, &zinst_config.sample_limit, 4096},
      {"ZINST_SAMPLE_ERROR", "101", &zinst_config.sample_error, ZINST_DEFAULT_SAMPLE_ERROR},
      {"ZINST_SAMPLE_ERROR", "0", &zinst_config.sample_error, 0},
      {"ZINST_SAMPLE_ERROR", NULL, &zinst_config.sample_error, 5},
      {"ZINST_SAMPLE_OUTLIER", "-3", &zinst_config.sample_outlier, ZINST_DEFAULT_SAMPLE_OUTLIER},
      {"ZINST_SAMPLE_OUTLIER", "0", &zinst_config.sample_outlier, 0},
      {"ZINST_SAMPLE_OUTLIER", "16", &zinst_config.sample_outlier, 16},
      {"ZINST_SAMPLE_OUTLIER", NULL, &zinst_config.sample_outlier, 64},
  };
  for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
    if (settings[i].value)
      setenv(settings[i].name, settings[i].value, 1);
    else
      unsetenv(settings[i].name);
    zinst_config_reload();
    CHECK(*settings[i].field == settings[i].expected, "%s=%s: got %u, expected %u",
          settings[i].name, settings[i].value ? settings[i].value : "(unset)", *settings[i].field,
          settings[i].expected);
  }
  CHECK_EQ_U64(zinst_config.exact_calls, 16, "default K");

  exact_mode();
  default_mode();
  long_contexts();
  thinned_samples();
  precise_contexts();
  outliers();
  fitted_children();
  zinst_config.sample_interval = ZINST_DEFAULT_SAMPLE_INTERVAL;
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, reset_scenario, NULL) == 0, "create");
  CHECK(pthread_join(thread, NULL) == 0, "join");
  printf("sampling: ok\n");
  return 0;
}
