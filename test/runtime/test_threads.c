/*
 * test_threads.c - 8 threads x 100000 calls: every thread's tree is kept at
 * its exit and the totals are exact, separately and summed; threads still
 * running at snapshot time are read as they are; exited threads beyond
 * max_threads are summed into one merged tree without losing a call.
 */
#include "test_support.h"

#include <pthread.h>

enum { F_WORKER, F_LEAF, F_COUNT };
enum { THREADS = 8, CALLS = 100000 };

static const struct zinst_function_info functions[F_COUNT] = {
    {"worker", "worker", "threads.c", 1, 0},
    {"leaf", "leaf", "threads.c", 2, 0},
};
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, F_COUNT, functions, "threads.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

static volatile int sink;

NOINLINE static void leaf(void) {
  TEST_ENTER(&module, F_LEAF);
  sink++;
  TEST_EXIT(&module, F_LEAF);
}

static pthread_mutex_t gate_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int ready_threads, gate_open;

/* CALLS calls of leaf under one worker frame; if `hold`, waits (frame open)
 * until the gate opens. */
NOINLINE static void *worker(void *hold) {
  TEST_ENTER(&module, F_WORKER);
  for (int i = 0; i < CALLS; i++)
    leaf();
  if (hold) {
    pthread_mutex_lock(&gate_mutex);
    ready_threads++;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open)
      pthread_cond_wait(&gate_cond, &gate_mutex);
    pthread_mutex_unlock(&gate_mutex);
  }
  TEST_EXIT(&module, F_WORKER);
  return NULL;
}

static void run_threads(int count, int hold, pthread_t *threads) {
  for (int t = 0; t < count; t++)
    CHECK(pthread_create(&threads[t], NULL, worker, hold ? &module : NULL) == 0, "create");
}

static void join_threads(int count, pthread_t *threads) {
  for (int t = 0; t < count; t++)
    CHECK(pthread_join(threads[t], NULL) == 0, "join");
}

static struct zinst_snapshot take_snapshot(void) {
  struct zinst_snapshot snapshot = {0};
  zinst_runtime_lock();
  CHECK(zinst_threads_fill_snapshot(&snapshot, zinst_read_ticks()) == 0, "snapshot");
  zinst_runtime_unlock();
  return snapshot;
}

/* Checks every thread record of `snapshot` with the given flags: worker and
 * leaf calls scaled by its thread_count. Returns the leaf calls summed. */
static uint64_t check_threads(const struct zinst_snapshot *snapshot, uint32_t flags,
                              uint32_t *records) {
  uint64_t leaf_calls = 0;
  *records = 0;
  for (uint32_t t = 0; t < snapshot->thread_count; t++) {
    const struct zinst_snapshot_thread *thread = &snapshot->threads[t];
    if (thread->flags != flags)
      continue;
    ++*records;
    const struct zinst_tree *tree = &thread->tree;
    test_check_order(tree);
    CHECK_EQ_U64(tree->count, 3, "root, worker, leaf");
    uint32_t w = test_child(tree, 0, module.id_base + F_WORKER);
    uint32_t l = test_child(tree, w, module.id_base + F_LEAF);
    CHECK_EQ_U64(tree->nodes[w].calls, thread->thread_count, "worker calls");
    CHECK_EQ_U64(tree->nodes[l].calls, (uint64_t)CALLS * thread->thread_count, "leaf calls");
    CHECK(tree->nodes[w].inclusive_ticks >= tree->nodes[l].inclusive_ticks, "worker includes leaf");
    CHECK(tree->nodes[l].inclusive_ticks > 0, "leaf timed");
    CHECK(!(flags & ZINST_THREAD_MERGED) || thread->tid == 0, "merged record has tid 0");
    CHECK((flags & ZINST_THREAD_MERGED) || thread->tid != 0, "thread has its tid");
    leaf_calls += tree->nodes[l].calls;
  }
  return leaf_calls;
}

int main(void) {
  zinst_disable_exit_dump();
  pthread_t threads[THREADS];
  uint32_t records;

  /* Exited threads, each kept separately. */
  run_threads(THREADS, 0, threads);
  join_threads(THREADS, threads);
  struct zinst_snapshot snapshot = take_snapshot();
  CHECK_EQ_U64(snapshot.thread_count, THREADS, "one record per exited thread");
  uint64_t sum = check_threads(&snapshot, ZINST_THREAD_EXITED, &records);
  CHECK_EQ_U64(records, THREADS, "exited records");
  CHECK_EQ_U64(sum, (uint64_t)THREADS * CALLS, "leaf calls summed");
  zinst_threads_free_snapshot(&snapshot);

  /* Running threads, stopped with their worker frame open. */
  run_threads(THREADS / 2, 1, threads);
  pthread_mutex_lock(&gate_mutex);
  while (ready_threads < THREADS / 2)
    pthread_cond_wait(&gate_cond, &gate_mutex);
  pthread_mutex_unlock(&gate_mutex);
  snapshot = take_snapshot();
  CHECK_EQ_U64(snapshot.thread_count, THREADS + THREADS / 2, "exited + running");
  sum = check_threads(&snapshot, 0, &records);
  CHECK_EQ_U64(records, THREADS / 2, "running records");
  CHECK_EQ_U64(sum, (uint64_t)THREADS / 2 * CALLS, "running leaf calls");
  zinst_threads_free_snapshot(&snapshot);
  pthread_mutex_lock(&gate_mutex);
  gate_open = 1;
  pthread_cond_broadcast(&gate_cond);
  pthread_mutex_unlock(&gate_mutex);
  join_threads(THREADS / 2, threads);

  /* Beyond max_threads exited threads, the rest are merged. 12 are kept
   * now; with the bound at 14, 2 more stay separate and 6 are merged. */
  zinst_config.max_threads = 14;
  run_threads(THREADS, 0, threads);
  join_threads(THREADS, threads);
  snapshot = take_snapshot();
  CHECK_EQ_U64(snapshot.thread_count, 15, "14 separate + 1 merged");
  sum = check_threads(&snapshot, ZINST_THREAD_EXITED, &records);
  CHECK_EQ_U64(records, 14, "separate exited records");
  uint64_t merged = check_threads(&snapshot, ZINST_THREAD_EXITED | ZINST_THREAD_MERGED, &records);
  CHECK_EQ_U64(records, 1, "merged record");
  CHECK_EQ_U64(sum + merged, (uint64_t)20 * CALLS, "nothing lost");
  CHECK_EQ_U64(merged, (uint64_t)6 * CALLS, "merged calls");
  zinst_threads_free_snapshot(&snapshot);
  printf("threads: ok\n");
  return 0;
}
