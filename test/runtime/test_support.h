/*
 * test_support.h - shared by the runtime unit tests: a failure macro and a
 * hand-built module of fake functions that the tests "instrument" by calling
 * the hooks themselves.
 *
 * Test sources are compiled with -fno-optimize-sibling-calls (as the pass
 * marks its hook calls notail) and -fno-omit-frame-pointer (see TEST_ENTER).
 */
#ifndef ZINST_TEST_SUPPORT_H
#define ZINST_TEST_SUPPORT_H

#include "cct_tree.h"
#include "cycle_counter.h"
#include "thread_state.h"
#include "zinst.h"
#include "zinst_abi.h"
#include "zinst_format.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(condition, ...)                                                                      \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #condition);                \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fputc('\n', stderr);                                                                         \
      exit(1);                                                                                     \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_U64(actual, expected, what)                                                       \
  do {                                                                                             \
    uint64_t actual_value = (actual), expected_value = (expected);                                 \
    CHECK(actual_value == expected_value, "%s: got %" PRIu64 ", expected %" PRIu64, (what),        \
          actual_value, expected_value);                                                           \
  } while (0)

#define NOINLINE __attribute__((noinline))

/* A simulated instrumented function's hooks, called in its body as the pass
 * places them. The pass passes the function's canonical frame address; any
 * value that is equal for functions called from the same place and lower
 * for deeper calls stands in for it, and with frame pointers kept the
 * function's own frame address is such a value. Macros, so that it is the
 * simulated function's frame and not a helper's. */
#define TEST_ENTER(module, index) __zinst_enter((module), (index), __builtin_frame_address(0))
#define TEST_EXIT(module, index) __zinst_exit((module), (index), __builtin_frame_address(0))

/* For tests run as `TEST time` and `TEST count`: no dump at exit, and the
 * runtime's settings reloaded in the mode argv[1] names. Returns whether it
 * is count mode. */
static inline int test_start_in_mode(int argc, char **argv) {
  zinst_disable_exit_dump();
  int count_mode = argc > 1 && strcmp(argv[1], "count") == 0;
  if (count_mode)
    setenv("ZINST_MODE", "count", 1);
  zinst_config_reload();
  return count_mode;
}

/* Index of the child of `parent` running `function` in `tree`, or
 * ZINST_NONE. Fails the test if there are two. */
static inline uint32_t test_find_child(const struct zinst_tree *tree, uint32_t parent,
                                       uint32_t function) {
  uint32_t found = ZINST_NONE;
  for (uint32_t n = 1; n < tree->count; n++) {
    if (tree->nodes[n].parent == parent && tree->nodes[n].function == function) {
      CHECK(found == ZINST_NONE, "two children of node %u for function %u", parent, function);
      found = n;
    }
  }
  return found;
}

/* Like test_find_child, but fails the test when the child is missing. */
static inline uint32_t test_child(const struct zinst_tree *tree, uint32_t parent,
                                  uint32_t function) {
  uint32_t child = test_find_child(tree, parent, function);
  CHECK(child != ZINST_NONE, "node %u has no child for function id %u", parent, function);
  return child;
}

/* Copy of the calling thread's tree as the runtime sees it now. The caller
 * frees it with zinst_tree_free. */
static inline struct zinst_tree test_own_tree(void) {
  struct zinst_tree tree;
  CHECK(zinst_tls_state != NULL, "this thread has no profile state");
  CHECK(zinst_thread_copy_tree(zinst_tls_state, zinst_read_ticks(), &tree) == 0, "copy");
  return tree;
}

/* What the pass emits at the entry of an inline-tree function
 * (pass/InlineContextTree.h), in C: the lookup in the current context's
 * recent children, the count on a hit, the runtime's miss path otherwise
 * (counted in *misses). Returns the context to restore on the way out. */
static inline void *test_inline_enter(struct zinst_module_info *m, uint32_t index,
                                      uint64_t *misses) {
  struct zinst_node *current = __zinst_context;
  uint32_t id = __atomic_load_n(&m->function_ids[index], __ATOMIC_RELAXED);
  uint32_t first_slot = index & (ZINST_NODE_RECENT_CHILDREN - 1);
  uint32_t second_slot = (index >> ZINST_NODE_SECOND_SLOT_SHIFT) & (ZINST_NODE_RECENT_CHILDREN - 1);
  struct zinst_node *last =
      __atomic_load_n(&current->recent_children[first_slot], __ATOMIC_RELAXED);
  if (last->function != id && second_slot != first_slot)
    last = __atomic_load_n(&current->recent_children[second_slot], __ATOMIC_RELAXED);
  if (last->function == id) {
    last->calls++;
    __zinst_context = last;
    return current;
  }
  ++*misses;
#if ZINST_HAVE_CONTEXT_MISS
  return __zinst_context_miss(m, index, current);
#else
  return __zinst_context_enter(m, index, current);
#endif
}

/* Parents come before children in every tree the runtime produces. */
static inline void test_check_order(const struct zinst_tree *tree) {
  CHECK(tree->count >= 1 && tree->nodes[0].function == 0, "root missing");
  for (uint32_t n = 1; n < tree->count; n++)
    CHECK(tree->nodes[n].parent < n, "node %u has parent %u", n, tree->nodes[n].parent);
}

#endif /* ZINST_TEST_SUPPORT_H */
