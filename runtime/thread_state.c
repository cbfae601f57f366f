/*
 * thread_state.c - per-thread blocks, node creation, stack repair, and the
 * lists of live and exited threads.
 */
#define _GNU_SOURCE
#include "thread_state.h"

#include "cycle_counter.h"
#include "memory.h"
#include "module_registry.h"
#include "zinst_abi.h"
#include "zinst_format.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "heap.h" /* after the system headers: its macros route malloc & co */

#define RELAXED_STORE(lvalue, value) __atomic_store_n(&(lvalue), (value), __ATOMIC_RELAXED)
#define RELAXED_LOAD(lvalue) __atomic_load_n(&(lvalue), __ATOMIC_RELAXED)

ZINST_TLS_INITIAL_EXEC struct zinst_thread_state *zinst_tls_state;

struct zinst_node zinst_no_context = {
    .untimed_left = ZINST_NEVER_TIMED,
    .parent = ZINST_NONE,
    .recent_children = {[0 ... ZINST_NODE_RECENT_CHILDREN - 1] = &zinst_no_context}};

/* Points every recent-children slot of `node` at zinst_no_context. */
static void clear_recent_children(struct zinst_node *node) {
  for (uint32_t i = 0; i < ZINST_NODE_RECENT_CHILDREN; i++)
    node->recent_children[i] = &zinst_no_context;
}

enum { INITIAL_HASH_BITS = 10, THREAD_NAME_SIZE = 32 };

/* An exited thread, kept until the process ends. */
struct retired_thread {
  uint64_t tid;
  char name[THREAD_NAME_SIZE];
  uint32_t flags;
  struct zinst_tree tree;         /* owned */
  struct zinst_site_counts sites; /* owned */
  uint64_t depth_overflow_calls;
  uint64_t lost_calls;
  uint32_t mem_slot; /* memory.h; 0: none */
};

/* All guarded by the runtime lock. */
static struct zinst_thread_state *live_head, *live_tail;
static struct retired_thread *retired;
static uint32_t retired_count, retired_capacity;
static struct zinst_tree merged_tree; /* exited threads beyond max_threads */
static uint32_t merged_threads;
static uint64_t merged_overflow_calls, merged_lost_calls;
static struct zinst_site_counts merged_sites;

static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int exit_key_ok;

/* LeakSanitizer's root regions: defined when the program runs under LSan
 * or ASan (whether or not the runtime itself was compiled with them), NULL
 * otherwise. LSan does not scan mmap'd memory, and a thread's block is
 * mmap'd: the zinst_reset() baseline, heap memory reached only from the
 * block's struct, looked leaked to it. The struct is registered for the
 * block's lifetime (only the struct: the node array holds no pointers, and
 * scanning its reservation would touch every page). */
extern void __lsan_register_root_region(const void *begin, size_t size) __attribute__((weak));
extern void __lsan_unregister_root_region(const void *begin, size_t size) __attribute__((weak));

static uint64_t page_round(uint64_t bytes) {
  uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
  return (bytes + page - 1) / page * page;
}

static void *map_reserve(uint64_t bytes) {
  void *p =
      mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static uint32_t hash_slot(uint64_t key, uint32_t bits) {
  return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

static uint64_t hash_key(uint32_t parent, uint32_t function) {
  return ((uint64_t)parent << 32) | function;
}

static void live_list_remove(struct zinst_thread_state *ts) {
  if (ts->prev_live)
    ts->prev_live->next_live = ts->next_live;
  else
    live_head = ts->next_live;
  if (ts->next_live)
    ts->next_live->prev_live = ts->prev_live;
  else
    live_tail = ts->prev_live;
  ts->prev_live = ts->next_live = NULL;
}

static void unmap_state(struct zinst_thread_state *ts) {
  if (__lsan_unregister_root_region)
    __lsan_unregister_root_region(ts, sizeof *ts);
  zinst_tree_free(&ts->baseline);
  zinst_site_counts_free(&ts->baseline_sites);
  zinst_site_array_unmap(ts->site_array);
  if (ts->hash)
    munmap(ts->hash, (size_t)(ts->hash_mask + 1) * sizeof *ts->hash);
  munmap(ts, ts->mapping_size);
}

/*
 * Blocks of exited threads, kept for the next threads (guarded by the
 * runtime lock). A program that starts threads by the hundred (a worker
 * pool per training step) paid, per thread, three mappings, three unmaps
 * and their page faults: ~50 us, a third of the RL example's overhead.
 * A small block is scrubbed instead (what was written: its nodes, its hash
 * table, its registered site counters; the site sink is never read) and
 * handed to the next thread. Blocks have one layout as long as the
 * settings stay (zinst_thread_state_create checks).
 */
enum { SPARE_BLOCKS_MAX = 16, SPARE_MAX_NODES = 4096 };
static struct zinst_thread_state *spare_blocks[SPARE_BLOCKS_MAX];
static uint32_t spare_block_count;

/* Scrub `ts` (its thread has exited, its tree was copied) and keep it as a
 * spare, or unmap it if it is large or the spares are full. Ownership of
 * the block passes to the spare list or ends. */
static void retire_block(struct zinst_thread_state *ts, uint32_t site_count) {
  if (ts->node_count > SPARE_MAX_NODES || ts->hash_bits != INITIAL_HASH_BITS ||
      __atomic_load_n(&spare_block_count, __ATOMIC_RELAXED) == SPARE_BLOCKS_MAX) {
    unmap_state(ts);
    return;
  }
  zinst_tree_free(&ts->baseline);
  zinst_site_counts_free(&ts->baseline_sites);
  memset(ts->nodes, 0, (size_t)ts->node_count * sizeof *ts->nodes);
  memset(&ts->nodes[ts->sink_node], 0, sizeof *ts->nodes);
  memset(ts->hash, 0, (size_t)(ts->hash_mask + 1) * sizeof *ts->hash);
  memset(ts->site_array + ZINST_MAX_MODULE_SITES, 0, (size_t)site_count * sizeof(uint64_t));
  zinst_runtime_lock();
  bool kept = spare_block_count < SPARE_BLOCKS_MAX;
  if (kept)
    spare_blocks[spare_block_count++] = ts;
  zinst_runtime_unlock();
  if (!kept)
    unmap_state(ts);
}

/* A spare block, or NULL. Takes the runtime lock. */
static struct zinst_thread_state *take_spare_block(void) {
  struct zinst_thread_state *ts = NULL;
  zinst_runtime_lock();
  if (spare_block_count > 0)
    ts = spare_blocks[--spare_block_count];
  zinst_runtime_unlock();
  return ts;
}

/* Reads the calling thread's name (its own comm, so no /proc needed). */
static void read_own_name(char name[THREAD_NAME_SIZE]) {
  char comm[17] = {0};
  if (prctl(PR_GET_NAME, comm, 0, 0, 0) != 0)
    comm[0] = '\0';
  snprintf(name, THREAD_NAME_SIZE, "%s", comm);
}

/* Reads another thread's name from /proc; "" if it is gone. */
static void read_thread_name(uint64_t tid, char name[THREAD_NAME_SIZE]) {
  char path[64];
  name[0] = '\0';
  snprintf(path, sizeof path, "/proc/self/task/%llu/comm", (unsigned long long)tid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return;
  ssize_t n;
  do
    n = read(fd, name, THREAD_NAME_SIZE - 1);
  while (n < 0 && errno == EINTR);
  close(fd);
  if (n <= 0)
    n = 0;
  name[n] = '\0';
  char *newline = strchr(name, '\n');
  if (newline)
    *newline = '\0';
}

static void subtract_floor(uint64_t *value, uint64_t baseline) {
  *value = *value > baseline ? *value - baseline : 0;
}

int zinst_thread_copy_tree(const struct zinst_thread_state *ts, uint64_t now,
                           struct zinst_tree *out) {
  uint32_t count = __atomic_load_n(&ts->node_count, __ATOMIC_ACQUIRE);
  if (zinst_tree_init(out, count) != 0)
    return -1;
  for (uint32_t n = 1; n < count; n++) {
    const struct zinst_node *node = &ts->nodes[n];
    uint64_t calls = RELAXED_LOAD(node->calls);
    uint64_t exact_until = RELAXED_LOAD(node->exact_until);
    uint64_t exact_ticks = RELAXED_LOAD(node->exact_ticks);
    uint64_t sampled_ticks = RELAXED_LOAD(node->sampled_ticks);
    double sampled_sq;
    __atomic_load(&node->sampled_sq, &sampled_sq, __ATOMIC_RELAXED);
    uint64_t sampled_calls = RELAXED_LOAD(node->sampled_calls);
    out->nodes[n] = (struct zinst_tree_node){
        .parent = node->parent,
        .function = node->function,
        .calls = calls,
        .inclusive_ticks = exact_ticks + sampled_ticks,
        /* The exact stratum: a prefix of the calls, open ones included. */
        .exact_calls = calls < exact_until ? calls : exact_until,
        .sampled_calls = zinst_samples_of(sampled_calls),
        .sampled_ticks = sampled_ticks,
        .sampled_sq = sampled_sq,
        .sample_shift = zinst_sample_shift_of(sampled_calls),
        .samples_thinned = zinst_samples_thinned_of(sampled_calls),
    };
  }
  out->count = count;
  if (!ts->count_only) {
    /* Open frames count up to `now` in their own stratum (an open sampled
     * frame is one more sample); untimed ones add nothing (their call is
     * counted already). The live frames are only read. */
    uint32_t depth = RELAXED_LOAD(ts->depth);
    for (uint32_t f = 1; f < depth && f < ts->frame_limit; f++) {
      uint32_t node = RELAXED_LOAD(ts->frames[f].node);
      uint32_t kind = RELAXED_LOAD(ts->frames[f].kind);
      uint64_t start = RELAXED_LOAD(ts->frames[f].start_ticks);
      int64_t open = (int64_t)(now - start);
      if (node >= count || kind == ZINST_FRAME_UNTIMED || start == 0)
        continue;
      uint64_t duration = open > 0 ? (uint64_t)open : 0;
      struct zinst_tree_node *target = &out->nodes[node];
      target->inclusive_ticks += duration;
      if (kind == ZINST_FRAME_SAMPLED) {
        target->sampled_calls++;
        target->sampled_ticks += zinst_sample_part(ts, &ts->nodes[node], duration);
        target->sampled_sq += (double)duration * (double)duration;
      }
    }
  }
  for (uint32_t n = 1; n < count && n < ts->baseline.count; n++)
    zinst_tree_node_subtract(&out->nodes[n], &ts->baseline.nodes[n]);
  return 0;
}

static int retired_append(const struct retired_thread *thread) {
  if (retired_count == retired_capacity) {
    uint32_t capacity = retired_capacity ? retired_capacity * 2 : 16;
    struct retired_thread *grown = realloc(retired, capacity * sizeof *grown);
    if (!grown)
      return -1;
    retired = grown;
    retired_capacity = capacity;
  }
  retired[retired_count++] = *thread;
  return 0;
}

/* Thread exit (pthread key destructor): turn the thread's block into a heap
 * tree kept for later dumps (its open frames end now), then unmap it. */
static void retire_thread(void *value) {
  struct zinst_thread_state *ts = value;
  if (!ts || ts != zinst_tls_state)
    return;
  int saved_errno = errno;
  ts->busy = 1; /* events from here on (an instrumented free) are dropped */
  /* Inline enters (ZINST_MODULE_INLINE_TREE) check no `busy`: from the
   * no-context node every one of them takes the slow path, which drops it.
   * It also keeps them off the block, which may go to another thread. */
  __zinst_context = &zinst_no_context;
  __zinst_timed_frame = ZINST_ROOT_FRAME_ADDRESS; /* no inline exit calls the runtime */
  zinst_tls_in_runtime = 1;
  struct retired_thread thread = {
      .tid = ts->tid, .flags = ZINST_THREAD_EXITED, .mem_slot = ts->mem_slot};
  if (ts->is_main)
    thread.flags |= ZINST_THREAD_MAIN;
  read_own_name(thread.name);
  uint64_t now = ts->count_only ? 0 : zinst_read_ticks();

  zinst_runtime_lock();
  live_list_remove(ts);
  const uint32_t site_count = zinst_registry_site_count();
  thread.depth_overflow_calls = ts->depth_overflow_calls;
  thread.lost_calls = ts->lost_calls;
  subtract_floor(&thread.depth_overflow_calls, ts->baseline_overflow_calls);
  subtract_floor(&thread.lost_calls, ts->baseline_lost_calls);
  if (zinst_site_counts_copy(ts->site_array, zinst_registry_site_count(), &ts->baseline_sites,
                             &thread.sites) != 0)
    fprintf(stderr, "zinst: out of memory: exited thread %llu's site counts are lost\n",
            (unsigned long long)thread.tid);
  if (zinst_thread_copy_tree(ts, now, &thread.tree) == 0) {
    int kept = 0;
    if (retired_count < zinst_config.max_threads)
      kept = retired_append(&thread) == 0;
    if (kept)
      zinst_mem_slot_retired(thread.mem_slot, &thread.tree, 0, NULL);
    if (!kept) {
      if (zinst_tree_merge(&merged_tree, &thread.tree) != 0)
        fprintf(stderr, "zinst: out of memory: part of exited thread %llu's profile is lost\n",
                (unsigned long long)thread.tid);
      zinst_mem_slot_retired(thread.mem_slot, &thread.tree, 1, &merged_tree);
      merged_threads++;
      merged_overflow_calls += thread.depth_overflow_calls;
      merged_lost_calls += thread.lost_calls;
      if (zinst_site_counts_add(&merged_sites, &thread.sites) != 0)
        fprintf(stderr, "zinst: out of memory: exited thread %llu's site counts are lost\n",
                (unsigned long long)thread.tid);
      zinst_tree_free(&thread.tree);
      zinst_site_counts_free(&thread.sites);
    }
  } else {
    zinst_site_counts_free(&thread.sites);
    zinst_mem_slot_orphaned(thread.mem_slot);
    fprintf(stderr, "zinst: out of memory: exited thread %llu's profile is lost\n",
            (unsigned long long)thread.tid);
  }
  zinst_runtime_unlock();

  zinst_tls_state = NULL;
  __zinst_site_counters = NULL;
  retire_block(ts, site_count);
  zinst_tls_in_runtime = 0;
  errno = saved_errno;
}

static void make_exit_key(void) {
  exit_key_ok = pthread_key_create(&exit_key, retire_thread) == 0;
}

void zinst_thread_set_sample_limit(struct zinst_thread_state *ts, uint32_t limit,
                                   uint32_t error_percent) {
  /* Exact timing (R = 1) stays exact. */
  ts->sample_limit = ts->sample_span > 1 ? limit : 0;
  uint32_t first_check =
      ts->sample_limit < ZINST_FIRST_SAMPLE_CHECK ? ts->sample_limit : ZINST_FIRST_SAMPLE_CHECK;
  ts->sample_check_mask = first_check == 0 ? UINT64_MAX : first_check - 1;
  double error = error_percent / 100.0 / 1.96;
  ts->sample_precision = error * error;
  ts->max_sample_shift = 0;
  while (((uint64_t)ts->sample_span + 1) << (ts->max_sample_shift + 1) <= (UINT64_C(1) << 31))
    ts->max_sample_shift++;
}

void zinst_thread_seed_sampling(struct zinst_thread_state *ts) {
  /* splitmix64 of the tid and the clock: distinct threads (and a fork
   * child) get unrelated sequences. */
  uint64_t z = ts->tid * 0x9E3779B97F4A7C15ull ^ zinst_read_ticks();
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  ts->rng = z ? z : 0x2545F4914F6CDD1Dull;
}

/*
 * Where a thread's nodes start (zinst_node_shift). On AMD's Zen cores the L1 data cache
 * predicts a line's way from a tag hashed from its linear address bits 12
 * to 27 (reverse-engineered by Lipp et al., "Take A Way", 2020: bits 12^27,
 * 13^26, 14^25, 15^20, 16^21, 17^22, 18^23 and 19^24), and two lines of one
 * set with one tag evict each other, however many ways are free. The
 * thread's hottest line is its TLS line of __zinst_context, read and
 * written by every call; each page of nodes has one line in its set. The
 * kernel tends to map a thread's block at a fixed distance from its TLS,
 * and for the main thread that distance gave the line of a node near the
 * root the TLS line's tag in about half of all runs (those whose TLS
 * address has bit 12 set): fib in count mode then took 0.17 s instead of
 * 0.11 s. So the nodes move by less than NODE_SHIFT_PAGES pages within the
 * block, to where the first node page whose line has that tag comes latest.
 * The top of the tree, where the hot contexts are, is allocated first: in
 * a simulation of 2 million random placements, the first 64 pages (2048
 * nodes) were clear in 87% of them, the first 17 in all. Elsewhere this
 * moves addresses and changes nothing.
 */
enum { NODE_SHIFT_PAGES = 32, NODE_CHECKED_PAGES = 64, NODE_SHIFT_UNIT = 4096 };

static uint32_t way_predictor_tag(uintptr_t address) {
  static const unsigned char bits[8][2] = {{12, 27}, {13, 26}, {14, 25}, {15, 20},
                                           {16, 21}, {17, 22}, {18, 23}, {19, 24}};
  uint32_t tag = 0;
  for (int i = 0; i < 8; i++)
    tag |= (uint32_t)(((address >> bits[i][0]) ^ (address >> bits[i][1])) & 1) << i;
  return tag;
}

uint64_t zinst_node_shift(uintptr_t nodes, uintptr_t hot_line) {
  uintptr_t line_in_page = hot_line & (NODE_SHIFT_UNIT - 64);
  uint32_t hot_tag = way_predictor_tag(hot_line);
  uint32_t best_shift = 0, best_clear = 0;
  for (uint32_t shift = 0; shift < NODE_SHIFT_PAGES && best_clear < NODE_CHECKED_PAGES; shift++) {
    uint32_t clear = 0; /* pages before the first with the tag */
    while (clear < NODE_CHECKED_PAGES &&
           way_predictor_tag(nodes + (uintptr_t)(shift + clear) * NODE_SHIFT_UNIT + line_in_page) !=
               hot_tag)
      clear++;
    if (clear > best_clear) {
      best_clear = clear;
      best_shift = shift;
    }
  }
  return (uint64_t)best_shift * NODE_SHIFT_UNIT;
}

/* Map (or, `for_thread`, take from the spares) and initialize a block for
 * `max_depth` frames and `max_nodes` contexts, for the calling thread (its
 * tid); with a site counter array when `for_thread`, without for a private
 * block. Published nowhere: the caller decides. NULL when a mapping fails
 * (errno set, nothing left mapped; *bytes says how much the block needed).
 * The block is owned by the caller and released with unmap_state() (or
 * retire_block() for a thread's). */
static struct zinst_thread_state *map_state(uint32_t max_depth, uint32_t max_nodes, int for_thread,
                                            uint64_t *bytes) {
  uint64_t frames_offset = (sizeof(struct zinst_thread_state) + 63) & ~(uint64_t)63;
  uint64_t nodes_offset =
      page_round(frames_offset + ((uint64_t)max_depth + 1) * sizeof(struct zinst_frame));
  /* Nodes 0 (root) .. max_nodes, then the sink at max_nodes + 1, after a
   * shift of less than NODE_SHIFT_PAGES units (zinst_node_shift). */
  uint64_t mapping_size = page_round(nodes_offset + (uint64_t)NODE_SHIFT_PAGES * NODE_SHIFT_UNIT +
                                     ((uint64_t)max_nodes + 2) * sizeof(struct zinst_node));
  uint32_t hash_max_bits = INITIAL_HASH_BITS;
  while ((1ull << hash_max_bits) < 2ull * max_nodes + 2)
    hash_max_bits++;
  *bytes = mapping_size;

  /* A thread's block may be an exited thread's, kept for reuse; a private
   * one is always fresh (never a spare: it is unmapped right after). */
  struct zinst_thread_state *ts = for_thread ? take_spare_block() : NULL;
  struct zinst_hash_slot *hash;
  uint64_t *site_array;
  if (ts && (ts->frame_limit != max_depth + 1 || ts->sink_node != max_nodes + 1)) {
    unmap_state(ts); /* laid out for other settings (tests reload them) */
    ts = NULL;
  }
  if (ts) {
    /* Scrubbed when its thread exited; the header is set afresh below. */
    hash = ts->hash;
    site_array = ts->site_array;
    memset(ts, 0, sizeof *ts);
  } else {
    ts = map_reserve(mapping_size);
    hash = map_reserve(((uint64_t)1 << INITIAL_HASH_BITS) * sizeof(struct zinst_hash_slot));
    site_array = for_thread ? zinst_site_array_map() : NULL;
  }
  if (!ts || !hash || (for_thread && !site_array)) {
    int saved_errno = errno;
    zinst_site_array_unmap(site_array);
    if (ts)
      munmap(ts, mapping_size);
    if (hash)
      munmap(hash, ((uint64_t)1 << INITIAL_HASH_BITS) * sizeof(struct zinst_hash_slot));
    errno = saved_errno;
    return NULL;
  }
  ts->frames = (struct zinst_frame *)((char *)ts + frames_offset);
  /* For the calling thread's TLS line: a private block is the hook
   * calibration's, which runs on this thread too. A spare's nodes may
   * move: it was scrubbed wherever they were. */
  uint64_t shift =
      zinst_node_shift((uintptr_t)ts + nodes_offset, (uintptr_t)&__zinst_context & ~(uintptr_t)63);
  ts->nodes = (struct zinst_node *)((char *)ts + nodes_offset + shift);
  ts->depth = 1;
  ts->frame_limit = max_depth + 1;
  ts->count_only = zinst_config.mode == ZINST_MODE_COUNT;
  ts->node_count = 1;
  ts->hash = hash;
  ts->hash_bits = INITIAL_HASH_BITS;
  ts->hash_mask = (1u << INITIAL_HASH_BITS) - 1;
  ts->hash_max_slots = 1u << hash_max_bits;
  ts->sink_node = max_nodes + 1;
  ts->mapping_size = mapping_size;
  ts->site_array = site_array;
  ts->frames[0] =
      (struct zinst_frame){.frame_address = ZINST_ROOT_FRAME_ADDRESS, .node = 0, .function = 0};
  ts->nodes[0].parent = ZINST_NONE;
  ts->nodes[ts->sink_node].parent = ZINST_NONE;
  /* Never timed: nothing runs in the root, and the sink's calls are lost
   * ones (the inline code enters it, and must not call the runtime). */
  ts->nodes[0].untimed_left = ZINST_NEVER_TIMED;
  ts->nodes[ts->sink_node].untimed_left = ZINST_NEVER_TIMED;
  clear_recent_children(&ts->nodes[0]);
  clear_recent_children(&ts->nodes[ts->sink_node]);
  ts->tid = (uint64_t)syscall(SYS_gettid);
  ts->is_main = ts->tid == (uint64_t)getpid();
  if (ts->count_only) {
    ts->exact_limit = 0;
    ts->long_ticks = 0; /* no exact stratum */
    zinst_thread_set_sample_limit(ts, 0, 0);
  } else {
    ts->exact_limit = zinst_config.exact_calls;
    ts->long_ticks = zinst_config.long_activation_ticks;
    ts->outlier_factor = zinst_config.sample_outlier;
    ts->sample_span = 2 * zinst_config.sample_interval - 1;
    zinst_thread_set_sample_limit(ts, zinst_config.sample_limit, zinst_config.sample_error);
    zinst_thread_seed_sampling(ts);
  }
  if (__lsan_register_root_region)
    __lsan_register_root_region(ts, sizeof *ts); /* unregistered by unmap_state() */
  return ts;
}

struct zinst_thread_state *zinst_thread_state_create(void) {
  if (zinst_tls_in_runtime)
    return NULL;
  int saved_errno = errno;
  zinst_runtime_init();

  uint64_t mapping_size;
  struct zinst_thread_state *ts =
      map_state(zinst_config.max_depth, zinst_config.max_nodes, 1, &mapping_size);
  if (!ts) {
    static int warned;
    if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
      fprintf(stderr,
              "zinst: cannot map %llu bytes for a thread's profile: %s; its calls are "
              "not recorded\n",
              (unsigned long long)mapping_size, strerror(errno));
    errno = saved_errno;
    return NULL;
  }

  /* Reachable (and busy) before anything below can reenter a hook, e.g.
   * pthread_setspecific calling an instrumented calloc. */
  ts->busy = 1;
  zinst_tls_state = ts;
  __zinst_site_counters = ts->site_array;
  pthread_once(&exit_key_once, make_exit_key);
  if (exit_key_ok)
    pthread_setspecific(exit_key, ts);
  zinst_runtime_lock();
  ts->prev_live = live_tail;
  if (live_tail)
    live_tail->next_live = ts;
  else
    live_head = ts;
  live_tail = ts;
  zinst_runtime_unlock();
  ts->busy = 0;
  errno = saved_errno;
  return ts;
}

struct zinst_thread_state *zinst_thread_state_create_private(uint32_t max_depth,
                                                             uint32_t max_nodes) {
  int saved_errno = errno;
  uint64_t mapping_size;
  struct zinst_thread_state *ts = map_state(max_depth, max_nodes, 0, &mapping_size);
  errno = saved_errno;
  return ts;
}

void zinst_thread_state_free_private(struct zinst_thread_state *ts) {
  if (ts)
    unmap_state(ts);
}

/* Double the hash table into a new mapping, rebuilt from the nodes (every
 * node but the root is one (parent, function) key). Returns 0 or -1. */
static int grow_hash(struct zinst_thread_state *ts) {
  uint32_t bits = ts->hash_bits + 1;
  uint64_t slots = (uint64_t)1 << bits;
  if (slots > ts->hash_max_slots)
    return -1;
  struct zinst_hash_slot *hash = map_reserve(slots * sizeof *hash);
  if (!hash)
    return -1;
  uint32_t mask = (uint32_t)slots - 1;
  for (uint32_t n = 1; n < ts->node_count; n++) {
    uint64_t key = hash_key(ts->nodes[n].parent, ts->nodes[n].function);
    uint32_t slot = hash_slot(key, bits);
    while (hash[slot].key)
      slot = (slot + 1) & mask;
    hash[slot].key = key;
    hash[slot].node = n;
  }
  munmap(ts->hash, (size_t)(ts->hash_mask + 1) * sizeof *ts->hash);
  ts->hash = hash;
  ts->hash_bits = bits;
  ts->hash_mask = mask;
  return 0;
}

uint32_t zinst_thread_find_or_add_child(struct zinst_thread_state *ts, uint32_t parent,
                                        uint32_t function) {
  uint64_t key = hash_key(parent, function);
  uint32_t slot = hash_slot(key, ts->hash_bits);
  for (; ts->hash[slot].key; slot = (slot + 1) & ts->hash_mask) {
    if (ts->hash[slot].key == key) {
      uint32_t child = ts->hash[slot].node;
      zinst_recent_child_remember(&ts->nodes[parent], function, &ts->nodes[child]);
      RELAXED_STORE(ts->edge_cache[zinst_edge_slot(parent, function)],
                    zinst_edge_word(function, child));
      return child;
    }
  }
  uint32_t child = ts->node_count;
  if (child == ts->sink_node) {
    ts->lost_calls++;
    return ts->sink_node;
  }
  if (2 * (ts->hash_used + 1) > ts->hash_mask + 1) {
    int saved_errno = errno;
    int grown = grow_hash(ts) == 0;
    errno = saved_errno;
    if (grown) {
      slot = hash_slot(key, ts->hash_bits);
      while (ts->hash[slot].key)
        slot = (slot + 1) & ts->hash_mask;
    } else if (ts->hash_used + 1 >= ts->hash_mask) {
      ts->lost_calls++; /* keep one empty slot so that probes end */
      return ts->sink_node;
    }
  }
  struct zinst_node *node = &ts->nodes[child];
  node->parent = parent;
  node->function = function;
  node->exact_until = ts->count_only ? 0 : UINT64_MAX;
  node->untimed_left = ts->count_only ? ZINST_NEVER_TIMED : 0; /* its first call is timed */
  clear_recent_children(node);
  ts->hash[slot].key = key;
  ts->hash[slot].node = child;
  ts->hash_used++;
  /* Publish after the node's fields: a dump reads node_count with acquire. */
  __atomic_store_n(&ts->node_count, child + 1, __ATOMIC_RELEASE);
  zinst_recent_child_remember(&ts->nodes[parent], function, node);
  RELAXED_STORE(ts->edge_cache[zinst_edge_slot(parent, function)],
                zinst_edge_word(function, child));
  return child;
}

/* Close frames [new_depth, depth) at `now`, each in the stratum its enter
 * chose (an abandoned sampled frame is a sample like any other: its
 * duration runs to the moment the abandonment was noticed, for exact and
 * sampled frames alike). */
static void close_frames(struct zinst_thread_state *ts, uint32_t depth, uint32_t new_depth,
                         uint64_t now) {
  for (uint32_t f = depth; f-- > new_depth;)
    zinst_credit_frame(ts, &ts->frames[f], now);
  RELAXED_STORE(ts->depth, new_depth);
}

uint32_t zinst_thread_repair_for_enter(struct zinst_thread_state *ts, uintptr_t frame_address) {
  uint32_t depth = ts->depth;
  uint32_t keep = depth;
  while (ts->frames[keep - 1].frame_address <= frame_address) /* the sentinel stops it */
    keep--;
  ts->unpushed_depth = 0; /* calls past the bound were deeper than the frames popped */
  if (keep != depth)
    close_frames(ts, depth, keep, ts->count_only ? 0 : zinst_read_ticks());
  return keep;
}

uint32_t zinst_thread_repair_for_exit(struct zinst_thread_state *ts, uintptr_t frame_address,
                                      uint32_t function, uint64_t now) {
  uint32_t depth = ts->depth;
  /* Frames recorded at or below this frame address: the exiting frame and
   * whatever it abandoned. The shallowest of them running `function` is the
   * one returning (with recursion, deeper ones of the same function were
   * abandoned inside it). */
  uint32_t first = depth;
  while (first > 1 && ts->frames[first - 1].frame_address <= frame_address)
    first--;
  for (uint32_t k = first; k < depth; k++) {
    if (ts->frames[k].function == function) {
      close_frames(ts, depth, k + 1, now);
      return k + 1;
    }
  }
  /* No open frame of `function` here: only frames strictly below are
   * certainly abandoned; the exit itself closes nothing. */
  uint32_t keep = depth;
  while (ts->frames[keep - 1].frame_address < frame_address)
    keep--;
  if (keep != depth)
    close_frames(ts, depth, keep, now);
  ts->unmatched_exits++;
  return 0;
}

static int snapshot_append(struct zinst_snapshot_thread **threads, uint32_t *count,
                           uint32_t *capacity, const struct zinst_snapshot_thread *thread) {
  if (*count == *capacity) {
    uint32_t grown_capacity = *capacity ? *capacity * 2 : 16;
    struct zinst_snapshot_thread *grown = realloc(*threads, grown_capacity * sizeof *grown);
    if (!grown)
      return -1;
    *threads = grown;
    *capacity = grown_capacity;
  }
  (*threads)[(*count)++] = *thread;
  return 0;
}

/* Copy of a heap tree (an exited thread's), owned by the caller. */
static int copy_heap_tree(const struct zinst_tree *from, struct zinst_tree *to) {
  if (zinst_tree_init(to, from->count) != 0)
    return -1;
  memcpy(to->nodes, from->nodes, (size_t)from->count * sizeof *from->nodes);
  to->count = from->count;
  return 0;
}

/* Nonzero if some site was counted. */
static int any_site_counted(const struct zinst_site_counts *sites) {
  for (uint32_t s = 0; s < sites->count; s++)
    if (sites->counts[s])
      return 1;
  return 0;
}

/* A heap copy of `from` into `to` (owned by the caller). Returns 0 or -1. */
static int copy_site_counts(const struct zinst_site_counts *from, struct zinst_site_counts *to) {
  to->counts = NULL;
  to->count = 0;
  return zinst_site_counts_add(to, from);
}

static void free_snapshot_thread(struct zinst_snapshot_thread *thread) {
  zinst_tree_free(&thread->tree);
  zinst_site_counts_free(&thread->sites);
}

int zinst_threads_fill_snapshot(struct zinst_snapshot *snapshot, uint64_t now) {
  struct zinst_mem_records memory = {0};
  int traced = zinst_mem_enabled();
  struct zinst_snapshot_thread *threads = NULL;
  uint32_t count = 0, capacity = 0;
  uint64_t overflow = 0, lost = 0;
  struct zinst_snapshot_thread thread;
  uint32_t site_total = zinst_registry_site_count();

  for (struct zinst_thread_state *ts = live_head; ts; ts = ts->next_live) {
    thread = (struct zinst_snapshot_thread){
        .tid = ts->tid, .flags = ts->is_main ? ZINST_THREAD_MAIN : 0, .thread_count = 1};
    if (zinst_site_counts_copy(ts->site_array, site_total, &ts->baseline_sites, &thread.sites) != 0)
      goto fail;
    /* A thread that only counted sites (in functions the filters left
     * uninstrumented) is kept too. */
    if (__atomic_load_n(&ts->node_count, __ATOMIC_ACQUIRE) <= 1 &&
        !any_site_counted(&thread.sites) && !(traced && zinst_mem_slot_used(ts->mem_slot))) {
      zinst_site_counts_free(&thread.sites);
      continue;
    }
    read_thread_name(ts->tid, thread.name);
    if (zinst_thread_copy_tree(ts, now, &thread.tree) != 0) {
      zinst_site_counts_free(&thread.sites);
      goto fail;
    }
    if (snapshot_append(&threads, &count, &capacity, &thread) != 0) {
      free_snapshot_thread(&thread);
      goto fail;
    }
    if (traced && zinst_mem_collect_slot(&memory, count - 1, ts->mem_slot,
                                         threads[count - 1].tree.count) != 0)
      goto fail;
    uint64_t thread_overflow = RELAXED_LOAD(ts->depth_overflow_calls);
    uint64_t thread_lost = RELAXED_LOAD(ts->lost_calls);
    subtract_floor(&thread_overflow, ts->baseline_overflow_calls);
    subtract_floor(&thread_lost, ts->baseline_lost_calls);
    overflow += thread_overflow;
    lost += thread_lost;
  }
  for (uint32_t r = 0; r < retired_count; r++) {
    if (retired[r].tree.count <= 1 && !any_site_counted(&retired[r].sites) &&
        !(traced && zinst_mem_slot_used(retired[r].mem_slot)))
      continue;
    thread = (struct zinst_snapshot_thread){
        .tid = retired[r].tid, .flags = retired[r].flags, .thread_count = 1};
    memcpy(thread.name, retired[r].name, sizeof thread.name);
    if (copy_heap_tree(&retired[r].tree, &thread.tree) != 0)
      goto fail;
    if (copy_site_counts(&retired[r].sites, &thread.sites) != 0 ||
        snapshot_append(&threads, &count, &capacity, &thread) != 0) {
      free_snapshot_thread(&thread);
      goto fail;
    }
    if (traced &&
        zinst_mem_collect_slot(&memory, count - 1, retired[r].mem_slot, retired[r].tree.count) != 0)
      goto fail;
    overflow += retired[r].depth_overflow_calls;
    lost += retired[r].lost_calls;
  }
  if (merged_threads > 0 && (merged_tree.count > 1 || any_site_counted(&merged_sites) ||
                             (traced && zinst_mem_merged_used()))) {
    thread = (struct zinst_snapshot_thread){.tid = 0,
                                            .flags = ZINST_THREAD_EXITED | ZINST_THREAD_MERGED,
                                            .thread_count = merged_threads};
    snprintf(thread.name, sizeof thread.name, "%u exited threads", merged_threads);
    if (copy_heap_tree(&merged_tree, &thread.tree) != 0)
      goto fail;
    if (copy_site_counts(&merged_sites, &thread.sites) != 0 ||
        snapshot_append(&threads, &count, &capacity, &thread) != 0) {
      free_snapshot_thread(&thread);
      goto fail;
    }
    if (traced && zinst_mem_collect_merged(&memory, count - 1, merged_tree.count) != 0)
      goto fail;
  }
  overflow += merged_overflow_calls;
  lost += merged_lost_calls;
  snapshot->threads = threads;
  snapshot->thread_count = count;
  snapshot->depth_overflow_calls = overflow;
  snapshot->lost_calls = lost;
  snapshot->memory_traced = traced;
  snapshot->memory = memory.items;
  snapshot->memory_count = memory.count;
  return 0;

fail:
  for (uint32_t t = 0; t < count; t++)
    free_snapshot_thread(&threads[t]);
  free(threads);
  free(memory.items);
  errno = ENOMEM;
  return -1;
}

void zinst_threads_free_snapshot(struct zinst_snapshot *snapshot) {
  struct zinst_snapshot_thread *threads = (struct zinst_snapshot_thread *)snapshot->threads;
  for (uint32_t t = 0; t < snapshot->thread_count; t++)
    free_snapshot_thread(&threads[t]);
  free(threads);
  snapshot->threads = NULL;
  snapshot->thread_count = 0;
  free((void *)snapshot->memory);
  snapshot->memory = NULL;
  snapshot->memory_count = 0;
}

void zinst_threads_reset(uint64_t now) {
  for (struct zinst_thread_state *ts = live_head; ts; ts = ts->next_live) {
    /* The baseline holds raw cumulative counts: drop the old one first so
     * the copy below is not reduced by it. */
    struct zinst_tree current;
    zinst_tree_free(&ts->baseline);
    if (zinst_thread_copy_tree(ts, now, &current) != 0) {
      fprintf(stderr, "zinst: out of memory: thread %llu is not reset\n",
              (unsigned long long)ts->tid);
      continue;
    }
    ts->baseline = current;
    zinst_site_counts_free(&ts->baseline_sites);
    if (zinst_site_counts_copy(ts->site_array, zinst_registry_site_count(), NULL,
                               &ts->baseline_sites) != 0)
      fprintf(stderr, "zinst: out of memory: thread %llu's site counts are not reset\n",
              (unsigned long long)ts->tid);
    ts->baseline_overflow_calls = RELAXED_LOAD(ts->depth_overflow_calls);
    ts->baseline_lost_calls = RELAXED_LOAD(ts->lost_calls);
    zinst_mem_reset_slot(ts->mem_slot, __atomic_load_n(&ts->node_count, __ATOMIC_ACQUIRE));
  }
  for (uint32_t r = 0; r < retired_count; r++) {
    zinst_tree_clear_counts(&retired[r].tree);
    zinst_site_counts_clear(&retired[r].sites);
    retired[r].depth_overflow_calls = 0;
    retired[r].lost_calls = 0;
    zinst_mem_reset_slot(retired[r].mem_slot, retired[r].tree.count);
  }
  zinst_tree_clear_counts(&merged_tree);
  zinst_site_counts_clear(&merged_sites);
  merged_overflow_calls = 0;
  merged_lost_calls = 0;
  zinst_mem_reset_merged();
}

void zinst_threads_after_fork_child(void) {
  struct zinst_thread_state *self = zinst_tls_state;
  struct zinst_thread_state *ts = live_head;
  while (ts) {
    struct zinst_thread_state *next = ts->next_live;
    if (ts != self) {
      live_list_remove(ts);
      zinst_mem_slot_orphaned(ts->mem_slot);
      unmap_state(ts);
    }
    ts = next;
  }
  if (self) {
    self->tid = (uint64_t)syscall(SYS_gettid);
    self->is_main = 1; /* the forking thread is the child's only thread */
    /* Parent and child would otherwise sample the same activations. */
    zinst_thread_seed_sampling(self);
  }
}
