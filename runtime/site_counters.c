/*
 * site_counters.c - per-thread site counter arrays and their heap copies.
 */
#include "site_counters.h"

#include "runtime_internal.h"
#include "zinst_abi.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "heap.h" /* after the system headers: its macros route malloc & co */

static uint64_t array_bytes(void) {
  return ((uint64_t)ZINST_MAX_MODULE_SITES + ZINST_MAX_SITES) * sizeof(uint64_t);
}

uint64_t *zinst_site_array_map(void) {
  void *p = mmap(NULL, array_bytes(), PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

void zinst_site_array_unmap(uint64_t *array) {
  if (array)
    munmap(array, array_bytes());
}

int zinst_site_counts_copy(const uint64_t *array, uint32_t sites,
                           const struct zinst_site_counts *baseline,
                           struct zinst_site_counts *out) {
  out->counts = NULL;
  out->count = 0;
  if (sites == 0)
    return 0;
  uint64_t *counts = malloc((size_t)sites * sizeof *counts);
  if (!counts) {
    errno = ENOMEM;
    return -1;
  }
  const uint64_t *slots = array + ZINST_MAX_MODULE_SITES;
  for (uint32_t s = 0; s < sites; s++) {
    uint64_t value = __atomic_load_n(&slots[s], __ATOMIC_RELAXED);
    uint64_t base = baseline && s < baseline->count ? baseline->counts[s] : 0;
    counts[s] = value > base ? value - base : 0;
  }
  out->counts = counts;
  out->count = sites;
  return 0;
}

int zinst_site_counts_add(struct zinst_site_counts *target,
                          const struct zinst_site_counts *source) {
  if (source->count > target->count) {
    uint64_t *grown = realloc(target->counts, (size_t)source->count * sizeof *grown);
    if (!grown) {
      errno = ENOMEM;
      return -1;
    }
    memset(grown + target->count, 0, (size_t)(source->count - target->count) * sizeof *grown);
    target->counts = grown;
    target->count = source->count;
  }
  for (uint32_t s = 0; s < source->count; s++)
    target->counts[s] += source->counts[s];
  return 0;
}

void zinst_site_counts_clear(struct zinst_site_counts *counts) {
  if (counts->count)
    memset(counts->counts, 0, (size_t)counts->count * sizeof *counts->counts);
}

void zinst_site_counts_free(struct zinst_site_counts *counts) {
  free(counts->counts);
  counts->counts = NULL;
  counts->count = 0;
}
