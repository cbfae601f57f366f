/*
 * thread_state.h - per-thread calling-context trees and shadow stacks.
 *
 * Each thread that produces an event gets one block of memory, mapped on its
 * first event and reached through a single initial-exec TLS pointer:
 *
 *   - the node array: one node per calling context (parent, function), node
 *     0 being the root "nothing instrumented on the stack"; its virtual
 *     range is reserved up front (MAP_NORESERVE) and touched as it fills,
 *     so nodes never move and the hot path never allocates;
 *   - an open-addressing hash table (parent, function) -> node, consulted
 *     only when the parent's recent children and the edge cache miss;
 *   - the shadow stack: frames[0] is a sentinel (the root, at the highest
 *     possible stack address), real frames follow, at most max_depth.
 *
 * Only the owning thread writes its block. Other threads (a dump) read it
 * while it runs: counters are written with relaxed atomic stores (plain
 * moves, no lock prefix) so that such reads see whole values.
 */
#ifndef ZINST_THREAD_STATE_H
#define ZINST_THREAD_STATE_H

#include "cct_tree.h"
#include "profile_writer.h"
#include "runtime_internal.h"
#include "site_counters.h"
#include "zinst_abi.h"

#include <stdint.h>

struct zinst_mem_counters;

/*
 * One calling context, two 64-byte cache lines. The first holds what every
 * enter touches of the node it enters (calls; function, checked; and
 * untimed_left, counted down) and the timing sums, written only
 * by timed exits (hooks.c: the exact stratum into exact_ticks, sampled
 * activations into the sampled fields). The second is the node's cache of
 * its recent children, read by every enter of one of its children.
 * Estimates are the writer's business, never the hot path's.
 */
struct zinst_node {
  uint64_t calls; /* every call, timed or not */
  /* The context's timing schedule: how many of its calls are untimed
   * before the next timed one. Every call counts it down, and the one that
   * brings it below 0 is timed (zinst_schedule_timing says how, and when
   * the next one is); the others cost a decrement and a branch on its sign
   * (zinst_abi.h). A count in its own field, not a count to compare
   * `calls` with, so that the inline code's test is the decrement's own
   * flags. 0 for a new context, ZINST_NEVER_TIMED in count mode and for the
   * root, the sink and zinst_no_context. Written by the owner only. */
  int64_t untimed_left;
  uint32_t parent;   /* ZINST_NONE for the root */
  uint32_t function; /* process-wide id; 0 for the root */
  /* Closed activations of the exact stratum, and the excess of sampled
   * outliers, measured once (zinst_sample_part). */
  uint64_t exact_ticks;
  /* The sampled stratum's sums. Once a context has enough samples,
   * its mean interval doubles and these are halved (zinst_check_samples):
   * a sample then counts in proportion to the calls it stands for, and the
   * writer's mean of them stays the stratum's. */
  uint64_t sampled_ticks; /* closed sampled activations, weighted */
  /* Their weighted count in the low ZINST_SAMPLE_SHIFT_AT bits, and above
   * them how many times the interval doubled (zinst_samples_of,
   * zinst_sample_shift_of): one word, so that both change at once. */
  uint64_t sampled_calls;
  double sampled_sq; /* sum of the squared sampled durations, weighted */
  /* The exact stratum is the context's calls 1..exact_until: UINT64_MAX
   * while it lasts, then the calls it had when it ended (zinst_credit_frame);
   * 0 in count mode. Written by the owner only. */
  uint64_t exact_until;
  /* Recently entered children, two slots per function id (its low bits,
   * and the three above them: zinst_recent_child_find): recursion, a loop
   * calling one callee, and a context calling a few functions in turn (an
   * interpreter's sort loop calls four) find their child here without
   * hashing, also functions in turn whose first slots are the same. Never NULL: a slot
   * without a child points at zinst_no_context, whose function (0)
   * matches no function. Each a pointer, read and written whole: a lookup
   * reads it, then checks the child's function, which never changes, so a
   * signal handler that replaces it in between costs a miss at worst,
   * never a wrong child (hooks.c). The inline code of
   * ZINST_MODULE_INLINE_TREE reads them too (zinst_abi.h). */
  struct zinst_node *recent_children[ZINST_NODE_RECENT_CHILDREN];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct zinst_node) == 128, "a node is two cache lines");
_Static_assert(1u << ZINST_NODE_SECOND_SLOT_SHIFT == ZINST_NODE_RECENT_CHILDREN,
               "zinst_abi.h: the second slot takes the id's next bits");
_Static_assert(__builtin_offsetof(struct zinst_node, calls) == ZINST_NODE_CALLS_OFFSET,
               "zinst_abi.h: ZINST_NODE_CALLS_OFFSET");
_Static_assert(__builtin_offsetof(struct zinst_node, untimed_left) ==
                   ZINST_NODE_UNTIMED_LEFT_OFFSET,
               "zinst_abi.h: ZINST_NODE_UNTIMED_LEFT_OFFSET");
_Static_assert(__builtin_offsetof(struct zinst_node, function) == ZINST_NODE_FUNCTION_OFFSET,
               "zinst_abi.h: ZINST_NODE_FUNCTION_OFFSET");
_Static_assert(__builtin_offsetof(struct zinst_node, recent_children) ==
                   ZINST_NODE_RECENT_CHILDREN_OFFSET,
               "zinst_abi.h: ZINST_NODE_RECENT_CHILDREN_OFFSET");

/* The two slots of a node's recent children where its child running
 * `function` may be (zinst_abi.h). */
static inline __attribute__((always_inline)) uint32_t zinst_recent_first_slot(uint32_t function) {
  return function & (ZINST_NODE_RECENT_CHILDREN - 1);
}
static inline __attribute__((always_inline)) uint32_t zinst_recent_second_slot(uint32_t function) {
  return (function >> ZINST_NODE_SECOND_SLOT_SHIFT) & (ZINST_NODE_RECENT_CHILDREN - 1);
}

/* `parent`'s child running `function` if one of its two slots holds it,
 * else NULL. Each slot is read once and the child's function checked (it
 * never changes): a slot a signal handler rewrote costs a miss, never a
 * wrong child. */
static inline __attribute__((always_inline)) struct zinst_node *
zinst_recent_child_find(struct zinst_node *parent, uint32_t function) {
  struct zinst_node *first = __atomic_load_n(
      &parent->recent_children[zinst_recent_first_slot(function)], __ATOMIC_RELAXED);
  if (first->function == function)
    return first;
  struct zinst_node *second = __atomic_load_n(
      &parent->recent_children[zinst_recent_second_slot(function)], __ATOMIC_RELAXED);
  return second->function == function ? second : NULL;
}

/* Makes `child`, running `function`, the recent child in its first slot,
 * and moves that slot's last child to the last child's own second slot:
 * two functions called in turn from one context, with the same first
 * slot, are both found, and a third with that first slot too evicts
 * neither unless its second slot is also theirs (the second slot takes
 * other bits of the id: zinst_abi.h). Only the owning thread calls this. */
static inline __attribute__((always_inline)) void
zinst_recent_child_remember(struct zinst_node *parent, uint32_t function,
                            struct zinst_node *child) {
  struct zinst_node **first = &parent->recent_children[zinst_recent_first_slot(function)];
  struct zinst_node *old = *first;
  if (old == child)
    return;
  if (old->function != 0) /* not zinst_no_context */
    __atomic_store_n(&parent->recent_children[zinst_recent_second_slot(old->function)], old,
                     __ATOMIC_RELAXED);
  __atomic_store_n(first, child, __ATOMIC_RELAXED);
}

/* The node every recent_children slot starts at, and __zinst_context before a
 * thread's first event and after its retirement: no function, no child,
 * nothing ever counted in it. Shared by all threads, written by none. */
extern struct zinst_node zinst_no_context;

/* How an activation is timed, decided at its enter (frame.kind). */
enum zinst_frame_kind {
  ZINST_FRAME_UNTIMED = 0, /* no timestamp at all (start_ticks 0) */
  ZINST_FRAME_EXACT = 1,   /* one of the context's first exact_limit calls */
  ZINST_FRAME_SAMPLED = 2, /* picked by the context's sampling schedule */
};

/* The low bits of a frame address that only zones' frames have set: a
 * zone's frame is 1 to 7 below the frame it is in (zones.c). */
#define ZINST_ZONE_ADDRESS_BITS ((uintptr_t)7)

/* The sentinel frame's address: above every stack, and 8-aligned like every
 * function's frame address, so that only zones have the low bits set. */
#define ZINST_ROOT_FRAME_ADDRESS (UINTPTR_MAX & ~ZINST_ZONE_ADDRESS_BITS)

struct zinst_frame {
  /* The activation's canonical frame address, as the pass passes it to the
   * hooks (zinst_abi.h): equal for functions called from the same place,
   * strictly lower for deeper calls. Always 8-aligned for a function (a
   * return address slot; AArch64's entry stack pointer is 16-aligned); a
   * zone's is 1 to 7 below the frame it was opened in (zones.c). */
  uintptr_t frame_address;
  uint64_t start_ticks; /* 0 when untimed */
  uint32_t node;
  uint32_t function;
  uint32_t kind; /* enum zinst_frame_kind */
  uint32_t unused;
};

struct zinst_hash_slot {
  uint64_t key; /* (parent << 32) | function; 0 = empty (function ids are >= 1) */
  uint32_t node;
  uint32_t unused;
};

/* 2^11 entries of 8 bytes: 16 KiB per thread. Lua's interpreter, with about
 * 2000 calling contexts, finds nearly all its enters there. */
#define ZINST_EDGE_CACHE_BITS 11

struct zinst_thread_state {
  /* Hot: read or written by every event. */
  struct zinst_frame *frames;
  struct zinst_node *nodes;
  uint32_t depth;          /* frames in use, the sentinel included (>= 1) */
  uint32_t frame_limit;    /* max_depth + 1 */
  uint32_t unpushed_depth; /* open calls past max_depth (no frame pushed) */
  uint32_t busy;           /* inside a hook: a nested event is dropped */
  uint32_t count_only;     /* ZINST_MODE_COUNT: no timestamps */
  uint32_t node_count;     /* nodes in use; stored with release for dumps */
  /* Sampling (zinst_schedule_timing): a context's first exact_limit calls
   * are timed (0 in count mode); after them, the context's next timed call
   * is a random interval ahead, uniform on [1, sample_span] from the
   * xorshift state `rng` (sample_span = 2R - 1, mean interval R). */
  uint32_t exact_limit;
  uint32_t sample_span;
  /* A context's samples before its interval doubles at the latest (a power
   * of two; 0: never, the interval stays R), and how often it may double
   * (so that the widest interval still fits 31 bits). Its samples are
   * checked (zinst_check_samples) each time their count is a multiple of
   * sample_check_mask + 1 (all ones: never). */
  uint32_t sample_limit;
  uint32_t max_sample_shift;
  uint64_t sample_check_mask;
  /* (ZINST_SAMPLE_ERROR / 100 / 1.96)^2: a context whose mean's 95%
   * interval is within ZINST_SAMPLE_ERROR percent has
   * variance x n <= this x sum^2; 0 = never (only the limit counts). */
  double sample_precision;
  uint64_t rng; /* never 0 */
  /* A context's exact stratum lasts past exact_limit calls while its
   * activations average at least this many ticks (at most 2^32: the test
   * multiplies it by a call count). */
  uint64_t long_ticks;
  /* A sampled activation longer than long_ticks and than outlier_factor
   * times its context's mean is an outlier (zinst_sample_part); 0: none. */
  uint32_t outlier_factor;

  /* Slow path: creating nodes. */
  struct zinst_hash_slot *hash;
  uint32_t hash_mask;
  uint32_t hash_bits;
  uint32_t hash_used;
  uint32_t sink_node; /* == max_nodes + 1: where calls go once nodes run out */
  uint32_t hash_max_slots;

  /* Counters (64-bit, written only by the owner). */
  uint64_t depth_overflow_calls;
  uint64_t lost_calls;
  uint64_t reentrant_events; /* events dropped by the recursion guard */
  uint64_t unmatched_exits;  /* exits that matched no open frame */

  /* Cold: identity, the live-thread list, the zinst_reset() baseline. */
  uint64_t tid;
  int is_main;
  struct zinst_thread_state *prev_live, *next_live;
  struct zinst_tree baseline; /* empty unless zinst_reset() ran */
  uint64_t baseline_overflow_calls;
  uint64_t baseline_lost_calls;
  uint64_t mapping_size;
  /* The thread's site counters (site_counters.h), also reachable from
   * __zinst_site_counters; and their zinst_reset() baseline. */
  uint64_t *site_array;
  struct zinst_site_counts baseline_sites;
  /* Memory tracing (memory.h): the thread's counters, one per node, and
   * its slot; NULL and 0 until its first traced allocation (slot
   * UINT32_MAX: none could be given). */
  struct zinst_mem_counters *mem;
  uint32_t mem_slot;

  /* The edge cache: (parent, function) -> child, direct-mapped by
   * zinst_edge_slot, each entry a zinst_edge_word. A node's recent
   * children hold one child per slot, and two functions called in turn
   * from one context whose ids share a slot miss it on every call; this
   * finds them without leaving the fast path. An entry is only a hint: the enter
   * checks that the child it names has the parent it looked for (a node's
   * parent and function never change), so a stale or overwritten entry
   * costs a miss, never a wrong count. Filled by
   * zinst_thread_find_or_add_child. */
  uint64_t edge_cache[1u << ZINST_EDGE_CACHE_BITS];
};

/* The edge cache's slot for the child of `parent` running `function`. */
static inline __attribute__((always_inline)) uint32_t zinst_edge_slot(uint32_t parent,
                                                                      uint32_t function) {
  uint64_t key = ((uint64_t)parent << 32) | function;
  return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - ZINST_EDGE_CACHE_BITS));
}

/* The edge cache word of the child `child` running `function`; the two
 * halves are read back by the functions below. */
static inline __attribute__((always_inline)) uint64_t zinst_edge_word(uint32_t function,
                                                                      uint32_t child) {
  return ((uint64_t)child << 32) | function;
}
static inline __attribute__((always_inline)) uint32_t zinst_edge_word_function(uint64_t word) {
  return (uint32_t)word;
}
static inline __attribute__((always_inline)) uint32_t zinst_edge_word_child(uint64_t word) {
  return (uint32_t)(word >> 32);
}

/* The child of `parent` running `function` if the edge cache knows it, else
 * 0 (the root is nobody's child). One 8-byte load of the entry, checked
 * against the child's parent, which never changes: a stale entry, or one a
 * signal handler rewrote in between, costs a miss, never a wrong child. */
static inline __attribute__((always_inline)) uint32_t
zinst_edge_cache_find(const struct zinst_thread_state *ts, uint32_t parent, uint32_t function) {
  uint64_t word =
      __atomic_load_n(&ts->edge_cache[zinst_edge_slot(parent, function)], __ATOMIC_RELAXED);
  uint32_t child = zinst_edge_word_child(word);
  if (zinst_edge_word_function(word) != function || ts->nodes[child].parent != parent)
    return 0;
  return child;
}

/* zinst_node.sampled_calls: the weighted count below bit 48; above it, the
 * log2 of the context's own sample limit (0 until its first thinning
 * chose it), and above bit 56 how many times its interval doubled. */
#define ZINST_SAMPLE_LIMIT_AT 48
#define ZINST_SAMPLE_SHIFT_AT 56
static inline uint64_t zinst_samples_of(uint64_t sampled_calls) {
  return sampled_calls & ((UINT64_C(1) << ZINST_SAMPLE_LIMIT_AT) - 1);
}
static inline uint32_t zinst_sample_shift_of(uint64_t sampled_calls) {
  return (uint32_t)(sampled_calls >> ZINST_SAMPLE_SHIFT_AT);
}
static inline uint32_t zinst_sample_limit_log2_of(uint64_t sampled_calls) {
  return (uint32_t)(sampled_calls >> ZINST_SAMPLE_LIMIT_AT) & 0xff;
}
/* The samples' worth the thinnings of a context took out of its weighted
 * count: each took half its own limit. With the count, the activations
 * that were sampled. */
static inline uint64_t zinst_samples_thinned_of(uint64_t sampled_calls) {
  uint32_t log2 = zinst_sample_limit_log2_of(sampled_calls);
  return log2 == 0 ? 0 : (uint64_t)zinst_sample_shift_of(sampled_calls) << (log2 - 1);
}

/* The next sampling interval of a context whose interval doubled `shift`
 * times: uniform on [1, (sample_span + 1) << shift - 1], mean R << shift.
 * xorshift64 and a multiply-shift (no division). Uniform over every
 * length, not a multiple of 2^shift, so that no call pattern of a short
 * period can alias with it. Only the owning thread calls this. */
static inline __attribute__((always_inline)) uint32_t
zinst_next_interval(struct zinst_thread_state *ts, uint32_t shift) {
  uint64_t x = ts->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  ts->rng = x;
  uint64_t span = (((uint64_t)ts->sample_span + 1) << shift) - 1;
  return 1 + (uint32_t)(((x >> 32) * span) >> 32);
}

/* zinst_node.untimed_left of a context that is never timed: 2^63 calls
 * would take centuries. */
#define ZINST_NEVER_TIMED INT64_MAX

/* Makes `node`'s next timed call the `interval`-th from now (1 or more). */
static inline __attribute__((always_inline)) void zinst_schedule_in(struct zinst_node *node,
                                                                    uint64_t interval) {
  __atomic_store_n(&node->untimed_left, (int64_t)(interval - 1), __ATOMIC_RELAXED);
}

/* Counts one call of `node` toward its next timed call; returns whether
 * this call is the timed one. The hooks' copy of the inline code's test
 * (zinst_abi.h). Only the owning thread calls this. */
static inline __attribute__((always_inline)) int zinst_count_down_timing(struct zinst_node *node) {
  int64_t left = node->untimed_left - 1;
  __atomic_store_n(&node->untimed_left, left, __ATOMIC_RELAXED);
  return ZINST_UNLIKELY(left < 0);
}

/* How the activation that brought `node` to `calls` calls is timed, once
 * it was due (every call before it is untimed: the hooks and the inline
 * code count it down, and call nothing), and when the
 * context's next timed call is. In the exact stratum, every call is timed
 * and the next one is too. After it, the next timed call is a random
 * interval ahead (mean R, zinst_next_interval): each context draws its
 * own, so that a sample of a context's calls never depends on how often
 * other contexts run, and a call costs only the count down until then.
 * Only the owning thread calls this. */
static inline __attribute__((always_inline)) uint32_t
zinst_schedule_timing(struct zinst_thread_state *ts, struct zinst_node *node, uint64_t calls) {
  if (ZINST_UNLIKELY(calls <= node->exact_until)) {
    zinst_schedule_in(node, 1);
    return ZINST_FRAME_EXACT;
  }
  if (ZINST_UNLIKELY(ts->count_only)) {
    __atomic_store_n(&node->untimed_left, ZINST_NEVER_TIMED, __ATOMIC_RELAXED);
    return ZINST_FRAME_UNTIMED;
  }
  zinst_schedule_in(node, zinst_next_interval(ts, zinst_sample_shift_of(node->sampled_calls)));
  return ZINST_FRAME_SAMPLED;
}

/* Ends `node`'s exact stratum after its first `calls` calls: the next timed
 * call is then drawn as after any sampled one, rather than the next call
 * (the stratum had scheduled it), so that the sample never includes a
 * call for its position. Only the owning thread calls this. */
static inline __attribute__((always_inline)) void
zinst_end_exact_stratum_at(struct zinst_thread_state *ts, struct zinst_node *node, uint64_t calls) {
  __atomic_store_n(&node->exact_until, calls, __ATOMIC_RELAXED);
  zinst_schedule_in(node, zinst_next_interval(ts, 0));
}

/* A context's samples are enough (zinst_check_samples): its mean interval
 * doubles from now on, and its sums are halved. A sample taken before then
 * stood for half as many calls as one taken after, so it now counts half:
 * each sample's weight stays in proportion to the calls it stands for (the
 * writer's mean is the weighted one, and its variance, from the weighted
 * count, is no smaller than the true one). The context's limit, 2^log2,
 * is its own from its first thinning on: it then keeps between half that
 * and that many samples' worth, and the timed share of its calls falls as
 * it runs: the clock reads of a hot context stop growing with the run's
 * length. Only the owning thread calls this; a dump on another thread may
 * read the sums mid-halving (one context off by up to 2x, in that dump
 * only). */
static void zinst_thin_samples(struct zinst_thread_state *ts, struct zinst_node *node,
                               uint32_t log2) {
  uint32_t shift = zinst_sample_shift_of(node->sampled_calls);
  if (shift >= ts->max_sample_shift)
    return; /* widest interval: the count grows on */
  double square = node->sampled_sq / 2;
  __atomic_store_n(&node->sampled_ticks, node->sampled_ticks / 2, __ATOMIC_RELAXED);
  __atomic_store(&node->sampled_sq, &square, __ATOMIC_RELAXED);
  __atomic_store_n(&node->sampled_calls,
                   ((uint64_t)(shift + 1) << ZINST_SAMPLE_SHIFT_AT) |
                       ((uint64_t)log2 << ZINST_SAMPLE_LIMIT_AT) | (UINT64_C(1) << (log2 - 1)),
                   __ATOMIC_RELAXED);
  /* The next sample is drawn at the new rate (this exit's call is the
   * context's latest: a context is never active twice in a thread). */
  zinst_schedule_in(node, zinst_next_interval(ts, shift + 1));
}

/* A context's sample count reached a multiple of sample_check_mask + 1:
 * whether its interval doubles now. Before its first thinning, at each
 * power of two of its samples: when its mean's 95% interval is within
 * ZINST_SAMPLE_ERROR percent (a context whose activations are alike needs
 * a few hundred samples; one whose lengths spread as widely as their mean,
 * about 1500 at 5%), or at sample_limit. After it, at its own limit. The
 * precision is judged on the samples so far, and the writer states the
 * error of all of them. Only the owning thread calls this. */
static __attribute__((noinline, cold)) void zinst_check_samples(struct zinst_thread_state *ts,
                                                                struct zinst_node *node) {
  uint64_t word = node->sampled_calls;
  uint64_t samples = zinst_samples_of(word);
  uint32_t own = zinst_sample_limit_log2_of(word);
  if (own != 0) {
    if (samples == UINT64_C(1) << own)
      zinst_thin_samples(ts, node, own);
    return;
  }
  if (samples < 2 || (samples & (samples - 1)) != 0)
    return;
  if (samples < ts->sample_limit) {
    double n = (double)samples, sum = (double)node->sampled_ticks;
    double variance = (node->sampled_sq - sum * sum / n) / (n - 1);
    if (ts->sample_precision == 0 || !(variance * n <= ts->sample_precision * sum * sum))
      return;
  }
  zinst_thin_samples(ts, node, (uint32_t)__builtin_ctzll(samples));
}

/*
 * The part of a sampled activation of `duration` ticks that counts as a
 * sample, scaled to the calls the sample stands for; the rest is measured
 * once (added to exact_ticks, which the writer never scales).
 *
 * A sampled activation stands for the hundreds or thousands of calls of
 * its context that were not timed. One that the host's scheduler stopped
 * for a few milliseconds, or that ran a rare garbage-collector step in a
 * callee, then adds seconds to a function of nanoseconds: on Lua beside
 * busy processes, 6 runs in 8 put some function's self time above the
 * run's; the writer now fits estimates to their callers' measured totals
 * (profile_writer.c), and a short function's share still moved by 20
 * points from run to run (bench/outliers.py). So a sample
 * longer than both long_ticks (a clock-read pair costs such an activation
 * under 1%; interrupts and page faults, which recur in proportion to the
 * time run, are shorter) and outlier_factor times its context's mean so
 * far counts as a sample of that length, and its excess counts once, as
 * measured. Time is not lost: the excess of an outlier that was not
 * sampled stays in the totals that hold it measured (a caller timed
 * exactly, or a callee's own context, which the writer raises its
 * callers' estimates to). What this understates is a function's own rare
 * long work (a buffer that grows by copying, inline), counted once per
 * sample rather than for every call the sample stands for; the sum of
 * squares keeps the whole duration, so the stated error is at least as
 * wide as the unclipped sample's. The mean is that of the context's
 * samples once it has ZINST_OUTLIER_MEAN_SAMPLES, else its exact
 * stratum's; with neither nothing is clipped. Only a sample longer than
 * long_ticks pays for the mean (zinst_clip_outlier, out of line): timed
 * exits of short functions pay one compare.
 */
static __attribute__((noinline, cold)) uint64_t zinst_clip_outlier(
    const struct zinst_thread_state *ts, const struct zinst_node *node, uint64_t duration) {
  uint64_t samples = zinst_samples_of(node->sampled_calls), sum, count;
  if (samples >= ZINST_OUTLIER_MEAN_SAMPLES) {
    sum = node->sampled_ticks;
    count = samples;
  } else if (node->exact_until != 0 && node->exact_until != UINT64_MAX) {
    sum = node->exact_ticks;
    count = node->exact_until;
  } else {
    return duration;
  }
  double limit = (double)ts->outlier_factor * (double)sum / (double)count;
  if (limit < (double)ts->long_ticks)
    limit = (double)ts->long_ticks;
  return (double)duration > limit ? (uint64_t)limit : duration;
}

static inline __attribute__((always_inline)) uint64_t zinst_sample_part(
    const struct zinst_thread_state *ts, const struct zinst_node *node, uint64_t duration) {
  if (ZINST_LIKELY(duration <= ts->long_ticks || ts->outlier_factor == 0))
    return duration;
  return zinst_clip_outlier(ts, node, duration);
}

/* Credit a closing frame's activation, timed or not, to its node at `now`.
 * A counter that stepped back (a core with another TSC) adds a duration of
 * 0; a sampled activation still counts as a sample, so that dropping it
 * cannot bias the estimate towards long activations. Only the owning thread
 * calls this.
 *
 * The exact stratum is a prefix of each context's calls: at least the first
 * exact_limit (K), and longer while the activations so far average
 * long_ticks or more. For such activations two clock reads cost little,
 * and sampling a few long, uneven ones (a thread join, I/O, a training
 * step) would estimate them poorly. The prefix ends at the first exact exit
 * (from the K-th call on) that finds the average below long_ticks; calls
 * after it are sampled. Its extra length is bounded by its own time: E
 * calls cost 2 clock reads each only while they took E x long_ticks. */
static inline __attribute__((always_inline)) void
zinst_credit_frame(struct zinst_thread_state *ts, const struct zinst_frame *frame, uint64_t now) {
  uint32_t kind = frame->kind;
  if (kind == ZINST_FRAME_UNTIMED)
    return;
  int64_t elapsed = (int64_t)(now - frame->start_ticks);
  uint64_t duration = elapsed > 0 ? (uint64_t)elapsed : 0;
  struct zinst_node *node = &ts->nodes[frame->node];
  if (kind == ZINST_FRAME_EXACT) {
    uint64_t ticks = node->exact_ticks + duration, calls = node->calls;
    __atomic_store_n(&node->exact_ticks, ticks, __ATOMIC_RELAXED);
    if (node->exact_until == UINT64_MAX && calls >= ts->exact_limit &&
        ticks < calls * ts->long_ticks)
      zinst_end_exact_stratum_at(ts, node, calls);
  } else {
    uint64_t part = zinst_sample_part(ts, node, duration);
    if (ZINST_UNLIKELY(part < duration))
      __atomic_store_n(&node->exact_ticks, node->exact_ticks + (duration - part), __ATOMIC_RELAXED);
    double square = node->sampled_sq + (double)duration * (double)duration;
    uint64_t sampled_calls = node->sampled_calls + 1;
    __atomic_store_n(&node->sampled_ticks, node->sampled_ticks + part, __ATOMIC_RELAXED);
    __atomic_store(&node->sampled_sq, &square, __ATOMIC_RELAXED);
    __atomic_store_n(&node->sampled_calls, sampled_calls, __ATOMIC_RELAXED);
    if (ZINST_UNLIKELY((sampled_calls & ts->sample_check_mask) == 0))
      zinst_check_samples(ts, node);
  }
}

/* Ends `node`'s exact stratum before its latest call, which was to be
 * timed exactly and could not be: past the depth bound, or a zone nested
 * too deep. That call joins the sampled stratum, unsampled, so that the
 * profile never counts an untimed call as timed. Only the owning thread
 * calls this. */
static inline __attribute__((always_inline)) void
zinst_end_exact_stratum(struct zinst_thread_state *ts, struct zinst_node *node) {
  uint64_t calls = node->calls;
  if (calls != 0 && node->exact_until >= calls)
    zinst_end_exact_stratum_at(ts, node, calls - 1);
}

/* Counts a call of `node` as the inline code does (zinst_abi.h): calls + 1
 * and untimed_left - 1, each one instruction to memory on x86-64, so that
 * a signal handler's count cannot be lost between a load and a store, and
 * in asm, so that the compiler cannot merge the two adjacent fields into
 * one vector add (which the program never runs: the next call's load then
 * waits for the vector's store, and the calibration priced an untimed call
 * at 2.31 ns instead of 0.6). Returns whether the call is due. Only the
 * owning thread calls this. */
static inline __attribute__((always_inline)) int zinst_count_inline_call(struct zinst_node *node) {
#if defined(__x86_64__)
  int negative;
  __asm__ volatile("incq %1\n\tdecq %2"
                   : "=@ccs"(negative), "+m"(node->calls), "+m"(node->untimed_left));
  return negative;
#else
  __atomic_store_n(&node->calls, node->calls + 1, __ATOMIC_RELAXED);
  int64_t left = node->untimed_left - 1;
  __atomic_store_n(&node->untimed_left, left, __ATOMIC_RELAXED);
  return left < 0;
#endif
}

/* Whether inline timing's code times the activation of `node` whose call
 * it just counted down, or the runtime did (zinst_abi.h,
 * ZINST_MODULE_INLINE_TIME): it calls __zinst_context_miss_or_due then. The
 * runtime's C copy of what the pass emits, for zones and the calibration
 * (hook_cost.c). */
static inline __attribute__((always_inline)) int
zinst_inline_timing_due(const struct zinst_node *node) {
  return ZINST_UNLIKELY(node->untimed_left < 0);
}

/* The index in `ts`'s node array of `context`, a __zinst_context value
 * (ZINST_MODULE_INLINE_TREE): 0 (the root) for the no-context node, or
 * for anything that is not one of ts's nodes (a thread's first event). */
static inline __attribute__((always_inline)) uint32_t
zinst_context_index(const struct zinst_thread_state *ts, const void *context) {
  uintptr_t offset = (uintptr_t)context - (uintptr_t)ts->nodes;
  uint64_t index = offset / sizeof(struct zinst_node);
  if (offset % sizeof(struct zinst_node) == 0 && (index < ts->node_count || index == ts->sink_node))
    return (uint32_t)index;
  return 0;
}

/* Sets ts's sample_limit to `limit` (ZINST_SAMPLE_LIMIT, a power of two;
 * 0 = none, and none when every activation is timed), the widest interval
 * its sample_span allows, and the checks of zinst_check_samples for
 * ZINST_SAMPLE_ERROR `error_percent` (0: at the limit only). */
void zinst_thread_set_sample_limit(struct zinst_thread_state *ts, uint32_t limit,
                                   uint32_t error_percent);
/* Seed `ts`'s sampling state from its tid and the clock (fork child too). */
void zinst_thread_seed_sampling(struct zinst_thread_state *ts);

/* This thread's block, or NULL before its first event. */
extern ZINST_TLS_INITIAL_EXEC struct zinst_thread_state *zinst_tls_state;

/* Map and initialize the calling thread's block, make it reachable from
 * zinst_tls_state and the live list, and arrange for its retirement at
 * thread exit. Returns NULL (event dropped) when the thread is inside the
 * runtime or mmap fails. Preserves errno. The block is owned by the runtime
 * until the thread exits. */
struct zinst_thread_state *zinst_thread_state_create(void);

/* How many bytes (a multiple of 4096, less than 32 pages) a thread's nodes
 * that would start at `nodes` (4096-aligned) move so that the first node
 * page whose line in `hot_line`'s L1 set has its way-predictor tag comes as
 * late as it can (thread_state.c, where the tag is explained). */
uint64_t zinst_node_shift(uintptr_t nodes, uintptr_t hot_line);

/* A block like a thread's, for `max_depth` frames and `max_nodes` contexts
 * and without site counters, that no list and no TLS pointer knows: the
 * hook calibration (hook_cost.c) runs the real hooks on it and no dump ever
 * sees it. NULL when mmap fails. Owned by the caller, released with
 * zinst_thread_state_free_private(). Preserves errno. */
struct zinst_thread_state *zinst_thread_state_create_private(uint32_t max_depth,
                                                             uint32_t max_nodes);
void zinst_thread_state_free_private(struct zinst_thread_state *ts);

/* The child of `parent` for function `function`, created if missing (then
 * also entered in the hash table, grown if half full). Returns the sink node
 * and counts a lost call when the node array is full. Preserves errno. */
uint32_t zinst_thread_find_or_add_child(struct zinst_thread_state *ts, uint32_t parent,
                                        uint32_t function);

/* Pop the frames an enter at `frame_address` proves abandoned (recorded at
 * or below it: longjmp, or an exception through an uninstrumented landing),
 * crediting them with time up to now. Returns the new depth. */
uint32_t zinst_thread_repair_for_enter(struct zinst_thread_state *ts, uintptr_t frame_address);

/* Exit of `function` at `frame_address` did not match the top frame. Among
 * the frames recorded at or below `frame_address`, the shallowest running
 * `function` is the one returning: the frames above it were abandoned
 * (longjmp, exceptions) and are closed with time up to `now`; its depth is
 * returned for the caller to close it. If there is none, only frames
 * strictly below are closed, the exit is counted as unmatched and 0 is
 * returned. */
uint32_t zinst_thread_repair_for_exit(struct zinst_thread_state *ts, uintptr_t frame_address,
                                      uint32_t function, uint64_t now);

/* ---- Cold paths over all threads; the caller holds the runtime lock. ---- */

/* Append every thread's tree (live threads read as they are, open frames
 * counted up to `now` without touching the live state; exited threads;
 * the merged tree) to `snapshot`, minus zinst_reset() baselines, and set
 * its depth_overflow_calls and lost_calls. Threads with an empty tree are
 * left out. The thread array and trees belong to the snapshot: release with
 * zinst_threads_free_snapshot(). Returns 0 or -1 (ENOMEM). */
int zinst_threads_fill_snapshot(struct zinst_snapshot *snapshot, uint64_t now);
void zinst_threads_free_snapshot(struct zinst_snapshot *snapshot);

/* Take the zinst_reset() baseline of every live thread at `now`, and zero
 * the counts of exited threads and of the merged tree; memory counters of
 * all of them restart as zinst_mem_reset_slot says. */
void zinst_threads_reset(uint64_t now);

/* In a fork child: the other threads' blocks describe threads that do not
 * exist here; drop them from the live list and unmap them. */
void zinst_threads_after_fork_child(void);

/* Copy `ts`'s tree into `out` (a new tree, owned by the caller), with open
 * frames counted up to `now` (unless count-only) and the baseline
 * subtracted. Safe while `ts`'s thread runs. Returns 0 or -1 (ENOMEM). */
int zinst_thread_copy_tree(const struct zinst_thread_state *ts, uint64_t now,
                           struct zinst_tree *out);

/* The frame address of `ts`'s innermost function frame, zones' skipped (the
 * root's when there is none): in a process of inline timing, what the
 * owning thread keeps in __zinst_timed_frame after each change of its
 * frames, so that an inline-timed exit knows whether it was timed
 * (zinst_abi.h). A zone left open above its function's frame keeps that
 * frame's exit calling the runtime, which closes both. */
static inline uintptr_t zinst_innermost_function_frame(const struct zinst_thread_state *ts) {
  uint32_t d = ts->depth - 1;
  while (d > 0 && (ts->frames[d].frame_address & ZINST_ZONE_ADDRESS_BITS) != 0)
    d--;
  return ts->frames[d].frame_address;
}

#endif /* ZINST_THREAD_STATE_H */
