/*
 * profile_merge.c - the sum of several profiles of one program, for
 * `zinst merge` and for the runtime's `%m` outputs (runtime/merge_output.c).
 *
 * Functions are matched across profiles by (module, name, file, line): the
 * indices differ from run to run when libraries load in another order, the
 * identities do not. Every input thread becomes a thread of the output
 * (several processes side by side), or, with merge_threads, threads of
 * the same name are summed into one record, their trees merged by call
 * path. Sums are exact: calls, timed calls, inclusive and exclusive ticks
 * add; standard errors add in quadrature (independent samples).
 */
#include "profile_merge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile_image.h"
#include "profile_util.h"

#ifdef ZINST_RUNTIME_HEAP
#include "heap.h" /* the runtime's build: allocations safe in a signal handler */
#endif

/* The merged profile under construction, in the reader's form. */
struct merged {
  struct zinst_profile out; /* arrays owned here (out.storage unused) */
  char *strings;            /* out.strings */
  uint64_t strings_capacity;
  struct zinst_string_map string_offsets;
  uint32_t function_capacity, thread_capacity, node_capacity, site_capacity;
  double *inclusive_variance; /* per output node, summed in quadrature at the end */
  double *exclusive_variance;
};

static uint32_t add_string(struct merged *m, const char *text) {
  if (!text[0])
    return 0; /* offset 0 holds "" */
  const uint32_t known = zinst_string_map_get(&m->string_offsets, text);
  if (known != ZINST_NONE)
    return known;
  const size_t length = strlen(text) + 1;
  if (m->out.strings_size + length >= UINT32_MAX)
    return ZINST_NONE;
  if (m->out.strings_size + length > m->strings_capacity) {
    uint64_t capacity = m->strings_capacity * 2;
    while (capacity < m->out.strings_size + length)
      capacity *= 2;
    char *grown = realloc(m->strings, (size_t)capacity);
    if (!grown)
      return ZINST_NONE;
    m->strings = grown;
    m->strings_capacity = capacity;
  }
  const uint32_t offset = (uint32_t)m->out.strings_size;
  memcpy(m->strings + offset, text, length);
  m->out.strings_size += length;
  m->out.strings = m->strings;
  return zinst_string_map_put(&m->string_offsets, text, offset);
}

/* Grow an array of `size`-byte elements to hold one more; false when out of memory. */
static bool reserve(void **array, uint32_t count, uint32_t *capacity, size_t size) {
  if (count < *capacity)
    return true;
  if (*capacity > UINT32_MAX / 4)
    return false;
  const uint32_t grown = *capacity ? *capacity * 2 : 64;
  void *bigger = realloc(*array, (size_t)grown * size);
  if (!bigger)
    return false;
  *array = bigger;
  *capacity = grown;
  return true;
}

static const char *module_name(const struct zinst_profile *p, uint32_t function) {
  return zinst_profile_string(p, p->modules[p->functions[function].module].name);
}

/* "module\x1e" + the function's identity; new string or NULL. */
static char *function_key(const struct zinst_profile *p, uint32_t function) {
  char *identity = zinst_function_identity(p, function);
  char *key = identity ? zinst_strdup_printf("%s\x1e%s", module_name(p, function), identity) : NULL;
  free(identity);
  return key;
}

static void free_merged(struct merged *m) {
  free(m->strings);
  free(m->out.modules);
  free(m->out.functions);
  free(m->out.threads);
  free(m->out.nodes);
  free(m->out.sites);
  free(m->out.site_counts);
  free(m->out.memory);
  free(m->inclusive_variance);
  free(m->exclusive_variance);
  zinst_string_map_free(&m->string_offsets);
  memset(m, 0, sizeof *m);
}

/*
 * Output functions: grouped by module (the format wants each module's
 * functions contiguous), modules and functions in order of first appearance.
 * Fills function_map[k][f] = output index of function f of input k.
 */
static int build_functions(struct merged *m, const struct zinst_profile *inputs,
                           uint32_t input_count, uint32_t **function_map) {
  struct zinst_string_map modules, functions;
  if (zinst_string_map_init(&modules) != 0)
    return -1;
  if (zinst_string_map_init(&functions) != 0) {
    zinst_string_map_free(&modules);
    return -1;
  }
  /* Pass 1: modules in order of appearance, and how many functions each gets. */
  uint32_t module_capacity = 0, *module_fill = NULL;
  int status = 0;
  for (uint32_t k = 0; k < input_count && status == 0; k++) {
    const struct zinst_profile *p = &inputs[k];
    for (uint32_t f = 0; f < p->function_count && status == 0; f++) {
      char *key = function_key(p, f);
      const char *module = module_name(p, f);
      if (!key) {
        status = -1;
        break;
      }
      if (zinst_string_map_get(&functions, key) == ZINST_NONE) {
        uint32_t mod = zinst_string_map_get(&modules, module);
        if (mod == ZINST_NONE) {
          mod = m->out.module_count;
          if (!reserve((void **)&m->out.modules, mod, &module_capacity, sizeof *m->out.modules) ||
              zinst_string_map_put(&modules, module, mod) == ZINST_NONE) {
            free(key);
            status = -1;
            break;
          }
          const uint32_t name = add_string(m, module);
          m->out.modules[mod] = (struct zinst_module_record){
              .name = name, .flags = p->modules[p->functions[f].module].flags};
          m->out.module_count++;
          status = name == ZINST_NONE ? -1 : 0;
        }
        m->out.modules[mod].function_count++;
        if (zinst_string_map_put(&functions, key, ZINST_NONE - 1) == ZINST_NONE)
          status = -1;
      }
      free(key);
    }
  }
  /* Module ranges, then place each function in its module's range. */
  module_fill = calloc(m->out.module_count ? m->out.module_count : 1, sizeof *module_fill);
  uint32_t total = 0;
  for (uint32_t mod = 0; mod < m->out.module_count && module_fill; mod++) {
    m->out.modules[mod].first_function = total;
    total += m->out.modules[mod].function_count;
  }
  m->out.functions = calloc(total ? total : 1, sizeof *m->out.functions);
  m->out.function_count = total;
  if (!module_fill || !m->out.functions)
    status = -1;
  zinst_string_map_free(&functions);
  if (status == 0 && zinst_string_map_init(&functions) != 0)
    status = -1;
  for (uint32_t k = 0; k < input_count && status == 0; k++) {
    const struct zinst_profile *p = &inputs[k];
    for (uint32_t f = 0; f < p->function_count && status == 0; f++) {
      char *key = function_key(p, f);
      if (!key) {
        status = -1;
        break;
      }
      uint32_t index = zinst_string_map_get(&functions, key);
      if (index == ZINST_NONE) {
        const uint32_t mod = zinst_string_map_get(&modules, module_name(p, f));
        index = m->out.modules[mod].first_function + module_fill[mod]++;
        const struct zinst_function_record *in = &p->functions[f];
        struct zinst_function_record *out = &m->out.functions[index];
        *out = (struct zinst_function_record){
            .name = add_string(m, zinst_profile_string(p, in->name)),
            .linkage_name = add_string(m, zinst_profile_string(p, in->linkage_name)),
            .file = add_string(m, zinst_profile_string(p, in->file)),
            .line = in->line,
            .module = mod,
            .flags = in->flags,
        };
        if (out->name == ZINST_NONE || out->linkage_name == ZINST_NONE || out->file == ZINST_NONE ||
            zinst_string_map_put(&functions, key, index) == ZINST_NONE)
          status = -1;
      }
      function_map[k][f] = index;
      free(key);
    }
  }
  free(module_fill);
  zinst_string_map_free(&modules);
  zinst_string_map_free(&functions);
  return status;
}

/* (parent, function) -> node of the output thread being built. */
struct node_index {
  uint64_t *keys; /* parent << 32 | function, UINT64_MAX = empty */
  uint32_t *nodes;
  uint32_t mask;
  uint32_t used;
};

static uint32_t slot_of(const struct node_index *index, uint64_t key) {
  uint64_t h = key * 0x9e3779b97f4a7c15ull;
  uint32_t slot = (uint32_t)(h >> 32) & index->mask;
  while (index->keys[slot] != UINT64_MAX && index->keys[slot] != key)
    slot = (slot + 1) & index->mask;
  return slot;
}

static int node_index_reset(struct node_index *index, uint32_t expected) {
  uint32_t capacity = 64;
  while (capacity < 2 * (uint64_t)expected + 2 && capacity < (1u << 31))
    capacity *= 2;
  free(index->keys);
  free(index->nodes);
  index->keys = malloc((size_t)capacity * sizeof *index->keys);
  index->nodes = malloc((size_t)capacity * sizeof *index->nodes);
  if (!index->keys || !index->nodes)
    return -1;
  memset(index->keys, 0xff, (size_t)capacity * sizeof *index->keys);
  index->mask = capacity - 1;
  index->used = 0;
  return 0;
}

/* Ticks of input `p` at the output's frequency: ticks * to / from, rounded
 * down, UINT64_MAX when it does not fit. The 128-bit quotient is computed
 * bit by bit: a 128-bit division would need the toolchain's helper library,
 * which the runtime (this file is part of it for `%m`) does not link. */
static uint64_t convert_ticks(uint64_t ticks, uint64_t from, uint64_t to) {
  if (from == to || from == 0 || to == 0)
    return ticks;
  const unsigned __int128 product = (unsigned __int128)ticks * to;
  uint64_t remainder = (uint64_t)(product >> 64), low = (uint64_t)product, quotient = 0;
  if (remainder >= from)
    return UINT64_MAX; /* the quotient has more than 64 bits */
  for (int bit = 0; bit < 64; bit++) {
    const bool carry = remainder >> 63;
    remainder = (remainder << 1) | (low >> 63);
    low <<= 1;
    quotient <<= 1;
    if (carry || remainder >= from) {
      remainder -= from;
      quotient |= 1;
    }
  }
  return quotient;
}

/* Add the nodes of thread `t` of input `p` into the output thread whose
 * nodes start at `first`, matching by call path. */
static int add_thread_nodes(struct merged *m, const struct zinst_profile *p, uint32_t t,
                            const uint32_t *function_map, uint32_t first, struct node_index *index,
                            uint32_t *node_of) {
  const struct zinst_thread_record *thread = &p->threads[t];
  const uint64_t from = p->process.ticks_per_second, to = m->out.process.ticks_per_second;
  for (uint32_t n = thread->first_node; n < thread->first_node + thread->node_count; n++) {
    const struct zinst_node_record *in = &p->nodes[n];
    const uint32_t parent = in->parent == ZINST_NONE ? ZINST_NONE : node_of[in->parent];
    const uint32_t function = function_map[in->function];
    const uint64_t key = ((uint64_t)parent << 32) | function;
    uint32_t slot = slot_of(index, key);
    uint32_t out_index;
    if (index->keys[slot] == key) {
      out_index = index->nodes[slot];
    } else {
      if ((uint64_t)(index->used + 1) * 2 > (uint64_t)index->mask + 1) {
        /* Rebuild larger from the nodes of this output thread. */
        const uint32_t count = m->out.node_count - first;
        if (node_index_reset(index, 2 * count + 2) != 0)
          return -1;
        for (uint32_t o = first; o < m->out.node_count; o++) {
          const struct zinst_node_record *r = &m->out.nodes[o];
          const uint64_t k = ((uint64_t)r->parent << 32) | r->function;
          const uint32_t s = slot_of(index, k);
          index->keys[s] = k;
          index->nodes[s] = o;
          index->used++;
        }
        slot = slot_of(index, key);
      }
      out_index = m->out.node_count;
      const uint32_t old_capacity = m->node_capacity;
      if (!reserve((void **)&m->out.nodes, out_index, &m->node_capacity, sizeof *m->out.nodes))
        return -1;
      if (m->node_capacity != old_capacity) {
        double *a = realloc(m->inclusive_variance, (size_t)m->node_capacity * sizeof *a);
        if (a)
          m->inclusive_variance = a;
        double *b = a ? realloc(m->exclusive_variance, (size_t)m->node_capacity * sizeof *b) : NULL;
        if (b)
          m->exclusive_variance = b;
        if (!a || !b)
          return -1;
      }
      m->out.nodes[out_index] = (struct zinst_node_record){.parent = parent, .function = function};
      m->inclusive_variance[out_index] = 0;
      m->exclusive_variance[out_index] = 0;
      m->out.node_count++;
      index->keys[slot] = key;
      index->nodes[slot] = out_index;
      index->used++;
    }
    struct zinst_node_record *out = &m->out.nodes[out_index];
    out->calls += in->calls;
    out->timed_calls += in->timed_calls;
    out->inclusive_ticks += convert_ticks(in->inclusive_ticks, from, to);
    out->exclusive_ticks += convert_ticks(in->exclusive_ticks, from, to);
    const double inclusive_error = (double)convert_ticks(in->inclusive_error_ticks, from, to);
    const double exclusive_error = (double)convert_ticks(in->exclusive_error_ticks, from, to);
    m->inclusive_variance[out_index] += inclusive_error * inclusive_error;
    m->exclusive_variance[out_index] += exclusive_error * exclusive_error;
    node_of[n] = out_index;
  }
  return 0;
}

static uint64_t error_from_variance(double variance) {
  if (!(variance > 0))
    return 0;
  /* The builtin: the runtime is built with -fno-math-errno, so it is one
   * instruction there and needs no libm (instrumented programs do not link it). */
  const double error = __builtin_sqrt(variance) + 0.5;
  return error >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)error;
}

/* Group key of a thread under --merge-threads: main threads together, else by name. */
static char *thread_group(const struct zinst_profile *p, uint32_t t) {
  if (p->threads[t].flags & ZINST_THREAD_MAIN)
    return strdup("\x01main");
  return zinst_strdup_printf("name:%s", zinst_profile_string(p, p->threads[t].name));
}

/* Output threads; thread_map[k][t] receives the output thread of thread t
 * of input k, node_map[k][n] the output node of its node n. */
static int build_threads(struct merged *m, const struct zinst_profile *inputs, uint32_t input_count,
                         uint32_t **function_map, uint32_t **thread_map, uint32_t **node_map,
                         bool merge_threads) {
  struct node_index index = {0};
  struct zinst_string_map groups = {0};
  int status = zinst_string_map_init(&groups) == 0 ? 0 : -1;
  /* Output threads in order of first appearance; each gathers its inputs. */
  uint32_t group_count = 0;
  for (uint32_t k = 0; k < input_count && status == 0; k++)
    for (uint32_t t = 0; t < inputs[k].thread_count && status == 0; t++) {
      char *key = merge_threads ? thread_group(&inputs[k], t)
                                : zinst_strdup_printf("%" PRIu32 ":%" PRIu32, k, t);
      if (!key || zinst_string_map_put(&groups, key, group_count) == ZINST_NONE)
        status = -1;
      else if (zinst_string_map_get(&groups, key) == group_count)
        group_count++;
      free(key);
    }
  for (uint32_t g = 0; g < group_count && status == 0; g++) {
    const uint32_t first = m->out.node_count;
    struct zinst_thread_record record = {.first_node = first};
    uint32_t members = 0;
    status = node_index_reset(&index, 64);
    for (uint32_t k = 0; k < input_count && status == 0; k++)
      for (uint32_t t = 0; t < inputs[k].thread_count && status == 0; t++) {
        char *key = merge_threads ? thread_group(&inputs[k], t)
                                  : zinst_strdup_printf("%" PRIu32 ":%" PRIu32, k, t);
        const bool member = key && zinst_string_map_get(&groups, key) == g;
        free(key);
        if (!member)
          continue;
        thread_map[k][t] = g;
        const struct zinst_thread_record *in = &inputs[k].threads[t];
        if (members == 0) {
          record.tid = in->tid;
          record.flags = in->flags;
          record.name = add_string(m, zinst_profile_string(&inputs[k], in->name));
          if (record.name == ZINST_NONE)
            status = -1;
        } else {
          if (in->tid != record.tid)
            record.tid = 0; /* a merged record has no single tid */
          record.flags = (record.flags & in->flags & (ZINST_THREAD_EXITED | ZINST_THREAD_MAIN)) |
                         ZINST_THREAD_MERGED;
        }
        record.thread_count += in->thread_count;
        members++;
        if (status == 0)
          status = add_thread_nodes(m, &inputs[k], t, function_map[k], first, &index, node_map[k]);
      }
    if (status != 0)
      break;
    if (record.thread_count > 1)
      record.flags |= ZINST_THREAD_MERGED;
    if (record.flags & ZINST_THREAD_MERGED)
      record.tid = 0;
    record.node_count = m->out.node_count - first;
    if (!reserve((void **)&m->out.threads, m->out.thread_count, &m->thread_capacity,
                 sizeof *m->out.threads)) {
      status = -1;
      break;
    }
    m->out.threads[m->out.thread_count++] = record;
  }
  for (uint32_t n = 0; n < m->out.node_count && status == 0; n++) {
    m->out.nodes[n].inclusive_error_ticks = error_from_variance(m->inclusive_variance[n]);
    m->out.nodes[n].exclusive_error_ticks = error_from_variance(m->exclusive_variance[n]);
    /* A merged node whose every call was timed is exact: its error is 0 by rule. */
    if (m->out.nodes[n].timed_calls == m->out.nodes[n].calls)
      m->out.nodes[n].inclusive_error_ticks = 0;
  }
  free(index.keys);
  free(index.nodes);
  zinst_string_map_free(&groups);
  return status;
}

/* Output module named `name`, created without functions if new; ZINST_NONE when out of memory. */
static uint32_t module_named(struct merged *m, const char *name, uint32_t flags,
                             uint32_t *capacity) {
  for (uint32_t mod = 0; mod < m->out.module_count; mod++)
    if (strcmp(m->strings + m->out.modules[mod].name, name) == 0)
      return mod;
  const uint32_t offset = add_string(m, name);
  if (offset == ZINST_NONE ||
      !reserve((void **)&m->out.modules, m->out.module_count, capacity, sizeof *m->out.modules))
    return ZINST_NONE;
  m->out.modules[m->out.module_count] = (struct zinst_module_record){
      .name = offset, .first_function = m->out.function_count, .flags = flags};
  return m->out.module_count++;
}

/* Everything that identifies a site record, as one new string (NULL when out of memory). */
static char *site_identity(const struct zinst_profile *p, const struct zinst_site_record *site) {
  return zinst_strdup_printf(
      "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%" PRIu32 "\x1f%" PRIu32 "\x1f%" PRIu32
      "\x1f%" PRId32 "\x1f%" PRId32 "\x1f%" PRIu32,
      zinst_profile_string(p, p->modules[site->module].name), zinst_profile_string(p, site->caller),
      zinst_profile_string(p, site->caller_linkage), zinst_profile_string(p, site->callee),
      zinst_profile_string(p, site->callee_linkage), zinst_profile_string(p, site->file),
      zinst_profile_string(p, site->reason), site->line, site->column, site->flags, site->cost,
      site->threshold, site->callee_instructions);
}

struct site_count_entry {
  uint32_t thread, site;
  uint64_t count;
};

static int compare_site_counts(const void *a, const void *b) {
  const struct site_count_entry *x = a, *y = b;
  if (x->thread != y->thread)
    return x->thread < y->thread ? -1 : 1;
  return x->site < y->site ? -1 : x->site > y->site;
}

/*
 * Inline and call sites. A site record is matched across inputs by
 * everything it says plus its rank among identical records of its profile
 * (the inliner can decide about several copies of one source call), so two
 * profiles of one build map record to record. Counts are summed per
 * (output thread, output site).
 */
static int build_sites(struct merged *m, const struct zinst_profile *inputs, uint32_t input_count,
                       uint32_t **thread_map) {
  struct zinst_string_map known, seen;
  if (zinst_string_map_init(&known) != 0)
    return -1;
  uint32_t module_capacity = m->out.module_count; /* the array is exactly this full */
  uint32_t *site_map = NULL;
  struct site_count_entry *counts = NULL;
  uint32_t count_total = 0, count_capacity = 0;
  struct zinst_string_map pairs = {0};
  int status = zinst_string_map_init(&pairs);
  for (uint32_t k = 0; k < input_count && status == 0; k++) {
    const struct zinst_profile *p = &inputs[k];
    free(site_map);
    site_map = malloc(((size_t)p->site_count + 1) * sizeof *site_map);
    if (!site_map || zinst_string_map_init(&seen) != 0) {
      status = -1;
      break;
    }
    for (uint32_t i = 0; i < p->site_count && status == 0; i++) {
      const struct zinst_site_record *in = &p->sites[i];
      char *identity = site_identity(p, in);
      char *key = NULL;
      for (uint32_t rank = 0; identity && !key; rank++) {
        key = zinst_strdup_printf("%s#%" PRIu32, identity, rank);
        if (key && zinst_string_map_get(&seen, key) != ZINST_NONE) {
          free(key);
          key = NULL;
        } else if (!key) {
          break;
        }
      }
      free(identity);
      uint32_t out = key ? zinst_string_map_get(&known, key) : ZINST_NONE;
      if (key && out == ZINST_NONE) {
        out = m->out.site_count;
        const uint32_t module =
            module_named(m, zinst_profile_string(p, p->modules[in->module].name),
                         p->modules[in->module].flags, &module_capacity);
        if (module == ZINST_NONE ||
            !reserve((void **)&m->out.sites, out, &m->site_capacity, sizeof *m->out.sites)) {
          out = ZINST_NONE;
        } else {
          struct zinst_site_record *site = &m->out.sites[out];
          *site = *in;
          site->module = module;
          site->caller = add_string(m, zinst_profile_string(p, in->caller));
          site->caller_linkage = add_string(m, zinst_profile_string(p, in->caller_linkage));
          site->callee = add_string(m, zinst_profile_string(p, in->callee));
          site->callee_linkage = add_string(m, zinst_profile_string(p, in->callee_linkage));
          site->file = add_string(m, zinst_profile_string(p, in->file));
          site->reason = add_string(m, zinst_profile_string(p, in->reason));
          m->out.site_count++;
          if (site->caller == ZINST_NONE || site->caller_linkage == ZINST_NONE ||
              site->callee == ZINST_NONE || site->callee_linkage == ZINST_NONE ||
              site->file == ZINST_NONE || site->reason == ZINST_NONE ||
              zinst_string_map_put(&known, key, out) == ZINST_NONE)
            out = ZINST_NONE;
        }
      }
      if (!key || out == ZINST_NONE || zinst_string_map_put(&seen, key, out) == ZINST_NONE)
        status = -1;
      site_map[i] = out;
      free(key);
    }
    zinst_string_map_free(&seen);
    for (uint32_t c = 0; c < p->site_count_count && status == 0; c++) {
      const struct zinst_site_count_record *in = &p->site_counts[c];
      char key[32];
      const uint32_t thread = thread_map[k][in->thread], site = site_map[in->site];
      snprintf(key, sizeof key, "%" PRIu32 ":%" PRIu32, thread, site);
      uint32_t at = zinst_string_map_get(&pairs, key);
      if (at == ZINST_NONE) {
        if (!reserve((void **)&counts, count_total, &count_capacity, sizeof *counts) ||
            zinst_string_map_put(&pairs, key, count_total) == ZINST_NONE) {
          status = -1;
          break;
        }
        at = count_total++;
        counts[at] = (struct site_count_entry){thread, site, 0};
      }
      counts[at].count += in->count;
    }
  }
  if (status == 0 && count_total) {
    qsort(counts, count_total, sizeof *counts, compare_site_counts);
    m->out.site_counts = malloc((size_t)count_total * sizeof *m->out.site_counts);
    if (!m->out.site_counts)
      status = -1;
    for (uint32_t c = 0; c < count_total && status == 0; c++)
      m->out.site_counts[c] = (struct zinst_site_count_record){
          .thread = counts[c].thread, .site = counts[c].site, .count = counts[c].count};
    if (status == 0)
      m->out.site_count_count = count_total;
  }
  free(site_map);
  free(counts);
  zinst_string_map_free(&pairs);
  zinst_string_map_free(&known);
  return status;
}

/* The hook costs of the sum: per cost the smallest any calibrated input
 * measured (never more subtracted than one process measured), and as the
 * spread the largest of the inputs' spreads and of how far their costs lie
 * apart. All 0 when no input has a calibration. */
static void merge_hook_costs(const struct zinst_profile *inputs, uint32_t input_count,
                             struct zinst_process_record *out) {
  uint32_t low[3] = {UINT32_MAX, UINT32_MAX, UINT32_MAX}, high[3] = {0, 0, 0}, spread = 0;
  bool any = false;
  for (uint32_t k = 0; k < input_count; k++) {
    const struct zinst_process_record *in = &inputs[k].process;
    const uint32_t costs[3] = {in->hook_untimed_pair_ps, in->hook_timed_pair_ps,
                               in->hook_timed_inner_ps};
    if ((costs[0] | costs[1] | costs[2]) == 0)
      continue; /* not calibrated: count mode, or an older runtime */
    any = true;
    for (int c = 0; c < 3; c++) {
      low[c] = costs[c] < low[c] ? costs[c] : low[c];
      high[c] = costs[c] > high[c] ? costs[c] : high[c];
    }
    spread = in->hook_spread_ps > spread ? in->hook_spread_ps : spread;
  }
  if (!any) {
    out->hook_untimed_pair_ps = out->hook_timed_pair_ps = out->hook_timed_inner_ps = 0;
    out->hook_spread_ps = 0;
    return;
  }
  for (int c = 0; c < 3; c++)
    spread = high[c] - low[c] > spread ? high[c] - low[c] : spread;
  out->hook_untimed_pair_ps = low[0];
  out->hook_timed_pair_ps = low[1];
  out->hook_timed_inner_ps = low[2];
  out->hook_spread_ps = spread;
}

/* One output memory record being summed, keyed by (thread, node). */
static int compare_memory(const void *a, const void *b) {
  const struct zinst_memory_record *x = a, *y = b;
  if (x->thread != y->thread)
    return x->thread < y->thread ? -1 : 1;
  /* ZINST_NONE (no instrumented function) sorts last, as the format wants. */
  return x->node < y->node ? -1 : x->node > y->node;
}

/*
 * The MEMORY section of the sum, if any input has one: each input record
 * goes to its thread's and node's output (the same call path), and records
 * that land on one output context add up. Peaks add too: the inputs' peaks
 * were reached at moments unrelated to each other (other processes, other
 * threads), so their sum is an upper bound of the merged context's peak,
 * exact when the inputs' peaks coincided, and it keeps the format's rule
 * live <= peak <= allocated.
 */
static int build_memory(struct merged *m, const struct zinst_profile *inputs, uint32_t input_count,
                        uint32_t **thread_map, uint32_t **node_map) {
  uint64_t total = 0;
  for (uint32_t k = 0; k < input_count; k++) {
    m->out.has_memory |= inputs[k].has_memory;
    total += inputs[k].memory_count;
  }
  if (!m->out.has_memory || total == 0)
    return 0;
  if (total > UINT32_MAX)
    return -1;
  struct zinst_memory_record *all = malloc((size_t)total * sizeof *all);
  if (!all)
    return -1;
  uint32_t count = 0;
  for (uint32_t k = 0; k < input_count; k++)
    for (uint32_t i = 0; i < inputs[k].memory_count; i++) {
      struct zinst_memory_record r = inputs[k].memory[i];
      r.thread = thread_map[k][r.thread];
      if (r.node != ZINST_NONE)
        r.node = node_map[k][r.node];
      all[count++] = r;
    }
  qsort(all, count, sizeof *all, compare_memory);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < count; i++) {
    struct zinst_memory_record *last = kept ? &all[kept - 1] : NULL;
    if (last && last->thread == all[i].thread && last->node == all[i].node) {
      last->allocations += all[i].allocations;
      last->allocated_bytes += all[i].allocated_bytes;
      last->frees += all[i].frees;
      last->freed_bytes += all[i].freed_bytes;
      last->peak_live_bytes += all[i].peak_live_bytes;
    } else {
      all[kept++] = all[i];
    }
  }
  m->out.memory = all;
  m->out.memory_count = kept;
  return 0;
}

/* The process record of the sum; what could not be kept as is goes to `result`. */
static int build_process(struct merged *m, const struct zinst_profile *inputs, uint32_t input_count,
                         struct zinst_merge_result *result) {
  const struct zinst_process_record *first = &inputs[0].process;
  struct zinst_process_record *out = &m->out.process;
  *out = *first;
  out->exe_path = add_string(m, zinst_profile_string(&inputs[0], first->exe_path));
  out->command_line = add_string(m, zinst_profile_string(&inputs[0], first->command_line));
  out->hostname = add_string(m, zinst_profile_string(&inputs[0], first->hostname));
  out->runtime_version = add_string(m, zinst_profile_string(&inputs[0], first->runtime_version));
  if (out->exe_path == ZINST_NONE || out->command_line == ZINST_NONE ||
      out->hostname == ZINST_NONE || out->runtime_version == ZINST_NONE)
    return -1;
  out->elapsed_ticks = out->elapsed_ns = out->depth_overflow_calls = out->lost_calls = 0;
  bool frequencies_differ = false, sampling_differs = false;
  for (uint32_t k = 0; k < input_count; k++) {
    const struct zinst_process_record *in = &inputs[k].process;
    if (in->start_unix_ns < out->start_unix_ns)
      out->start_unix_ns = in->start_unix_ns;
    if (in->dump_unix_ns > out->dump_unix_ns)
      out->dump_unix_ns = in->dump_unix_ns;
    out->elapsed_ticks +=
        convert_ticks(in->elapsed_ticks, in->ticks_per_second, first->ticks_per_second);
    out->elapsed_ns += in->elapsed_ns;
    out->depth_overflow_calls += in->depth_overflow_calls;
    out->lost_calls += in->lost_calls;
    if (in->max_depth > out->max_depth)
      out->max_depth = in->max_depth;
    frequencies_differ |= in->ticks_per_second != first->ticks_per_second;
    if (in->sample_interval != first->sample_interval ||
        in->exact_calls_per_context != first->exact_calls_per_context ||
        in->sample_limit != first->sample_limit || in->sample_error != first->sample_error ||
        in->sample_outlier != first->sample_outlier)
      sampling_differs = true;
    /* The sparsest sampling any input had. */
    if (in->sample_limit != 0 && (out->sample_limit == 0 || in->sample_limit < out->sample_limit))
      out->sample_limit = in->sample_limit;
    if (in->sample_error > out->sample_error)
      out->sample_error = in->sample_error;
    /* The strongest clipping any input had. */
    if (in->sample_outlier != 0 &&
        (out->sample_outlier == 0 || in->sample_outlier < out->sample_outlier))
      out->sample_outlier = in->sample_outlier;
    if (in->sample_interval > out->sample_interval)
      out->sample_interval = in->sample_interval;
    if (in->exact_calls_per_context < out->exact_calls_per_context)
      out->exact_calls_per_context = in->exact_calls_per_context;
  }
  merge_hook_costs(inputs, input_count, out);
  result->frequencies_differ = frequencies_differ;
  result->ticks_per_second = first->ticks_per_second;
  result->sampling_differs = sampling_differs;
  return 0;
}

int zinst_merge_check(const struct zinst_profile *inputs, const char *const *paths,
                      uint32_t input_count, bool force, bool *forceable, char *err, size_t errlen) {
  *forceable = false;
  const struct zinst_profile *base = &inputs[0];
  for (uint32_t k = 0; k < input_count; k++) {
    const struct zinst_profile *p = &inputs[k];
    if (p->header.section_count > ZINST_IMAGE_SECTION_COUNT) {
      snprintf(err, errlen,
               "%s has %" PRIu32 " sections, more than the %d kinds this zinst "
               "knows: their data would be lost; use the zinst that wrote it",
               paths[k], p->header.section_count, ZINST_IMAGE_SECTION_COUNT);
      return -1;
    }
    if (p->has_memory != base->has_memory) {
      /* The sum's memory would cover only some of the runs, and its leaks
       * would look like the whole program's. */
      const uint32_t with = p->has_memory ? k : 0, without = p->has_memory ? 0 : k;
      snprintf(err, errlen,
               "%s holds memory records (ZINST_MEMORY=1) and %s none: their sum would count "
               "the memory of some runs only; merge runs made with the same ZINST_MEMORY",
               paths[with], paths[without]);
      return -1;
    }
    if (p->process.mode != base->process.mode) {
      snprintf(err, errlen,
               "%s is a %s-mode profile and %s a %s-mode one: counts and times "
               "cannot be summed together",
               paths[0], base->process.mode == ZINST_MODE_COUNT ? "count" : "time", paths[k],
               p->process.mode == ZINST_MODE_COUNT ? "count" : "time");
      return -1;
    }
  }
  if (force)
    return 0;
  *forceable = true; /* every refusal below: the same program is not certain */
  const char *base_exe = zinst_profile_string(base, base->process.exe_path);
  for (uint32_t k = 1; k < input_count; k++) {
    const struct zinst_profile *p = &inputs[k];
    const char *exe = zinst_profile_string(p, p->process.exe_path);
    if (strcmp(exe, base_exe) != 0) {
      snprintf(err, errlen, "%s profiles %s but %s profiles %s: different programs", paths[0],
               base_exe, paths[k], exe);
      return -1;
    }
  }
  /* The same executable path may hold a rebuilt program: compare function tables. */
  struct zinst_string_map known;
  if (zinst_string_map_init(&known) != 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  int status = 0;
  for (uint32_t f = 0; f < base->function_count && status == 0; f++) {
    char *key = function_key(base, f);
    if (!key || zinst_string_map_put(&known, key, f) == ZINST_NONE) {
      snprintf(err, errlen, "out of memory");
      status = -1;
    }
    free(key);
  }
  for (uint32_t k = 1; k < input_count && status == 0; k++) {
    const struct zinst_profile *p = &inputs[k];
    uint32_t matched = 0;
    for (uint32_t f = 0; f < p->function_count && status == 0; f++) {
      char *key = function_key(p, f);
      if (!key) {
        snprintf(err, errlen, "out of memory");
        status = -1;
      } else if (zinst_string_map_get(&known, key) == ZINST_NONE) {
        char *location = zinst_function_location(p, f);
        snprintf(err, errlen,
                 "%s has function %s (%s) that %s lacks: not the same build of the program",
                 paths[k], zinst_function_name(p, f), location ? location : "?", paths[0]);
        free(location);
        status = -1;
      } else {
        matched++;
      }
      free(key);
    }
    if (status == 0 && matched != base->function_count) {
      snprintf(err, errlen,
               "%s has %" PRIu32 " of the %" PRIu32 " functions of %s: not the "
               "same build of the program",
               paths[k], matched, base->function_count, paths[0]);
      status = -1;
    }
  }
  zinst_string_map_free(&known);
  return status;
}

int zinst_merge_profiles(const struct zinst_profile *inputs, uint32_t input_count,
                         bool merge_threads, void **image, size_t *size,
                         struct zinst_merge_result *result, char *err, size_t errlen) {
  *image = NULL;
  *size = 0;
  memset(result, 0, sizeof *result);
  uint32_t **function_map = calloc(input_count, sizeof *function_map);
  uint32_t **thread_map = calloc(input_count, sizeof *thread_map);
  uint32_t **node_map = calloc(input_count, sizeof *node_map);
  struct merged m = {0};
  bool ok = function_map && thread_map && node_map &&
            zinst_string_map_init(&m.string_offsets) == 0 && (m.strings = malloc(4096));
  if (ok) {
    m.strings_capacity = 4096;
    m.strings[0] = '\0';
    m.out.strings = m.strings;
    m.out.strings_size = 1;
  }
  for (uint32_t k = 0; k < input_count && ok; k++) {
    function_map[k] = malloc(((size_t)inputs[k].function_count + 1) * sizeof **function_map);
    thread_map[k] = malloc(((size_t)inputs[k].thread_count + 1) * sizeof **thread_map);
    node_map[k] = malloc(((size_t)inputs[k].node_count + 1) * sizeof **node_map);
    ok = function_map[k] && thread_map[k] && node_map[k];
  }
  ok = ok && build_process(&m, inputs, input_count, result) == 0 &&
       build_functions(&m, inputs, input_count, function_map) == 0 &&
       build_threads(&m, inputs, input_count, function_map, thread_map, node_map, merge_threads) ==
           0 &&
       build_sites(&m, inputs, input_count, thread_map) == 0 &&
       build_memory(&m, inputs, input_count, thread_map, node_map) == 0;
  int status = 0;
  if (!ok) {
    snprintf(err, errlen, "out of memory or a profile too large to merge");
    status = -1;
  } else if (zinst_profile_image_build(&m.out, image, size, err, errlen) != 0) {
    status = -1;
  } else {
    result->threads = m.out.thread_count;
    result->functions = m.out.function_count;
    result->contexts = m.out.node_count;
    for (uint32_t n = 0; n < m.out.node_count; n++)
      result->calls += m.out.nodes[n].calls;
  }
  for (uint32_t k = 0; k < input_count && function_map && thread_map && node_map; k++) {
    free(function_map[k]);
    free(thread_map[k]);
    free(node_map[k]);
  }
  free(function_map);
  free(thread_map);
  free(node_map);
  free_merged(&m);
  return status;
}
