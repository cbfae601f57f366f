/*
 * test_tree_shape.c - a simulated call sequence builds exactly the expected
 * calling-context tree: recursion of known depth, a loop calling two
 * callees. Run as `test_tree_shape time` and `test_tree_shape count`; in
 * count mode every tick total is zero.
 */
#include "test_support.h"

enum { F_MAIN, F_RECURSE, F_LOOP, F_CALLEE_A, F_CALLEE_B, F_COUNT };

static const struct zinst_function_info functions[F_COUNT] = {
    {"main_sim", "main_sim", "shape.c", 10, ZINST_FUNCTION_INFO_DEBUG},
    {"recurse", "recurse", "shape.c", 20, ZINST_FUNCTION_INFO_DEBUG},
    {"loop", "loop", "shape.c", 30, ZINST_FUNCTION_INFO_DEBUG},
    {"callee_a", "callee_a", "shape.c", 40, ZINST_FUNCTION_INFO_DEBUG},
    {"callee_b", "callee_b", "shape.c", 50, ZINST_FUNCTION_INFO_DEBUG},
};
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, F_COUNT, functions, "shape.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

static volatile int sink;

NOINLINE static void callee_a(void) {
  TEST_ENTER(&module, F_CALLEE_A);
  sink++;
  TEST_EXIT(&module, F_CALLEE_A);
}

NOINLINE static void callee_b(void) {
  TEST_ENTER(&module, F_CALLEE_B);
  sink++;
  TEST_EXIT(&module, F_CALLEE_B);
}

NOINLINE static void recurse(int n) {
  TEST_ENTER(&module, F_RECURSE);
  if (n > 0)
    recurse(n - 1);
  TEST_EXIT(&module, F_RECURSE);
}

NOINLINE static void loop(int n) {
  TEST_ENTER(&module, F_LOOP);
  for (int i = 0; i < n; i++) {
    callee_a();
    callee_b();
  }
  TEST_EXIT(&module, F_LOOP);
}

NOINLINE static void main_sim(void) {
  TEST_ENTER(&module, F_MAIN);
  recurse(4); /* 5 activations, one chain of 5 contexts */
  loop(10);
  loop(10);
  TEST_EXIT(&module, F_MAIN);
}

int main(int argc, char **argv) {
  int count_mode = test_start_in_mode(argc, argv);

  main_sim();
  CHECK(module.id_base == ZINST_ID_BASE_ALIGNMENT, "first module gets ids from %u, got %u",
        ZINST_ID_BASE_ALIGNMENT, module.id_base);
  uint32_t id = module.id_base;
  CHECK_EQ_U64(zinst_tls_state->depth, 1, "shadow stack empty again");

  struct zinst_tree tree = test_own_tree();
  test_check_order(&tree);
  CHECK_EQ_U64(tree.count, 1 + 1 + 5 + 1 + 2, "nodes (root, main, 5 recurse, loop, a, b)");
  uint32_t main_node = test_child(&tree, 0, id + F_MAIN);
  CHECK_EQ_U64(tree.nodes[main_node].calls, 1, "main_sim calls");
  uint32_t node = main_node;
  for (int level = 0; level < 5; level++) {
    node = test_child(&tree, node, id + F_RECURSE);
    CHECK_EQ_U64(tree.nodes[node].calls, 1, "recurse calls at each level");
  }
  CHECK(test_find_child(&tree, node, id + F_RECURSE) == ZINST_NONE, "recursion too deep");
  uint32_t loop_node = test_child(&tree, main_node, id + F_LOOP);
  CHECK_EQ_U64(tree.nodes[loop_node].calls, 2, "loop calls");
  uint32_t a = test_child(&tree, loop_node, id + F_CALLEE_A);
  uint32_t b = test_child(&tree, loop_node, id + F_CALLEE_B);
  CHECK_EQ_U64(tree.nodes[a].calls, 20, "callee_a calls");
  CHECK_EQ_U64(tree.nodes[b].calls, 20, "callee_b calls");

  for (uint32_t n = 1; n < tree.count; n++) {
    if (count_mode) {
      CHECK_EQ_U64(tree.nodes[n].inclusive_ticks, 0, "count mode has no ticks");
    } else {
      CHECK(tree.nodes[n].inclusive_ticks > 0, "node %u has no time", n);
      CHECK(tree.nodes[n].inclusive_ticks < (1ull << 40), "node %u has a huge time", n);
    }
  }
  if (!count_mode) {
    uint64_t main_ticks = tree.nodes[main_node].inclusive_ticks;
    uint64_t loop_ticks = tree.nodes[loop_node].inclusive_ticks;
    CHECK(main_ticks >= loop_ticks, "main_sim includes loop");
    CHECK(loop_ticks >= tree.nodes[a].inclusive_ticks + tree.nodes[b].inclusive_ticks,
          "loop includes its callees");
  }
  zinst_tree_free(&tree);

  /* Again: the same contexts, doubled counts, no new nodes. */
  main_sim();
  tree = test_own_tree();
  CHECK_EQ_U64(tree.count, 10, "no new nodes on a second run");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, id + F_MAIN)].calls, 2, "main_sim calls");
  zinst_tree_free(&tree);

  /* An exit with nothing open is ignored, not popped past the sentinel. */
  TEST_EXIT(&module, F_LOOP);
  CHECK_EQ_U64(zinst_tls_state->depth, 1, "depth after an unmatched exit");
  CHECK_EQ_U64(zinst_tls_state->unmatched_exits, 1, "unmatched exits");

  /* Refused module: wrong ABI version; its events are ignored. */
  static const struct zinst_function_info other_functions[1] = {{"x", "x", "x.c", 1, 0}};
  struct zinst_module_info refused = {
      ZINST_ABI_VERSION + 1, 1, other_functions, "x.c", 0, 0, 0, 0, NULL, 0, 0, NULL};
  TEST_ENTER(&refused, 0);
  TEST_EXIT(&refused, 0);
  CHECK_EQ_U64(refused.id_base, 0, "refused module has no ids");
  CHECK_EQ_U64(zinst_tls_state->depth, 1, "refused module pushes nothing");
  /* Out-of-range index: ignored. */
  TEST_ENTER(&module, F_COUNT);
  CHECK_EQ_U64(zinst_tls_state->depth, 1, "bad index pushes nothing");
  tree = test_own_tree();
  CHECK_EQ_U64(tree.count, 10, "ignored events add no nodes");
  zinst_tree_free(&tree);
  printf("tree shape (%s mode): ok\n", count_mode ? "count" : "time");
  return 0;
}
