/*
 * test_node_placement.c - a thread's nodes are placed so that no early node
 * line shares an L1 set and a way-predictor tag with the thread's TLS line
 * of __zinst_context (thread_state.c, zinst_node_shift).
 *
 * First zinst_node_shift itself: on the layout that made fib slow (the
 * nodes 128 MiB and a page below a TLS line whose address has bit 12 set,
 * where the unmoved nodes' first page has the tag), and on 20,000 random
 * placements, the nodes it picks have at least CLEAR_PAGES clear pages
 * first, and no other shift has more. Then the blocks of the main thread
 * and of threads that reuse an exited thread's block: placed the same way,
 * inside the block, with their calls counted.
 *
 * The tag is AMD Zen's hash of linear address bits 12-27, computed here
 * independently of the runtime. Placement is address arithmetic only, so
 * the test means the same on every x86-64 or AArch64 machine.
 */
#include "test_support.h"

#include <pthread.h>

enum { THREADS = 6, CLEAR_PAGES = 16, SHIFTS = 32, PAGE = 4096, LINE = 64 };

static struct zinst_function_info functions[1] = {{"work", "work", "place.c", 1, 0}};
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, 1, functions, "place.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

static uint32_t zen_tag(uintptr_t address) {
  static const int pairs[8][2] = {{12, 27}, {13, 26}, {14, 25}, {15, 20},
                                  {16, 21}, {17, 22}, {18, 23}, {19, 24}};
  uint32_t tag = 0;
  for (int i = 0; i < 8; i++)
    tag |= (uint32_t)(((address >> pairs[i][0]) ^ (address >> pairs[i][1])) & 1) << i;
  return tag;
}

/* Node pages from `nodes` on, up to 64, before the first whose line in
 * `hot`'s set has `hot`'s tag. */
static uint32_t clear_pages(uintptr_t nodes, uintptr_t hot) {
  uint32_t clear = 0;
  while (clear < 64 &&
         zen_tag(nodes + (uintptr_t)clear * PAGE + (hot & (PAGE - LINE))) != zen_tag(hot))
    clear++;
  return clear;
}

static void check_shift(uintptr_t nodes, uintptr_t hot, const char *what) {
  uint64_t shift = zinst_node_shift(nodes, hot);
  CHECK(shift % PAGE == 0 && shift < SHIFTS * PAGE, "%s: shift %#lx", what, (unsigned long)shift);
  uint32_t clear = clear_pages(nodes + shift, hot);
  CHECK(clear >= CLEAR_PAGES, "%s: only %u clear pages after the shift", what, clear);
  for (uint64_t other = 0; other < SHIFTS * PAGE; other += PAGE)
    CHECK(clear_pages(nodes + other, hot) <= clear, "%s: shift %#lx clears more than %#lx", what,
          (unsigned long)other, (unsigned long)shift);
}

NOINLINE static void work(void) {
  TEST_ENTER(&module, 0);
  TEST_EXIT(&module, 0);
}

/* Checks the calling thread's block after three calls; returns how many
 * node pages from the first are clear. */
static uint32_t check_this_thread(const char *who) {
  for (int i = 0; i < 3; i++)
    work();
  struct zinst_thread_state *ts = zinst_tls_state;
  CHECK(ts != NULL, "%s: no thread state after calls", who);
  uintptr_t hot = (uintptr_t)&__zinst_context & ~(uintptr_t)(LINE - 1);
  uintptr_t nodes = (uintptr_t)ts->nodes;
  CHECK(nodes % PAGE == 0, "%s: nodes start at %#lx, not on a 4 KiB boundary", who,
        (unsigned long)nodes);
  CHECK((uintptr_t)&ts->nodes[ts->sink_node + 1] <= (uintptr_t)ts + ts->mapping_size,
        "%s: the sink node ends beyond the block", who);
  uint32_t clear = clear_pages(nodes, hot);
  CHECK(clear >= CLEAR_PAGES, "%s: node page %u has the TLS line's tag", who, clear);
  return clear;
}

static void *thread_main(void *arg) {
  char who[32];
  snprintf(who, sizeof who, "thread %d", (int)(intptr_t)arg);
  check_this_thread(who);
  return NULL;
}

int main(int argc, char **argv) {
  test_start_in_mode(argc, argv);
  uintptr_t slow_hot = (uintptr_t)0x7fcfd60a3740u;
  uintptr_t slow_nodes = (slow_hot & ~(uintptr_t)(PAGE - 1)) - 0x8001000u;
  CHECK(clear_pages(slow_nodes, slow_hot) == 0, "the slow layout's first node page has the tag");
  check_shift(slow_nodes, slow_hot, "the slow layout");
  uint64_t x = 88172645463325252u;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    uintptr_t nodes = (uintptr_t)(x & 0x7ffffffff000u);
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    check_shift(nodes, (uintptr_t)(x & 0x7fffffffffc0u), "a random placement");
  }

  uint32_t clear = check_this_thread("main thread");
  /* One at a time, so that each takes the block the one before left. */
  for (int t = 0; t < THREADS; t++) {
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, thread_main, (void *)(intptr_t)t) == 0, "pthread_create");
    CHECK(pthread_join(thread, NULL) == 0, "pthread_join");
  }
  struct zinst_tree tree = test_own_tree();
  uint32_t work_node = test_child(&tree, 0, module.id_base);
  CHECK_EQ_U64(tree.nodes[work_node].calls, 3, "the main thread's calls of work");
  zinst_tree_free(&tree);
  printf("node_placement: ok (main thread: %u clear pages)\n", clear);
  return 0;
}
