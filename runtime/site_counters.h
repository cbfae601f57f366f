/*
 * site_counters.h - per-thread counters of inline sites and call sites.
 *
 * Each thread owns one array of 64-bit counters, reserved up front
 * (MAP_NORESERVE) and touched as used, reached by the instrumented code
 * through the initial-exec TLS pointer __zinst_site_counters
 * (runtime/zinst_abi.h describes the increment). Slot
 * ZINST_MAX_MODULE_SITES + s counts process-wide site s; the slots below are
 * the sink where modules not registered yet (or refused) count, never
 * reported. Only the owning thread writes its array, with plain increments:
 * no atomics, no locks. A dump reads other threads' arrays while they run
 * (whole 64-bit values on the supported targets).
 *
 * Off the hot path the counts travel as struct zinst_site_counts: a heap
 * array indexed by process-wide site, which adds and subtracts element by
 * element (exited threads, the merged tree of surplus threads, zinst_reset()
 * baselines), like the trees of cct_tree.h.
 */
#ifndef ZINST_SITE_COUNTERS_H
#define ZINST_SITE_COUNTERS_H

#include <stdint.h>

struct zinst_site_counts {
  uint64_t *counts; /* owned; `count` entries, counts[s] for site s */
  uint32_t count;
};

/* Reserve a thread's counter array (sink and ZINST_MAX_SITES slots, all 0).
 * Returns NULL when mmap fails. Release with zinst_site_array_unmap(). */
uint64_t *zinst_site_array_map(void);
void zinst_site_array_unmap(uint64_t *array);

/* Copy the first `sites` counts of a thread's array into `out` (a new heap
 * array owned by the caller), minus `baseline` (may be NULL) floored at 0.
 * Safe while the owning thread runs. Returns 0 or -1 (ENOMEM). */
int zinst_site_counts_copy(const uint64_t *array, uint32_t sites,
                           const struct zinst_site_counts *baseline, struct zinst_site_counts *out);

/* target += source, growing target to source's length. Returns 0 or -1
 * (ENOMEM, target unchanged). */
int zinst_site_counts_add(struct zinst_site_counts *target, const struct zinst_site_counts *source);

/* Every count of `counts` set to 0, its length kept. */
void zinst_site_counts_clear(struct zinst_site_counts *counts);

/* Release the heap array; `counts` is left empty. Safe on an empty one. */
void zinst_site_counts_free(struct zinst_site_counts *counts);

#endif /* ZINST_SITE_COUNTERS_H */
