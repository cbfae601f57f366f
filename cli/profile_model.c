/*
 * profile_model.c - merged call trees and flat profiles.
 *
 * Inputs are parsed profiles, so indices are trusted here: the reader has
 * checked that every parent precedes its child inside the same thread and
 * that every function index is valid.
 */
#include "profile_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * Index from (merged parent, function) to the merged child, so merging is
 * linear in the number of nodes however wide the tree. Open addressing,
 * power-of-two capacity, at most half full; slots hold merged node indices.
 */
struct child_index {
  uint32_t *slots; /* ZINST_NONE = empty */
  uint32_t mask;
  uint32_t used;
};

/* Tick counts come from files, which may be hostile: signed sums of them
 * saturate instead of overflowing (undefined behaviour in C). Real profiles
 * are far from the limits; a damaged one shows absurd numbers, not a crash. */
static int64_t saturating_add(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum))
    return b > 0 ? INT64_MAX : INT64_MIN;
  return sum;
}

/* a - b, saturating like saturating_add (b may be INT64_MIN). */
static int64_t saturating_subtract(int64_t a, int64_t b) {
  int64_t difference;
  if (__builtin_sub_overflow(a, b, &difference))
    return b < 0 ? INT64_MAX : INT64_MIN;
  return difference;
}

static int64_t ticks_as_signed(uint64_t ticks) {
  return ticks > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ticks;
}

static uint32_t hash_key(uint32_t parent, uint32_t function) {
  uint64_t key = ((uint64_t)parent << 32) | function;
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ULL;
  key ^= key >> 33;
  return (uint32_t)key;
}

static int child_index_init(struct child_index *index, uint32_t capacity) {
  index->slots = malloc((size_t)capacity * sizeof *index->slots);
  if (!index->slots)
    return -1;
  memset(index->slots, 0xff, (size_t)capacity * sizeof *index->slots);
  index->mask = capacity - 1;
  index->used = 0;
  return 0;
}

/* Slot where (parent, function) is or would go. */
static uint32_t *child_index_slot(const struct child_index *index,
                                  const struct zinst_tree_node *nodes, uint32_t parent,
                                  uint32_t function) {
  uint32_t at = hash_key(parent, function) & index->mask;
  for (;;) {
    uint32_t *slot = &index->slots[at];
    if (*slot == ZINST_NONE)
      return slot;
    const struct zinst_tree_node *node = &nodes[*slot];
    if (node->parent == parent && node->function == function)
      return slot;
    at = (at + 1) & index->mask;
  }
}

static int child_index_grow(struct child_index *index, const struct zinst_tree_node *nodes,
                            uint32_t node_count) {
  if ((uint64_t)(index->used + 1) * 2 <= (uint64_t)index->mask + 1)
    return 0;
  if (index->mask + 1 > UINT32_MAX / 2)
    return -1;
  struct child_index bigger;
  if (child_index_init(&bigger, (index->mask + 1) * 2) != 0)
    return -1;
  for (uint32_t n = 1; n < node_count; n++) /* every node but the root is in the index */
    *child_index_slot(&bigger, nodes, nodes[n].parent, nodes[n].function) = n;
  bigger.used = index->used;
  free(index->slots);
  *index = bigger;
  return 0;
}

static int tree_reserve(struct zinst_call_tree *tree) {
  if (tree->node_count < tree->capacity)
    return 0;
  if (tree->capacity >= ZINST_NONE / 2)
    return -1;
  uint32_t capacity = tree->capacity ? tree->capacity * 2 : 256;
  struct zinst_tree_node *nodes = realloc(tree->nodes, (size_t)capacity * sizeof *nodes);
  if (!nodes)
    return -1;
  tree->nodes = nodes;
  tree->capacity = capacity;
  return 0;
}

/* Merged child of `parent` for `function`, created empty if new; ZINST_NONE when out of memory. */
static uint32_t tree_child(struct zinst_call_tree *tree, struct child_index *index, uint32_t parent,
                           uint32_t function) {
  uint32_t *slot = child_index_slot(index, tree->nodes, parent, function);
  if (*slot != ZINST_NONE)
    return *slot;
  if (tree_reserve(tree) != 0 || child_index_grow(index, tree->nodes, tree->node_count) != 0)
    return ZINST_NONE;
  slot = child_index_slot(index, tree->nodes, parent, function); /* the index may have moved */
  const uint32_t child = tree->node_count++;
  struct zinst_tree_node *parent_node = &tree->nodes[parent];
  tree->nodes[child] = (struct zinst_tree_node){
      .function = function,
      .parent = parent,
      .first_child = ZINST_NONE,
      .next_sibling = parent_node->first_child,
      .depth = parent_node->depth + 1,
  };
  parent_node->first_child = child;
  *slot = child;
  index->used++;
  return child;
}

static int merge_thread(struct zinst_call_tree *tree, struct child_index *index,
                        const struct zinst_profile *profile,
                        const struct zinst_thread_record *thread, uint32_t *merged_of) {
  for (uint32_t n = thread->first_node; n < thread->first_node + thread->node_count; n++) {
    const struct zinst_node_record *node = &profile->nodes[n];
    const uint32_t parent = node->parent == ZINST_NONE ? ZINST_TREE_ROOT : merged_of[node->parent];
    const uint32_t merged = tree_child(tree, index, parent, node->function);
    if (merged == ZINST_NONE)
      return -1;
    struct zinst_tree_node *target = &tree->nodes[merged];
    target->calls += node->calls;
    target->timed_calls += node->timed_calls;
    target->inclusive_ticks += node->inclusive_ticks;
    target->exclusive_ticks += node->exclusive_ticks;
    /* Threads are sampled independently: variances add. */
    target->inclusive_variance +=
        (double)node->inclusive_error_ticks * (double)node->inclusive_error_ticks;
    target->exclusive_variance +=
        (double)node->exclusive_error_ticks * (double)node->exclusive_error_ticks;
    merged_of[n] = merged;
  }
  return 0;
}

void zinst_tree_memory_add(struct zinst_tree_memory *to, const struct zinst_tree_memory *from) {
  to->allocations += from->allocations;
  to->allocated_bytes += from->allocated_bytes;
  to->frees += from->frees;
  to->freed_bytes += from->freed_bytes;
  to->peak_live_bytes += from->peak_live_bytes;
  to->threads += from->threads;
  to->records += from->records;
  to->summed |= from->summed;
}

/* First MEMORY record of a thread index >= `t` (the section is sorted by
 * thread, then node). */
static uint32_t memory_lower_bound(const struct zinst_profile *profile, uint32_t t) {
  uint32_t low = 0, high = profile->memory_count;
  while (low < high) {
    const uint32_t middle = low + (high - low) / 2;
    if (profile->memory[middle].thread < t)
      low = middle + 1;
    else
      high = middle;
  }
  return low;
}

/* Add thread `t`'s MEMORY records to the nodes its nodes were merged into
 * (`merged_of`, filled by merge_thread); a record of no instrumented
 * function goes to the root. */
static void merge_memory(struct zinst_call_tree *tree, const struct zinst_profile *profile,
                         uint32_t t, const uint32_t *merged_of) {
  const struct zinst_thread_record *thread = &profile->threads[t];
  const uint32_t threads = thread->thread_count > 1 ? thread->thread_count : 1;
  for (uint32_t k = memory_lower_bound(profile, t);
       k < profile->memory_count && profile->memory[k].thread == t; k++) {
    const struct zinst_memory_record *m = &profile->memory[k];
    const struct zinst_tree_memory record = {
        .allocations = m->allocations,
        .allocated_bytes = m->allocated_bytes,
        .frees = m->frees,
        .freed_bytes = m->freed_bytes,
        .peak_live_bytes = m->peak_live_bytes,
        .threads = threads,
        .records = 1,
        .summed = threads > 1,
    };
    /* The reader checked that the node lies in the thread's range. */
    const uint32_t node = m->node == ZINST_NONE ? ZINST_TREE_ROOT : merged_of[m->node];
    zinst_tree_memory_add(&tree->nodes[node].memory, &record);
  }
}

/*
 * Derived fields of a tree whose nodes hold their own calls, ticks and
 * variances: subtree_calls, self_estimate and the totals. Children always
 * have larger indices than their parents: one backward pass sums subtrees;
 * self_estimate first collects the children's inclusive ticks, and whether
 * any is estimated. Returns -1 when out of memory (the tree is unchanged
 * but for partial sums then, and is freed by the caller).
 */
static int finish_tree(struct zinst_call_tree *tree_out) {
  struct zinst_call_tree tree = *tree_out;
  bool *estimated = calloc(tree.node_count, sizeof *estimated);
  if (!estimated)
    return -1;
  for (uint32_t n = tree.node_count; n-- > 0;) {
    struct zinst_tree_node *node = &tree.nodes[n];
    node->subtree_calls += node->calls;
    tree.total_calls += node->calls;
    if (node->inclusive_variance > 0)
      estimated[n] = true;
    const int64_t children = node->self_estimate; /* sum of the children's inclusive ticks */
    node->self_estimate = estimated[n]
                              ? saturating_add(ticks_as_signed(node->inclusive_ticks), -children)
                              : ticks_as_signed(node->exclusive_ticks);
    if (node->parent != ZINST_NONE) {
      tree.nodes[node->parent].subtree_calls += node->subtree_calls;
      tree.nodes[node->parent].self_estimate = saturating_add(
          tree.nodes[node->parent].self_estimate, ticks_as_signed(node->inclusive_ticks));
      if (node->inclusive_variance > 0)
        estimated[node->parent] = true;
    }
    if (node->parent == ZINST_TREE_ROOT) {
      tree.total_ticks += node->inclusive_ticks;
      tree.total_variance += node->inclusive_variance;
    }
  }
  free(estimated);
  *tree_out = tree;
  return 0;
}

const char *zinst_profile_instrumentation(const struct zinst_profile *profile) {
  /* Zones are modules of the runtime's, built like the process. */
  uint32_t flags = 0, seen = 0;
  for (uint32_t m = 0; m < profile->module_count; m++) {
    const struct zinst_module_record *module = &profile->modules[m];
    if (module->function_count == 1 && module->first_function < profile->function_count &&
        (profile->functions[module->first_function].flags & ZINST_FUNCTION_ZONE))
      continue;
    uint32_t own = module->flags & (ZINST_MODULE_INLINE_CODE | ZINST_MODULE_INLINE_TIMING);
    if (seen && own != flags)
      return "mixed";
    flags = own;
    seen = 1;
  }
  if (flags & ZINST_MODULE_INLINE_TIMING)
    return "inline timing";
  return (flags & ZINST_MODULE_INLINE_CODE) ? "inline tree" : "hooks";
}

bool zinst_profile_has_hook_costs(const struct zinst_profile *profile) {
  const struct zinst_process_record *p = &profile->process;
  return p->mode == ZINST_MODE_TIME &&
         (p->hook_untimed_pair_ps | p->hook_timed_pair_ps | p->hook_timed_inner_ps) != 0;
}

bool zinst_hook_correction(const struct zinst_profile *profile, enum zinst_times times) {
  return times == ZINST_TIMES_CORRECTED && zinst_profile_has_hook_costs(profile) &&
         profile->process.ticks_per_second != 0;
}

/* a * b + c, saturating at UINT64_MAX (counts come from files). */
static uint64_t saturating_multiply_add(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t product, sum;
  if (__builtin_mul_overflow(a, b, &product) || __builtin_add_overflow(product, c, &sum))
    return UINT64_MAX;
  return sum;
}

/* Ticks of `ps` picoseconds at `ticks_per_second`, rounded down. */
static uint64_t ticks_of_ps(uint64_t ps, uint64_t ticks_per_second) {
  const unsigned __int128 ticks = (unsigned __int128)ps * ticks_per_second / 1000000000000u;
  return ticks > UINT64_MAX ? UINT64_MAX : (uint64_t)ticks;
}

/*
 * Subtract the hooks' cost from every node of a merged tree whose nodes
 * hold their own counts and ticks (zinst_call_tree_build explains the
 * sums). Children have larger indices than their parents, so backward
 * passes see every child before its parent: the first sums each node's
 * descendants' pairs (picoseconds) into below[], giving hook[] in ticks;
 * the second takes from each node its own share, hook less its children's
 * hook, at most its own measured self time, and from its inclusive time
 * that and all its descendants' shares. Returns -1 when out of memory (the
 * tree is unchanged then).
 */
static int subtract_hook_cost(const struct zinst_profile *profile, struct zinst_call_tree *tree) {
  const struct zinst_process_record *p = &profile->process;
  const uint32_t count = tree->node_count;
  uint64_t *below = calloc(count, sizeof *below);        /* ps */
  uint64_t *hook = malloc((size_t)count * sizeof *hook); /* ticks */
  int64_t *children_hook = calloc(count, sizeof *children_hook);
  int64_t *children_inclusive = calloc(count, sizeof *children_inclusive);
  int64_t *removed = calloc(count, sizeof *removed); /* ticks, own share and descendants' */
  bool *estimated = calloc(count, sizeof *estimated);
  if (!below || !hook || !children_hook || !children_inclusive || !removed || !estimated) {
    free(below);
    free(hook);
    free(children_hook);
    free(children_inclusive);
    free(removed);
    free(estimated);
    return -1;
  }
  for (uint32_t n = count; n-- > 1;) {
    const struct zinst_tree_node *node = &tree->nodes[n];
    const uint64_t timed = node->timed_calls < node->calls ? node->timed_calls : node->calls;
    uint64_t pairs = saturating_multiply_add(timed, p->hook_timed_pair_ps, below[n]);
    pairs = saturating_multiply_add(node->calls - timed, p->hook_untimed_pair_ps, pairs);
    below[node->parent] = saturating_multiply_add(1, pairs, below[node->parent]);
    hook[n] = ticks_of_ps(saturating_multiply_add(node->calls, p->hook_timed_inner_ps, below[n]),
                          p->ticks_per_second);
    const uint32_t parent = node->parent;
    children_hook[parent] = saturating_add(children_hook[parent], ticks_as_signed(hook[n]));
    children_inclusive[parent] =
        saturating_add(children_inclusive[parent], ticks_as_signed(node->inclusive_ticks));
    if (node->inclusive_variance > 0)
      estimated[n] = estimated[parent] = true;
  }
  for (uint32_t n = count; n-- > 1;) {
    struct zinst_tree_node *node = &tree->nodes[n];
    /* Its own measured self time, as the flat profile takes it
     * (finish_tree): for estimated nodes inclusive less the children's,
     * unfloored. A share beyond it, which abandoned frames (longjmp: no
     * exit hook) or hooks hidden by the processor can make the calibrated
     * sum, is not taken: a caller never ends up shorter than its callees. */
    const int64_t self = estimated[n] ? saturating_subtract(ticks_as_signed(node->inclusive_ticks),
                                                            children_inclusive[n])
                                      : ticks_as_signed(node->exclusive_ticks);
    int64_t own = saturating_subtract(ticks_as_signed(hook[n]), children_hook[n]);
    if (own > 0 && own > self)
      own = self > 0 ? self : 0;
    removed[n] = saturating_add(removed[n], own);
    if (node->parent != ZINST_TREE_ROOT)
      removed[node->parent] = saturating_add(removed[node->parent], removed[n]);
    const int64_t inclusive =
        saturating_subtract(ticks_as_signed(node->inclusive_ticks), removed[n]);
    node->inclusive_ticks = inclusive > 0 ? (uint64_t)inclusive : 0;
    const int64_t exclusive = saturating_subtract(ticks_as_signed(node->exclusive_ticks), own);
    node->exclusive_ticks = exclusive > 0 ? (uint64_t)exclusive : 0;
  }
  free(below);
  free(hook);
  free(children_hook);
  free(children_inclusive);
  free(removed);
  free(estimated);
  return 0;
}

int zinst_call_tree_build(const struct zinst_profile *profile, const uint32_t *threads,
                          uint32_t thread_count, enum zinst_times times,
                          struct zinst_call_tree *out) {
  memset(out, 0, sizeof *out);
  struct zinst_call_tree tree = {0};
  struct child_index index = {0};
  uint32_t *merged_of = malloc(profile->node_count ? profile->node_count * sizeof *merged_of : 1);
  if (!merged_of || tree_reserve(&tree) != 0 || child_index_init(&index, 1024) != 0)
    goto out_of_memory;
  tree.nodes[0] = (struct zinst_tree_node){
      .function = ZINST_NONE,
      .parent = ZINST_NONE,
      .first_child = ZINST_NONE,
      .next_sibling = ZINST_NONE,
  };
  tree.node_count = 1;

  const uint32_t count = threads ? thread_count : profile->thread_count;
  for (uint32_t k = 0; k < count; k++) {
    const uint32_t t = threads ? threads[k] : k;
    if (merge_thread(&tree, &index, profile, &profile->threads[t], merged_of) != 0)
      goto out_of_memory;
    merge_memory(&tree, profile, t, merged_of);
  }
  if (zinst_hook_correction(profile, times) && subtract_hook_cost(profile, &tree) != 0)
    goto out_of_memory;
  if (finish_tree(&tree) != 0)
    goto out_of_memory;
  free(merged_of);
  free(index.slots);
  *out = tree;
  return 0;

out_of_memory:
  free(merged_of);
  free(index.slots);
  free(tree.nodes);
  return -1;
}

void zinst_call_tree_free(struct zinst_call_tree *tree) {
  if (!tree)
    return;
  free(tree->nodes);
  memset(tree, 0, sizeof *tree);
}

bool zinst_is_library_function(const struct zinst_profile *profile, uint32_t function) {
  return function < profile->function_count &&
         (profile->functions[function].flags & ZINST_FUNCTION_LIBRARY) != 0;
}

int zinst_call_tree_group_library(const struct zinst_profile *profile,
                                  const struct zinst_call_tree *tree, struct zinst_call_tree *out,
                                  uint32_t *node_map) {
  memset(out, 0, sizeof *out);
  const uint32_t group = profile->function_count; /* the pseudo-function "[library]" */
  struct zinst_call_tree grouped = {0};
  struct child_index index = {0};
  /* grouped_of[n]: the grouped node that tree node n went into. */
  uint32_t *grouped_of = malloc((size_t)tree->node_count * sizeof *grouped_of);
  if (!grouped_of || tree_reserve(&grouped) != 0 || child_index_init(&index, 1024) != 0)
    goto out_of_memory;
  grouped.nodes[0] = tree->nodes[ZINST_TREE_ROOT];
  grouped.nodes[0].first_child = ZINST_NONE;
  grouped.nodes[0].subtree_calls = 0;
  grouped.nodes[0].self_estimate = 0;
  grouped.node_count = 1;
  grouped_of[ZINST_TREE_ROOT] = ZINST_TREE_ROOT;
  /* Parents precede children, so a node's parent is already placed. */
  for (uint32_t n = 1; n < tree->node_count; n++) {
    const struct zinst_tree_node *node = &tree->nodes[n];
    const bool library = zinst_is_library_function(profile, node->function);
    const uint32_t parent = grouped_of[node->parent];
    const bool inside_run = library && grouped.nodes[parent].function == group;
    uint32_t target = parent;
    if (!inside_run) {
      target = tree_child(&grouped, &index, parent, library ? group : node->function);
      if (target == ZINST_NONE)
        goto out_of_memory;
    }
    struct zinst_tree_node *to = &grouped.nodes[target];
    /* A run of library frames is entered through its first frame: only
     * that frame's calls and inclusive time are the run's; every frame's
     * exclusive time is the run's self time. */
    if (!inside_run) {
      to->calls += node->calls;
      to->timed_calls += node->timed_calls;
      to->inclusive_ticks += node->inclusive_ticks;
      to->inclusive_variance += node->inclusive_variance;
    }
    to->exclusive_ticks += node->exclusive_ticks;
    if (!library)
      to->exclusive_variance += node->exclusive_variance;
    /* Memory is each frame's own, like its exclusive time: the run's is the sum. */
    zinst_tree_memory_add(&to->memory, &node->memory);
    grouped_of[n] = target;
  }
  /* A run's self time is its inclusive time minus its user callees': its
   * error combines exactly those errors (as the writer's exclusive error does). */
  for (uint32_t n = grouped.node_count; n-- > 1;) {
    struct zinst_tree_node *node = &grouped.nodes[n];
    if (node->function == group)
      node->exclusive_variance += node->inclusive_variance;
    if (grouped.nodes[node->parent].function == group)
      grouped.nodes[node->parent].exclusive_variance += node->inclusive_variance;
  }
  if (finish_tree(&grouped) != 0)
    goto out_of_memory;
  if (node_map)
    memcpy(node_map, grouped_of, (size_t)tree->node_count * sizeof *node_map);
  free(grouped_of);
  free(index.slots);
  *out = grouped;
  return 0;

out_of_memory:
  free(grouped_of);
  free(index.slots);
  free(grouped.nodes);
  return -1;
}

int zinst_flat_profile_build(const struct zinst_call_tree *tree, uint32_t function_count,
                             struct zinst_flat_profile *out) {
  memset(out, 0, sizeof *out);
  struct zinst_flat_entry *entries = calloc(function_count ? function_count : 1, sizeof *entries);
  uint32_t *active = calloc(function_count ? function_count : 1, sizeof *active);
  /* Depth-first walk with an explicit stack: trees can be deeper than the C stack. */
  uint32_t *stack = malloc((size_t)tree->node_count * sizeof *stack);
  uint32_t *cursor = malloc((size_t)tree->node_count * sizeof *cursor);
  int64_t *self_sum = calloc(function_count ? function_count : 1, sizeof *self_sum);
  if (!entries || !active || !stack || !cursor || !self_sum) {
    free(entries);
    free(active);
    free(stack);
    free(cursor);
    free(self_sum);
    return -1;
  }
  for (uint32_t f = 0; f < function_count; f++)
    entries[f].function = f;

  uint32_t depth = 0;
  stack[depth] = ZINST_TREE_ROOT;
  cursor[depth] = tree->nodes[ZINST_TREE_ROOT].first_child;
  depth++;
  while (depth > 0) {
    const uint32_t top = depth - 1;
    const uint32_t child = cursor[top];
    if (child == ZINST_NONE) {
      if (stack[top] != ZINST_TREE_ROOT)
        active[tree->nodes[stack[top]].function]--;
      depth--;
      continue;
    }
    const struct zinst_tree_node *node = &tree->nodes[child];
    cursor[top] = node->next_sibling;
    struct zinst_flat_entry *entry = &entries[node->function];
    entry->calls += node->calls;
    entry->timed_calls += node->timed_calls;
    self_sum[node->function] = saturating_add(self_sum[node->function], node->self_estimate);
    entry->self_variance += node->exclusive_variance;
    if (active[node->function] == 0) { /* outermost activation: recursion counted once */
      entry->total_ticks += node->inclusive_ticks;
      entry->total_variance += node->inclusive_variance;
      entry->total_untimed_calls += node->calls - node->timed_calls;
    }
    active[node->function]++;
    stack[depth] = child;
    cursor[depth] = node->first_child;
    depth++;
  }
  /* Floored once per function: an estimate's noise may make single nodes negative. */
  for (uint32_t f = 0; f < function_count; f++)
    entries[f].self_ticks = self_sum[f] > 0 ? (uint64_t)self_sum[f] : 0;
  free(active);
  free(stack);
  free(cursor);
  free(self_sum);
  out->entries = entries;
  out->count = function_count;
  out->total_ticks = tree->total_ticks;
  out->total_variance = tree->total_variance;
  return 0;
}

void zinst_flat_profile_free(struct zinst_flat_profile *flat) {
  if (!flat)
    return;
  free(flat->entries);
  memset(flat, 0, sizeof *flat);
}

uint64_t zinst_error_ticks(double variance) {
  if (!(variance > 0))
    return 0;
  const double error = sqrt(variance);
  return error >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)(error + 0.5);
}

bool zinst_ticks_to_ns(uint64_t ticks, uint64_t ticks_per_second, uint64_t *ns) {
  if (ticks_per_second == 0)
    return false;
  /* 128-bit product: ticks * 1e9 overflows 64 bits after ~18 s of 1 GHz ticks. */
  const unsigned __int128 wide = (unsigned __int128)ticks * 1000000000u / ticks_per_second;
  *ns = wide > UINT64_MAX ? UINT64_MAX : (uint64_t)wide;
  return true;
}

uint64_t *zinst_site_counts_sum(const struct zinst_profile *profile, const uint32_t *threads,
                                uint32_t thread_count) {
  uint64_t *counts = calloc(profile->site_count ? profile->site_count : 1, sizeof *counts);
  bool *selected = calloc(profile->thread_count ? profile->thread_count : 1, sizeof *selected);
  if (!counts || !selected) {
    free(counts);
    free(selected);
    return NULL;
  }
  for (uint32_t t = 0; t < thread_count; t++)
    if (threads[t] < profile->thread_count)
      selected[threads[t]] = true;
  for (uint32_t i = 0; i < profile->site_count_count; i++) {
    const struct zinst_site_count_record *c = &profile->site_counts[i];
    if (selected[c->thread]) /* the reader checked both indices */
      counts[c->site] += c->count;
  }
  free(selected);
  return counts;
}

/* A function's linkage name and index, sorted by name for the lookup below. */
struct named_function {
  const char *linkage_name;
  uint32_t function;
};

static int compare_named_functions(const void *a, const void *b) {
  const struct named_function *fa = a, *fb = b;
  return strcmp(fa->linkage_name, fb->linkage_name);
}

/*
 * The function among `names` (sorted, `count` entries) whose linkage name
 * is `linkage`, ZINST_NONE if none. Equal linkage names (static functions
 * of several modules) are adjacent: the one of `module` wins (a static
 * function called or inlined in a module lives in it), else the first.
 */
static uint32_t find_by_linkage(const struct zinst_profile *profile,
                                const struct named_function *names, uint32_t count,
                                const char *linkage, uint32_t module) {
  struct named_function key = {linkage, 0};
  const struct named_function *hit =
      bsearch(&key, names, count, sizeof *names, compare_named_functions);
  if (!hit)
    return ZINST_NONE;
  while (hit > names && strcmp(hit[-1].linkage_name, linkage) == 0)
    hit--;
  for (const struct named_function *same = hit;
       same < names + count && strcmp(same->linkage_name, linkage) == 0; same++)
    if (profile->functions[same->function].module == module)
      return same->function;
  return hit->function;
}

/* The functions sorted by linkage name: a new array owned by the caller,
 * NULL when out of memory. */
static struct named_function *sorted_names(const struct zinst_profile *profile) {
  const uint32_t count = profile->function_count;
  struct named_function *names = malloc((count ? count : 1) * sizeof *names);
  if (!names)
    return NULL;
  for (uint32_t f = 0; f < count; f++)
    names[f] = (struct named_function){
        zinst_profile_string(profile, profile->functions[f].linkage_name), f};
  qsort(names, count, sizeof *names, compare_named_functions);
  return names;
}

uint64_t *zinst_inlined_executions(const struct zinst_profile *profile,
                                   const uint64_t *site_counts) {
  const uint32_t count = profile->function_count;
  uint64_t *inlined = calloc(count ? count : 1, sizeof *inlined);
  struct named_function *names = sorted_names(profile);
  if (!inlined || !names) {
    free(inlined);
    free(names);
    return NULL;
  }
  for (uint32_t s = 0; s < profile->site_count; s++) {
    const struct zinst_site_record *site = &profile->sites[s];
    if (!(site->flags & ZINST_SITE_INLINED) || site_counts[s] == 0)
      continue;
    const uint32_t callee = find_by_linkage(
        profile, names, count, zinst_profile_string(profile, site->callee_linkage), site->module);
    if (callee != ZINST_NONE) /* else inlined everywhere: no record of its own */
      inlined[callee] += site_counts[s];
  }
  free(names);
  return inlined;
}

uint32_t *zinst_site_callers(const struct zinst_profile *profile) {
  uint32_t *callers = malloc((profile->site_count ? profile->site_count : 1) * sizeof *callers);
  struct named_function *names = sorted_names(profile);
  if (!callers || !names) {
    free(callers);
    free(names);
    return NULL;
  }
  for (uint32_t s = 0; s < profile->site_count; s++)
    callers[s] = find_by_linkage(profile, names, profile->function_count,
                                 zinst_profile_string(profile, profile->sites[s].caller_linkage),
                                 profile->sites[s].module);
  free(names);
  return callers;
}

/* ---- count-only functions ---- */

bool zinst_is_count_only(const struct zinst_profile *profile, const char *linkage) {
  for (uint32_t s = 0; s < profile->site_count; s++)
    if ((profile->sites[s].flags & ZINST_SITE_ENTRY) &&
        strcmp(zinst_profile_string(profile, profile->sites[s].callee_linkage), linkage) == 0)
      return true;
  return false;
}

int zinst_count_only_functions(const struct zinst_profile *profile, const uint64_t *site_counts,
                               struct zinst_count_only_function **list_out, uint32_t *count_out) {
  *list_out = NULL;
  *count_out = 0;
  uint32_t count = 0;
  for (uint32_t s = 0; s < profile->site_count; s++)
    count += (profile->sites[s].flags & ZINST_SITE_ENTRY) != 0;
  struct zinst_count_only_function *list = calloc(count ? count : 1, sizeof *list);
  if (!list)
    return -1;
  count = 0;
  for (uint32_t s = 0; s < profile->site_count; s++) {
    const struct zinst_site_record *site = &profile->sites[s];
    if (site->flags & ZINST_SITE_ENTRY)
      list[count++] = (struct zinst_count_only_function){
          .site = s,
          .calls = site_counts[s],
          .library = (site->flags & ZINST_SITE_CALLEE_LIBRARY) != 0,
      };
  }
  /* Inlined copies of their bodies: few count-only functions, a plain scan. */
  for (uint32_t s = 0; s < profile->site_count && count > 0; s++) {
    const struct zinst_site_record *site = &profile->sites[s];
    if (!(site->flags & ZINST_SITE_INLINED) || site_counts[s] == 0)
      continue;
    const char *linkage = zinst_profile_string(profile, site->callee_linkage);
    uint32_t chosen = ZINST_NONE;
    for (uint32_t k = 0; k < count; k++) {
      const struct zinst_site_record *entry = &profile->sites[list[k].site];
      if (strcmp(zinst_profile_string(profile, entry->callee_linkage), linkage) != 0)
        continue;
      if (chosen == ZINST_NONE || entry->module == site->module)
        chosen = k;
      if (entry->module == site->module)
        break;
    }
    if (chosen != ZINST_NONE)
      list[chosen].inlined += site_counts[s];
  }
  *list_out = list;
  *count_out = count;
  return 0;
}

int zinst_count_only_totals(const struct zinst_profile *profile, const uint32_t *threads,
                            uint32_t thread_count, uint32_t *functions, uint64_t *calls) {
  *functions = 0;
  *calls = 0;
  uint64_t *site_counts = zinst_site_counts_sum(profile, threads, thread_count);
  if (!site_counts)
    return -1;
  for (uint32_t s = 0; s < profile->site_count; s++)
    if ((profile->sites[s].flags & ZINST_SITE_ENTRY) && site_counts[s] > 0) {
      ++*functions;
      *calls += site_counts[s];
    }
  free(site_counts);
  return 0;
}

/* ---- inlined code placed on the nodes of a call tree ---- */

void zinst_inlined_lines_free(struct zinst_inlined_lines *inlined) {
  if (!inlined)
    return;
  free(inlined->lines);
  free(inlined->start);
  memset(inlined, 0, sizeof *inlined);
}

static int add_inlined(struct zinst_inlined_lines *inlined, struct zinst_inlined_line line) {
  if (inlined->count == inlined->capacity) {
    if (inlined->capacity > UINT32_MAX / 4)
      return -1;
    const uint32_t capacity = inlined->capacity ? inlined->capacity * 2 : 64;
    struct zinst_inlined_line *lines = realloc(inlined->lines, (size_t)capacity * sizeof *lines);
    if (!lines)
      return -1;
    inlined->lines = lines;
    inlined->capacity = capacity;
  }
  inlined->lines[inlined->count++] = line;
  return 0;
}

/* For qsort: the profile whose sites the lines name (qsort has no context argument). */
static const struct zinst_profile *sorting_profile;

/* Order that makes the copies of one source site in one node adjacent. */
static int compare_by_site(const void *a, const void *b) {
  const struct zinst_inlined_line *x = a, *y = b;
  if (x->node != y->node)
    return x->node < y->node ? -1 : 1;
  const struct zinst_site_record *sx = &sorting_profile->sites[x->site],
                                 *sy = &sorting_profile->sites[y->site];
  int order = strcmp(zinst_profile_string(sorting_profile, sx->callee_linkage),
                     zinst_profile_string(sorting_profile, sy->callee_linkage));
  if (order == 0)
    order = strcmp(zinst_profile_string(sorting_profile, sx->file),
                   zinst_profile_string(sorting_profile, sy->file));
  if (order == 0 && sx->line != sy->line)
    order = sx->line < sy->line ? -1 : 1;
  if (order == 0 && sx->column != sy->column)
    order = sx->column < sy->column ? -1 : 1;
  if (order == 0 && x->site != y->site)
    order = x->site < y->site ? -1 : 1;
  return order;
}

static bool same_source_site(const struct zinst_inlined_line *x,
                             const struct zinst_inlined_line *y) {
  const struct zinst_site_record *sx = &sorting_profile->sites[x->site],
                                 *sy = &sorting_profile->sites[y->site];
  return x->node == y->node && sx->line == sy->line && sx->column == sy->column &&
         strcmp(zinst_profile_string(sorting_profile, sx->callee_linkage),
                zinst_profile_string(sorting_profile, sy->callee_linkage)) == 0 &&
         strcmp(zinst_profile_string(sorting_profile, sx->file),
                zinst_profile_string(sorting_profile, sy->file)) == 0;
}

/* Display order under a node: most executions first. */
static int compare_by_executions(const void *a, const void *b) {
  const struct zinst_inlined_line *x = a, *y = b;
  if (x->node != y->node)
    return x->node < y->node ? -1 : 1;
  if (x->executions != y->executions)
    return x->executions > y->executions ? -1 : 1;
  return compare_by_site(a, b);
}

/* The ENTRY records (count-only functions): a new array owned by the
 * caller, *count entries; NULL when out of memory. */
static uint32_t *entry_sites(const struct zinst_profile *profile, uint32_t *count) {
  uint32_t *entries = malloc((profile->site_count ? profile->site_count : 1) * sizeof *entries);
  *count = 0;
  if (entries)
    for (uint32_t s = 0; s < profile->site_count; s++)
      if (profile->sites[s].flags & ZINST_SITE_ENTRY)
        entries[(*count)++] = s;
  return entries;
}

/* Is the string at `linkage` the linkage name of one of the ENTRY records `entries`? */
static bool is_entry_linkage(const struct zinst_profile *profile, const uint32_t *entries,
                             uint32_t count, uint32_t linkage) {
  const char *name = zinst_profile_string(profile, linkage);
  for (uint32_t k = 0; k < count; k++)
    if (strcmp(zinst_profile_string(profile, profile->sites[entries[k]].callee_linkage), name) == 0)
      return true;
  return false;
}

/* See profile_model.h. The shares are differences of rounded-down
 * cumulative proportions, so they add up to the count exactly. */
int zinst_inlined_lines_build(const struct zinst_profile *profile, const uint32_t *threads,
                              uint32_t thread_count, const struct zinst_call_tree *tree,
                              const uint32_t *node_map, uint32_t shown_count,
                              struct zinst_inlined_lines *out) {
  memset(out, 0, sizeof *out);
  const uint32_t functions = profile->function_count;
  uint64_t *site_counts = zinst_site_counts_sum(profile, threads, thread_count);
  uint32_t *callers = zinst_site_callers(profile);
  /* The contexts of each function: contexts[first[f] .. first[f + 1]). */
  uint32_t *first = calloc((size_t)functions + 2, sizeof *first);
  uint32_t *contexts = malloc((size_t)tree->node_count * sizeof *contexts);
  uint64_t *calls_of = calloc((size_t)functions + 1, sizeof *calls_of);
  out->start = calloc((size_t)shown_count + 1, sizeof *out->start);
  uint32_t entry_count = 0;
  uint32_t *entries = entry_sites(profile, &entry_count);
  int status =
      site_counts && callers && first && contexts && calls_of && out->start && entries ? 0 : -1;
  if (status == 0) {
    for (uint32_t n = 1; n < tree->node_count; n++) {
      first[tree->nodes[n].function + 2]++;
      calls_of[tree->nodes[n].function] += tree->nodes[n].calls;
    }
    for (uint32_t f = 0; f < functions; f++)
      first[f + 2] += first[f + 1];
    for (uint32_t n = 1; n < tree->node_count; n++) /* first[f + 1] is f's next free slot */
      contexts[first[tree->nodes[n].function + 1]++] = n;
  }
  for (uint32_t s = 0; s < profile->site_count && status == 0; s++) {
    const uint64_t count = site_counts[s];
    const uint32_t caller = callers[s];
    if (!(profile->sites[s].flags & ZINST_SITE_INLINED) || count == 0)
      continue;
    if (caller == ZINST_NONE && entry_count > 0 &&
        is_entry_linkage(profile, entries, entry_count, profile->sites[s].caller_linkage)) {
      out->count_only_executions += count;
      continue;
    }
    if (caller == ZINST_NONE || first[caller] == first[caller + 1]) {
      out->unplaced_executions += count;
      continue;
    }
    if (node_map && zinst_is_library_function(profile, caller)) {
      out->library_executions += count;
      continue;
    }
    const uint32_t begin = first[caller], end = first[caller + 1];
    const uint64_t all_calls = calls_of[caller];
    uint64_t calls_before = 0, given = 0;
    for (uint32_t k = begin; k < end && status == 0; k++) {
      const uint32_t node = contexts[k];
      calls_before += tree->nodes[node].calls;
      /* No calls at all (possible after zinst_reset()): all to the first context. */
      const uint64_t upto =
          all_calls == 0 ? count : (uint64_t)((unsigned __int128)count * calls_before / all_calls);
      const uint64_t share = upto - given;
      given = upto;
      if (share == 0)
        continue;
      status = add_inlined(out, (struct zinst_inlined_line){node_map ? node_map[node] : node, s,
                                                            share, end - begin > 1});
    }
  }
  if (status == 0 && out->count > 0) {
    sorting_profile = profile;
    qsort(out->lines, out->count, sizeof *out->lines, compare_by_site);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < out->count; i++) {
      if (kept > 0 && same_source_site(&out->lines[kept - 1], &out->lines[i])) {
        out->lines[kept - 1].executions += out->lines[i].executions;
        out->lines[kept - 1].estimated |= out->lines[i].estimated;
      } else {
        out->lines[kept++] = out->lines[i];
      }
    }
    out->count = kept;
    qsort(out->lines, out->count, sizeof *out->lines, compare_by_executions);
    for (uint32_t i = 0; i < out->count; i++)
      out->start[out->lines[i].node + 1]++;
  }
  if (status == 0)
    for (uint32_t n = 0; n < shown_count; n++)
      out->start[n + 1] += out->start[n];
  free(site_counts);
  free(callers);
  free(first);
  free(contexts);
  free(calls_of);
  free(entries);
  if (status != 0)
    zinst_inlined_lines_free(out);
  return status;
}

bool zinst_inlined_same_callee(const struct zinst_profile *profile,
                               const struct zinst_inlined_line *a,
                               const struct zinst_inlined_line *b) {
  return strcmp(zinst_profile_string(profile, profile->sites[a->site].callee_linkage),
                zinst_profile_string(profile, profile->sites[b->site].callee_linkage)) == 0;
}

uint64_t zinst_inlined_callee_executions(const struct zinst_profile *profile,
                                         const struct zinst_inlined_lines *inlined, uint32_t node,
                                         uint32_t k, bool *estimated) {
  const uint32_t begin = inlined->start[node], end = inlined->start[node + 1];
  for (uint32_t m = begin; m < k; m++)
    if (zinst_inlined_same_callee(profile, &inlined->lines[m], &inlined->lines[k]))
      return 0; /* counted with its first line */
  uint64_t executions = 0;
  bool shared = false;
  for (uint32_t m = k; m < end; m++)
    if (zinst_inlined_same_callee(profile, &inlined->lines[m], &inlined->lines[k])) {
      executions += inlined->lines[m].executions;
      shared |= inlined->lines[m].estimated;
    }
  if (estimated)
    *estimated = shared;
  return executions;
}

int zinst_shown_tree_build(const struct zinst_profile *profile, const uint32_t *threads,
                           uint32_t thread_count, bool group_library, enum zinst_times times,
                           struct zinst_shown_tree *out) {
  memset(out, 0, sizeof *out);
  struct zinst_call_tree built;
  if (zinst_call_tree_build(profile, threads, thread_count, times, &built) != 0)
    return -1;
  uint32_t *node_map = NULL;
  int status = 0;
  if (group_library) {
    node_map = malloc((size_t)built.node_count * sizeof *node_map);
    status = node_map ? zinst_call_tree_group_library(profile, &built, &out->tree, node_map) : -1;
  }
  const uint32_t shown_count = group_library ? out->tree.node_count : built.node_count;
  /* The sites are placed through the tree as built: node_map leads to the shown one. */
  if (status == 0)
    status = zinst_inlined_lines_build(profile, threads, thread_count, &built, node_map,
                                       shown_count, &out->inlined);
  free(node_map);
  if (status == 0 && !group_library) {
    out->tree = built;
    return 0;
  }
  zinst_call_tree_free(&built);
  if (status != 0)
    zinst_shown_tree_free(out);
  return status;
}

void zinst_shown_tree_free(struct zinst_shown_tree *shown) {
  if (!shown)
    return;
  zinst_call_tree_free(&shown->tree);
  zinst_inlined_lines_free(&shown->inlined);
}
