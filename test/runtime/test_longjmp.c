/*
 * test_longjmp.c - longjmp out of several instrumented frames: the abandoned
 * frames are popped at the next enter or exit of a shallower frame, with
 * counts exact and times neither negative nor huge, and profiling goes on.
 */
#include "test_support.h"

#include <setjmp.h>

enum { F_CATCHER, F_THROWER, F_AFTER, F_QUIET_CATCHER, F_COUNT };
enum { DEPTH = 6, ROUNDS = 1000 };

static const struct zinst_function_info functions[F_COUNT] = {
    {"catcher", "catcher", "lj.c", 1, 0},
    {"thrower", "thrower", "lj.c", 2, 0},
    {"after", "after", "lj.c", 3, 0},
    {"quiet_catcher", "quiet_catcher", "lj.c", 4, 0},
};
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, F_COUNT, functions, "lj.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

static jmp_buf target;
static volatile int sink;

NOINLINE static void thrower(int depth) {
  TEST_ENTER(&module, F_THROWER);
  if (depth == 1)
    longjmp(target, 1);
  thrower(depth - 1);
  TEST_EXIT(&module, F_THROWER);
}

NOINLINE static void after(void) {
  TEST_ENTER(&module, F_AFTER);
  sink++;
  TEST_EXIT(&module, F_AFTER);
}

/* Repair at the next enter (after), then a normal exit. */
NOINLINE static void catcher(void) {
  TEST_ENTER(&module, F_CATCHER);
  if (!setjmp(target))
    thrower(DEPTH);
  after();
  TEST_EXIT(&module, F_CATCHER);
}

/* Repair at this frame's own exit. */
NOINLINE static void quiet_catcher(void) {
  TEST_ENTER(&module, F_QUIET_CATCHER);
  if (!setjmp(target))
    thrower(DEPTH);
  TEST_EXIT(&module, F_QUIET_CATCHER);
}

static void check_chain(const struct zinst_tree *tree, uint32_t top, uint64_t calls) {
  uint32_t node = top;
  for (int level = 0; level < DEPTH; level++) {
    node = test_child(tree, node, module.id_base + F_THROWER);
    CHECK_EQ_U64(tree->nodes[node].calls, calls, "thrower calls at each level");
  }
  CHECK(test_find_child(tree, node, module.id_base + F_THROWER) == ZINST_NONE, "chain too deep");
}

int main(void) {
  zinst_disable_exit_dump();
  uint64_t start = zinst_read_ticks();
  for (int round = 0; round < ROUNDS; round++) {
    catcher();
    CHECK_EQ_U64(zinst_tls_state->depth, 1, "stack repaired after catcher");
    quiet_catcher();
    CHECK_EQ_U64(zinst_tls_state->depth, 1, "stack repaired after quiet_catcher");
  }
  uint64_t elapsed = zinst_read_ticks() - start;
  CHECK_EQ_U64(zinst_tls_state->unmatched_exits, 0, "every exit matched a frame");

  struct zinst_tree tree = test_own_tree();
  test_check_order(&tree);
  CHECK_EQ_U64(tree.count, 1 + 2 * (1 + DEPTH) + 1, "nodes");
  uint32_t c = test_child(&tree, 0, module.id_base + F_CATCHER);
  uint32_t q = test_child(&tree, 0, module.id_base + F_QUIET_CATCHER);
  CHECK_EQ_U64(tree.nodes[c].calls, ROUNDS, "catcher calls");
  CHECK_EQ_U64(tree.nodes[q].calls, ROUNDS, "quiet_catcher calls");
  /* `after` is the catcher's child, not the abandoned thrower's. */
  CHECK_EQ_U64(tree.nodes[test_child(&tree, c, module.id_base + F_AFTER)].calls, ROUNDS, "after");
  check_chain(&tree, c, ROUNDS);
  check_chain(&tree, q, ROUNDS);
  for (uint32_t n = 1; n < tree.count; n++) {
    CHECK(tree.nodes[n].inclusive_ticks > 0, "node %u has no time", n);
    CHECK(tree.nodes[n].inclusive_ticks <= elapsed, "node %u time %llu beyond the run's %llu", n,
          (unsigned long long)tree.nodes[n].inclusive_ticks, (unsigned long long)elapsed);
    if (tree.nodes[n].parent != 0)
      CHECK(tree.nodes[n].inclusive_ticks <= tree.nodes[tree.nodes[n].parent].inclusive_ticks,
            "node %u longer than its parent", n);
  }
  zinst_tree_free(&tree);
  printf("longjmp: ok\n");
  return 0;
}
