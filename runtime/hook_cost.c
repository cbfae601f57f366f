/*
 * hook_cost.c - calibrating the hooks' own cost on the real hooks, and that
 * of inline timing (ZINST_MODULE_INLINE_TIME) on a C copy of its code.
 *
 * What a timed activation's interval [start, now] holds besides its body
 * (hooks.c): the rest of its enter hook after the clock read and the start
 * of its exit hook before it (the "inner" part), and, for every call it
 * makes, the callee's whole enter and exit hooks: a "pair", whose cost
 * depends on whether the callee's activation is timed (two clock reads, the
 * scheduling of the context's next timed call, the crediting) or not.
 *
 * How it is measured without touching the program's profile: the calling
 * thread's TLS pointer is switched to a private block (thread_state.h) that
 * no list knows, and the exported hooks, __zinst_enter and __zinst_exit,
 * are called on a private module whose id_base is preset, so it is never
 * registered and its functions appear in no table. Every path is the one a
 * program takes: after a warm-up, a parent frame stays open and a leaf is
 * entered and left from it in a loop, through the fast paths (the parent's
 * child cache hits). The thread's signals are blocked meanwhile, so that no
 * handler's events land in the private block; the block is unmapped after.
 *
 * Inline timing is calibrated the same way, on the leaf's enter and exit
 * as the pass emits them (leaf_enter): the context's lookup and count, the
 * timing decision, and for a timed activation the runtime's
 * __zinst_context_miss_or_due and __zinst_timed_exit. The process's kind
 * (module_registry.h) says which code its modules run; each kind keeps its
 * own best calibration.
 *
 * Per round, with the leaf steered by its node's sampling fields (its
 * schedule decides: the leaf's exact stratum is over):
 *   - untimed pairs: no call scheduled, so no pair reads the clock;
 *     the loop's time, read around it, minus the same loop without the
 *     calls, gives the untimed pair;
 *   - timed pairs: the schedule runs as in the program, drawn at random
 *     with the program's mean interval (at most 32), so about 1 pair in
 *     that many is timed, in the sampled stratum; the loop's time minus its
 *     untimed pairs gives the timed pair. A random pattern, not every pair
 *     timed: the branches that pick the timed activations are then
 *     mispredicted as in the program, which costs more than the clock
 *     reads. This is the path nearly every timed call of a short function
 *     takes (ZINST_SAMPLE=1 gives an all-timed pattern, calibrated as
 *     such): the exact stratum is each context's first calls only, and the
 *     long ones, for which the pair's cost is noise;
 *   - the inner part: every activation timed, the leaf calling a body of
 *     known cost (a dozen independent additions per step, about 15 ns); the
 *     mean of the intervals the hooks measured (the leaf's own
 *     sampled_ticks) less the body's cost, timed alone in a loop. Not an
 *     empty body: two clock reads back to back are about 25 cycles apart
 *     whatever lies between them, which is the clock's spacing, not the
 *     hooks' cost; past that, what the interval holds beyond the body is
 *     the hooks' few instructions.
 * Rounds alternate between the kinds, and each cost measured directly is
 * the smallest of its rounds: on a shared machine the noise (preemption, a
 * busy sibling core) only adds time. The timed pair is not measured but
 * derived, a round's time less its untimed pairs over its few dozen timed
 * ones, which spreads a round's jitter both ways: it is the median of its
 * rounds. The spread, median minus minimum, says how noisy that was.
 * A noisy calibration is repeated; and it runs at start-up and at every
 * dump, each cost the smallest any of them found, since a sibling core busy
 * for a whole calibration slows every round alike.
 *
 * What this measures is the hooks' cost when nothing overlaps them: code
 * that keeps the processor busy (calls, independent arithmetic) pays it.
 * Out-of-order execution hides much of it behind one long dependency chain
 * (a latency-bound leaf runs at nearly the same speed instrumented), and
 * there the unserialized clock reads (cycle_counter.h) also close a short
 * interval early. Nor can it see the registers an instrumented function
 * saves around its hook calls, which depend on the function, and the site
 * counters' increments. All of it stays in the times (README, "Time"); the
 * benchmark (bench/run.py, "hooks") measures how much.
 */
#define _GNU_SOURCE
#include "hook_cost.h"

#include "cycle_counter.h"
#include "module_registry.h"
#include "runtime_internal.h"
#include "thread_state.h"
#include "zinst_abi.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#define CALIBRATION_ROUNDS 11
#define UNTIMED_PAIRS 256u
#define MIXED_PAIRS 2048u
#define BODY_PAIRS 256u
#define BODY_STEPS 20u
#define CALIBRATION_WARMUP 64u
#define CALIBRATION_ATTEMPTS 3
/* The sampling interval of the mixed rounds: the program's, but at most
 * this, so that each round has enough timed pairs (about 2048 / 32 = 64). A
 * timed pair in a random pattern costs the same at any interval from about
 * 8 on: its branches are mispredicted either way. */
#define MAX_CALIBRATION_INTERVAL 32u

enum { PARENT = 0, LEAF = 1 };

static const struct zinst_function_info calibration_functions[2] = {
    {"(zinst calibration parent)", "(zinst calibration parent)", "", 0, 0},
    {"(zinst calibration leaf)", "(zinst calibration leaf)", "", 0, 0},
};

/* The ids, as the registration writes them, which the inline code loads. */
static uint32_t calibration_function_ids[2] = {ZINST_ID_BASE_ALIGNMENT + PARENT,
                                               ZINST_ID_BASE_ALIGNMENT + LEAF};

/* Never registered: id_base is set, so the hooks take its ids as they are.
 * They name nodes of the private block only. */
static struct zinst_module_info calibration_module = {
    .abi_version = ZINST_ABI_VERSION,
    .function_count = 2,
    .functions = calibration_functions,
    .source_file = "(zinst calibration)",
    .id_base = ZINST_ID_BASE_ALIGNMENT, /* aligned like a registered module's */
    .function_ids = calibration_function_ids,
};

/*
 * The leaf's enter and exit as instrumented code makes them: calls of the
 * hooks, or (inline_code, ZINST_MODULE_INLINE_TIME) a C copy of what the
 * pass emits for a leaf, a function that calls nothing
 * (pass/InlineContextTree.h; test/runtime/test_inline_tree.c has the copy
 * of a function that calls), which calls the runtime for timed activations
 * only and leaves its caller's context current. A callee that calls
 * something also stores its context at entry and its caller's at the way
 * out: two stores more than the cost subtracted for it. The copy is
 * compiled by the runtime's compiler, not by the program's: its
 * instructions are those of the pass's IR, their scheduling may differ.
 * `inline_code` is a constant wherever these are expanded.
 */
struct leaf_activation {
  struct zinst_node *saved; /* inline code: the caller's context, to put back */
};

static inline __attribute__((always_inline)) struct leaf_activation leaf_enter(int inline_code,
                                                                               void *leaf_frame) {
  struct leaf_activation a = {0};
  if (!inline_code) {
    __zinst_enter(&calibration_module, LEAF, leaf_frame);
    return a;
  }
#if ZINST_HAVE_CONTEXT_MISS
  a.saved = __zinst_context;
  uint32_t id = __atomic_load_n(&calibration_function_ids[LEAF], __ATOMIC_RELAXED);
  struct zinst_node *child = __atomic_load_n(
      &a.saved->recent_children[LEAF & (ZINST_NODE_RECENT_CHILDREN - 1)], __ATOMIC_RELAXED);
  if (ZINST_LIKELY(child->function == id)) {
    if (ZINST_UNLIKELY(zinst_count_inline_call(child)))
      __zinst_context_miss_or_due(&calibration_module, LEAF, a.saved, child, leaf_frame);
  } else {
    /* Counted, and timed if it is due, by the runtime, which made the
     * leaf's context current and says what to put back. */
    a.saved = __zinst_context_miss_or_due(&calibration_module, LEAF, a.saved, NULL, leaf_frame);
    __zinst_context = a.saved;
  }
#endif
  return a;
}

static inline __attribute__((always_inline)) void leaf_exit(int inline_code, void *leaf_frame,
                                                            struct leaf_activation a) {
  if (!inline_code) {
    __zinst_exit(&calibration_module, LEAF, leaf_frame);
    return;
  }
#if ZINST_HAVE_CONTEXT_MISS
  (void)a;
  if (ZINST_UNLIKELY(__zinst_timed_frame <= (uintptr_t)leaf_frame))
    __zinst_timed_exit(leaf_frame);
#endif
}

/* `pairs` calls of the leaf: what an instrumented function's calls of an
 * instrumented callee with an empty body cost. */
static inline __attribute__((always_inline)) uint64_t ticks_for_pairs_of(int inline_code,
                                                                         void *leaf_frame,
                                                                         uint32_t pairs) {
  uint64_t start = zinst_read_ticks();
  for (uint32_t i = 0; i < pairs; i++) {
    struct leaf_activation a = leaf_enter(inline_code, leaf_frame);
    __asm__ volatile("" ::: "memory"); /* the body: nothing, but not merged away */
    leaf_exit(inline_code, leaf_frame, a);
  }
  return zinst_read_ticks() - start;
}

/* noinline, and one loop per kind of code: the loop is the same code in
 * every round. */
static __attribute__((noinline)) uint64_t ticks_for_pairs(int inline_code, void *leaf_frame,
                                                          uint32_t pairs) {
  return inline_code ? ticks_for_pairs_of(1, leaf_frame, pairs)
                     : ticks_for_pairs_of(0, leaf_frame, pairs);
}

/* The same loop without the calls: subtracted, it leaves the calls. */
static __attribute__((noinline)) uint64_t ticks_for_loop(uint32_t pairs) {
  uint64_t start = zinst_read_ticks();
  for (uint32_t i = 0; i < pairs; i++)
    __asm__ volatile("");
  return zinst_read_ticks() - start;
}

/* The body of known cost: BODY_STEPS steps of six independent additions,
 * kept in registers and unfolded by the asm. */
static __attribute__((noinline)) uint64_t body(uint64_t x) {
  uint64_t a = x, b = x + 1, c = x + 2, d = x + 3, e = x + 4, f = x + 5;
  for (uint32_t i = 0; i < BODY_STEPS; i++) {
    __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f));
    a += i;
    b ^= i;
    c += a;
    d ^= b;
    e += c;
    f ^= d;
  }
  return a ^ b ^ c ^ d ^ e ^ f;
}

/* BODY_PAIRS calls of the body alone, each on the last one's result. */
static __attribute__((noinline)) uint64_t ticks_for_bodies(uint64_t *x) {
  uint64_t value = *x, start = zinst_read_ticks();
  for (uint32_t i = 0; i < BODY_PAIRS; i++)
    value = body(value);
  uint64_t ticks = zinst_read_ticks() - start;
  *x = value;
  return ticks;
}

/* The same, each call of the body inside the leaf's enter and exit. */
static inline __attribute__((always_inline)) uint64_t ticks_for_timed_bodies_of(int inline_code,
                                                                                void *leaf_frame,
                                                                                uint64_t *x) {
  uint64_t value = *x, start = zinst_read_ticks();
  for (uint32_t i = 0; i < BODY_PAIRS; i++) {
    struct leaf_activation a = leaf_enter(inline_code, leaf_frame);
    value = body(value);
    leaf_exit(inline_code, leaf_frame, a);
  }
  uint64_t ticks = zinst_read_ticks() - start;
  *x = value;
  return ticks;
}

static __attribute__((noinline)) uint64_t ticks_for_timed_bodies(int inline_code, void *leaf_frame,
                                                                 uint64_t *x) {
  return inline_code ? ticks_for_timed_bodies_of(1, leaf_frame, x)
                     : ticks_for_timed_bodies_of(0, leaf_frame, x);
}

static void sort_values(double *values, int count) {
  for (int i = 1; i < count; i++) /* insertion sort: a dozen values */
    for (int j = i; j > 0 && values[j] < values[j - 1]; j--) {
      double swap = values[j];
      values[j] = values[j - 1];
      values[j - 1] = swap;
    }
}

/* What the rounds found, in ticks per pair: converted to picoseconds at
 * each dump's frequency. */
struct calibration {
  double untimed, timed, inner, spread;
};

/* The larger of `spread` and the median minus the minimum of `sorted`. */
static double widen_spread(double spread, const double *sorted) {
  double own = sorted[CALIBRATION_ROUNDS / 2] - sorted[0];
  return own > spread ? own : spread;
}

/* The parent's activation, open while the leaf's are measured: through the
 * hooks, or, for inline code, made the thread's context (the private
 * block's node; the caller restores the program's). */
static void parent_enter(int inline_code, void *parent_frame, struct zinst_thread_state *ts) {
  if (!inline_code) {
    __zinst_enter(&calibration_module, PARENT, parent_frame);
    return;
  }
#if ZINST_HAVE_CONTEXT_MISS
  __zinst_context_enter(&calibration_module, PARENT, &ts->nodes[0]);
#endif
}

static void parent_exit(int inline_code, void *parent_frame, struct zinst_thread_state *ts) {
  if (!inline_code) {
    __zinst_exit(&calibration_module, PARENT, parent_frame);
    return;
  }
  __zinst_context = &ts->nodes[0];
}

/* Schedules the leaf's next timed call `interval` calls ahead (UINT64_MAX:
 * never); the hooks and the inline code follow the same schedule. */
static void schedule_leaf(struct zinst_node *leaf, uint64_t interval) {
  if (interval == UINT64_MAX)
    leaf->untimed_left = ZINST_NEVER_TIMED;
  else
    zinst_schedule_in(leaf, interval);
}

/* The measurement itself, on the private block `ts` (already the thread's
 * TLS block, signals blocked), for a program sampling 1 in `interval`,
 * of the hooks or of inline code (`inline_code`). Returns 0, or -1 when
 * the instrumentation did not do what the calibration steers it to (then
 * nothing is trusted). */
static int calibrate_on(struct zinst_thread_state *ts, int inline_code, uint32_t interval,
                        struct calibration *out) {
#if !ZINST_HAVE_CONTEXT_MISS
  if (inline_code)
    return -1; /* no inline timing on this target */
#endif
  if (interval > MAX_CALIBRATION_INTERVAL)
    interval = MAX_CALIBRATION_INTERVAL;
  if (interval == 0)
    interval = 1;
  /* Time mode whatever ZINST_MODE says; the exact stratum never ends by
   * itself (the leaf's is ended by hand below). */
  ts->count_only = 0;
  ts->exact_limit = UINT32_MAX;
  ts->long_ticks = 0;
  ts->outlier_factor = 0;                  /* the leaf's samples are kept whole */
  ts->rng |= 1;                            /* never 0 */
  zinst_thread_set_sample_limit(ts, 0, 0); /* the leaf's rate is steered by hand */
  /* Frame addresses as the pass passes them: 8-aligned, the callee's lower. */
  uintptr_t here = (uintptr_t)__builtin_frame_address(0) & ~(uintptr_t)7;
  void *parent_frame = (void *)(here - 64), *leaf_frame = (void *)(here - 128);

  /* Inline code keeps its frames on the stack only while timed. */
  const uint32_t open_depth = inline_code ? 1 : 2;
  parent_enter(inline_code, parent_frame, ts);
  if (ts->depth != open_depth)
    return -1;
  struct leaf_activation first = leaf_enter(inline_code, leaf_frame);
  if (ts->depth != open_depth + 1) /* the leaf's first call: exact, timed */
    return -1;
  struct zinst_node *leaf = &ts->nodes[ts->frames[open_depth].node];
  leaf_exit(inline_code, leaf_frame, first);
  for (uint32_t i = 0; i < CALIBRATION_WARMUP; i++)
    leaf_exit(inline_code, leaf_frame, leaf_enter(inline_code, leaf_frame));
  leaf->exact_until = 0; /* past the exact stratum: its schedule decides */

  uint64_t untimed_ticks[CALIBRATION_ROUNDS], mixed_ticks[CALIBRATION_ROUNDS];
  uint64_t mixed_timed[CALIBRATION_ROUNDS];
  double inner[CALIBRATION_ROUNDS], bodies[CALIBRATION_ROUNDS];
  uint64_t untimed_loop = UINT64_MAX, mixed_loop = UINT64_MAX, x = 1;
  for (int round = 0; round < CALIBRATION_ROUNDS; round++) {
    ts->sample_span = 2 * interval - 1;
    schedule_leaf(leaf, UINT64_MAX); /* no activation timed */
    untimed_ticks[round] = ticks_for_pairs(inline_code, leaf_frame, UNTIMED_PAIRS);

    schedule_leaf(leaf, 1 + (uint32_t)(ts->rng >> 40) % ts->sample_span);
    uint64_t samples = leaf->sampled_calls;
    mixed_ticks[round] = ticks_for_pairs(inline_code, leaf_frame, MIXED_PAIRS);
    mixed_timed[round] = leaf->sampled_calls - samples;
    if (mixed_timed[round] == 0)
      return -1;

    ts->sample_span = 1; /* intervals of 1: every activation timed */
    schedule_leaf(leaf, 1);
    samples = leaf->sampled_calls;
    uint64_t sampled = leaf->sampled_ticks;
    (void)ticks_for_timed_bodies(inline_code, leaf_frame, &x);
    if (leaf->sampled_calls - samples != BODY_PAIRS)
      return -1;
    inner[round] = (double)(leaf->sampled_ticks - sampled) / BODY_PAIRS;
    bodies[round] = (double)ticks_for_bodies(&x) / BODY_PAIRS;

    uint64_t loop = ticks_for_loop(UNTIMED_PAIRS);
    untimed_loop = loop < untimed_loop ? loop : untimed_loop;
    loop = ticks_for_loop(MIXED_PAIRS);
    mixed_loop = loop < mixed_loop ? loop : mixed_loop;
  }
  parent_exit(inline_code, parent_frame, ts);
  const uint64_t leaf_calls =
      1 + CALIBRATION_WARMUP +
      (uint64_t)CALIBRATION_ROUNDS * (UNTIMED_PAIRS + MIXED_PAIRS + BODY_PAIRS);
  if (ts->depth != 1 || ts->unmatched_exits != 0 || ts->reentrant_events != 0 ||
      leaf->calls != leaf_calls)
    return -1;

  /* Per pair, in ticks. The untimed pairs first: the mixed rounds' timed
   * pairs are what is left of them after their untimed ones. */
  double untimed[CALIBRATION_ROUNDS], timed[CALIBRATION_ROUNDS];
  for (int round = 0; round < CALIBRATION_ROUNDS; round++) {
    uint64_t ticks = untimed_ticks[round];
    untimed[round] = (double)(ticks > untimed_loop ? ticks - untimed_loop : 0) / UNTIMED_PAIRS;
  }
  sort_values(untimed, CALIBRATION_ROUNDS);
  for (int round = 0; round < CALIBRATION_ROUNDS; round++) {
    uint64_t ticks = mixed_ticks[round];
    double calls = (double)(ticks > mixed_loop ? ticks - mixed_loop : 0);
    double timed_count = (double)mixed_timed[round];
    timed[round] = (calls - (MIXED_PAIRS - timed_count) * untimed[0]) / timed_count;
  }
  sort_values(timed, CALIBRATION_ROUNDS);
  sort_values(inner, CALIBRATION_ROUNDS);
  sort_values(bodies, CALIBRATION_ROUNDS);
  *out = (struct calibration){
      .untimed = untimed[0],
      .timed = timed[CALIBRATION_ROUNDS / 2],
      /* Rounding or noise may make it negative: what the hooks add is not. */
      .inner = inner[0] > bodies[0] ? inner[0] - bodies[0] : 0,
  };
  out->spread = widen_spread(0, untimed);
  out->spread = widen_spread(out->spread, timed);
  out->spread = widen_spread(out->spread, inner);
  out->spread = widen_spread(out->spread, bodies);
  /* A timed pair holds its inner part, and two clock reads more than an
   * untimed one: anything else is a measurement gone wrong. */
  if (!(out->untimed > 0) || !(out->timed > out->inner) || !(out->timed > out->untimed))
    return -1;
  return 0;
}

/* One calibration on a fresh private block. Returns 0 or -1 (no memory,
 * or the measurement is not trusted). */
static int calibrate_once(int inline_code, uint32_t interval, struct calibration *out) {
  struct zinst_thread_state *ts = zinst_thread_state_create_private(4, 4);
  if (!ts)
    return -1;
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  /* The thread's own state, which inline code reaches through TLS too. */
  struct zinst_thread_state *own = zinst_tls_state;
  void *own_context = __zinst_context;
  uintptr_t own_timed_frame = __zinst_timed_frame;
  zinst_tls_state = ts;
  __zinst_context = &ts->nodes[0];
  int status = calibrate_on(ts, inline_code, interval, out);
  zinst_tls_state = own;
  __zinst_context = own_context;
  __zinst_timed_frame = own_timed_frame;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  zinst_thread_state_free_private(ts);
  return status;
}

/* The calibration (about 0.35 ms). A noisy one, whose rounds spread by
 * more than half an untimed pair (a preemption, a sibling core busy for
 * its whole length), is repeated, at most CALIBRATION_ATTEMPTS times in
 * all; each cost is then the smallest any attempt found, the spread the
 * quietest attempt's. Returns 0, or -1 when no attempt was trusted. */
static int calibrate(int inline_code, uint32_t interval, struct calibration *out) {
  int trusted = 0;
  for (int attempt = 0; attempt < CALIBRATION_ATTEMPTS; attempt++) {
    struct calibration found;
    if (calibrate_once(inline_code, interval, &found) != 0)
      continue;
    if (!trusted) {
      *out = found;
    } else {
      out->untimed = found.untimed < out->untimed ? found.untimed : out->untimed;
      out->timed = found.timed < out->timed ? found.timed : out->timed;
      out->inner = found.inner < out->inner ? found.inner : out->inner;
      out->spread = found.spread < out->spread ? found.spread : out->spread;
    }
    trusted = 1;
    if (out->spread <= out->untimed / 2)
      break;
  }
  return trusted ? 0 : -1;
}

/* Picoseconds of `ticks` at `ticks_per_second`. */
static uint32_t pair_ps(double ticks, uint64_t ticks_per_second) {
  double ps = ticks * 1e12 / (double)ticks_per_second;
  if (!(ps > 0))
    return 0;
  return ps >= 4294967295.0 ? UINT32_MAX : (uint32_t)(ps + 0.5);
}

/* Each cost the smaller of the two calibrations, and the quieter spread:
 * disturbances only ever add time. */
static struct calibration smaller(const struct calibration *a, const struct calibration *b) {
  return (struct calibration){
      .untimed = a->untimed < b->untimed ? a->untimed : b->untimed,
      .timed = a->timed < b->timed ? a->timed : b->timed,
      .inner = a->inner < b->inner ? a->inner : b->inner,
      .spread = a->spread < b->spread ? a->spread : b->spread,
  };
}

/* The best of every trusted calibration of the process so far, under a
 * spin lock held for a few stores: dumps on two threads may offer at once.
 * Never taken twice on one thread (a signal's dump waits while this thread
 * dumps; start-up runs before the signal handlers exist). */
static struct calibration best[2]; /* [inline_code] */
static int have_best[2], best_lock;

static void offer(int inline_code, const struct calibration *found) {
  while (__atomic_exchange_n(&best_lock, 1, __ATOMIC_ACQUIRE))
    ;
  best[inline_code] = have_best[inline_code] ? smaller(&best[inline_code], found) : *found;
  have_best[inline_code] = 1;
  __atomic_store_n(&best_lock, 0, __ATOMIC_RELEASE);
}

/* Which code the process's modules time with (module_registry.h); the
 * hooks until the first module registers. */
static int inline_code(void) {
  return zinst_registry_inline_time() ? 1 : 0;
}

void zinst_hook_costs_after_fork_child(void) {
  /* A thread that held the lock at the fork does not exist here; what it
   * was storing is a calibration's value either way. */
  __atomic_store_n(&best_lock, 0, __ATOMIC_RELEASE);
}

void zinst_hook_costs_at_start(uint32_t sample_interval) {
  struct calibration found;
  int code = inline_code();
  if (calibrate(code, sample_interval, &found) == 0)
    offer(code, &found);
}

void zinst_hook_costs(uint64_t ticks_per_second, struct zinst_hook_costs *out) {
  *out = (struct zinst_hook_costs){0};
  if (ticks_per_second == 0)
    return;
  struct calibration found;
  int code = inline_code();
  if (calibrate(code, zinst_config.sample_interval, &found) == 0)
    offer(code, &found);
  while (__atomic_exchange_n(&best_lock, 1, __ATOMIC_ACQUIRE))
    ;
  int have = have_best[code];
  found = best[code];
  __atomic_store_n(&best_lock, 0, __ATOMIC_RELEASE);
  if (!have)
    return;
  *out = (struct zinst_hook_costs){
      .untimed_pair_ps = pair_ps(found.untimed, ticks_per_second),
      .timed_pair_ps = pair_ps(found.timed, ticks_per_second),
      .timed_inner_ps = pair_ps(found.inner, ticks_per_second),
      .spread_ps = pair_ps(found.spread, ticks_per_second),
  };
}
