/*
 * profile_writer.c - snapshot -> profile file bytes (cold path).
 *
 * The whole image is built in one heap buffer: the sizes of every section
 * are known before anything is written, the checksum covers the finished
 * bytes, and a file on disk is then produced by one sequence of writes.
 *
 * Layout: header, section table, then PROCESS, MODULES, FUNCTIONS, THREADS,
 * NODES, SITES, SITE_COUNTS, STRINGS and (memory tracing on) MEMORY, each
 * at an 8-byte aligned offset.
 */
#include "profile_writer.h"

#include "zinst_format.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h" /* after the system headers: its macros route malloc & co */

/* The eight sections every profile has; MEMORY is the ninth, written when
 * memory tracing was on. */
enum { BASE_SECTION_COUNT = 8, MAX_SECTION_COUNT = 9 };

/* Deduplicating string table. `bytes` holds NUL-terminated strings; offset 0
 * is always the empty string. `slots` maps a string's hash to offset + 1.
 * A table of sites names the same few strings (a file, a caller, a reason)
 * many times, through the same pointers (the pass emits each string once
 * per module), so `recent` remembers the pointers interned last by
 * address: zstd's 13 K sites intern 75 K strings, and hashing each one's
 * bytes cost 19 M instructions at exit. The strings do not move while a
 * profile is built. */
#define STRING_TABLE_RECENT 1024u
struct string_table {
  char *bytes;
  uint64_t size;
  uint64_t capacity;
  uint32_t *slots;
  uint32_t mask;
  uint32_t used;
  /* STRING_TABLE_RECENT each, on the heap: a dump may run in a signal
   * handler, on a small stack. */
  const char **recent;
  uint32_t *recent_offset;
};

static uint32_t string_table_recent_slot(const char *s) {
  return (uint32_t)((((uintptr_t)s >> 3) * UINT64_C(0x9E3779B97F4A7C15)) >> 54) &
         (STRING_TABLE_RECENT - 1);
}

static uint64_t string_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static int string_table_grow_slots(struct string_table *table) {
  uint32_t size = table->slots ? (table->mask + 1) * 2 : 256;
  uint32_t *slots = calloc(size, sizeof *slots);
  if (!slots)
    return -1;
  for (uint32_t i = 0; table->slots && i <= table->mask; i++) {
    if (!table->slots[i])
      continue;
    uint32_t slot = (uint32_t)string_hash(table->bytes + table->slots[i] - 1) & (size - 1);
    while (slots[slot])
      slot = (slot + 1) & (size - 1);
    slots[slot] = table->slots[i];
  }
  free(table->slots);
  table->slots = slots;
  table->mask = size - 1;
  return 0;
}

/* Offset of `s` in the table, adding it if new; NULL and "" give 0.
 * Returns 0 with *offset set, or -1 (out of memory, or the table would pass
 * the 4 GiB that 32-bit string offsets can address). */
static int string_table_intern(struct string_table *table, const char *s, uint32_t *offset) {
  if (!s || !*s) {
    *offset = 0;
    return 0;
  }
  uint32_t recent = string_table_recent_slot(s);
  if (table->recent[recent] == s) {
    *offset = table->recent_offset[recent];
    return 0;
  }
  if (2 * (table->used + 1) > (table->slots ? table->mask + 1 : 0) &&
      string_table_grow_slots(table) != 0)
    return -1;
  uint32_t slot = (uint32_t)string_hash(s) & table->mask;
  for (; table->slots[slot]; slot = (slot + 1) & table->mask) {
    if (strcmp(table->bytes + table->slots[slot] - 1, s) == 0) {
      *offset = table->slots[slot] - 1;
      table->recent[recent] = s;
      table->recent_offset[recent] = *offset;
      return 0;
    }
  }
  size_t length = strlen(s) + 1;
  if (table->size + length >= UINT32_MAX)
    return -1;
  if (table->size + length > table->capacity) {
    uint64_t capacity = table->capacity ? table->capacity : 4096;
    while (capacity < table->size + length)
      capacity *= 2;
    char *bytes = realloc(table->bytes, capacity);
    if (!bytes)
      return -1;
    table->bytes = bytes;
    table->capacity = capacity;
  }
  memcpy(table->bytes + table->size, s, length);
  *offset = (uint32_t)table->size;
  table->slots[slot] = (uint32_t)table->size + 1;
  table->size += length;
  table->used++;
  table->recent[recent] = s;
  table->recent_offset[recent] = *offset;
  return 0;
}

static int string_table_init(struct string_table *table) {
  memset(table, 0, sizeof *table);
  table->bytes = malloc(4096);
  table->recent = calloc(STRING_TABLE_RECENT, sizeof *table->recent);
  table->recent_offset = calloc(STRING_TABLE_RECENT, sizeof *table->recent_offset);
  if (!table->bytes || !table->recent || !table->recent_offset)
    return -1; /* string_table_free frees what there is */
  table->capacity = 4096;
  table->bytes[0] = '\0'; /* offset 0: the empty string */
  table->size = 1;
  return 0;
}

static void string_table_free(struct string_table *table) {
  free(table->bytes);
  free(table->slots);
  free(table->recent);
  free(table->recent_offset);
}

static uint64_t align8(uint64_t value) {
  return (value + 7) & ~(uint64_t)7;
}

static void set_error(char *err, size_t errlen, const char *format, ...) {
  if (!err || errlen == 0)
    return;
  va_list args;
  va_start(args, format);
  vsnprintf(err, errlen, format, args);
  va_end(args);
}

/* The index in s->functions of function id `id` (a node's), or UINT32_MAX
 * for an id that names none. */
static uint32_t function_index(const struct zinst_snapshot *s, uint32_t id) {
  if (s->function_of_id == NULL)
    return id == 0 ? UINT32_MAX : id - 1;
  return id < s->function_id_count ? s->function_of_id[id] : UINT32_MAX;
}

/* The sites counted from the call tree (ZINST_SITE_TREE), by the pair of
 * functions whose contexts hold their counts: an open-addressing table of
 * keys (caller + 1) << 32 | (callee + 1), 0 for an empty slot. */
struct tree_site_index {
  uint64_t *keys;  /* owned; mask + 1 entries */
  uint32_t *sites; /* owned; the site of each key */
  uint32_t mask;
  uint32_t count; /* sites in the table */
};

static uint64_t tree_site_key(uint32_t caller, uint32_t callee) {
  return ((uint64_t)caller + 1) << 32 | ((uint64_t)callee + 1);
}

static uint32_t tree_site_slot(uint64_t key, uint32_t mask) {
  return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/* Fill `index` (owned by the caller afterwards, release with
 * tree_site_index_free) with the snapshot's tree-counted sites. Returns 0,
 * or -1 (ENOMEM) with `index` empty. The pass never gives two such sites
 * one pair of functions (one call of the callee in the caller); a second
 * would count 0 rather than the first's calls twice. */
static int tree_site_index_build(const struct zinst_snapshot *s, struct tree_site_index *index) {
  *index = (struct tree_site_index){0};
  uint32_t wanted = 0;
  for (uint32_t k = 0; k < s->site_count; k++)
    wanted += (s->sites[k].flags & ZINST_SITE_TREE) != 0;
  if (wanted == 0)
    return 0;
  uint32_t size = 16;
  while (size < 2 * (uint64_t)wanted)
    size *= 2;
  index->keys = calloc(size, sizeof *index->keys);
  index->sites = calloc(size, sizeof *index->sites);
  if (!index->keys || !index->sites) {
    free(index->keys);
    free(index->sites);
    *index = (struct tree_site_index){0};
    errno = ENOMEM;
    return -1;
  }
  index->mask = size - 1;
  for (uint32_t k = 0; k < s->site_count; k++) {
    const struct zinst_snapshot_site *site = &s->sites[k];
    if (!(site->flags & ZINST_SITE_TREE))
      continue;
    uint64_t key = tree_site_key(site->tree_caller, site->tree_callee);
    uint32_t slot = tree_site_slot(key, index->mask);
    while (index->keys[slot] != 0 && index->keys[slot] != key)
      slot = (slot + 1) & index->mask;
    if (index->keys[slot] == 0) {
      index->keys[slot] = key;
      index->sites[slot] = k;
      index->count++;
    }
  }
  return 0;
}

static void tree_site_index_free(struct tree_site_index *index) {
  free(index->keys);
  free(index->sites);
  *index = (struct tree_site_index){0};
}

/* Thread t's count of every site into counts[0..site_count): its counters'
 * for the others, and for the tree-counted ones the calls of the callee's
 * contexts whose parent is a context of the caller. */
static void thread_site_counts(const struct zinst_snapshot *s, uint32_t t,
                               const struct tree_site_index *index, uint64_t *counts) {
  const struct zinst_snapshot_thread *thread = &s->threads[t];
  for (uint32_t k = 0; k < s->site_count; k++)
    counts[k] = k < thread->sites.count ? thread->sites.counts[k] : 0;
  /* A site that shares another's counter (validated: that one has its own)
   * has its count; its own slot was never incremented. */
  for (uint32_t k = 0; k < s->site_count; k++)
    if (s->sites[k].shared_counter != 0)
      counts[k] = counts[s->sites[k].shared_counter - 1];
  if (index->count == 0)
    return;
  for (uint32_t k = 0; k < s->site_count; k++)
    if (s->sites[k].flags & ZINST_SITE_TREE)
      counts[k] = 0;
  const struct zinst_tree *tree = &thread->tree;
  for (uint32_t n = 1; n < tree->count; n++) {
    const struct zinst_tree_node *node = &tree->nodes[n];
    if (node->parent == 0 || node->parent >= tree->count)
      continue; /* under the root: no caller */
    uint32_t caller = function_index(s, tree->nodes[node->parent].function);
    uint32_t callee = function_index(s, node->function);
    if (caller == UINT32_MAX || callee == UINT32_MAX)
      continue;
    uint64_t key = tree_site_key(caller, callee);
    for (uint32_t slot = tree_site_slot(key, index->mask); index->keys[slot] != 0;
         slot = (slot + 1) & index->mask) {
      if (index->keys[slot] == key) {
        counts[index->sites[slot]] += node->calls;
        break;
      }
    }
  }
}

/* Check what the format promises readers: indices in range, parents before
 * children. Returns the total node count to write, or -1 with a message. */
static int64_t validate_snapshot(const struct zinst_snapshot *s, char *err, size_t errlen) {
  for (uint32_t f = 0; f < s->function_count; f++) {
    if (s->functions[f].module >= s->module_count) {
      set_error(err, errlen, "function %u names module %u of %u", f, s->functions[f].module,
                s->module_count);
      return -1;
    }
  }
  for (uint32_t m = 0; m < s->module_count; m++) {
    const struct zinst_snapshot_module *module = &s->modules[m];
    if ((uint64_t)module->first_function + module->function_count > s->function_count) {
      set_error(err, errlen, "module %u covers functions past the table of %u", m,
                s->function_count);
      return -1;
    }
  }
  for (uint32_t k = 0; k < s->site_count; k++) {
    if (s->sites[k].module >= s->module_count) {
      set_error(err, errlen, "site %u names module %u of %u", k, s->sites[k].module,
                s->module_count);
      return -1;
    }
    if ((s->sites[k].flags & ZINST_SITE_TREE) && (s->sites[k].tree_caller >= s->function_count ||
                                                  s->sites[k].tree_callee >= s->function_count)) {
      set_error(err, errlen, "site %u is counted from the tree by functions %u and %u of %u", k,
                s->sites[k].tree_caller, s->sites[k].tree_callee, s->function_count);
      return -1;
    }
    uint32_t shared = s->sites[k].shared_counter;
    if (shared != 0 && (shared - 1 >= s->site_count || shared - 1 == k ||
                        s->sites[shared - 1].shared_counter != 0 ||
                        (s->sites[shared - 1].flags & ZINST_SITE_TREE) != 0)) {
      set_error(err, errlen,
                "site %u shares the counter of site %u of %u, which has none of its own", k,
                shared - 1, s->site_count);
      return -1;
    }
  }
  uint64_t total = 0;
  for (uint32_t t = 0; t < s->thread_count; t++) {
    if (s->threads[t].sites.count > s->site_count) {
      set_error(err, errlen, "thread %u counts %u sites of %u", t, s->threads[t].sites.count,
                s->site_count);
      return -1;
    }
    const struct zinst_tree *tree = &s->threads[t].tree;
    for (uint32_t n = 1; n < tree->count; n++) {
      const struct zinst_tree_node *node = &tree->nodes[n];
      if (function_index(s, node->function) >= s->function_count) {
        set_error(err, errlen, "thread %u node %u has function id %u, not in the table of %u", t, n,
                  node->function, s->function_count);
        return -1;
      }
      if (node->parent >= n) {
        set_error(err, errlen, "thread %u node %u has parent %u not before it", t, n, node->parent);
        return -1;
      }
    }
    total += tree->count ? tree->count - 1 : 0;
  }
  if (total >= ZINST_NONE) {
    set_error(err, errlen, "%llu nodes do not fit 32-bit indices", (unsigned long long)total);
    return -1;
  }
  for (uint32_t k = 0; k < s->memory_count; k++) {
    const struct zinst_snapshot_memory *m = &s->memory[k];
    if (m->thread >= s->thread_count || m->node >= s->threads[m->thread].tree.count) {
      set_error(err, errlen, "memory record %u names thread %u node %u outside the snapshot", k,
                m->thread, m->node);
      return -1;
    }
    if (k > 0) {
      const struct zinst_snapshot_memory *p = &s->memory[k - 1];
      /* Sorted by (thread, node), the root (0) last in its thread. */
      uint32_t node = m->node ? m->node : UINT32_MAX, previous = p->node ? p->node : UINT32_MAX;
      if (p->thread > m->thread || (p->thread == m->thread && previous >= node)) {
        set_error(err, errlen, "memory record %u is out of order", k);
        return -1;
      }
    }
  }
  return (int64_t)total;
}

/*
 * The estimate of one context's inclusive ticks from its raw sums
 * (cct_tree.h), with its variance (the square of one standard error) and
 * the number of timed activations.
 *
 * Calls are split in two strata. The exact stratum (the context's first K
 * calls, exact_calls of them) is measured whole: its ticks X are exact. Of
 * the N' = calls - exact_calls later calls, n were sampled, independently of
 * their durations, with sum S and sum of squares Q; their total is
 * estimated as N' * S / n, with the standard error of a simple random
 * sample without replacement: N' * s / sqrt(n) * sqrt(1 - n / N'), s^2 the
 * sample variance (Q - S^2 / n) / (n - 1). With n < 2 no variance can be
 * estimated: the unmeasured calls are estimated at the mean of all measured
 * activations of the context, with an error equal to that extrapolated part
 * ("we know little"). When every call was measured (N' == n, e.g. R = 1)
 * the estimate is the measured sum and the error is 0.
 */
struct node_estimate {
  uint64_t timed_calls;
  uint64_t inclusive; /* ticks */
  double variance;    /* ticks^2 */
};

static uint64_t ticks_from_double(double ticks) {
  if (!(ticks > 0))
    return 0;
  if (ticks >= 18446744073709551615.0)
    return UINT64_MAX;
  return (uint64_t)(ticks + 0.5);
}

/* Square root of v >= 0 by Newton's method: the runtime must not need libm
 * (instrumented C programs are not linked with -lm). Cold path. */
static double square_root(double v) {
  if (!(v > 0))
    return 0;
  double x = v >= 1 ? v : 1;
  for (int i = 0; i < 200; i++) {
    double next = 0.5 * (x + v / x);
    if (next >= x)
      break; /* converged: the iteration decreases monotonically from above */
    x = next;
  }
  return x;
}

/* The activations of `node` that were timed, weights aside: its sampled
 * count and what thinning took out of it (zinst_tree_node.samples_thinned).
 * Exact for a thread's own node and for sums of several threads' nodes. */
static uint64_t timed_activations(const struct zinst_tree_node *node) {
  uint64_t exact_calls = node->exact_calls < node->calls ? node->exact_calls : node->calls;
  uint64_t timed = exact_calls + node->sampled_calls + node->samples_thinned;
  return timed < node->calls ? timed : node->calls;
}

static struct node_estimate estimate_node(const struct zinst_tree_node *node) {
  const uint64_t calls = node->calls;
  const uint64_t measured = node->inclusive_ticks;
  const uint64_t exact_calls = node->exact_calls < calls ? node->exact_calls : calls;
  const uint64_t n = node->sampled_calls;    /* weighted */
  const uint64_t rest = calls - exact_calls; /* N' */
  struct node_estimate e = {.timed_calls = timed_activations(node), .inclusive = measured};
  if (rest == 0 || n >= rest)
    return e; /* every call measured */
  const double sampled = (double)(node->sampled_ticks < measured ? node->sampled_ticks : measured);
  const double exact = (double)measured - sampled;
  const double unmeasured_share = (double)rest;
  if (n >= 2) {
    const double dn = (double)n;
    double sample_variance = (node->sampled_sq - sampled * sampled / dn) / (dn - 1);
    if (!(sample_variance > 0))
      sample_variance = 0;
    e.inclusive = ticks_from_double(exact + sampled * unmeasured_share / dn);
    e.variance =
        unmeasured_share * unmeasured_share * sample_variance / dn * (1 - dn / unmeasured_share);
    return e;
  }
  const uint64_t timed = exact_calls + n;
  if (timed == 0)
    return e; /* nothing measured: no basis for any estimate (see the format doc) */
  const double extrapolated = (double)measured / (double)timed * (double)(rest - n);
  e.inclusive = ticks_from_double((double)measured + extrapolated);
  e.variance = extrapolated * extrapolated;
  return e;
}

/* Scratch space for write_thread_nodes: one entry per node of a tree,
 * root aside. */
struct estimate_scratch {
  struct node_estimate *estimates;
  uint64_t *child_ticks;        /* the node's children's estimates, summed */
  double *child_variance;       /* and their variances */
  uint64_t *child_extrapolated; /* of child_ticks, what estimated children hold beyond their
                                 * measured ticks */
  double *fit;                  /* the share of it kept (1, or less to fit the node's own total) */
};

/* Free the scratch arrays (each may be NULL); `scratch` itself is the
 * caller's. */
static void estimate_scratch_free(struct estimate_scratch *scratch) {
  free(scratch->estimates);
  free(scratch->child_ticks);
  free(scratch->child_variance);
  free(scratch->child_extrapolated);
  free(scratch->fit);
}

/* An estimated node: not every call timed. */
static int is_estimated(const struct zinst_tree_node *node, const struct node_estimate *e) {
  return e->timed_calls < node->calls;
}

/* Write one thread's nodes (without its root) at `out`, renumbered so that
 * tree node k becomes file node first + k - 1, with estimates, exclusive
 * ticks and errors.
 *
 * A context's inclusive time is at least the sum of its children's, and at
 * most its own. Sampling can break either way:
 *   - it can miss a context's one long activation among many short ones:
 *     in Lua's interpreter, one of the 200,000 calls of the C-call path ran
 *     the whole table sort, 65% of the run, and, unsampled, left its
 *     context estimated at a quarter of its own child, and the
 *     interpreter's loop above it with a self time of more than its total.
 *     So an estimate below its children's sum is raised to it (with the
 *     children's error, if larger); a measured one (every call timed) is
 *     kept. Children come after their parents in the tree, so one backward
 *     pass raises each context after all its children were;
 *   - it can weigh a few slow samples of a short function by thousands of
 *     calls: an empty leaf whose timed calls, on a loaded machine, ran
 *     slower than the calibrated cost of a timed call was estimated at
 *     three times its measured caller. So where the children
 *     sum to more than their parent's total, which is then measured (an
 *     estimate was raised to their sum), the estimated children's
 *     extrapolated parts, beyond the ticks their timed calls measured,
 *     are scaled down by one factor until they fit; the measured parts,
 *     true lower bounds, stay. One forward pass fits each context to its
 *     parent's final total before its own children are fitted to it.
 * The errors stay as estimated. */
static void write_thread_nodes(const struct zinst_snapshot *s, const struct zinst_tree *tree,
                               uint32_t first, struct zinst_node_record *out,
                               const struct estimate_scratch *scratch) {
  uint32_t count = tree->count ? tree->count - 1 : 0;
  struct node_estimate *estimates = scratch->estimates;
  uint64_t *child_ticks = scratch->child_ticks, *child_extrapolated = scratch->child_extrapolated;
  double *child_variance = scratch->child_variance, *fit = scratch->fit;
  memset(child_ticks, 0, (size_t)count * sizeof *child_ticks);
  memset(child_extrapolated, 0, (size_t)count * sizeof *child_extrapolated);
  for (uint32_t n = 0; n < count; n++)
    child_variance[n] = 0;
  for (uint32_t n = tree->count; n-- > 1;) {
    const struct zinst_tree_node *node = &tree->nodes[n];
    struct node_estimate *e = &estimates[n - 1];
    *e = estimate_node(node);
    int estimated = is_estimated(node, e);
    if (estimated && e->inclusive < child_ticks[n - 1]) {
      e->inclusive = child_ticks[n - 1];
      if (e->variance < child_variance[n - 1])
        e->variance = child_variance[n - 1];
    }
    uint32_t parent = node->parent;
    if (parent != 0) {
      child_ticks[parent - 1] += e->inclusive;
      child_variance[parent - 1] += e->variance;
      if (estimated && e->inclusive > node->inclusive_ticks)
        child_extrapolated[parent - 1] += e->inclusive - node->inclusive_ticks;
    }
  }
  for (uint32_t n = 1; n < tree->count; n++) {
    const struct zinst_tree_node *node = &tree->nodes[n];
    struct node_estimate *e = &estimates[n - 1];
    uint32_t parent = node->parent;
    if (parent != 0 && fit[parent - 1] < 1 && is_estimated(node, e) &&
        e->inclusive > node->inclusive_ticks) {
      uint64_t extrapolated = e->inclusive - node->inclusive_ticks;
      e->inclusive =
          node->inclusive_ticks + ticks_from_double(fit[parent - 1] * (double)extrapolated);
    }
    uint64_t inclusive = e->inclusive;
    uint64_t children = child_ticks[n - 1], extrapolated = child_extrapolated[n - 1];
    fit[n - 1] = 1;
    if (children > inclusive && extrapolated > 0) {
      uint64_t measured = children - extrapolated;
      fit[n - 1] = inclusive > measured ? (double)(inclusive - measured) / (double)extrapolated : 0;
      children = measured + ticks_from_double(fit[n - 1] * (double)extrapolated);
    }
    /* Exclusive = inclusive - children: the errors add in quadrature. */
    double exclusive_variance = e->variance + child_variance[n - 1];
    out[n - 1] = (struct zinst_node_record){
        .parent = parent == 0 ? ZINST_NONE : first + parent - 1,
        .function = function_index(s, node->function),
        .calls = node->calls,
        .timed_calls = e->timed_calls,
        .inclusive_ticks = inclusive,
        .exclusive_ticks = inclusive > children ? inclusive - children : 0,
        .inclusive_error_ticks = e->variance > 0 ? ticks_from_double(square_root(e->variance)) : 0,
        .exclusive_error_ticks =
            exclusive_variance > 0 ? ticks_from_double(square_root(exclusive_variance)) : 0,
    };
  }
}

int zinst_build_profile_image(const struct zinst_snapshot *s, void **image_out, size_t *size_out,
                              char *err, size_t errlen) {
  *image_out = NULL;
  *size_out = 0;
  int64_t node_total = validate_snapshot(s, err, errlen);
  if (node_total < 0) {
    errno = EINVAL;
    return -1;
  }

  /* Strings first: their table size fixes the file size. */
  struct string_table strings;
  uint32_t *function_strings = NULL; /* 3 per function: name, linkage, file */
  uint32_t *module_strings = NULL, *thread_strings = NULL;
  uint32_t *site_strings = NULL; /* 6 per site */
  uint32_t process_strings[4];
  unsigned char *image = NULL;
  struct estimate_scratch scratch = {0};
  uint64_t *site_counts_scratch = NULL;
  struct tree_site_index tree_sites = {0};
  int ok = string_table_init(&strings) == 0;
  if (ok) {
    function_strings = malloc((3 * (size_t)s->function_count + 1) * sizeof *function_strings);
    module_strings = malloc(((size_t)s->module_count + 1) * sizeof *module_strings);
    thread_strings = malloc(((size_t)s->thread_count + 1) * sizeof *thread_strings);
    site_strings = malloc((6 * (size_t)s->site_count + 1) * sizeof *site_strings);
    ok = function_strings && module_strings && thread_strings && site_strings;
  }
  ok = ok && string_table_intern(&strings, s->exe_path, &process_strings[0]) == 0 &&
       string_table_intern(&strings, s->command_line, &process_strings[1]) == 0 &&
       string_table_intern(&strings, s->hostname, &process_strings[2]) == 0 &&
       string_table_intern(&strings, s->runtime_version, &process_strings[3]) == 0;
  for (uint32_t m = 0; ok && m < s->module_count; m++)
    ok = string_table_intern(&strings, s->modules[m].name, &module_strings[m]) == 0;
  for (uint32_t f = 0; ok && f < s->function_count; f++) {
    const struct zinst_snapshot_function *fn = &s->functions[f];
    ok = string_table_intern(&strings, fn->name, &function_strings[3 * f]) == 0 &&
         string_table_intern(&strings, fn->linkage_name, &function_strings[3 * f + 1]) == 0 &&
         string_table_intern(&strings, fn->file, &function_strings[3 * f + 2]) == 0;
  }
  for (uint32_t t = 0; ok && t < s->thread_count; t++)
    ok = string_table_intern(&strings, s->threads[t].name, &thread_strings[t]) == 0;
  for (uint32_t k = 0; ok && k < s->site_count; k++) {
    const struct zinst_snapshot_site *site = &s->sites[k];
    uint32_t *out = &site_strings[6 * (size_t)k];
    ok = string_table_intern(&strings, site->caller, &out[0]) == 0 &&
         string_table_intern(&strings, site->caller_linkage, &out[1]) == 0 &&
         string_table_intern(&strings, site->callee, &out[2]) == 0 &&
         string_table_intern(&strings, site->callee_linkage, &out[3]) == 0 &&
         string_table_intern(&strings, site->file, &out[4]) == 0 &&
         string_table_intern(&strings, site->reason, &out[5]) == 0;
  }
  if (!ok) {
    set_error(err, errlen, "out of memory building the string table");
    goto fail;
  }
  site_counts_scratch = malloc(((size_t)s->site_count + 1) * sizeof *site_counts_scratch);
  if (!site_counts_scratch || tree_site_index_build(s, &tree_sites) != 0) {
    set_error(err, errlen, "out of memory counting the sites");
    goto fail;
  }
  /* Counted here to size the section, and again below to write it: one
   * thread's counts at a time (O(sites + nodes) each), rather than keeping
   * threads x sites of them. */
  uint64_t site_count_total = 0;
  for (uint32_t t = 0; t < s->thread_count; t++) {
    thread_site_counts(s, t, &tree_sites, site_counts_scratch);
    for (uint32_t k = 0; k < s->site_count; k++)
      site_count_total += site_counts_scratch[k] != 0;
  }

  const int section_count = s->memory_traced ? MAX_SECTION_COUNT : BASE_SECTION_COUNT;
  struct zinst_section_entry sections[MAX_SECTION_COUNT] = {
      {ZINST_SECTION_PROCESS, sizeof(struct zinst_process_record), 0, 0, 1},
      {ZINST_SECTION_MODULES, sizeof(struct zinst_module_record), 0, 0, s->module_count},
      {ZINST_SECTION_FUNCTIONS, sizeof(struct zinst_function_record), 0, 0, s->function_count},
      {ZINST_SECTION_THREADS, sizeof(struct zinst_thread_record), 0, 0, s->thread_count},
      {ZINST_SECTION_NODES, sizeof(struct zinst_node_record), 0, 0, (uint64_t)node_total},
      {ZINST_SECTION_SITES, sizeof(struct zinst_site_record), 0, 0, s->site_count},
      {ZINST_SECTION_SITE_COUNTS, sizeof(struct zinst_site_count_record), 0, 0, site_count_total},
      {ZINST_SECTION_STRINGS, 1, 0, 0, strings.size},
      {ZINST_SECTION_MEMORY, sizeof(struct zinst_memory_record), 0, 0, s->memory_count},
  };
  uint64_t offset = sizeof(struct zinst_file_header) +
                    (uint64_t)section_count * sizeof(struct zinst_section_entry);
  for (int i = 0; i < section_count; i++) {
    offset = align8(offset);
    sections[i].offset = offset;
    sections[i].size = sections[i].count * sections[i].entry_size;
    offset += sections[i].size;
  }
  uint64_t file_size = offset;
  if (file_size > SIZE_MAX || !(image = calloc(1, (size_t)file_size))) {
    set_error(err, errlen, "out of memory for a %llu-byte profile", (unsigned long long)file_size);
    goto fail;
  }

  struct zinst_process_record *process = (void *)(image + sections[0].offset);
  *process = (struct zinst_process_record){
      .pid = s->pid,
      .start_unix_ns = s->start_unix_ns,
      .dump_unix_ns = s->dump_unix_ns,
      .ticks_per_second = s->ticks_per_second,
      .elapsed_ticks = s->elapsed_ticks,
      .elapsed_ns = s->elapsed_ns,
      .depth_overflow_calls = s->depth_overflow_calls,
      .lost_calls = s->lost_calls,
      .exe_path = process_strings[0],
      .command_line = process_strings[1],
      .hostname = process_strings[2],
      .runtime_version = process_strings[3],
      .mode = s->mode,
      .clock_flags = s->clock_flags,
      .max_depth = s->max_depth,
      .dump_reason = s->dump_reason,
      .sample_interval = s->sample_interval,
      .exact_calls_per_context = s->exact_calls_per_context,
      .call_cost_ps = s->call_cost_ps,
      .sample_limit = s->sample_limit,
      .sample_error = s->sample_error,
      .sample_outlier = s->sample_outlier,
      .hook_untimed_pair_ps = s->hook_untimed_pair_ps,
      .hook_timed_pair_ps = s->hook_timed_pair_ps,
      .hook_timed_inner_ps = s->hook_timed_inner_ps,
      .hook_spread_ps = s->hook_spread_ps,
  };
  struct zinst_module_record *modules = (void *)(image + sections[1].offset);
  for (uint32_t m = 0; m < s->module_count; m++)
    modules[m] = (struct zinst_module_record){.name = module_strings[m],
                                              .first_function = s->modules[m].first_function,
                                              .function_count = s->modules[m].function_count,
                                              .flags = s->modules[m].flags};
  struct zinst_function_record *functions = (void *)(image + sections[2].offset);
  for (uint32_t f = 0; f < s->function_count; f++)
    functions[f] = (struct zinst_function_record){.name = function_strings[3 * f],
                                                  .linkage_name = function_strings[3 * f + 1],
                                                  .file = function_strings[3 * f + 2],
                                                  .line = s->functions[f].line,
                                                  .module = s->functions[f].module,
                                                  .flags = s->functions[f].flags};
  struct zinst_thread_record *threads = (void *)(image + sections[3].offset);
  struct zinst_node_record *nodes = (void *)(image + sections[4].offset);
  uint32_t largest_tree = 0;
  for (uint32_t t = 0; t < s->thread_count; t++)
    if (s->threads[t].tree.count > largest_tree)
      largest_tree = s->threads[t].tree.count;
  const size_t scratch_entries = (size_t)largest_tree + 1;
  scratch.estimates = malloc(scratch_entries * sizeof *scratch.estimates);
  scratch.child_ticks = malloc(scratch_entries * sizeof *scratch.child_ticks);
  scratch.child_variance = malloc(scratch_entries * sizeof *scratch.child_variance);
  scratch.child_extrapolated = malloc(scratch_entries * sizeof *scratch.child_extrapolated);
  scratch.fit = malloc(scratch_entries * sizeof *scratch.fit);
  if (!scratch.estimates || !scratch.child_ticks || !scratch.child_variance ||
      !scratch.child_extrapolated || !scratch.fit) {
    set_error(err, errlen, "out of memory for exclusive times");
    goto fail;
  }
  uint32_t first_node = 0;
  for (uint32_t t = 0; t < s->thread_count; t++) {
    const struct zinst_snapshot_thread *thread = &s->threads[t];
    uint32_t count = thread->tree.count ? thread->tree.count - 1 : 0;
    threads[t] = (struct zinst_thread_record){.tid = thread->tid,
                                              .name = thread_strings[t],
                                              .flags = thread->flags,
                                              .first_node = first_node,
                                              .node_count = count,
                                              .thread_count = thread->thread_count};
    write_thread_nodes(s, &thread->tree, first_node, nodes + first_node, &scratch);
    first_node += count;
  }
  struct zinst_site_record *sites = (void *)(image + sections[5].offset);
  for (uint32_t k = 0; k < s->site_count; k++) {
    const struct zinst_snapshot_site *site = &s->sites[k];
    const uint32_t *text = &site_strings[6 * (size_t)k];
    sites[k] = (struct zinst_site_record){.caller = text[0],
                                          .caller_linkage = text[1],
                                          .callee = text[2],
                                          .callee_linkage = text[3],
                                          .file = text[4],
                                          .reason = text[5],
                                          .line = site->line,
                                          .column = site->column,
                                          .module = site->module,
                                          .flags = site->flags,
                                          .cost = site->cost,
                                          .threshold = site->threshold,
                                          .callee_instructions = site->callee_instructions};
  }
  struct zinst_site_count_record *site_counts = (void *)(image + sections[6].offset);
  uint64_t next_count = 0;
  for (uint32_t t = 0; t < s->thread_count; t++) {
    thread_site_counts(s, t, &tree_sites, site_counts_scratch);
    for (uint32_t k = 0; k < s->site_count; k++)
      if (site_counts_scratch[k] != 0)
        site_counts[next_count++] = (struct zinst_site_count_record){
            .thread = t, .site = k, .count = site_counts_scratch[k]};
  }
  memcpy(image + sections[7].offset, strings.bytes, strings.size);
  if (s->memory_traced) {
    /* Tree node n of thread t is file node first_node(t) + n - 1. */
    struct zinst_memory_record *memory = (void *)(image + sections[8].offset);
    for (uint32_t k = 0; k < s->memory_count; k++) {
      const struct zinst_snapshot_memory *m = &s->memory[k];
      memory[k] = (struct zinst_memory_record){
          .thread = m->thread,
          .node = m->node == 0 ? ZINST_NONE : threads[m->thread].first_node + m->node - 1,
          .allocations = m->allocations,
          .allocated_bytes = m->allocated_bytes,
          .frees = m->frees,
          .freed_bytes = m->freed_bytes,
          .peak_live_bytes = m->peak_live_bytes,
      };
    }
  }

  memcpy(image + sizeof(struct zinst_file_header), sections,
         (size_t)section_count * sizeof(struct zinst_section_entry));
  struct zinst_file_header *header = (void *)image;
  memcpy(header->magic, ZINST_PROFILE_MAGIC, ZINST_PROFILE_MAGIC_SIZE);
  header->version = ZINST_PROFILE_VERSION;
  header->minor = ZINST_PROFILE_MINOR;
  header->byte_order = ZINST_BYTE_ORDER_MARK;
  header->header_size = sizeof *header;
  header->section_count = (uint32_t)section_count;
  header->section_table_offset = sizeof *header;
  header->file_size = file_size;
  header->checksum = zinst_profile_checksum(image, file_size);

  estimate_scratch_free(&scratch);
  free(site_counts_scratch);
  tree_site_index_free(&tree_sites);
  free(function_strings);
  free(module_strings);
  free(thread_strings);
  free(site_strings);
  string_table_free(&strings);
  *image_out = image;
  *size_out = (size_t)file_size;
  return 0;

fail:
  free(image);
  estimate_scratch_free(&scratch);
  free(site_counts_scratch);
  tree_site_index_free(&tree_sites);
  free(function_strings);
  free(module_strings);
  free(thread_strings);
  free(site_strings);
  string_table_free(&strings);
  errno = ENOMEM;
  return -1;
}

int zinst_write_profile(const struct zinst_snapshot *snapshot,
                        int (*write)(void *ctx, const void *buf, size_t n), void *ctx) {
  void *image;
  size_t size;
  char err[256];
  if (zinst_build_profile_image(snapshot, &image, &size, err, sizeof err) != 0) {
    int saved = errno;
    fprintf(stderr, "zinst: cannot serialize the profile: %s\n", err);
    errno = saved;
    return -1;
  }
  int status = write(ctx, image, size) == 0 ? 0 : -1;
  free(image);
  return status;
}
