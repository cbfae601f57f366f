/*
 * profile_writer.h - serializing a profile snapshot into the file format.
 *
 * A snapshot is everything one profile file says, in plain C form; the
 * serializer turns it into the bytes of format/zinst_format.h and hands them
 * to a write callback, so the same code writes files and (in unit tests)
 * memory buffers.
 */
#ifndef ZINST_PROFILE_WRITER_H
#define ZINST_PROFILE_WRITER_H

#include "cct_tree.h"
#include "site_counters.h"

#include <stddef.h>
#include <stdint.h>

struct zinst_snapshot_function {
  const char *name;         /* display name; NULL is written as "" */
  const char *linkage_name; /* NULL is written as "" */
  const char *file;         /* NULL is written as "" */
  uint32_t line;
  uint32_t module; /* index into zinst_snapshot.modules */
  uint32_t flags;  /* ZINST_FUNCTION_* */
};

struct zinst_snapshot_module {
  const char *name; /* source file of the module */
  uint32_t first_function;
  uint32_t function_count;
  uint32_t flags; /* ZINST_MODULE_* */
};

/* An inline or call site (zinst_format.h, struct zinst_site_record). */
struct zinst_snapshot_site {
  const char *caller; /* NULL is written as "" (same for the next five) */
  const char *caller_linkage;
  const char *callee;
  const char *callee_linkage;
  const char *file;
  const char *reason;
  uint32_t line;
  uint32_t column;
  uint32_t module; /* index into zinst_snapshot.modules */
  uint32_t flags;  /* ZINST_SITE_* */
  int32_t cost;
  int32_t threshold;
  uint32_t callee_instructions;
  /* With ZINST_SITE_TREE: indices into zinst_snapshot.functions of the
   * caller and the callee, whose contexts' calls are the site's count
   * (zinst_count_tree_sites). */
  uint32_t tree_caller, tree_callee;
  /* 0: the thread's counts of this site are its own (sites.counts[s]).
   * Else 1 + the index of the site whose counts are this one's too
   * (zinst_site_info.shared_counter), itself counted on its own. */
  uint32_t shared_counter;
};

struct zinst_snapshot_thread {
  uint64_t tid;
  char name[32];
  uint32_t flags;        /* ZINST_THREAD_* */
  uint32_t thread_count; /* threads summed into `tree` */
  /* Root at node 0 (not written); node function ids are 1-based indices
   * into zinst_snapshot.functions (id k is functions[k - 1]). */
  struct zinst_tree tree;
  /* Its site counts (sites.counts[s] for snapshot site s; fewer entries
   * than zinst_snapshot.site_count means 0 for the rest). Owned. */
  struct zinst_site_counts sites;
};

/* Heap memory of one context (zinst_format.h, struct zinst_memory_record). */
struct zinst_snapshot_memory {
  uint32_t thread; /* index into zinst_snapshot.threads */
  uint32_t node;   /* index into that thread's tree; 0: the root */
  uint64_t allocations;
  uint64_t allocated_bytes;
  uint64_t frees;
  uint64_t freed_bytes;
  uint64_t peak_live_bytes;
};

struct zinst_snapshot {
  uint64_t pid;
  uint64_t start_unix_ns;
  uint64_t dump_unix_ns;
  uint64_t ticks_per_second;
  uint64_t elapsed_ticks;
  uint64_t elapsed_ns;
  uint64_t depth_overflow_calls;
  uint64_t lost_calls;
  const char *exe_path; /* NULL is written as "" (same for the next three) */
  const char *command_line;
  const char *hostname;
  const char *runtime_version;
  uint32_t mode;        /* ZINST_MODE_* */
  uint32_t clock_flags; /* ZINST_CLOCK_* */
  uint32_t max_depth;
  uint32_t dump_reason;             /* ZINST_DUMP_* */
  uint32_t sample_interval;         /* R (1 = exact); 0 in count mode */
  uint32_t exact_calls_per_context; /* K; 0 in count mode */
  uint32_t sample_limit;            /* ZINST_SAMPLE_LIMIT; 0 = none, or count mode */
  uint32_t sample_error;            /* ZINST_SAMPLE_ERROR; 0 = none, or no thinning */
  uint32_t sample_outlier;          /* ZINST_SAMPLE_OUTLIER; 0 = none, or not sampled */
  uint32_t call_cost_ps;            /* one non-inlined call; 0 = not measured */
  /* The hooks' own costs (hook_cost.h); all 0 = not calibrated. */
  uint32_t hook_untimed_pair_ps;
  uint32_t hook_timed_pair_ps;
  uint32_t hook_timed_inner_ps;
  uint32_t hook_spread_ps;
  const struct zinst_snapshot_function *functions;
  uint32_t function_count;
  /* The nodes' function ids: id k is functions[function_of_id[k]] (entries
   * of unused ids are UINT32_MAX), for the function_id_count ids below
   * function_id_count; with function_of_id NULL, id k is functions[k - 1]. */
  const uint32_t *function_of_id;
  uint32_t function_id_count;
  const struct zinst_snapshot_module *modules;
  uint32_t module_count;
  const struct zinst_snapshot_thread *threads;
  uint32_t thread_count;
  const struct zinst_snapshot_site *sites;
  uint32_t site_count;
  /* Memory tracing was on: a MEMORY section is written, with these records
   * sorted by (thread, node), each thread's root (node 0) last. */
  int memory_traced;
  const struct zinst_snapshot_memory *memory;
  uint32_t memory_count;
};

/* Serialize `snapshot` into a new heap buffer: *image (owned by the caller,
 * release with free()) of *size bytes, checksum included. The snapshot is
 * only read. Returns 0, or -1 with errno set (ENOMEM; EINVAL with a message
 * in `err` when the snapshot is inconsistent, e.g. a node naming a function
 * id beyond the function table). */
int zinst_build_profile_image(const struct zinst_snapshot *snapshot, void **image, size_t *size,
                              char *err, size_t errlen);

/* Serialize `snapshot` and pass the bytes to `write` (one or more calls, in
 * order). `write` returns 0 on success, nonzero to stop. Returns 0, or -1
 * when serialization or a write call failed. */
int zinst_write_profile(const struct zinst_snapshot *snapshot,
                        int (*write)(void *ctx, const void *buf, size_t n), void *ctx);

#endif /* ZINST_PROFILE_WRITER_H */
