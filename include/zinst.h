/*
 * zinst.h - the public C API of the zinst runtime.
 *
 * Programs built with zinst write their profile automatically at exit; these
 * calls are for programs that want a profile at a chosen moment (a long
 * training run dumping after each epoch, a server on a signal of its own).
 * Every function is safe to call from any thread, and does nothing harmful
 * in a program that has no instrumented code.
 */
#ifndef ZINST_H
#define ZINST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Write a profile now, of all threads, counting frames that are still open
 * up to this moment. `path` names the file; NULL means the ZINST_OUTPUT
 * pattern (default "%e.zinst"). The file is written to a temporary name in
 * the same directory and renamed into place, so a reader never sees half of
 * it. Returns 0 on success; on failure returns -1, sets errno and prints a
 * message on stderr. Counting goes on after the call.
 */
int zinst_dump(const char *path);

/*
 * Start counting afresh: later dumps show only what happened after this
 * call, in every thread. Nothing is freed; the calling-context trees keep
 * their shape and their counts are measured from a baseline taken here.
 * Memory (ZINST_MEMORY=1) restarts too, but live bytes stay true: each
 * context keeps the blocks it still holds, counted as allocations made
 * here, forgets the blocks freed before, and its peak restarts from the
 * bytes live now.
 */
void zinst_reset(void);

/*
 * Stop writing the profile at exit (for a child process that should leave
 * no file, or a test). zinst_dump() still works.
 */
void zinst_disable_exit_dump(void);

/*
 * Memory tracing for another allocator (what zig-integration/zinst.zig's
 * TrackingAllocator uses). With ZINST_MEMORY=1 zinst_memory_tracing() is
 * nonzero (it never changes in a process); the allocator then calls
 * zinst_memory_alloc(size, 0) for each block it hands out and keeps the tag
 * it returns with the block (0: not attributed), and calls
 * zinst_memory_free(tag, size) with the block's size when the block is
 * freed, from any thread. The allocation is credited to the calling
 * context; with `wrapper_frame` the canonical frame address (the address of
 * the return address slot) of the calling function, when that function's
 * own frame is on top it is skipped: an instrumented wrapper is then not
 * the context. A resize is a free and an allocation. Off, all three cost a
 * load and do nothing.
 */
int zinst_memory_tracing(void);
uint64_t zinst_memory_alloc(size_t size, uintptr_t wrapper_frame);
void zinst_memory_free(uint64_t tag, size_t size);

/*
 * Zones: a named region inside a function, for the one thing automatic
 * instrumentation cannot see (one phase of a long function, a loop body).
 * A zone shows in every report like a function called from where it was
 * opened: its calls, its time, and the functions called inside it as its
 * children. Define one static zone per place in the code and bracket the
 * region:
 *
 *     static struct zinst_zone rollout = ZINST_ZONE_INIT("rollout");
 *     zinst_zone_begin(&rollout);
 *     ... the region ...
 *     zinst_zone_end(&rollout);
 *
 * or, for the rest of a C block, ZINST_ZONE_SCOPED("rollout"); (GCC/clang).
 *
 * Rules: end a zone in the function that began it; zones nest (inside one
 * function, at most 7 deep: a deeper zone is ignored, with one warning); a
 * zone left open when its function returns is closed by the next event
 * that proves it abandoned, like a frame left by longjmp. Costs about what
 * call of an instrumented function costs. Like the rest of this API, they
 * need the runtime linked (`zinst cc` links it).
 */
struct zinst_zone {
  const char *name; /* shown as the zone's function name */
  const char *file; /* where it is defined, shown like a function's file */
  unsigned line;
  unsigned reserved;  /* zero */
  void *runtime_data; /* written by the runtime; NULL until the first begin */
};

#define ZINST_ZONE_INIT(zone_name) {(zone_name), __FILE__, __LINE__, 0, 0}

void zinst_zone_begin(struct zinst_zone *zone);
void zinst_zone_end(struct zinst_zone *zone);

#if defined(__GNUC__)
/* ZINST_ZONE_SCOPED's cleanup; defined in the runtime (an inline helper
 * would show up in inlining reports). */
void zinst_zone_end_scope_(struct zinst_zone **zone);
#define ZINST_ZONE_CONCAT_(a, b) a##b
#define ZINST_ZONE_NAME_(prefix, line) ZINST_ZONE_CONCAT_(prefix, line)
/* Begins a zone that ends when the enclosing block is left. */
#define ZINST_ZONE_SCOPED(zone_name)                                                               \
  static struct zinst_zone ZINST_ZONE_NAME_(zinst_zone_, __LINE__) = ZINST_ZONE_INIT(zone_name);   \
  struct zinst_zone *ZINST_ZONE_NAME_(zinst_zone_scope_, __LINE__)                                 \
      __attribute__((cleanup(zinst_zone_end_scope_))) =                                            \
          (zinst_zone_begin(&ZINST_ZONE_NAME_(zinst_zone_, __LINE__)),                             \
           &ZINST_ZONE_NAME_(zinst_zone_, __LINE__))
#endif

#ifdef __cplusplus
}
#endif

#endif /* ZINST_H */
