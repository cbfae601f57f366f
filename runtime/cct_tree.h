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

struct zinst_tree_node {
  uint32_t parent;   /* node index; ZINST_NONE for the root */
  uint32_t function; /* process-wide function id; 0 for the root */
  uint64_t calls;
  uint64_t inclusive_ticks;
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
 * invalidated by the call. Does not look for an existing equal node. */
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

#endif /* ZINST_CCT_TREE_H */
