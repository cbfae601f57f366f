/*
 * hooks.c - the hot path: __zinst_enter and __zinst_exit.
 *
 * Per event: one TLS load, a few loads and stores in the thread's own block,
 * and, for a timed activation only, one unserialized rdtsc. No malloc, lock,
 * stdio, syscall (except creating a thread's block on its first event) or
 * lock-prefixed instruction. Everything rare is behind a branch to a cold
 * function.
 *
 * Sampling (time mode). Every call is counted; only some activations are
 * timed, because two rdtsc per call (~19 ns) cost more than the rest of
 * the hooks together. Each enter decides, and records in its frame, whether
 * its activation is timed; the exit obeys the frame, so the choice cannot
 * depend on the activation's duration:
 *   - exact stratum: the first exact_limit (K) calls of every context are
 *     timed, so that cold contexts (main, set-up code) are measured exactly;
 *   - sampled stratum: every later enter counts the thread's countdown
 *     down; the one reaching 0 is timed and the countdown is reloaded with
 *     a pseudo-random interval uniform on [1, 2R-1] (mean R), so that a
 *     periodic call pattern cannot alias with the sampling.
 * Untimed activations read no clock at all. The writer extrapolates each
 * context's sampled stratum and states one standard error
 * (profile_writer.c). R = 1 times every activation: exact, as without
 * sampling. In count mode K = 0 and the countdown never yields a timed
 * activation (cold reload every 2^32 enters).
 *
 * Stack pointers: each frame records __builtin_frame_address(0) of the
 * hook. Taking the frame address forces these two functions to set up a
 * frame pointer, so the value is the caller's stack pointer at the call
 * minus the return address and the saved frame pointer: the same fixed
 * offset in both hooks, hence comparable across them. Only the order of
 * frames matters (the stack grows down): a recorded value below the current
 * one belongs to a frame that longjmp or an exception abandoned.
 *
 * Signals: `busy` brackets every state change. A handler that runs
 * instrumented code while the thread is inside a hook finds busy set and
 * drops its events (counted); its enter and exit are dropped alike, so the
 * shadow stack stays paired.
 */
#include "zinst_abi.h"

#include "cycle_counter.h"
#include "module_registry.h"
#include "runtime_internal.h"
#include "thread_state.h"

#define RELAXED_STORE(lvalue, value) __atomic_store_n(&(lvalue), (value), __ATOMIC_RELAXED)
/* Orders our stores against a signal handler on this thread; emits nothing. */
#define SIGNAL_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Process-wide id of `module`'s function `index`, registering the module on
 * first use; 0 when the event must be ignored (module refused, index out of
 * range, or this thread is inside the runtime). */
static inline __attribute__((always_inline)) uint32_t function_id(struct zinst_module_info *module,
                                                                  uint32_t index) {
  uint32_t id_base = __atomic_load_n(&module->id_base, __ATOMIC_RELAXED);
  if (ZINST_UNLIKELY(id_base == 0)) {
    id_base = zinst_registry_register_lazily(module);
    if (id_base == 0)
      return 0;
  }
  if (ZINST_UNLIKELY(index >= module->function_count))
    return 0;
  return id_base + index;
}

/* The next sampling interval, uniform on [1, sample_span]: xorshift64 and a
 * multiply-shift (no division). */
static inline __attribute__((always_inline)) uint32_t
next_interval(struct zinst_thread_state *ts) {
  uint64_t x = ts->rng;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  ts->rng = x;
  return 1 + (uint32_t)(((x >> 32) * (uint64_t)ts->sample_span) >> 32);
}

/* Whether the activation that brings its node to `calls` calls is timed,
 * and in which stratum. Called once per pushed frame, inside `busy`. */
static inline __attribute__((always_inline)) uint32_t
choose_frame_kind(struct zinst_thread_state *ts, uint64_t calls) {
  if (ZINST_UNLIKELY(calls <= ts->exact_limit))
    return ZINST_FRAME_EXACT;
  uint32_t countdown = ts->countdown - 1;
  if (ZINST_LIKELY(countdown != 0)) {
    ts->countdown = countdown;
    return ZINST_FRAME_UNTIMED;
  }
  if (ZINST_UNLIKELY(ts->count_only)) {
    ts->countdown = UINT32_MAX;
    return ZINST_FRAME_UNTIMED;
  }
  ts->countdown = next_interval(ts);
  return ZINST_FRAME_SAMPLED;
}

/* The general enter: every case, including the thread's first event, lazy
 * registration, stack repair, a cache miss and the depth bound. */
static __attribute__((noinline, cold)) void enter_general(struct zinst_module_info *module,
                                                          uint32_t index, uintptr_t stack_pointer) {
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL) {
    ts = zinst_thread_state_create();
    if (ts == NULL)
      return;
  }
  if (ts->busy) {
    ts->reentrant_events++;
    return;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  uint32_t id = function_id(module, index);
  if (id == 0)
    goto done;

  uint32_t depth = ts->depth;
  if (ts->frames[depth - 1].stack_pointer <= stack_pointer)
    depth = zinst_thread_repair_for_enter(ts, stack_pointer);
  uint32_t parent_index = ts->frames[depth - 1].node;
  struct zinst_node *parent = &ts->nodes[parent_index];
  uint32_t child = parent->cached_function == id
                       ? parent->cached_child
                       : zinst_thread_find_or_add_child(ts, parent_index, id);
  struct zinst_node *node = &ts->nodes[child];
  uint64_t calls = node->calls + 1;
  RELAXED_STORE(node->calls, calls);
  if (depth < ts->frame_limit) {
    struct zinst_frame *frame = &ts->frames[depth];
    frame->stack_pointer = stack_pointer;
    frame->node = child;
    frame->function = id;
    uint32_t kind = choose_frame_kind(ts, calls);
    RELAXED_STORE(frame->kind, kind);
    RELAXED_STORE(frame->start_ticks, kind != ZINST_FRAME_UNTIMED ? zinst_read_ticks() : 0);
    RELAXED_STORE(ts->depth, depth + 1);
  } else {
    /* Past the bound: counted under the deepest frame, not timed. */
    ts->unpushed_depth++;
    ts->depth_overflow_calls++;
  }
done:
  SIGNAL_FENCE();
  ts->busy = 0;
}

/* The general exit: every case, including calls past the depth bound,
 * stack repair and unmatched exits. `now` was read on entry to the hook if
 * the top frame was timed, else it is 0 and read here when needed. */
static __attribute__((noinline, cold)) void exit_general(struct zinst_module_info *module,
                                                         uint32_t index, uintptr_t stack_pointer,
                                                         uint64_t now) {
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL)
    return; /* no enter was recorded on this thread */
  if (ts->busy) {
    ts->reentrant_events++;
    return;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  uint32_t id = function_id(module, index);
  if (id == 0)
    goto done;

  uint32_t depth = ts->depth;
  struct zinst_frame *frame = &ts->frames[depth - 1];
  if (ts->unpushed_depth != 0) {
    /* Below the deepest pushed frame: a call past the bound returns. (>=
     * rather than >: an exit hook reached through a tail call reports the
     * frame address of the exiting function's caller.) */
    if (frame->stack_pointer >= stack_pointer) {
      ts->unpushed_depth--;
      goto done;
    }
    ts->unpushed_depth = 0; /* those calls were abandoned */
  }
  if (now == 0 && !ts->count_only)
    now = zinst_read_ticks(); /* for the frames closed below, if timed */
  if (frame->stack_pointer != stack_pointer || frame->function != id) {
    depth = zinst_thread_repair_for_exit(ts, stack_pointer, id, now);
    if (depth == 0)
      goto done;
    frame = &ts->frames[depth - 1];
  }
  zinst_credit_frame(ts->nodes, frame, now);
  RELAXED_STORE(ts->depth, depth - 1);
done:
  SIGNAL_FENCE();
  ts->busy = 0;
}

/*
 * The fast paths below handle the common case only and call nothing, so
 * they need no callee-saved registers; anything else goes to the general
 * functions. The checks only read state: a signal handler running
 * instrumented code in between leaves the shadow stack as it found it, and
 * the node-to-child caches only ever hold correct mappings. `busy` covers
 * the writes.
 */
ZINST_EXPORT __attribute__((noinline, hot)) void __zinst_enter(struct zinst_module_info *module,
                                                               uint32_t index) {
  uintptr_t stack_pointer = (uintptr_t)__builtin_frame_address(0);
  struct zinst_thread_state *ts = zinst_tls_state;
  uint32_t id_base = __atomic_load_n(&module->id_base, __ATOMIC_RELAXED);
  if (ZINST_UNLIKELY(ts == NULL || ts->busy || id_base == 0 || index >= module->function_count)) {
    enter_general(module, index, stack_pointer);
    return;
  }
  uint32_t id = id_base + index;
  uint32_t depth = ts->depth;
  const struct zinst_frame *top = &ts->frames[depth - 1];
  const struct zinst_node *parent = &ts->nodes[top->node];
  if (ZINST_UNLIKELY(top->stack_pointer <= stack_pointer || parent->cached_function != id ||
                     depth >= ts->frame_limit)) {
    enter_general(module, index, stack_pointer);
    return;
  }
  uint32_t child = parent->cached_child;
  ts->busy = 1;
  SIGNAL_FENCE();
  struct zinst_node *node = &ts->nodes[child];
  uint64_t calls = node->calls + 1;
  RELAXED_STORE(node->calls, calls);
  struct zinst_frame *frame = &ts->frames[depth];
  frame->stack_pointer = stack_pointer;
  frame->node = child;
  frame->function = id;
  uint32_t kind = choose_frame_kind(ts, calls);
  RELAXED_STORE(frame->kind, kind);
  /* Last, so that the hook's own work is outside the measured interval. */
  RELAXED_STORE(frame->start_ticks, kind != ZINST_FRAME_UNTIMED ? zinst_read_ticks() : 0);
  RELAXED_STORE(ts->depth, depth + 1);
  SIGNAL_FENCE();
  ts->busy = 0;
}

ZINST_EXPORT __attribute__((noinline, hot)) void __zinst_exit(struct zinst_module_info *module,
                                                              uint32_t index) {
  uintptr_t stack_pointer = (uintptr_t)__builtin_frame_address(0);
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ZINST_UNLIKELY(ts == NULL))
    return; /* no enter was recorded on this thread */
  uint32_t depth = ts->depth;
  struct zinst_frame *frame = &ts->frames[depth - 1];
  /* Only the top frame's own decision makes an exit read the clock; as
   * early as that allows, so that the hook's own work stays outside the
   * measured interval. */
  uint64_t now = frame->kind != ZINST_FRAME_UNTIMED ? zinst_read_ticks() : 0;
  uint32_t id_base = __atomic_load_n(&module->id_base, __ATOMIC_RELAXED);
  if (ZINST_UNLIKELY(ts->busy || id_base == 0 || index >= module->function_count ||
                     ts->unpushed_depth != 0 || frame->stack_pointer != stack_pointer ||
                     frame->function != id_base + index)) {
    exit_general(module, index, stack_pointer, now);
    return;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  zinst_credit_frame(ts->nodes, frame, now);
  RELAXED_STORE(ts->depth, depth - 1);
  SIGNAL_FENCE();
  ts->busy = 0;
}

ZINST_EXPORT void __zinst_register_module(struct zinst_module_info *module) {
  zinst_registry_register(module);
}

ZINST_EXPORT void __zinst_unregister_module(struct zinst_module_info *module) {
  zinst_registry_unregister(module);
}

/* The site counters' TLS pointer (zinst_abi.h): set when the thread's block
 * is created, cleared when it is retired. */
ZINST_EXPORT __thread __attribute__((tls_model("initial-exec"))) uint64_t *__zinst_site_counters;

/* The increment's slow path: the thread's first event, or an event after
 * its block was retired (an instrumented destructor at thread exit). */
ZINST_EXPORT __attribute__((noinline, cold)) void
__zinst_count_site(struct zinst_module_info *module, uint32_t index) {
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL) {
    ts = zinst_thread_state_create();
    if (ts == NULL)
      return;
  }
  if (ts->busy) {
    ts->reentrant_events++;
    return;
  }
  uint32_t site_base = __atomic_load_n(&module->site_base, __ATOMIC_ACQUIRE);
  if (site_base == 0 && __atomic_load_n(&module->id_base, __ATOMIC_RELAXED) == 0 &&
      zinst_registry_register_lazily(module) != 0)
    site_base = __atomic_load_n(&module->site_base, __ATOMIC_ACQUIRE);
  if (index >= ZINST_MAX_MODULE_SITES || (site_base != 0 && index >= module->site_count))
    return;
  /* site_base 0: the module's sites are not counted; the sink takes it. */
  ts->site_array[site_base + index]++;
}
