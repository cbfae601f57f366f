/*
 * cct_tree.h - a calling-context tree in ordinary heap memory.
 *
 * The form in which trees leave a thread: snapshots for a dump, exited
 * threads kept for the next dump, and the tree that sums the exited threads
 * beyond ZINST_MAX_THREADS. Only cold paths build or touch these.
 *
 * Node 0 is the root: "nothing instrumented on the stack", function id 0,
 * parent ZINST_NONE, no counts. Every other node has a parent index smaller
 * than its own, so a walk in index order visits parents first.
 */
#ifndef ZINST_CCT_TREE_H
#define ZINST_CCT_TREE_H

#include <stdint.h>

/*
 * Raw sums, as the hooks gathered them (hooks.c explains the sampling): the
 * writer turns them into estimates. Every field is a plain sum, so trees of
 * several threads add field by field and a zinst_reset() baseline subtracts
 * field by field, once their sampled sums have the same weights
 * (sample_shift).
 */
struct zinst_tree_node {
  uint32_t parent;   /* node index; ZINST_NONE for the root */
  uint32_t function; /* process-wide function id; 0 for the root */
  uint64_t calls;    /* exact */
  /* Measured inclusive ticks summed over the timed activations of both
   * strata (exact + sampled): a lower bound of the true total. */
  uint64_t inclusive_ticks;
  uint64_t exact_calls;   /* calls in the exact stratum (the first K of a context) */
  uint64_t sampled_calls; /* timed activations beyond the first K, weighted */
  uint64_t sampled_ticks; /* their part of inclusive_ticks, weighted */
  double sampled_sq;      /* sum of their squared durations (ticks^2), weighted */
  /* How many times the context's sampling interval doubled: each time, the
   * sampled sums were halved (thread_state.h, zinst_thin_samples), so a
   * sample stands for 2^sample_shift times the calls of a weight-1 one
   * taken at 1 in R. Nodes with different shifts add and subtract after
   * the smaller one is thinned to the larger. */
  uint32_t sample_shift;
  /* Sampled activations whose weight thinning took out of sampled_calls
   * (each halving, the half it took): with sampled_calls, how many
   * activations were sampled. */
  uint64_t samples_thinned;
};

struct zinst_tree {
  struct zinst_tree_node *nodes; /* owned; count used of capacity */
  uint32_t count;
  uint32_t capacity;
};

/* Make `tree` a tree holding only the root, with room for `capacity_hint`
 * nodes. The tree owns its node array until zinst_tree_free(). Returns 0, or
 * -1 (errno ENOMEM) leaving `tree` empty but safe to free. */
int zinst_tree_init(struct zinst_tree *tree, uint32_t capacity_hint);

/* Release the node array; `tree` is left empty (count 0) and may be reused
 * with zinst_tree_init(). Safe on an empty or failed tree. */
void zinst_tree_free(struct zinst_tree *tree);

/* Append a node under `parent` (which must exist) and return its index, or
 * ZINST_NONE if the array could not grow. Pointers into tree->nodes are
 * invalidated by the call. Does not look for an existing equal node. The
 * node's calls are all in the exact stratum (exact_calls = calls), with
 * inclusive_ticks measured; the sampled fields are 0. */
uint32_t zinst_tree_append(struct zinst_tree *tree, uint32_t parent, uint32_t function,
                           uint64_t calls, uint64_t inclusive_ticks);

/* Add `source` into `target` by matching paths: each source node is matched
 * to the target node reached by the same chain of function ids from the root
 * (created, after its parent, if missing) and its counts are added. Nodes
 * are only appended, so target keeps parent < child. `source` is unchanged.
 * Returns 0, or -1 (errno ENOMEM) with target holding a partial but
 * well-formed sum. */
int zinst_tree_merge(struct zinst_tree *target, const struct zinst_tree *source);

/* Set every count of `tree` to zero, keeping its shape. */
void zinst_tree_clear_counts(struct zinst_tree *tree);

/* target += source / target -= source (floored at 0), field by field,
 * after the sampled sums of the node with the smaller sample_shift were
 * thinned to the other's (the sum keeps the larger shift; a baseline is
 * thinned to its target's). */
void zinst_tree_node_add(struct zinst_tree_node *target, const struct zinst_tree_node *source);
void zinst_tree_node_subtract(struct zinst_tree_node *target,
                              const struct zinst_tree_node *baseline);

#endif /* ZINST_CCT_TREE_H */
