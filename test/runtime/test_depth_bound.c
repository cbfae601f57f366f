/*
 * test_depth_bound.c - the per-thread bounds.
 *
 *   test_depth_bound depth   (ZINST_MAX_DEPTH=16) recursion 101 deep: the
 *       calls past the bound are counted under the deepest recorded frame,
 *       untimed, counts exact, exits still pair.
 *   test_depth_bound nodes   (ZINST_MAX_NODES=8) a chain of 20 contexts: 8
 *       are recorded, the other calls are counted as lost, exits still pair.
 */
#include "test_support.h"

enum { F_RECURSE, F_COUNT };
static const struct zinst_function_info functions[F_COUNT] = {
    {"recurse", "recurse", "depth.c", 1, 0},
};
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, F_COUNT, functions, "depth.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

static int check_levels;     /* check the shadow stack at every level */
static uint32_t level_limit; /* frames the runtime may push (max_depth) */

/* Activation `level` (1-based) of a recursion of n more calls. */
NOINLINE static void recurse_at(int n, uint32_t level) {
  TEST_ENTER(&module, F_RECURSE);
  if (n > 0)
    recurse_at(n - 1, level + 1);
  if (check_levels) {
    /* Our callees have returned: exactly our own level is open. */
    uint32_t pushed = level < level_limit ? level : level_limit;
    CHECK_EQ_U64(zinst_tls_state->depth, 1 + pushed, "frames pushed at this level");
    CHECK_EQ_U64(zinst_tls_state->unpushed_depth, level - pushed, "calls open past the bound");
  }
  TEST_EXIT(&module, F_RECURSE);
}

NOINLINE static void recurse(int n) {
  recurse_at(n, 1);
}

static void depth_test(void) {
  CHECK_EQ_U64(zinst_config.max_depth, 16, "ZINST_MAX_DEPTH from the environment");
  check_levels = 1;
  level_limit = 16;
  for (int round = 1; round <= 3; round++) {
    recurse(100); /* 101 calls */
    struct zinst_thread_state *ts = zinst_tls_state;
    CHECK_EQ_U64(ts->depth, 1, "stack empty after the recursion");
    CHECK_EQ_U64(ts->unpushed_depth, 0, "every call past the bound returned");
    CHECK_EQ_U64(ts->depth_overflow_calls, (uint64_t)round * 85, "calls past the bound");
    struct zinst_tree tree = test_own_tree();
    test_check_order(&tree);
    CHECK_EQ_U64(tree.count, 1 + 17, "16 recorded levels + the overflow child");
    uint64_t total = 0;
    uint32_t node = 0;
    for (int level = 1; level <= 17; level++) {
      node = test_child(&tree, node, module.id_base + F_RECURSE);
      CHECK_EQ_U64(tree.nodes[node].calls, (uint64_t)round * (level <= 16 ? 1 : 85),
                   "calls per level");
      if (level <= 16)
        CHECK(tree.nodes[node].inclusive_ticks > 0, "recorded level %d is timed", level);
      else
        CHECK_EQ_U64(tree.nodes[node].inclusive_ticks, 0, "calls past the bound are untimed");
      total += tree.nodes[node].calls;
    }
    CHECK_EQ_U64(total, (uint64_t)round * 101, "every call counted");
    zinst_tree_free(&tree);
  }
  /* Profiling goes on normally afterwards. */
  recurse(3);
  CHECK_EQ_U64(zinst_tls_state->depth, 1, "stack empty");
  CHECK_EQ_U64(zinst_tls_state->depth_overflow_calls, 3 * 85, "no new overflow");
}

static void nodes_test(void) {
  CHECK_EQ_U64(zinst_config.max_nodes, 8, "ZINST_MAX_NODES from the environment");
  check_levels = 1;
  level_limit = UINT32_MAX; /* every frame is pushed, on the sink past 8 nodes */
  for (int round = 1; round <= 2; round++) {
    recurse(19); /* a chain of 20 contexts */
    struct zinst_thread_state *ts = zinst_tls_state;
    CHECK_EQ_U64(ts->depth, 1, "stack empty after the recursion");
    CHECK_EQ_U64(ts->lost_calls, (uint64_t)round * 12, "calls without a node");
    struct zinst_tree tree = test_own_tree();
    test_check_order(&tree);
    CHECK_EQ_U64(tree.count, 1 + 8, "nodes stop at the bound");
    uint32_t node = 0;
    for (int level = 1; level <= 8; level++) {
      node = test_child(&tree, node, module.id_base + F_RECURSE);
      CHECK_EQ_U64(tree.nodes[node].calls, (uint64_t)round, "recorded calls");
    }
    zinst_tree_free(&tree);
  }
}

int main(int argc, char **argv) {
  zinst_disable_exit_dump();
  if (argc > 1 && strcmp(argv[1], "depth") == 0)
    depth_test();
  else if (argc > 1 && strcmp(argv[1], "nodes") == 0)
    nodes_test();
  else
    CHECK(0, "usage: test_depth_bound depth|nodes");
  printf("%s bound: ok\n", argv[1]);
  return 0;
}
