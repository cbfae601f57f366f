/*
 * test_inline_tree.c - the runtime's side of inline calling-context trees
 * (ZINST_MODULE_INLINE_TREE, zinst_abi.h): the slow paths the inline code
 * calls, driven by a C copy of that code.
 *
 *   - a context's first call of a function creates its node; later calls
 *     hit the context's recent child inline, also when it calls several
 *     functions in turn and when two of them have the same two slots, or
 *     go through the edge cache (__zinst_context_miss) when three do, and
 *     every count stays exact;
 *   - a hit in the edge cache makes the child the recent child of its first
 *     slot, and the one there moves to the second;
 *   - calls from no context (uninstrumented callers) miss inline, as the
 *     no-context node is shared by all threads, and are counted exactly;
 *   - an event inside the runtime (`busy`) is dropped and counted, and so
 *     is every event nested in it;
 *   - a module built with the hooks is refused in this process, and its
 *     functions leave the context as it was.
 */
#include "test_support.h"

#include "module_registry.h"

#include <pthread.h>

/* The module registers first: ids are ZINST_ID_BASE_ALIGNMENT (64) +
 * index, and it starts as the pass emits it, unregistered, which the
 * lookup below does not test. F_A's id (68) has slots 4 and 0 of a node's
 * recent children (its low three bits, and the next three: zinst_abi.h);
 * F_A_ALIAS's and F_A_ALIAS2's ids have F_A's first slot and second slots
 * of their own (1 and 2); F_A_TWIN's and F_A_TWIN2's have both of F_A's
 * slots. F_D is only
 * called inside the runtime. The ids in between are functions never called
 * (named in main). */
enum {
  F_MAIN,
  F_B,
  F_C,
  F_D,
  F_A,
  F_A_ALIAS = F_A + ZINST_NODE_RECENT_CHILDREN,
  F_A_ALIAS2 = F_A + 2 * ZINST_NODE_RECENT_CHILDREN,
  F_A_TWIN = F_A + ZINST_NODE_RECENT_CHILDREN * ZINST_NODE_RECENT_CHILDREN,
  F_A_TWIN2 = F_A + 2 * ZINST_NODE_RECENT_CHILDREN * ZINST_NODE_RECENT_CHILDREN,
  F_COUNT
};

static struct zinst_function_info functions[F_COUNT] = {
    [F_MAIN] = {"main_loop", "main_loop", "inline.c", 1, 0},
    [F_A] = {"a", "a", "inline.c", 2, 0},
    [F_B] = {"b", "b", "inline.c", 3, 0},
    [F_C] = {"c", "c", "inline.c", 4, 0},
    [F_D] = {"d", "d", "inline.c", 5, 0},
    [F_A_ALIAS] = {"a_alias", "a_alias", "inline.c", 6, 0},
    [F_A_ALIAS2] = {"a_alias2", "a_alias2", "inline.c", 7, 0},
    [F_A_TWIN] = {"a_twin", "a_twin", "inline.c", 8, 0},
    [F_A_TWIN2] = {"a_twin2", "a_twin2", "inline.c", 9, 0}};
/* As the pass emits them: ZINST_ID_BASE_UNREGISTERED + i until the runtime
 * registers the module (main sets them). */
static uint32_t function_ids[F_COUNT];
static struct zinst_module_info module = {ZINST_ABI_VERSION,
                                          F_COUNT,
                                          functions,
                                          "inline.c",
                                          ZINST_ID_BASE_UNREGISTERED,
                                          0,
                                          0,
                                          0,
                                          NULL,
                                          ZINST_MODULE_INLINE_TREE,
                                          0,
                                          function_ids};

static uint64_t slow_calls;

/* The entry code (test_support.h), its misses counted in slow_calls. */
static void *inline_enter(struct zinst_module_info *m, uint32_t index) {
  return test_inline_enter(m, index, &slow_calls);
}

static void inline_exit(void *saved) {
  __zinst_context = saved;
}

NOINLINE static void leaf(uint32_t index) {
  void *saved = inline_enter(&module, index);
  inline_exit(saved);
}

/* A thread that cannot get a state of its own (here: its first event comes
 * inside the runtime). Its entry code leaves the thread's site counters
 * pointer non-NULL, at an array as long as a thread's own: the increments
 * of a function with entry code follow it untested (zinst_abi.h), at any
 * module's site_base. The last slot a site can have is written here, where
 * ASan would see an overflow. */
static void *stateless_thread(void *unused) {
  (void)unused;
  CHECK(__zinst_site_counters == NULL, "no counters before the thread's first event");
  zinst_tls_in_runtime = 1;
  void *saved = inline_enter(&module, F_B);
  zinst_tls_in_runtime = 0;
  CHECK(zinst_tls_state == NULL, "no state was made inside the runtime");
  CHECK(__zinst_context == &zinst_no_context, "no context either");
  CHECK(__zinst_site_counters != NULL, "the site counters pointer is set after entry code");
  __zinst_site_counters[0]++;
  __zinst_site_counters[ZINST_MAX_MODULE_SITES + ZINST_MAX_SITES - 1]++;
  inline_exit(saved);
  return NULL;
}

int main(int argc, char **argv) {
  test_start_in_mode(argc, argv);
  CHECK(__zinst_context == &zinst_no_context, "no context before the first event");
  for (uint32_t f = 0; f < F_COUNT; f++)
    if (functions[f].name == NULL)
      functions[f] = (struct zinst_function_info){"unused", "unused", "inline.c", 10 + f, 0};
  for (uint32_t f = 0; f < F_COUNT; f++)
    function_ids[f] = ZINST_ID_BASE_UNREGISTERED + f;

  /* main_loop calls a, b, c in turn 100 times: only the first call of
   * each misses (it creates the node); their ids have slots of their own. */
  void *outer = inline_enter(&module, F_MAIN);
  CHECK(zinst_registry_inline_tree(), "the process runs inline trees");
  CHECK_EQ_U64(module.id_base, ZINST_ID_BASE_ALIGNMENT,
               "the first module's ids (the slots below depend on them)");
  for (uint32_t f = 0; f < F_COUNT; f++)
    CHECK_EQ_U64(function_ids[f], ZINST_ID_BASE_ALIGNMENT + f,
                 "the registration wrote the ids the inline code loads");
  CHECK(zinst_config.mode == ZINST_MODE_COUNT, "an inline-tree process records no time");
  uint64_t slow_before = slow_calls;
  for (int i = 0; i < 100; i++) {
    leaf(F_A);
    leaf(F_B);
    leaf(F_C);
  }
  CHECK_EQ_U64(slow_calls - slow_before, 3, "slow calls of three callees in turn");

  /* a and a_alias in turn have the same first slot: a_alias's first call
   * creates it there and moves a to a's second slot, and every other call
   * hits. */
  slow_before = slow_calls;
  for (int i = 0; i < 50; i++) {
    leaf(F_A);
    leaf(F_A_ALIAS);
  }
  CHECK_EQ_U64(slow_calls - slow_before, 1, "slow calls of two callees sharing their slots");
  slow_before = slow_calls;
  for (int i = 0; i < 100; i++)
    leaf(F_A);
  CHECK_EQ_U64(slow_calls - slow_before, 0, "slow calls in a run of one callee");

  /* Three in turn with one first slot: a_alias2's first call moves
   * a_alias to a_alias's second slot, and then each is found in one of its
   * own. */
  slow_before = slow_calls;
  for (int i = 0; i < 30; i++) {
    leaf(F_A);
    leaf(F_A_ALIAS);
    leaf(F_A_ALIAS2);
  }
  CHECK_EQ_U64(slow_calls - slow_before, 1, "slow calls of three callees sharing a first slot");

  /* Three in turn with both slots the same are one too many for two: after
   * the first round (a hits; a_twin and a_twin2 are created, each evicting
   * the last), every call misses inline and the edge cache finds it. */
  slow_before = slow_calls;
  for (int i = 0; i < 30; i++) {
    leaf(F_A);
    leaf(F_A_TWIN);
    leaf(F_A_TWIN2);
  }
  CHECK_EQ_U64(slow_calls - slow_before, 2 + 29 * 3,
               "slow calls of three callees sharing both slots");

  uint32_t id = module.id_base;
  struct zinst_tree tree = test_own_tree();
  test_check_order(&tree);
  uint32_t main_node = test_child(&tree, 0, id + F_MAIN);
  CHECK_EQ_U64(tree.nodes[main_node].calls, 1, "main_loop calls");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, main_node, id + F_A)].calls, 310, "a calls");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, main_node, id + F_A_ALIAS)].calls, 80, "a_alias calls");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, main_node, id + F_A_ALIAS2)].calls, 30,
               "a_alias2 calls");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, main_node, id + F_A_TWIN)].calls, 30, "a_twin calls");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, main_node, id + F_A_TWIN2)].calls, 30, "a_twin2 calls");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, main_node, id + F_B)].calls, 100, "b calls");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, main_node, id + F_C)].calls, 100, "c calls");
  CHECK_EQ_U64(tree.count, 9,
               "nodes (root, main_loop, a, b, c, a_alias, a_alias2, a_twin, a_twin2)");
  zinst_tree_free(&tree);

  /* Inside the runtime: the event and the one nested in it are dropped
   * (d, never called here before, misses inline). */
  struct zinst_thread_state *ts = zinst_tls_state;
  uint64_t reentrant = ts->reentrant_events;
  ts->busy = 1;
  void *dropped = inline_enter(&module, F_D);
  CHECK(__zinst_context == &zinst_no_context, "a dropped event leaves no context");
  void *nested = inline_enter(&module, F_C);
  inline_exit(nested);
  inline_exit(dropped);
  ts->busy = 0;
  CHECK_EQ_U64(ts->reentrant_events - reentrant, 2, "events dropped inside the runtime");
  CHECK(__zinst_context == &ts->nodes[main_node], "the exits put main_loop's context back");

  /* A module built with the hooks is refused here; its function is not
   * seen and the context stays main_loop's. */
  static struct zinst_function_info hook_functions[1] = {{"hooked", "hooked", "h.c", 1, 0}};
  static struct zinst_module_info hook_module = {
      ZINST_ABI_VERSION, 1, hook_functions, "h.c", 0, 0, 0, 0, NULL, 0, 0, NULL};
  void *before = __zinst_context;
  CHECK(__zinst_context_enter(&hook_module, 0, before) == before,
        "a refused module's function keeps the caller's context");
  CHECK(__zinst_context == before, "context unchanged");
  CHECK_EQ_U64(hook_module.id_base, 0, "the hooks module was refused");

  pthread_t stateless;
  CHECK(pthread_create(&stateless, NULL, stateless_thread, NULL) == 0, "create");
  CHECK(pthread_join(stateless, NULL) == 0, "join");

  /* main_loop was the thread's first call, from no context (the module
   * registered lazily, at that call, not in a constructor): its exit puts
   * the thread's own root back instead (zinst_abi.h). */
  inline_exit(outer);
  CHECK(__zinst_context == &ts->nodes[0], "the thread's root after main_loop");
  tree = test_own_tree();
  CHECK_EQ_U64(tree.count, 9, "nodes (the dropped call of d made none)");
  zinst_tree_free(&tree);

  /* Calls from uninstrumented code after it start at that root, which
   * remembers its children: each function misses inline the first time
   * only. Counts stay exact, and the shared no-context node's slots still
   * point at itself. */
  slow_before = slow_calls;
  for (int i = 0; i < 40; i++) {
    leaf(F_B);
    leaf(F_C);
  }
  CHECK_EQ_U64(slow_calls - slow_before, 2, "calls from the root miss inline the first time only");
  CHECK(__zinst_context == &ts->nodes[0], "the root after the calls from it");
  for (uint32_t i = 0; i < ZINST_NODE_RECENT_CHILDREN; i++)
    CHECK(zinst_no_context.recent_children[i] == &zinst_no_context,
          "the shared no-context node remembers no thread's child");
  tree = test_own_tree();
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, id + F_B)].calls, 40, "b calls from the root");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, id + F_C)].calls, 40, "c calls from the root");
  CHECK_EQ_U64(tree.count, 11, "nodes (b and c under the root)");
  zinst_tree_free(&tree);
  printf("inline tree: ok\n");
  return 0;
}
