/*
 * test_root_context.c - where calls from uninstrumented code start: the
 * registering thread at its own root, other threads at the no-context node
 * until their first call returns, then at their own root
 * (runtime/hooks.c, start_at_own_root and context_to_restore).
 *
 *   - the module registers as its constructor registers it, and the thread
 *     then has its block and its root as its context;
 *   - calls from there (no instrumented caller) miss inline only the first
 *     time per function: the root remembers its children;
 *   - on another thread, calls from its thread function miss only the
 *     first time per function too: the first one's exit puts the thread's
 *     root back, not the no-context node (which is shared and remembers
 *     nothing, and whose slots stay untouched); counts exact;
 *   - a second module's registration changes nothing.
 *
 * The inline code is test_support.h's C copy of it.
 */
#include "test_support.h"

#include "module_registry.h"

#include <pthread.h>

enum { F_B, F_C, F_COUNT };
enum { CALLS = 40 };

static struct zinst_function_info functions[F_COUNT] = {
    [F_B] = {"b", "b", "root.c", 1, 0}, [F_C] = {"c", "c", "root.c", 2, 0}};
static uint32_t function_ids[F_COUNT];
static struct zinst_module_info module = {ZINST_ABI_VERSION,
                                          F_COUNT,
                                          functions,
                                          "root.c",
                                          ZINST_ID_BASE_UNREGISTERED,
                                          0,
                                          0,
                                          0,
                                          NULL,
                                          ZINST_MODULE_INLINE_TREE,
                                          0,
                                          function_ids};

static struct zinst_function_info other_functions[1] = {{"other", "other", "other.c", 1, 0}};
static uint32_t other_ids[1];
static struct zinst_module_info other_module = {ZINST_ABI_VERSION,
                                                1,
                                                other_functions,
                                                "other.c",
                                                ZINST_ID_BASE_UNREGISTERED,
                                                0,
                                                0,
                                                0,
                                                NULL,
                                                ZINST_MODULE_INLINE_TREE,
                                                0,
                                                other_ids};

static __thread uint64_t slow_calls;

NOINLINE static void leaf(uint32_t index) {
  void *saved = test_inline_enter(&module, index, &slow_calls);
  __zinst_context = saved;
}

static void call_both(void) {
  for (int i = 0; i < CALLS; i++) {
    leaf(F_B);
    leaf(F_C);
  }
}

static void *worker(void *unused) {
  (void)unused;
  CHECK(__zinst_context == &zinst_no_context, "a new thread starts at no context");
  leaf(F_B);
  CHECK(zinst_tls_state != NULL, "the first call made the thread's block");
  struct zinst_node *root = &zinst_tls_state->nodes[0];
  CHECK(__zinst_context == root, "and its exit made the thread's root its context");
  call_both();
  CHECK_EQ_U64(slow_calls, 2,
               "a new thread's calls from uninstrumented code miss only the first time");
  CHECK(__zinst_context == root, "the root is the context after them");
  for (uint32_t i = 0; i < ZINST_NODE_RECENT_CHILDREN; i++)
    CHECK(zinst_no_context.recent_children[i] == &zinst_no_context,
          "the shared no-context node remembers no thread's child");
  struct zinst_tree tree = test_own_tree();
  uint32_t id = module.id_base;
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, id + F_B)].calls, CALLS + 1, "the worker's b calls");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, id + F_C)].calls, CALLS, "the worker's c calls");
  zinst_tree_free(&tree);
  return NULL;
}

int main(int argc, char **argv) {
  test_start_in_mode(argc, argv);
  for (uint32_t f = 0; f < F_COUNT; f++)
    function_ids[f] = ZINST_ID_BASE_UNREGISTERED + f;
  other_ids[0] = ZINST_ID_BASE_UNREGISTERED;
  CHECK(__zinst_context == &zinst_no_context, "no context before the registration");
  CHECK(zinst_tls_state == NULL, "no block before the registration");

  __zinst_register_module(&module); /* as the module's constructor does */
  CHECK(zinst_id_base_registered(module.id_base), "the module registered");
  CHECK(zinst_tls_state != NULL, "the registering thread has its block");
  struct zinst_node *root = &zinst_tls_state->nodes[0];
  CHECK(__zinst_context == root, "and its own root as its context");

  call_both();
  CHECK_EQ_U64(slow_calls, 2, "calls from the root miss inline only the first time");
  CHECK(__zinst_context == root, "the root is the context after them");

  __zinst_register_module(&other_module);
  CHECK(zinst_id_base_registered(other_module.id_base), "the second module registered");
  CHECK(__zinst_context == root, "a second registration leaves the context");

  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, worker, NULL) == 0, "create");
  CHECK(pthread_join(thread, NULL) == 0, "join");

  struct zinst_tree tree = test_own_tree();
  uint32_t id = module.id_base;
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, id + F_B)].calls, CALLS, "b calls from the root");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, id + F_C)].calls, CALLS, "c calls from the root");
  CHECK_EQ_U64(tree.count, 3, "nodes (root, b, c)");
  zinst_tree_free(&tree);
  printf("root context: ok\n");
  return 0;
}
