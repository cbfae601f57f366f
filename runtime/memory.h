/*
 * memory.h - heap allocation tracing (memory.c): the malloc family, C++
 * new/delete (through libstdc++'s malloc) and Zig's c_allocator,
 * attributed to the calling context on the thread's shadow stack.
 *
 * Off unless ZINST_MEMORY=1 (read once, at the first allocation of the
 * process): then every block gets a 16-byte header before it, holding its
 * requested size and the (thread slot, node) that allocated it, so that a
 * free, from any thread, is credited to the allocating context. Off, the
 * interposed functions forward straight to the C library's.
 *
 * Per thread, the counters live in an array parallel to the node array
 * (one struct zinst_mem_counters per node), mapped at the thread's first
 * tracked allocation and kept for the life of the process: a block can be
 * freed after its thread exited. Threads are numbered by slots; the slot
 * table holds each thread's array.
 */
#ifndef ZINST_MEMORY_H
#define ZINST_MEMORY_H

#include "cct_tree.h"
#include "profile_writer.h"

#include <stdint.h>

/* One context's counters. The owner thread writes the first five with
 * plain (relaxed) stores; frees from other threads add to the remote ones
 * with atomic adds. */
struct zinst_mem_counters {
  uint64_t allocations;
  uint64_t allocated_bytes;
  uint64_t frees;       /* by the owner thread */
  uint64_t freed_bytes; /* by the owner thread */
  uint64_t peak_live_bytes;
  uint64_t remote_frees; /* by other threads, or after the owner exited */
  uint64_t remote_freed_bytes;
  uint64_t unused;
};

/* Nonzero when ZINST_MEMORY=1 (decides it on first use). */
int zinst_mem_enabled(void);

/* From the runtime's start-up, after the settings: locate the C library and
 * the dynamic loader (their own allocations are not attributed), read
 * ZINST_LEAK_EXIT, then start attributing. */
void zinst_mem_init(void);

/* The exit status ZINST_LEAK_EXIT asks for when blocks are live at exit; 0
 * when unset. */
int zinst_mem_leak_exit_status(void);

/* Nonzero if thread slot `slot` (0: none) recorded an allocation. */
int zinst_mem_slot_used(uint32_t slot);

/* The owner of slot `slot` exited (its state is gone); it keeps receiving
 * frees. With `merged` (its tree was summed into `merged_tree`), the slot's
 * nodes are mapped onto the merged tree's by path, for later dumps. Caller
 * holds the runtime lock. Returns 0 or -1 (ENOMEM: the slot's memory is
 * then left out of profiles, with a message). */
int zinst_mem_slot_retired(uint32_t slot, const struct zinst_tree *tree, int merged,
                           const struct zinst_tree *merged_tree);

/* In a fork child: slot `slot`'s thread does not exist here; its memory is
 * left out of the child's profiles. */
void zinst_mem_slot_orphaned(uint32_t slot);

/* Records being gathered for a snapshot (growable, heap). */
struct zinst_mem_records {
  struct zinst_snapshot_memory *items; /* owned */
  uint32_t count, capacity;
};

/* Append the records of slot `slot` as snapshot thread `thread`, whose tree
 * has `node_count` nodes (later nodes are newer than the snapshot). Caller
 * holds the runtime lock. Returns 0 or -1 (ENOMEM). */
int zinst_mem_collect_slot(struct zinst_mem_records *out, uint32_t thread, uint32_t slot,
                           uint32_t node_count);
/* The same for every merged slot, summed as thread `thread`. */
int zinst_mem_collect_merged(struct zinst_mem_records *out, uint32_t thread, uint32_t node_count);
/* Nonzero if a merged slot recorded an allocation. */
int zinst_mem_merged_used(void);

/* zinst_reset() (and a fork child's start) for slot `slot` (0: none),
 * whose thread's tree has `node_count` nodes: from here on each context's
 * record counts the blocks it still holds (as allocations) and those it
 * allocates later, with their frees; the blocks freed before are
 * forgotten, so live bytes stay true; the peak restarts from the bytes
 * live now. Caller holds the runtime lock. Out of memory: the slot is not
 * reset (a message says so). */
void zinst_mem_reset_slot(uint32_t slot, uint32_t node_count);
/* The same for every merged slot. */
void zinst_mem_reset_merged(void);

#endif /* ZINST_MEMORY_H */
