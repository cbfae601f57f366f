/*
 * profile_model.h - analyses of a parsed profile shared by the commands.
 *
 * A call tree merges the calling-context trees of a chosen set of threads by
 * path: two nodes are the same when the sequences of function indices from
 * the root down to them are equal. The flat profile is computed from such a
 * tree, so "all threads", "one thread" and "--thread TID" share one code path.
 */
#ifndef ZINST_PROFILE_MODEL_H
#define ZINST_PROFILE_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "profile_reader.h"
#include "profile_util.h"

/* nodes[0] of every tree: the root above all threads' top-level calls. */
#define ZINST_TREE_ROOT 0u

/*
 * Heap memory of one context of a tree (the profile's MEMORY section; all 0
 * without one): the blocks allocated while it was the innermost context and
 * their frees, the context's own, not its subtree's. On the root: what was
 * allocated with no instrumented function on the stack.
 */
struct zinst_tree_memory {
  uint64_t allocations;
  uint64_t allocated_bytes;
  uint64_t frees;
  uint64_t freed_bytes;
  /* With threads > 1: the sum of the threads' peaks, an upper bound (each
   * peaked at its own moment). */
  uint64_t peak_live_bytes;
  /* Threads with a record here; a thread record that sums several threads
   * (exited threads past ZINST_MAX_THREADS, zinst merge --merge-threads)
   * counts as all of them, an upper bound: not all need have allocated here. */
  uint64_t threads;
  uint32_t records; /* MEMORY records merged into this node (a [library] node of a grouped
                       tree adds its frames', so a thread may count once per frame there) */
  bool summed;      /* one of them is a record of several threads (threads is an upper bound) */
};

/* Add `from`'s counts to `to`'s. */
void zinst_tree_memory_add(struct zinst_tree_memory *to, const struct zinst_tree_memory *from);

struct zinst_tree_node {
  uint32_t function;     /* index into profile->functions; ZINST_NONE for the root */
  uint32_t parent;       /* ZINST_NONE for the root */
  uint32_t first_child;  /* ZINST_NONE if none; children are in no particular order */
  uint32_t next_sibling; /* ZINST_NONE at the end of the list */
  uint32_t depth;        /* 0 for the root, 1 for top-level calls */
  uint64_t calls;
  uint64_t timed_calls;      /* calls whose duration was measured (sampling) */
  uint64_t inclusive_ticks;  /* estimate (exact when the variance is 0) */
  uint64_t exclusive_ticks;  /* as stored: floored at 0 node by node */
  double inclusive_variance; /* squared standard errors, summed over merged nodes */
  double exclusive_variance;
  /* inclusive - children's inclusive, unfloored, for estimated nodes (else
   * exclusive_ticks): summing these, not the floored values, keeps a
   * function's self time unbiased under sampling. */
  int64_t self_estimate;
  uint64_t subtree_calls; /* calls of this node and all its descendants */
  struct zinst_tree_memory memory;
};

struct zinst_call_tree { /* owns nodes */
  struct zinst_tree_node *nodes;
  uint32_t node_count;   /* >= 1: the root is always there */
  uint32_t capacity;     /* private */
  uint64_t total_ticks;  /* sum of the top-level nodes' inclusive ticks */
  double total_variance; /* their squared standard errors, summed */
  uint64_t total_calls;  /* sum of every node's calls */
};

/* Which times a call tree holds. */
enum zinst_times {
  /* The hooks' own cost subtracted (zinst_hook_correction), when the
   * profile has a calibration; else as measured. */
  ZINST_TIMES_CORRECTED = 0,
  ZINST_TIMES_RAW = 1, /* as measured, hook cost included (--raw) */
};

/*
 * Merge the threads `threads[0..thread_count)` (indices into
 * profile->threads) of `profile` into `out`; threads == NULL means all of
 * them. The threads' MEMORY records are merged too, by the same paths. With
 * ZINST_TIMES_CORRECTED the hooks' cost is subtracted from every node
 * (below). `out` is owned by the caller afterwards and released with
 * zinst_call_tree_free; it does not point into `profile`. Returns 0, or -1
 * when memory runs out (out is then empty and needs no free).
 *
 * The correction. The runtime calibrates what its hooks cost (PROCESS
 * hook_*_ps): an untimed call's enter and exit hooks (U), a timed call's
 * (T), and the part of T inside the callee's own interval (I). A node's
 * measured inclusive time holds I once per call (estimates extrapolate it
 * to the untimed calls too) and the whole hooks of every call below it:
 *   hook(n) = calls(n) * I + sum over descendants d of
 *             timed_calls(d) * T + (calls(d) - timed_calls(d)) * U,
 * in picoseconds, converted to ticks rounded down. A node's own share,
 * hook(n) - sum over children c of hook(c), comes off its exclusive ticks,
 * but never more than its own measured self time (abandoned frames had no
 * exit hook; the processor can hide hooks), so that a caller never ends up
 * shorter than its callees; its inclusive ticks lose its share and its
 * descendants'. Floored at 0. Merged nodes are corrected after merging
 * (the sums are linear in the counts). Count-mode and uncalibrated
 * profiles are left as they are. Not corrected: the site counters'
 * increments and the registers an instrumented function saves around its
 * hook calls.
 */
int zinst_call_tree_build(const struct zinst_profile *profile, const uint32_t *threads,
                          uint32_t thread_count, enum zinst_times times,
                          struct zinst_call_tree *out);

/* Whether `times` subtracts anything from `profile`: time mode, a
 * calibration in the file, and not ZINST_TIMES_RAW. */
bool zinst_hook_correction(const struct zinst_profile *profile, enum zinst_times times);

/* How the profiled program's modules were instrumented: "hooks", "inline
 * tree" (-zinst-inline-tree), "inline timing" (-zinst-inline-time), or
 * "mixed" (a merge of programs built differently). Files before minor 6
 * read as "hooks". */
const char *zinst_profile_instrumentation(const struct zinst_profile *profile);

/* Whether the profile holds a hook calibration (PROCESS minor 3, time mode). */
bool zinst_profile_has_hook_costs(const struct zinst_profile *profile);

/* Release what `tree` owns and zero it. Safe on a zeroed tree. */
void zinst_call_tree_free(struct zinst_call_tree *tree);

/* ---- library code (FUNCTIONS flag ZINST_FUNCTION_LIBRARY) ---- */

/* Is `function` an index of a function flagged as library code? */
bool zinst_is_library_function(const struct zinst_profile *profile, uint32_t function);

/*
 * `tree` with library code grouped: every maximal run of library frames on
 * a path (a library function and the library functions it calls) becomes
 * one node of the pseudo-function profile->function_count, "[library]",
 * under the nearest caller that is not library code (the root for code
 * that runs before any user function, e.g. Zig's start code). Its calls
 * are the calls into the run, its inclusive time the run's, its self time
 * the sum of the run's frames' self times; user functions that library code
 * calls back stay as its children. Runs under the same caller merge into
 * one node. Returns 0 or -1 when out of memory; `out` is owned by the
 * caller (zinst_call_tree_free) and does not point into `tree`. When
 * `node_map` is not NULL (tree->node_count entries, the caller's), it
 * receives for every node of `tree` the node of `out` that holds it.
 */
int zinst_call_tree_group_library(const struct zinst_profile *profile,
                                  const struct zinst_call_tree *tree, struct zinst_call_tree *out,
                                  uint32_t *node_map);

struct zinst_flat_entry {
  uint32_t function;    /* index into profile->functions */
  uint64_t calls;       /* sum of calls over the function's nodes */
  uint64_t timed_calls; /* sum of timed calls over the same nodes */
  uint64_t self_ticks;  /* sum of exclusive ticks (estimated nodes: unfloored, then floored) */
  uint64_t total_ticks; /* inclusive ticks of the nodes with no ancestor of the same function */
  /* calls of those same nodes that were not timed: total_ticks is exact when
   * this is 0 (a node's inclusive time is measured by its own activations) */
  uint64_t total_untimed_calls;
  double self_variance; /* squared standard errors, summed over the nodes counted */
  double total_variance;
};

struct zinst_flat_profile {         /* owns entries */
  struct zinst_flat_entry *entries; /* one per function, entries[i].function == i */
  uint32_t count;
  uint64_t total_ticks; /* the tree's total_ticks: 100% */
  double total_variance;
};

/*
 * Flat profile of `tree` for a profile with `function_count` functions.
 * Recursion is counted once: a node's inclusive ticks go into its
 * function's total only when no ancestor calls the same function. Returns 0
 * or -1 when out of memory; `out` is released with zinst_flat_profile_free.
 */
int zinst_flat_profile_build(const struct zinst_call_tree *tree, uint32_t function_count,
                             struct zinst_flat_profile *out);

void zinst_flat_profile_free(struct zinst_flat_profile *flat);

/*
 * Nanoseconds for `ticks` at `ticks_per_second`, rounded down; false when the
 * frequency is unknown (0). Exact for every 64-bit input (no intermediate
 * overflow); saturates at UINT64_MAX.
 */
bool zinst_ticks_to_ns(uint64_t ticks, uint64_t ticks_per_second, uint64_t *ns);

/* One standard error from a variance (squared ticks), rounded to ticks. */
uint64_t zinst_error_ticks(double variance);

/* ---- inline and call sites (format version 2) ---- */

/*
 * Executions per site summed over the selected threads: a new array of
 * profile->site_count entries owned by the caller (free()), counts[s] for
 * SITES record s. NULL only when out of memory (a profile without sites
 * gives a valid one-entry array).
 */
uint64_t *zinst_site_counts_sum(const struct zinst_profile *profile, const uint32_t *threads,
                                uint32_t thread_count);

/*
 * Per FUNCTIONS record, the executions of its body inlined into other
 * functions: the counts of the INLINED sites whose callee linkage name is
 * the function's, over the selected threads. A new array of
 * profile->function_count entries owned by the caller, or NULL when out of
 * memory. Together with the function's calls (its real calls), these are
 * all its executions.
 */
uint64_t *zinst_inlined_executions(const struct zinst_profile *profile,
                                   const uint64_t *site_counts);

/*
 * Per SITES record, the FUNCTIONS index of its caller (by linkage name, the
 * site's module preferred), or ZINST_NONE when the caller has no record:
 * it was itself inlined everywhere, so the site's code ran inside other
 * functions. A new array of profile->site_count entries owned by the caller
 * (free()), NULL when out of memory.
 */
uint32_t *zinst_site_callers(const struct zinst_profile *profile);

/* ---- count-only functions (SITES flag ZINST_SITE_ENTRY, minor 5) ---- */

/*
 * A function built with ZINST_COUNT_ONLY: no hooks, so no FUNCTIONS record
 * and no calling context; an ENTRY site counts its calls from anywhere.
 * Its time is part of its callers' self time.
 */
struct zinst_count_only_function {
  uint32_t site;    /* its ENTRY record: names, file, line, module */
  uint64_t calls;   /* its count over the selected threads */
  uint64_t inlined; /* executions of its body inlined elsewhere (INLINED sites) */
  bool library;     /* the function is library code (CALLEE_LIBRARY) */
};

/*
 * The count-only functions of `profile`, one per ENTRY record (a function
 * definition, like a FUNCTIONS record), in record order; `site_counts` from
 * zinst_site_counts_sum. An inlined site is credited to the count-only
 * function of its callee's linkage name, the one of the site's module
 * preferred. *list is a new array owned by the caller (free()), *count its
 * entries. Returns -1 when out of memory.
 */
int zinst_count_only_functions(const struct zinst_profile *profile, const uint64_t *site_counts,
                               struct zinst_count_only_function **list, uint32_t *count);

/* How many count-only functions ran in the threads `threads[0..thread_count)`,
 * and their calls. Returns -1 when out of memory. */
int zinst_count_only_totals(const struct zinst_profile *profile, const uint32_t *threads,
                            uint32_t thread_count, uint32_t *functions, uint64_t *calls);

/* Is `linkage` the linkage name of a count-only function (an ENTRY record)? */
bool zinst_is_count_only(const struct zinst_profile *profile, const char *linkage);

/* ---- inlined code placed on the nodes of a call tree ---- */

/* A source site's inlined executions in one node of a call tree. */
struct zinst_inlined_line {
  uint32_t node;       /* node of the tree shown */
  uint32_t site;       /* a SITES record of the source site (the first of its copies) */
  uint64_t executions; /* summed over the site's copies and the threads selected */
  bool estimated;      /* a share of a count spread over several contexts by calls */
};

struct zinst_inlined_lines {        /* owns lines and start */
  struct zinst_inlined_line *lines; /* per node, most executions first */
  uint32_t count;
  uint32_t capacity;              /* private */
  uint32_t *start;                /* lines of node n: [start[n], start[n + 1]) */
  uint64_t unplaced_executions;   /* sites whose caller was itself inlined everywhere */
  uint64_t count_only_executions; /* sites in count-only functions (no context) */
  uint64_t library_executions;    /* sites inside grouped library code */
};

/*
 * The inlined executions of the threads `threads[0..thread_count)` placed
 * on the nodes of the tree shown. `tree` is built from those threads
 * (zinst_call_tree_build); `node_map` maps its nodes to the tree shown
 * (NULL: `tree` itself is shown; else the map of
 * zinst_call_tree_group_library, and sites inside library code are only
 * counted in library_executions). `shown_count` is the node count of the
 * tree shown. One line per (node, source site): copies of a site add up.
 *
 * Site counts are per thread and site, not per calling context. A caller
 * with a single context in `tree` gets its sites' executions exactly; one
 * with several shares them out in proportion to each context's calls, the
 * shares marked estimated (they add up to the count exactly). Sites whose
 * caller has no context are counted in count_only_executions when the
 * caller is a count-only function, else (inlined everywhere itself) in
 * unplaced_executions. Fills `out`, owned by the caller afterwards
 * (zinst_inlined_lines_free); returns -1 when out of memory (out is then
 * empty).
 */
int zinst_inlined_lines_build(const struct zinst_profile *profile, const uint32_t *threads,
                              uint32_t thread_count, const struct zinst_call_tree *tree,
                              const uint32_t *node_map, uint32_t shown_count,
                              struct zinst_inlined_lines *out);

/* Release what `inlined` owns and zero it. Safe on a zeroed value. */
void zinst_inlined_lines_free(struct zinst_inlined_lines *inlined);

/*
 * For one frame per inlined callee in a node (flame graphs, exports): the
 * executions of the callee of line `k` of node `node` summed over that
 * node's lines of the same callee (by linkage name), when `k` is the first
 * of them; 0 for the others. *estimated (may be NULL) tells whether any
 * of them is a share.
 */
uint64_t zinst_inlined_callee_executions(const struct zinst_profile *profile,
                                         const struct zinst_inlined_lines *inlined, uint32_t node,
                                         uint32_t k, bool *estimated);

/* Do inlined lines `a` and `b` inline the same function (linkage name)? */
bool zinst_inlined_same_callee(const struct zinst_profile *profile,
                               const struct zinst_inlined_line *a,
                               const struct zinst_inlined_line *b);

/* ---- what tree, flame and export show ---- */

struct zinst_shown_tree {             /* owns both */
  struct zinst_call_tree tree;        /* the threads' tree, library code grouped or not */
  struct zinst_inlined_lines inlined; /* placed on tree's nodes */
};

/*
 * The call tree of the threads `threads[0..thread_count)` as the commands
 * show it: its times as `times` says (zinst_call_tree_build: the hooks'
 * cost subtracted or not), library code grouped
 * (zinst_call_tree_group_library) when `group_library`, and the inlined
 * executions placed on its nodes (zinst_inlined_lines_build). Fills `out`,
 * owned by the caller afterwards (zinst_shown_tree_free); returns -1 when
 * out of memory (out is then empty).
 */
int zinst_shown_tree_build(const struct zinst_profile *profile, const uint32_t *threads,
                           uint32_t thread_count, bool group_library, enum zinst_times times,
                           struct zinst_shown_tree *out);

/* Release what `shown` owns and zero it. Safe on a zeroed value. */
void zinst_shown_tree_free(struct zinst_shown_tree *shown);

#endif /* ZINST_PROFILE_MODEL_H */
