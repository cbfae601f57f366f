/*
 * test_inline_time.c - how inline-timed exits find out that they were
 * timed (ZINST_MODULE_INLINE_TIME, zinst_abi.h): the runtime keeps the
 * frame address of the thread's innermost timed function activation in
 * __zinst_timed_frame, and an exit calls the runtime when that is at or
 * below its own frame. Driven by a C copy of the code the pass emits, with
 * made-up frame addresses, every activation timed (ZINST_SAMPLE=1) unless
 * the test makes one untimed:
 *
 *   - the root's address before any frame, the activation's own while it
 *     is the innermost timed one, its caller's again after its exit;
 *   - a zone's frame never counts: the function it is in stays the
 *     innermost, and that function's exit closes a zone left open;
 *   - an untimed activation whose timed callee was abandoned (a longjmp
 *     that no instrumented code caught) ends that frame at its own exit,
 *     without counting an unmatched exit;
 *   - a timed activation whose callee was abandoned closes both.
 */
#include "test_support.h"

#include "module_registry.h"

enum { F_OUTER, F_MIDDLE, F_DEEP, F_COUNT };

static struct zinst_function_info functions[F_COUNT] = {
    [F_OUTER] = {"outer", "outer", "time.c", 1, 0},
    [F_MIDDLE] = {"middle", "middle", "time.c", 2, 0},
    [F_DEEP] = {"deep", "deep", "time.c", 3, 0}};
static uint32_t function_ids[F_COUNT] = {ZINST_ID_BASE_UNREGISTERED + F_OUTER,
                                         ZINST_ID_BASE_UNREGISTERED + F_MIDDLE,
                                         ZINST_ID_BASE_UNREGISTERED + F_DEEP};
static struct zinst_module_info module = {ZINST_ABI_VERSION,
                                          F_COUNT,
                                          functions,
                                          "time.c",
                                          ZINST_ID_BASE_UNREGISTERED,
                                          0,
                                          0,
                                          0,
                                          NULL,
                                          ZINST_MODULE_INLINE_TREE | ZINST_MODULE_INLINE_TIME,
                                          0,
                                          function_ids};

/* Frame addresses as the pass's would be: 8-aligned, deeper ones lower. */
enum { OUTER = 0x7f0000, MIDDLE = OUTER - 64, DEEP = MIDDLE - 64 };

struct activation {
  struct zinst_node *saved, *own;
  uintptr_t frame;
};

/* What the pass emits at a function's entry (pass/InlineContextTree.h). */
static struct activation enter(uint32_t index, uintptr_t frame) {
  struct activation a = {__zinst_context, NULL, frame};
  uint32_t id = __atomic_load_n(&module.function_ids[index], __ATOMIC_RELAXED);
  struct zinst_node *child = __atomic_load_n(
      &a.saved->recent_children[index & (ZINST_NODE_RECENT_CHILDREN - 1)], __ATOMIC_RELAXED);
  if (child->function == id) {
    child->calls++;
    __zinst_context = child;
    if (--child->untimed_left < 0)
      a.saved = __zinst_context_miss_or_due(&module, index, a.saved, child, (void *)frame);
  } else {
    /* Counts the call, and times it when it is due; makes the context
     * current and says what to put back. */
    a.saved = __zinst_context_miss_or_due(&module, index, a.saved, NULL, (void *)frame);
    child = __zinst_context;
  }
  a.own = child;
  return a;
}

/* ... and on its way out. */
static void leave(struct activation a) {
  if (__zinst_timed_frame <= a.frame)
    __zinst_timed_exit((void *)a.frame);
  __zinst_context = a.saved;
}

int main(int argc, char **argv) {
  setenv("ZINST_SAMPLE", "1", 1);
  test_start_in_mode(argc, argv);
  CHECK_EQ_U64(__zinst_timed_frame, ZINST_ROOT_FRAME_ADDRESS, "before the thread's first frame");

  struct activation outer = enter(F_OUTER, OUTER);
  CHECK(zinst_registry_inline_time(), "the process runs inline timing");
  struct zinst_thread_state *ts = zinst_tls_state;
  CHECK_EQ_U64(ts->depth, 2, "root and outer");
  CHECK_EQ_U64(__zinst_timed_frame, OUTER, "outer is the innermost timed activation");

  /* A timed callee: its exit closes it; outer is the innermost again. */
  struct activation middle = enter(F_MIDDLE, MIDDLE);
  CHECK_EQ_U64(__zinst_timed_frame, MIDDLE, "middle timed");
  struct zinst_node *middle_node = middle.own;
  leave(middle);
  CHECK_EQ_U64(ts->depth, 2, "middle's frame closed");
  CHECK_EQ_U64(__zinst_timed_frame, OUTER, "outer again");
  CHECK_EQ_U64(middle_node->calls, 1, "middle's calls");
  CHECK(middle_node->exact_ticks > 0, "middle's activation was timed");

  /* A zone in outer: timed (its frame is 1 below outer's), never the
   * innermost; left open, outer's exit closes it with outer. */
  static struct zinst_zone zone = ZINST_ZONE_INIT("zone");
  zinst_zone_begin(&zone);
  CHECK_EQ_U64(ts->depth, 3, "the zone's frame");
  CHECK_EQ_U64(ts->frames[2].frame_address, OUTER - 1, "below outer's");
  CHECK_EQ_U64(__zinst_timed_frame, OUTER, "a zone is not a function");
  uint64_t unmatched = ts->unmatched_exits;
  leave(outer);
  CHECK_EQ_U64(ts->depth, 1, "outer's exit closed the zone and outer");
  CHECK_EQ_U64(__zinst_timed_frame, ZINST_ROOT_FRAME_ADDRESS, "no timed frame left");
  CHECK_EQ_U64(ts->unmatched_exits, unmatched, "nothing unmatched");

  /* outer (timed) calls middle (untimed), which calls deep (timed); deep
   * never exits: a longjmp took the thread back into middle through code
   * that is not instrumented. middle's exit ends deep's frame, and outer's
   * exit its own. */
  outer = enter(F_OUTER, OUTER);
  middle_node->untimed_left = ZINST_NEVER_TIMED; /* middle's next activation is not timed */
  middle = enter(F_MIDDLE, MIDDLE);
  CHECK_EQ_U64(__zinst_timed_frame, OUTER, "middle untimed");
  struct activation deep = enter(F_DEEP, DEEP);
  CHECK_EQ_U64(__zinst_timed_frame, DEEP, "deep timed");
  CHECK_EQ_U64(ts->depth, 3, "root, outer, deep");
  CHECK_EQ_U64(deep.own->exact_ticks, 0, "deep's frame is open");
  __zinst_context = middle.own; /* the longjmp: deep's exit never runs */
  leave(middle);
  CHECK_EQ_U64(ts->depth, 2, "middle's exit ended deep's frame");
  CHECK(deep.own->exact_ticks > 0, "deep's activation was credited");
  CHECK_EQ_U64(__zinst_timed_frame, OUTER, "outer again");
  CHECK_EQ_U64(ts->unmatched_exits, unmatched, "middle's exit is no unmatched exit");

  /* Abandoned under a timed activation: outer's exit closes both. */
  middle_node->untimed_left = 0; /* its next one is */
  middle = enter(F_MIDDLE, MIDDLE);
  deep = enter(F_DEEP, DEEP);
  CHECK_EQ_U64(ts->depth, 4, "root, outer, middle, deep");
  uint64_t middle_ticks = middle_node->exact_ticks;
  __zinst_context = outer.own; /* a longjmp into outer: neither exit runs */
  leave(outer);
  CHECK_EQ_U64(ts->depth, 1, "outer's exit closed all three");
  CHECK(middle_node->exact_ticks > middle_ticks, "middle credited");
  CHECK_EQ_U64(__zinst_timed_frame, ZINST_ROOT_FRAME_ADDRESS, "none left");
  CHECK_EQ_U64(ts->unmatched_exits, unmatched, "nothing unmatched");
  /* The thread's first call came from no context; its exit put the
   * thread's own root back instead (zinst_abi.h), where the later ones
   * started. */
  CHECK(__zinst_context == &ts->nodes[0], "back at the thread's root");

  struct zinst_tree tree = test_own_tree();
  uint32_t outer_node = test_child(&tree, 0, module.id_base + F_OUTER);
  CHECK_EQ_U64(tree.nodes[outer_node].calls, 2, "outer calls");
  uint32_t middle_index = test_child(&tree, outer_node, module.id_base + F_MIDDLE);
  CHECK_EQ_U64(tree.nodes[middle_index].calls, 3, "middle calls");
  CHECK_EQ_U64(tree.nodes[test_child(&tree, middle_index, module.id_base + F_DEEP)].calls, 2,
               "deep calls");
  zinst_tree_free(&tree);
  printf("inline time: ok\n");
  return 0;
}
