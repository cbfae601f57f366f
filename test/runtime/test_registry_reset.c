/*
 * test_registry_reset.c - module registration and unloading, and
 * zinst_reset().
 *
 * Ids are handed out in blocks, lazily on a module's first event too; an
 * unregistered module keeps its names (copied before its memory goes) and
 * is flagged unloaded; the same module registered again (a library opened
 * again) gets its ids back, a different one new ids. After zinst_reset() a
 * thread's counts start from zero while its tree keeps its shape.
 */
#include "module_registry.h"
#include "test_support.h"

static const struct zinst_function_info first_functions[2] = {
    {"one", "one", "first.c", 1, ZINST_FUNCTION_INFO_DEBUG},
    {"two", "two", "first.c", 2, 0},
};
static struct zinst_module_info first = {
    ZINST_ABI_VERSION, 2, first_functions, "first.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

/* A module in heap memory like a library's: "gone_fn" at gone.c:`line`.
 * Release with free_heap_module() (after it unregisters). */
static struct zinst_module_info *heap_module(uint32_t line) {
  char *names = malloc(64);
  strcpy(names, "gone_fn");
  strcpy(names + 16, "gone.c");
  struct zinst_function_info *functions = calloc(1, sizeof *functions);
  *functions = (struct zinst_function_info){names, names, names + 16, line, 0};
  struct zinst_module_info *module = calloc(1, sizeof *module);
  *module = (struct zinst_module_info){
      ZINST_ABI_VERSION, 1, functions, names + 16, 0, 0, 0, 0, NULL, 0, 0, NULL};
  return module;
}

/* Scribble over the module's memory, then free it: the runtime must not
 * read it any more. */
static void free_heap_module(struct zinst_module_info *module) {
  char *names = (char *)module->functions[0].name;
  memset(names, 'X', 63);
  free(names);
  free((void *)module->functions);
  free(module);
}

NOINLINE static void call_first(uint32_t index) {
  TEST_ENTER(&first, index);
  TEST_EXIT(&first, index);
}

int main(void) {
  zinst_disable_exit_dump();
  /* A module living in heap memory, freed after it unregisters. */
  struct zinst_module_info *gone = heap_module(7);

  __zinst_register_module(&first);
  CHECK_EQ_U64(first.id_base, ZINST_ID_BASE_ALIGNMENT, "first module's ids start aligned");
  __zinst_register_module(&first);
  CHECK_EQ_U64(first.id_base, 64, "registration is idempotent");
  /* Lazy registration by the first hook. */
  TEST_ENTER(gone, 0);
  TEST_EXIT(gone, 0);
  /* The first's ids are 64 and 65; 66 to 127 are left unused. */
  CHECK_EQ_U64(gone->id_base, 128, "second module follows the first's block, aligned");
  __zinst_unregister_module(gone);
  free_heap_module(gone);

  struct zinst_snapshot snapshot = {0};
  zinst_runtime_lock();
  CHECK(zinst_registry_fill_snapshot(&snapshot) == 0, "fill");
  zinst_runtime_unlock();
  CHECK_EQ_U64(snapshot.module_count, 2, "modules");
  CHECK_EQ_U64(snapshot.function_count, 3, "functions");
  CHECK(strcmp(snapshot.modules[0].name, "first.c") == 0, "first name");
  CHECK_EQ_U64(snapshot.modules[0].flags, 0, "first loaded");
  CHECK(strcmp(snapshot.modules[1].name, "gone.c") == 0, "unloaded module keeps its name");
  CHECK_EQ_U64(snapshot.modules[1].flags, ZINST_MODULE_UNLOADED, "flagged unloaded");
  CHECK_EQ_U64(snapshot.modules[1].first_function, 2, "its functions");
  CHECK(strcmp(snapshot.functions[2].name, "gone_fn") == 0, "function name kept");
  CHECK(strcmp(snapshot.functions[2].file, "gone.c") == 0, "function file kept");
  CHECK_EQ_U64(snapshot.functions[2].line, 7, "function line kept");
  CHECK_EQ_U64(snapshot.functions[2].module, 1, "function's module");
  CHECK_EQ_U64(snapshot.functions[0].flags, ZINST_FUNCTION_DEBUG_INFO, "debug flag mapped");
  /* The profile's function table leaves the unused ids out. */
  CHECK_EQ_U64(snapshot.function_id_count, 129, "ids below the next one");
  CHECK_EQ_U64(snapshot.function_of_id[64], 0, "first's first function");
  CHECK_EQ_U64(snapshot.function_of_id[65], 1, "first's second function");
  for (uint32_t id = 66; id < 128; id++)
    CHECK(snapshot.function_of_id[id] == UINT32_MAX, "unused id %u names none", id);
  CHECK_EQ_U64(snapshot.function_of_id[128], 2, "gone's function, right after first's");
  zinst_registry_free_tables(&snapshot);

  /* The same module again, in other memory: its old ids, its old contexts. */
  struct zinst_module_info *again = heap_module(7);
  TEST_ENTER(again, 0);
  TEST_EXIT(again, 0);
  CHECK_EQ_U64(again->id_base, 128, "the module opened again gets its ids back");
  struct zinst_tree own = test_own_tree();
  CHECK_EQ_U64(own.nodes[test_child(&own, 0, 128)].calls, 2, "its calls add to the first load's");
  zinst_tree_free(&own);
  zinst_runtime_lock();
  CHECK(zinst_registry_fill_snapshot(&snapshot) == 0, "fill");
  zinst_runtime_unlock();
  CHECK_EQ_U64(snapshot.module_count, 2, "no second copy of the module");
  CHECK_EQ_U64(snapshot.modules[1].flags, 0, "loaded again");
  CHECK(snapshot.functions[2].name == again->functions[0].name, "named by the new descriptor");
  zinst_registry_free_tables(&snapshot);
  __zinst_unregister_module(again);
  free_heap_module(again);
  /* Another line: another build of the library, new ids. */
  struct zinst_module_info *changed = heap_module(8);
  __zinst_register_module(changed);
  CHECK_EQ_U64(changed->id_base, 192, "a changed module gets new ids");
  __zinst_unregister_module(changed);
  free_heap_module(changed);
  zinst_runtime_lock();
  CHECK(zinst_registry_fill_snapshot(&snapshot) == 0, "fill");
  zinst_runtime_unlock();
  CHECK_EQ_U64(snapshot.module_count, 3, "the changed module is a third");
  CHECK(strcmp(snapshot.functions[2].name, "gone_fn") == 0 && snapshot.functions[2].line == 7,
        "the first copy is named after the second unload");
  CHECK(strcmp(snapshot.functions[3].name, "gone_fn") == 0 && snapshot.functions[3].line == 8,
        "the changed module's function");
  CHECK_EQ_U64(snapshot.modules[1].flags | snapshot.modules[2].flags, ZINST_MODULE_UNLOADED,
               "both unloaded");
  zinst_registry_free_tables(&snapshot);

  /* zinst_reset: later counts only. */
  for (int i = 0; i < 5; i++)
    call_first(0);
  zinst_reset();
  struct zinst_tree tree = test_own_tree();
  uint32_t one = test_child(&tree, 0, first.id_base + 0);
  CHECK_EQ_U64(tree.nodes[one].calls, 0, "no calls right after the reset");
  CHECK_EQ_U64(tree.nodes[one].inclusive_ticks, 0, "no time right after the reset");
  zinst_tree_free(&tree);
  for (int i = 0; i < 3; i++)
    call_first(0);
  call_first(1);
  tree = test_own_tree();
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, first.id_base + 0)].calls, 3, "calls after reset");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, first.id_base + 1)].calls, 1, "new context");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, 0, 128)].calls, 0, "unloaded module's context reset");
  zinst_tree_free(&tree);
  printf("registry and reset: ok\n");
  return 0;
}
