/*
 * test_edge_cache.c - counts stay exact when the enter finds its child
 * through the thread's edge cache (thread_state.h), including when more
 * edges than the cache has slots share them.
 *
 * 2560 parents each call the same 4 leaves, in an order that changes every
 * round, so that a parent's one-entry child cache nearly always misses.
 * With more parents than the cache has slots, some parents' edges to the
 * same leaf share a slot (pigeonhole): the entry found there names the same
 * function but another parent's child, which the enter must refuse. Every
 * (parent, leaf) context must end with exactly ROUNDS calls. Run as
 * `test_edge_cache time` and `test_edge_cache count`.
 */
#include "test_support.h"

enum { PARENTS = 2560, LEAVES = 4, ROUNDS = 5, F_COUNT = PARENTS + LEAVES };

static struct zinst_function_info functions[F_COUNT];
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, F_COUNT, functions, "edges.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

static volatile int sink;

NOINLINE static void leaf(uint32_t index) {
  TEST_ENTER(&module, index);
  sink++;
  TEST_EXIT(&module, index);
}

NOINLINE static void parent(uint32_t index, uint32_t round) {
  TEST_ENTER(&module, index);
  /* Every leaf once per call, in a rotating order. */
  for (uint32_t i = 0; i < LEAVES; i++)
    leaf(PARENTS + (i + round + index) % LEAVES);
  TEST_EXIT(&module, index);
}

int main(int argc, char **argv) {
  int count_mode = test_start_in_mode(argc, argv);
  CHECK(PARENTS > (1u << ZINST_EDGE_CACHE_BITS), "the test needs more parents than slots");

  static char names[F_COUNT][20];
  for (uint32_t f = 0; f < F_COUNT; f++) {
    snprintf(names[f], sizeof names[f], f < PARENTS ? "parent%u" : "leaf%u", f);
    functions[f] = (struct zinst_function_info){names[f], names[f], "edges.c", f + 1, 0};
  }

  for (uint32_t round = 0; round < ROUNDS; round++)
    for (uint32_t p = 0; p < PARENTS; p++)
      parent((p * 7 + round) % PARENTS, round);

  uint32_t id = module.id_base;
  CHECK(id != 0, "module registered");
  CHECK_EQ_U64(zinst_tls_state->depth, 1, "shadow stack empty again");
  struct zinst_tree tree = test_own_tree();
  CHECK_EQ_U64(tree.count, 1 + PARENTS + PARENTS * LEAVES, "nodes (root, parents, their leaves)");
  for (uint32_t p = 0; p < PARENTS; p++) {
    uint32_t parent_node = test_child(&tree, 0, id + p);
    CHECK_EQ_U64(tree.nodes[parent_node].calls, ROUNDS, "parent calls");
    for (uint32_t l = 0; l < LEAVES; l++) {
      uint32_t leaf_node = test_child(&tree, parent_node, id + PARENTS + l);
      CHECK_EQ_U64(tree.nodes[leaf_node].calls, ROUNDS, "leaf calls in one parent");
    }
  }
  zinst_tree_free(&tree);
  printf("edge cache (%s mode): ok\n", count_mode ? "count" : "time");
  return 0;
}
