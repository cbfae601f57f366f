/*
 * test_tree_merge.c - zinst_tree_merge adds a tree into another by matching
 * paths: overlapping paths sum, new paths are appended after their parents;
 * nodes' sampled sums of different weights add and subtract once thinned
 * to the same.
 */
#include "test_support.h"

struct expected_node {
  uint32_t path[4]; /* function ids from the root, 0-terminated */
  uint64_t calls;
  uint64_t ticks;
};

/* Node reached from the root by `path`, failing the test if missing. */
static uint32_t node_at(const struct zinst_tree *tree, const uint32_t *path) {
  uint32_t node = 0;
  for (int i = 0; i < 4 && path[i]; i++)
    node = test_child(tree, node, path[i]);
  return node;
}

static void check_tree(const struct zinst_tree *tree, const struct expected_node *expected,
                       uint32_t count) {
  test_check_order(tree);
  CHECK_EQ_U64(tree->count, count + 1, "node count (root included)");
  for (uint32_t i = 0; i < count; i++) {
    uint32_t node = node_at(tree, expected[i].path);
    CHECK_EQ_U64(tree->nodes[node].calls, expected[i].calls, "calls");
    CHECK_EQ_U64(tree->nodes[node].inclusive_ticks, expected[i].ticks, "ticks");
  }
}

int main(void) {
  zinst_disable_exit_dump();
  /* A: 1(2,100) -> 2(3,50);  3(1,10) */
  struct zinst_tree a;
  CHECK(zinst_tree_init(&a, 1) == 0, "init a");
  uint32_t a1 = zinst_tree_append(&a, 0, 1, 2, 100);
  zinst_tree_append(&a, a1, 2, 3, 50);
  zinst_tree_append(&a, 0, 3, 1, 10);
  /* B: 5(1,1);  1(1,10) -> 4(2,7);  1 -> 2(1,5);  1 -> 2 -> 1(4,4) */
  struct zinst_tree b;
  CHECK(zinst_tree_init(&b, 1) == 0, "init b");
  zinst_tree_append(&b, 0, 5, 1, 1);
  uint32_t b1 = zinst_tree_append(&b, 0, 1, 1, 10);
  zinst_tree_append(&b, b1, 4, 2, 7);
  uint32_t b12 = zinst_tree_append(&b, b1, 2, 1, 5);
  zinst_tree_append(&b, b12, 1, 4, 4);

  CHECK(zinst_tree_merge(&a, &b) == 0, "merge b into a");
  static const struct expected_node sum[] = {
      {{1}, 3, 110}, {{1, 2}, 4, 55}, {{3}, 1, 10}, {{5}, 1, 1}, {{1, 4}, 2, 7}, {{1, 2, 1}, 4, 4},
  };
  check_tree(&a, sum, 6);
  /* B unchanged by the merge. */
  static const struct expected_node b_alone[] = {
      {{5}, 1, 1}, {{1}, 1, 10}, {{1, 4}, 2, 7}, {{1, 2}, 1, 5}, {{1, 2, 1}, 4, 4},
  };
  check_tree(&b, b_alone, 5);

  /* Into an empty (never initialized) tree: a copy. */
  struct zinst_tree empty = {0};
  CHECK(zinst_tree_merge(&empty, &b) == 0, "merge into empty");
  check_tree(&empty, b_alone, 5);
  /* Twice the same tree: doubled counts, same shape. */
  CHECK(zinst_tree_merge(&empty, &b) == 0, "merge again");
  static const struct expected_node doubled[] = {
      {{5}, 2, 2}, {{1}, 2, 20}, {{1, 4}, 4, 14}, {{1, 2}, 2, 10}, {{1, 2, 1}, 8, 8},
  };
  check_tree(&empty, doubled, 5);

  /* A large merge forces the tree and the index to grow. */
  struct zinst_tree wide, big = {0};
  CHECK(zinst_tree_init(&wide, 1) == 0, "init wide");
  for (uint32_t f = 1; f <= 5000; f++) {
    uint32_t n = zinst_tree_append(&wide, 0, f, f, 2 * f);
    zinst_tree_append(&wide, n, f + 1, 1, 1);
  }
  for (int round = 0; round < 3; round++)
    CHECK(zinst_tree_merge(&big, &wide) == 0, "merge wide");
  test_check_order(&big);
  CHECK_EQ_U64(big.count, 10001, "wide merge nodes");
  uint32_t path[4] = {4321, 4322, 0, 0};
  CHECK_EQ_U64(big.nodes[node_at(&big, path)].calls, 3, "wide merge leaf");
  path[1] = 0;
  CHECK_EQ_U64(big.nodes[node_at(&big, path)].inclusive_ticks, 3 * 2 * 4321, "wide merge ticks");

  /* Sampled sums of different weights: the node whose interval doubled
   * fewer times is thinned to the other's first (halved per doubling). */
  struct zinst_tree_node thinned = {.calls = 1000,
                                    .inclusive_ticks = 9000,
                                    .exact_calls = 16,
                                    .sampled_calls = 100,
                                    .sampled_ticks = 4000,
                                    .sampled_sq = 800.0,
                                    .sample_shift = 2};
  const struct zinst_tree_node fresh = {.calls = 300,
                                        .inclusive_ticks = 2600,
                                        .exact_calls = 16,
                                        .sampled_calls = 80,
                                        .sampled_ticks = 1600,
                                        .sampled_sq = 400.0};
  struct zinst_tree_node added = thinned;
  zinst_tree_node_add(&added, &fresh);
  CHECK_EQ_U64(added.sample_shift, 2, "the sum keeps the larger shift");
  CHECK_EQ_U64(added.calls, 1300, "calls add as they are");
  CHECK_EQ_U64(added.exact_calls, 32, "exact calls add as they are");
  CHECK_EQ_U64(added.sampled_calls, 100 + 20, "the fresh samples count a quarter");
  CHECK_EQ_U64(added.sampled_ticks, 4000 + 400, "and their ticks");
  CHECK(added.sampled_sq == 800.0 + 100.0, "and their squares: %g", added.sampled_sq);
  CHECK_EQ_U64(added.inclusive_ticks, 9000 + (2600 - 1600) + 400, "exact ticks whole");
  added = fresh;
  zinst_tree_node_add(&added, &thinned);
  CHECK_EQ_U64(added.sample_shift, 2, "either way round");
  CHECK_EQ_U64(added.sampled_calls, 120, "either way round: samples");
  CHECK_EQ_U64(added.inclusive_ticks, 10400, "either way round: ticks");
  /* A zinst_reset() baseline taken before two doublings: its samples are
   * in the sums a quarter as heavy. */
  struct zinst_tree_node later = thinned;
  zinst_tree_node_subtract(&later, &fresh);
  CHECK_EQ_U64(later.sample_shift, 2, "a baseline keeps the target's shift");
  CHECK_EQ_U64(later.calls, 700, "calls since the baseline");
  CHECK_EQ_U64(later.sampled_calls, 80, "samples since the baseline");
  CHECK_EQ_U64(later.sampled_ticks, 3600, "their ticks");
  CHECK_EQ_U64(later.inclusive_ticks, 9000 - 1000 - 400, "ticks since the baseline");

  zinst_tree_free(&a);
  zinst_tree_free(&b);
  zinst_tree_free(&empty);
  zinst_tree_free(&wide);
  zinst_tree_free(&big);
  printf("tree merge: ok\n");
  return 0;
}
