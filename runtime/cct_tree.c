/*
 * cct_tree.c - heap calling-context trees: building, merging (cold path).
 */
#include "cct_tree.h"

#include "zinst_format.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h" /* after the system headers: its macros route malloc & co */

int zinst_tree_init(struct zinst_tree *tree, uint32_t capacity_hint) {
  tree->count = 0;
  tree->capacity = 0;
  tree->nodes = NULL;
  uint32_t capacity = capacity_hint < 16 ? 16 : capacity_hint;
  tree->nodes = malloc((size_t)capacity * sizeof *tree->nodes);
  if (!tree->nodes) {
    errno = ENOMEM;
    return -1;
  }
  tree->capacity = capacity;
  tree->nodes[0] = (struct zinst_tree_node){.parent = ZINST_NONE, .function = 0};
  tree->count = 1;
  return 0;
}

void zinst_tree_free(struct zinst_tree *tree) {
  free(tree->nodes);
  tree->nodes = NULL;
  tree->count = 0;
  tree->capacity = 0;
}

uint32_t zinst_tree_append(struct zinst_tree *tree, uint32_t parent, uint32_t function,
                           uint64_t calls, uint64_t inclusive_ticks) {
  if (tree->count == tree->capacity) {
    if (tree->capacity >= UINT32_MAX / 2) {
      errno = ENOMEM;
      return ZINST_NONE;
    }
    uint32_t capacity = tree->capacity ? tree->capacity * 2 : 16;
    struct zinst_tree_node *nodes = realloc(tree->nodes, (size_t)capacity * sizeof *nodes);
    if (!nodes) {
      errno = ENOMEM;
      return ZINST_NONE;
    }
    tree->nodes = nodes;
    tree->capacity = capacity;
  }
  uint32_t index = tree->count++;
  tree->nodes[index] = (struct zinst_tree_node){
      .parent = parent,
      .function = function,
      .calls = calls,
      .inclusive_ticks = inclusive_ticks,
      .exact_calls = calls,
  };
  return index;
}

/* Open-addressing index of a tree's (parent, function) pairs, used while
 * merging; slots hold node index + 1 so that 0 means empty. */
struct child_index {
  uint32_t *slots;
  uint32_t mask;
  uint32_t used;
};

static uint32_t child_slot_hash(uint32_t parent, uint32_t function, uint32_t mask) {
  uint64_t key = ((uint64_t)parent << 32) | function;
  return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static void child_index_put(struct child_index *index, const struct zinst_tree *tree,
                            uint32_t node) {
  uint32_t slot =
      child_slot_hash(tree->nodes[node].parent, tree->nodes[node].function, index->mask);
  while (index->slots[slot])
    slot = (slot + 1) & index->mask;
  index->slots[slot] = node + 1;
  index->used++;
}

/* (Re)build `index` over all of `tree` with room for at least twice its
 * nodes. Frees the previous slot array. Returns 0 or -1 on ENOMEM. */
static int child_index_build(struct child_index *index, const struct zinst_tree *tree,
                             uint32_t min_nodes) {
  uint32_t size = 64;
  while (size < 2 * (uint64_t)min_nodes)
    size *= 2;
  uint32_t *slots = calloc(size, sizeof *slots);
  if (!slots)
    return -1;
  free(index->slots);
  index->slots = slots;
  index->mask = size - 1;
  index->used = 0;
  for (uint32_t node = 1; node < tree->count; node++)
    child_index_put(index, tree, node);
  return 0;
}

static uint32_t child_index_find(const struct child_index *index, const struct zinst_tree *tree,
                                 uint32_t parent, uint32_t function) {
  uint32_t slot = child_slot_hash(parent, function, index->mask);
  for (; index->slots[slot]; slot = (slot + 1) & index->mask) {
    const struct zinst_tree_node *node = &tree->nodes[index->slots[slot] - 1];
    if (node->parent == parent && node->function == function)
      return index->slots[slot] - 1;
  }
  return ZINST_NONE;
}

int zinst_tree_merge(struct zinst_tree *target, const struct zinst_tree *source) {
  if (source->count == 0)
    return 0;
  if (target->count == 0 && zinst_tree_init(target, source->count) != 0)
    return -1;
  struct child_index index = {0};
  uint32_t *target_of = malloc((size_t)source->count * sizeof *target_of);
  if (!target_of || child_index_build(&index, target, target->count + source->count) != 0) {
    free(target_of);
    errno = ENOMEM;
    return -1;
  }
  int status = 0;
  target_of[0] = 0; /* root to root */
  for (uint32_t node = 1; node < source->count; node++) {
    const struct zinst_tree_node *from = &source->nodes[node];
    uint32_t parent = target_of[from->parent];
    uint32_t match = child_index_find(&index, target, parent, from->function);
    if (match == ZINST_NONE) {
      match = zinst_tree_append(target, parent, from->function, 0, 0);
      if (match == ZINST_NONE) {
        status = -1;
        break;
      }
      child_index_put(&index, target, match);
    }
    zinst_tree_node_add(&target->nodes[match], from);
    target_of[node] = match;
  }
  free(index.slots);
  free(target_of);
  if (status)
    errno = ENOMEM;
  return status;
}

void zinst_tree_clear_counts(struct zinst_tree *tree) {
  for (uint32_t node = 0; node < tree->count; node++) {
    struct zinst_tree_node *n = &tree->nodes[node];
    *n = (struct zinst_tree_node){.parent = n->parent, .function = n->function};
  }
}

/* `node`'s sampled sums as they would be after its interval doubled
 * `shift` more times (each sample's weight halved as often), and its
 * inclusive_ticks with them. */
static void thin_sampled(struct zinst_tree_node *node, uint32_t shift) {
  if (shift == 0)
    return;
  if (shift > 63)
    shift = 63;
  uint64_t ticks = node->sampled_ticks >> shift;
  node->inclusive_ticks -= node->sampled_ticks - ticks;
  node->sampled_ticks = ticks;
  node->samples_thinned += node->sampled_calls - (node->sampled_calls >> shift);
  node->sampled_calls >>= shift;
  node->sampled_sq /= (double)(UINT64_C(1) << shift);
  node->sample_shift += shift;
}

void zinst_tree_node_add(struct zinst_tree_node *target, const struct zinst_tree_node *source) {
  struct zinst_tree_node added = *source;
  if (target->sample_shift < added.sample_shift)
    thin_sampled(target, added.sample_shift - target->sample_shift);
  thin_sampled(&added, target->sample_shift - added.sample_shift);
  target->calls += added.calls;
  target->inclusive_ticks += added.inclusive_ticks;
  target->exact_calls += added.exact_calls;
  target->sampled_calls += added.sampled_calls;
  target->sampled_ticks += added.sampled_ticks;
  target->sampled_sq += added.sampled_sq;
  target->samples_thinned += added.samples_thinned;
}

static void subtract_floor(uint64_t *value, uint64_t baseline) {
  *value = *value > baseline ? *value - baseline : 0;
}

void zinst_tree_node_subtract(struct zinst_tree_node *target,
                              const struct zinst_tree_node *baseline_node) {
  /* The baseline's samples are in the target's sums, thinned as often as
   * the context's interval doubled since. */
  struct zinst_tree_node thinned = *baseline_node;
  const struct zinst_tree_node *baseline = &thinned;
  if (thinned.sample_shift < target->sample_shift)
    thin_sampled(&thinned, target->sample_shift - thinned.sample_shift);
  subtract_floor(&target->calls, baseline->calls);
  subtract_floor(&target->inclusive_ticks, baseline->inclusive_ticks);
  subtract_floor(&target->exact_calls, baseline->exact_calls);
  subtract_floor(&target->sampled_calls, baseline->sampled_calls);
  subtract_floor(&target->sampled_ticks, baseline->sampled_ticks);
  subtract_floor(&target->samples_thinned, baseline->samples_thinned);
  /* Keep sampled_ticks a part of inclusive_ticks whatever the flooring did. */
  if (target->sampled_ticks > target->inclusive_ticks)
    target->sampled_ticks = target->inclusive_ticks;
  target->sampled_sq =
      target->sampled_sq > baseline->sampled_sq ? target->sampled_sq - baseline->sampled_sq : 0;
}
