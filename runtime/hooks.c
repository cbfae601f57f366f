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
 *     and later ones too while the context's activations average long
 *     (zinst_credit_frame): for those, two clock reads cost little, and a
 *     sample of a few long, uneven activations estimates poorly;
 *   - sampled stratum: after it, each context times one call in a
 *     pseudo-random interval uniform on [1, 2R-1] (mean R), so that a
 *     periodic call pattern cannot alias with the sampling. The context
 *     keeps how many untimed calls are left before its next timed one
 *     (untimed_left), so an untimed enter costs a decrement
 *     (zinst_schedule_timing).
 * Untimed activations read no clock at all. The writer extrapolates each
 * context's sampled stratum and states one standard error
 * (profile_writer.c). R = 1 times every activation: exact, as without
 * sampling. In count mode K = 0 and no context is ever due.
 *
 * Frame addresses: the pass passes every hook the instrumented function's
 * canonical frame address, the address of its return address slot
 * (llvm.addressofreturnaddress; zinst_abi.h), and each frame records it.
 * Every function called from the same place of the same caller gets the
 * same value, whatever its own frame size, and every deeper call a strictly
 * lower one (the stack grows down). So, at an enter, a recorded value at or
 * below the new one belongs to a frame that longjmp or an exception
 * abandoned (an equal one: a sibling that never returned), and an exit
 * matches its frame by equality. The value does not depend on where the
 * hook itself runs: a hook reached through a tail call still reports its
 * function's frame.
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
  if (ZINST_UNLIKELY(!zinst_id_base_registered(id_base))) {
    id_base = zinst_registry_register_lazily(module);
    if (id_base == 0)
      return 0;
  }
  if (ZINST_UNLIKELY(index >= module->function_count))
    return 0;
  return id_base + index;
}

/* Whether the activation that brings `node` to `calls` calls is timed, and
 * in which stratum. Called once per pushed frame, inside `busy`. */
static inline __attribute__((always_inline)) uint32_t
choose_frame_kind(struct zinst_thread_state *ts, struct zinst_node *node, uint64_t calls) {
  if (ZINST_LIKELY(!zinst_count_down_timing(node)))
    return ZINST_FRAME_UNTIMED;
  return zinst_schedule_timing(ts, node, calls);
}

/* Where a thread's site increments go when it has no counters and cannot
 * get any (its profile could not be mapped, which was reported; or its
 * first event came inside the runtime): written, never read, by any such
 * thread; the counts are lost either way. As long as a thread's own array
 * (the sink and ZINST_MAX_SITES slots), so that any module's site_base
 * stays inside it: about 9 MB of virtual memory, touched only by those
 * threads. */
static uint64_t unrecorded_site_counts[ZINST_MAX_MODULE_SITES + ZINST_MAX_SITES];

/* An instrumented function's entry code (the hooks' enter, the inline
 * code's miss) found no thread state and could not make one: from now on
 * this thread's site counters pointer is never NULL, so that the function's
 * site increments, which follow its entry code and do not test it
 * (zinst_abi.h), land somewhere. Functions without entry code test it and
 * still call __zinst_site_counters_slow while it is NULL. */
static inline __attribute__((always_inline)) void no_site_counters(void) {
  if (__zinst_site_counters == NULL)
    __zinst_site_counters = unrecorded_site_counts;
}

/* The general enter: every case, including the thread's first event, lazy
 * registration, stack repair, a cache miss and the depth bound. */
static __attribute__((noinline, cold)) void enter_general(struct zinst_module_info *module,
                                                          uint32_t index, uintptr_t frame_address) {
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL) {
    ts = zinst_thread_state_create();
    if (ts == NULL) {
      no_site_counters();
      return;
    }
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
  if (ts->frames[depth - 1].frame_address <= frame_address)
    depth = zinst_thread_repair_for_enter(ts, frame_address);
  uint32_t parent_index = ts->frames[depth - 1].node;
  const struct zinst_node *recent = zinst_recent_child_find(&ts->nodes[parent_index], id);
  uint32_t child = recent != NULL ? (uint32_t)(recent - ts->nodes)
                                  : zinst_thread_find_or_add_child(ts, parent_index, id);
  struct zinst_node *node = &ts->nodes[child];
  uint64_t calls = node->calls + 1;
  RELAXED_STORE(node->calls, calls);
  if (depth < ts->frame_limit) {
    struct zinst_frame *frame = &ts->frames[depth];
    frame->frame_address = frame_address;
    frame->node = child;
    frame->function = id;
    uint32_t kind = choose_frame_kind(ts, node, calls);
    RELAXED_STORE(frame->kind, kind);
    RELAXED_STORE(frame->start_ticks, kind != ZINST_FRAME_UNTIMED ? zinst_read_ticks() : 0);
    RELAXED_STORE(ts->depth, depth + 1);
  } else {
    /* Past the bound: counted under the deepest frame, not timed; counted
     * down too, so that a call pushed later is timed if it is due. */
    zinst_count_down_timing(node);
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
                                                         uint32_t index, uintptr_t frame_address,
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
    /* Below the deepest pushed frame: a call past the bound returns. At
     * or above it: those calls were abandoned. */
    if (frame->frame_address > frame_address) {
      ts->unpushed_depth--;
      goto done;
    }
    ts->unpushed_depth = 0; /* those calls were abandoned */
  }
  if (now == 0 && !ts->count_only)
    now = zinst_read_ticks(); /* for the frames closed below, if timed */
  if (frame->frame_address != frame_address || frame->function != id) {
    depth = zinst_thread_repair_for_exit(ts, frame_address, id, now);
    if (depth == 0)
      goto done;
    frame = &ts->frames[depth - 1];
  }
  zinst_credit_frame(ts, frame, now);
  RELAXED_STORE(ts->depth, depth - 1);
done:
  SIGNAL_FENCE();
  ts->busy = 0;
}

/*
 * The fast paths below handle the common case only and call nothing, so
 * they need no callee-saved registers; anything else goes to the general
 * functions. `busy` covers the writes; the checks before it only read.
 *
 * A signal can arrive between a check and `busy = 1`. Its handler runs to
 * completion before the hook resumes (a handler that leaves by longjmp never
 * resumes it), and its events are paired: it pushes above our top frame and
 * pops back to it (its frames are deeper than ours, so no repair reaches
 * ours) and brings unpushed_depth back. So what the checks read still holds
 * when the hook resumes:
 *   - ts: set by the thread's first event, cleared only at thread exit;
 *   - depth and unpushed_depth: restored; the top frame, frames[depth - 1]:
 *     never written by the handler; frame_limit: constant;
 *   - id_base and function_count: id_base only goes from unregistered to
 *     its value;
 *   - busy: the handler's hooks clear what they set;
 *   - the parent's recent child: NOT stable, since the handler calling
 *     some function from the same context replaces it. Hence one load of the
 *     pointer, then a check of the function of the child it names (set
 *     before the node was published, never changed): the old child or the
 *     handler's, each checked, never our function with the handler's
 *     child. The thread's edge cache entry is one 8-byte (function, child)
 *     word, also checked against the child's parent (never changed).
 * Everything else (node->calls, untimed_left, rng, frames[depth]) is read
 * after `busy` is set. In the exit, `now` may be read before a handler
 * runs: the handler's time then counts in the activation, as it does when
 * the handler interrupts the function's body.
 */
ZINST_EXPORT __attribute__((noinline, hot)) void __zinst_enter(struct zinst_module_info *module,
                                                               uint32_t index, void *frame) {
  uintptr_t frame_address = (uintptr_t)frame;
  struct zinst_thread_state *ts = zinst_tls_state;
  uint32_t id_base = __atomic_load_n(&module->id_base, __ATOMIC_RELAXED);
  if (ZINST_UNLIKELY(ts == NULL || ts->busy || !zinst_id_base_registered(id_base) ||
                     index >= module->function_count)) {
    enter_general(module, index, frame_address);
    return;
  }
  uint32_t id = id_base + index;
  uint32_t depth = ts->depth;
  const struct zinst_frame *top = &ts->frames[depth - 1];
  uint32_t parent = top->node;
  const struct zinst_node *recent = zinst_recent_child_find(&ts->nodes[parent], id);
  if (ZINST_UNLIKELY(top->frame_address <= frame_address || depth >= ts->frame_limit)) {
    enter_general(module, index, frame_address);
    return;
  }
  uint32_t child;
  if (ZINST_LIKELY(recent != NULL)) {
    child = (uint32_t)(recent - ts->nodes);
  } else {
    child = zinst_edge_cache_find(ts, parent, id);
    if (ZINST_UNLIKELY(child == 0)) {
      enter_general(module, index, frame_address);
      return;
    }
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  struct zinst_node *node = &ts->nodes[child];
  uint64_t calls = node->calls + 1;
  RELAXED_STORE(node->calls, calls);
  struct zinst_frame *pushed = &ts->frames[depth];
  pushed->frame_address = frame_address;
  pushed->node = child;
  pushed->function = id;
  uint32_t kind = choose_frame_kind(ts, node, calls);
  RELAXED_STORE(pushed->kind, kind);
  /* Last, so that the hook's own work is outside the measured interval. */
  RELAXED_STORE(pushed->start_ticks, kind != ZINST_FRAME_UNTIMED ? zinst_read_ticks() : 0);
  RELAXED_STORE(ts->depth, depth + 1);
  SIGNAL_FENCE();
  ts->busy = 0;
}

ZINST_EXPORT __attribute__((noinline, hot)) void __zinst_exit(struct zinst_module_info *module,
                                                              uint32_t index, void *frame) {
  uintptr_t frame_address = (uintptr_t)frame;
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ZINST_UNLIKELY(ts == NULL))
    return; /* no enter was recorded on this thread */
  uint32_t depth = ts->depth;
  struct zinst_frame *top = &ts->frames[depth - 1];
  /* Only the top frame's own decision makes an exit read the clock; as
   * early as that allows, so that the hook's own work stays outside the
   * measured interval. */
  uint64_t now = top->kind != ZINST_FRAME_UNTIMED ? zinst_read_ticks() : 0;
  uint32_t id_base = __atomic_load_n(&module->id_base, __ATOMIC_RELAXED);
  if (ZINST_UNLIKELY(ts->busy || !zinst_id_base_registered(id_base) ||
                     index >= module->function_count || ts->unpushed_depth != 0 ||
                     top->frame_address != frame_address || top->function != id_base + index)) {
    exit_general(module, index, frame_address, now);
    return;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  zinst_credit_frame(ts, top, now);
  RELAXED_STORE(ts->depth, depth - 1);
  SIGNAL_FENCE();
  ts->busy = 0;
}

/*
 * Inline calling-context trees (ZINST_MODULE_INLINE_TREE, zinst_abi.h).
 * The instrumented code keeps __zinst_context itself: each function saves
 * it at entry, finds among the context's recent children the one running
 * the function (count it, make it current) and puts the saved value back
 * on every way out. No shadow stack, no frame address, no clock: the
 * context a function restores is the one it found, so a frame that longjmp
 * or an exception skipped leaves nothing to repair once an instrumented
 * caller returns. Everything else comes here.
 *
 * Signals: the inline code checks no `busy`. A handler's enters and exits
 * are paired, so it leaves __zinst_context as it found it. What it can
 * meet halfway:
 *   - a recent child replaced by the handler: the inline code reads it once
 *     and checks the child's function, as the hooks do;
 *   - a count: optimized inline code adds with one instruction to memory
 *     on x86-64, and this path too (count_call), so neither loses the
 *     other's (at -O0, and on AArch64, it is load, add, store: README,
 *     Known limits);
 *   - this function, inside `busy`: the handler's events come here too
 *     (see below) and are dropped, or hit in the inline code, which only
 *     reads what was published (node fields before node_count and
 *     the recent child) and adds to a count.
 * A dropped event makes the no-context node current: the handler's nested
 * enters all come here, are dropped as well, and its exits put back what
 * they found.
 */

ZINST_EXPORT __thread __attribute__((tls_model("initial-exec"))) void *__zinst_context =
    &zinst_no_context;

/* Inline timing: zinst_innermost_function_frame of the thread's frames,
 * set by the owning thread after each change of them below; the root's,
 * above every frame, before its first. */
ZINST_EXPORT __thread __attribute__((tls_model("initial-exec"))) uintptr_t __zinst_timed_frame =
    ZINST_ROOT_FRAME_ADDRESS;

/* node->calls + 1 and node->untimed_left - 1, as the inline code counts
 * (see above); __zinst_context_miss_or_due tests whether it was due. */
static inline __attribute__((always_inline)) void count_call(struct zinst_node *node) {
  (void)zinst_count_inline_call(node);
}

/*
 * What an activation entered from `current` puts back on its way out, once
 * the runtime counted it in a context of `ts` (zinst_abi.h): `current`,
 * unless that is the no-context node. A thread that did not register the
 * modules starts there, and calls from uninstrumented code on it (a thread
 * function built without zinst, a callback from a library's worker) find
 * no child in that node, which all threads share: each would miss. Its own
 * root remembers them, so the thread's context becomes its root for good,
 * as the registering thread's is from the start (start_at_own_root).
 */
static inline __attribute__((always_inline)) void *context_to_restore(struct zinst_thread_state *ts,
                                                                      void *current) {
  return current == &zinst_no_context ? &ts->nodes[0] : current;
}

ZINST_EXPORT __attribute__((noinline)) void *__zinst_context_enter(struct zinst_module_info *module,
                                                                   uint32_t index, void *current) {
  struct zinst_node *context = current;
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL)
    ts = zinst_thread_state_create();
  if (ts == NULL || ts->busy) {
    if (ts)
      ts->reentrant_events++;
    else
      no_site_counters();
    __zinst_context = &zinst_no_context;
    return current;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  uint32_t id = function_id(module, index);
  void *restore = current;
  if (id != 0) {
    restore = context_to_restore(ts, current);
    uint32_t parent = zinst_context_index(ts, context);
    uint32_t child = zinst_edge_cache_find(ts, parent, id);
    if (child != 0) {
      /* Next time the inline code finds it, as long as the context calls
       * no other function in between. */
      zinst_recent_child_remember(&ts->nodes[parent], id, &ts->nodes[child]);
    } else {
      child = zinst_thread_find_or_add_child(ts, parent, id);
    }
    context = &ts->nodes[child];
    count_call(context);
  }
  __zinst_context = context;
  SIGNAL_FENCE();
  ts->busy = 0;
  return restore;
}

#if ZINST_HAVE_CONTEXT_MISS
/*
 * The inline code's miss on x86-64 and AArch64 (zinst_abi.h). Code that
 * calls, in turn from one context, functions whose ids share a slot of its
 * recent children misses on every call (with a one-entry cache, two calls
 * in three of Lua's interpreter did), so this can be a hot path: a
 * preserve_most function saves only the registers it uses, and the common
 * case, a hit in the thread's edge cache, calls nothing. Everything else
 * goes to __zinst_context_enter through a preserve_most thunk, which saves
 * the rest only then.
 */
static __attribute__((noinline, cold, preserve_most)) void *
context_enter_general(struct zinst_module_info *module, uint32_t index, void *current) {
  return __zinst_context_enter(module, index, current);
}

ZINST_EXPORT __attribute__((noinline, preserve_most)) void *
__zinst_context_miss(struct zinst_module_info *module, uint32_t index, void *current) {
  struct zinst_thread_state *ts = zinst_tls_state;
  uint32_t id_base = __atomic_load_n(&module->id_base, __ATOMIC_RELAXED);
  if (ZINST_UNLIKELY(ts == NULL || ts->busy || !zinst_id_base_registered(id_base) ||
                     index >= module->function_count))
    return context_enter_general(module, index, current);
  uint32_t id = id_base + index;
  /* Index 0, the thread's root, stands for the no-context node too: the
   * caller's context of a thread's first call from uninstrumented code,
   * on a thread that did not register the modules. The child is
   * remembered in the root, which the caller puts back on its way out
   * (context_to_restore): the next such call hits inline. */
  uint32_t parent = zinst_context_index(ts, current);
  uint32_t child = zinst_edge_cache_find(ts, parent, id);
  if (ZINST_UNLIKELY(child == 0))
    return context_enter_general(module, index, current);
  ts->busy = 1;
  SIGNAL_FENCE();
  struct zinst_node *node = &ts->nodes[child];
  zinst_recent_child_remember(&ts->nodes[parent], id, node);
  count_call(node);
  __zinst_context = node;
  SIGNAL_FENCE();
  ts->busy = 0;
  return context_to_restore(ts, current);
}
#endif

/*
 * Inline timing (ZINST_MODULE_INLINE_TIME, zinst_abi.h). The inline code
 * keeps the context and the counts as above, and counts down each
 * context's untimed_left as the hooks do (choose_frame_kind): only the
 * activations it reaches come here, where zinst_schedule_timing decides
 * the stratum and schedules the context's next timed call, and push a
 * frame on the thread's shadow stack, which then holds timed activations
 * only. What the hooks do with their frames holds for these: a frame is
 * matched by its frame address, abandoned ones (longjmp, exceptions) are
 * closed by the next timed enter or exit that proves them so, and a dump
 * counts open frames up to its moment. Untimed activations leave no frame:
 * a timed one's interval holds its untimed callees whole.
 *
 * Signals: `busy` as in the hooks. The inline code counts untimed_left
 * down without it. A handler's contexts are the interrupted one's children
 * (its caller's, when it interrupts a leaf): the node whose schedule the
 * interrupted runtime is writing only if the handler calls the function
 * it interrupted, and then only that context's next timed call moves; its
 * counts stay exact.
 */

#if ZINST_HAVE_CONTEXT_MISS
/* Pushes the timed frame of the activation of node `index` at
 * `frame_address`; the caller holds `busy` and checked the depth bound. The
 * clock is read last, so that the runtime's own work stays outside the
 * measured interval. */
static inline __attribute__((always_inline)) void push_timed_frame(struct zinst_thread_state *ts,
                                                                   uint32_t depth, uint32_t index,
                                                                   uintptr_t frame_address,
                                                                   uint32_t kind) {
  struct zinst_frame *pushed = &ts->frames[depth];
  pushed->frame_address = frame_address;
  pushed->node = index;
  pushed->function = ts->nodes[index].function;
  RELAXED_STORE(pushed->kind, kind);
  RELAXED_STORE(pushed->start_ticks, zinst_read_ticks());
  RELAXED_STORE(ts->depth, depth + 1);
}

/* Every case of a timed enter: an event inside the runtime, no context, a
 * frame to repair, the depth bound, count mode. */
static __attribute__((noinline, cold)) void timed_enter_general(void *context,
                                                                uintptr_t frame_address) {
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL)
    return; /* no thread block: the context is zinst_no_context, never due */
  uint32_t index = zinst_context_index(ts, context);
  if (index == 0 || index == ts->sink_node)
    return; /* never due: the root's and the sink's untimed_left is ZINST_NEVER_TIMED */
  struct zinst_node *node = &ts->nodes[index];
  if (ts->busy) {
    /* Dropped; the next timed call cannot wait for the rng, which the
     * interrupted runtime may be using: the mean interval. */
    ts->reentrant_events++;
    if (!ts->count_only)
      zinst_schedule_in(node, ts->sample_span / 2 + 1);
    return;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  uint32_t kind = zinst_schedule_timing(ts, node, node->calls);
  if (kind != ZINST_FRAME_UNTIMED) {
    uint32_t depth = ts->depth;
    if (ts->frames[depth - 1].frame_address <= frame_address)
      depth = zinst_thread_repair_for_enter(ts, frame_address);
    if (depth < ts->frame_limit) {
      push_timed_frame(ts, depth, index, frame_address, kind);
    } else if (kind == ZINST_FRAME_EXACT) {
      zinst_end_exact_stratum(ts, node);
    }
    __zinst_timed_frame = zinst_innermost_function_frame(ts);
  }
  SIGNAL_FENCE();
  ts->busy = 0;
}

/* preserve_most on both sides: the fast path below saves only the
 * registers it uses, and only this call saves the rest. */
static __attribute__((noinline, cold, preserve_most)) void
timed_enter_thunk(void *context, uintptr_t frame_address) {
  timed_enter_general(context, frame_address);
}

/* The timed enter, expanded in both entry points that start one. */
static inline __attribute__((always_inline)) void timed_enter_inline(void *context,
                                                                     uintptr_t frame_address) {
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ZINST_UNLIKELY(ts == NULL || ts->busy || ts->count_only)) {
    timed_enter_thunk(context, frame_address);
    return;
  }
  uint32_t index = zinst_context_index(ts, context);
  uint32_t depth = ts->depth;
  if (ZINST_UNLIKELY(index == 0 || index == ts->sink_node ||
                     ts->frames[depth - 1].frame_address <= frame_address ||
                     depth >= ts->frame_limit)) {
    timed_enter_thunk(context, frame_address);
    return;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  struct zinst_node *node = &ts->nodes[index];
  push_timed_frame(ts, depth, index, frame_address, zinst_schedule_timing(ts, node, node->calls));
  /* A zone's frame (zones.c) leaves its function's frame the innermost. */
  if ((frame_address & ZINST_ZONE_ADDRESS_BITS) == 0)
    __zinst_timed_frame = frame_address;
  SIGNAL_FENCE();
  ts->busy = 0;
}

ZINST_EXPORT __attribute__((noinline, preserve_most)) void __zinst_timed_enter(void *context,
                                                                               void *frame) {
  timed_enter_inline(context, (uintptr_t)frame);
}

/* Every case of a timed exit but the common one: frames above the
 * activation's (callees' frames abandoned by a longjmp or an exception
 * that no instrumented code caught, or a zone left open in it), its own
 * frame closed already by a repair, an untimed activation below such
 * abandoned frames (the inline exit calls whenever the innermost timed
 * frame is at or below its own: zinst_abi.h), or an event inside the
 * runtime. Everything deeper than the activation ends now, and its own
 * frame, the one at its address, if there is one. */
static __attribute__((noinline, cold)) void timed_exit_general(uintptr_t frame_address,
                                                               uint64_t now) {
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL)
    return;
  if (ts->busy) {
    ts->reentrant_events++;
    return;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  uint32_t own = ts->depth - 1;
  while (own > 0 && ts->frames[own].frame_address < frame_address)
    own--;
  if (own > 0 && ts->frames[own].frame_address == frame_address) {
    uint32_t depth = zinst_thread_repair_for_exit(ts, frame_address, ts->frames[own].function, now);
    if (depth != 0) {
      zinst_credit_frame(ts, &ts->frames[depth - 1], now);
      RELAXED_STORE(ts->depth, depth - 1);
    }
  } else {
    zinst_thread_repair_for_enter(ts, frame_address); /* the deeper ones only */
  }
  __zinst_timed_frame = zinst_innermost_function_frame(ts);
  SIGNAL_FENCE();
  ts->busy = 0;
}

static __attribute__((noinline, cold, preserve_most)) void timed_exit_thunk(uintptr_t frame_address,
                                                                            uint64_t now) {
  timed_exit_general(frame_address, now);
}

ZINST_EXPORT __attribute__((noinline, preserve_most)) void __zinst_timed_exit(void *frame) {
  /* First: the runtime's own work stays outside the measured interval. */
  uint64_t now = zinst_read_ticks();
  uintptr_t frame_address = (uintptr_t)frame;
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ZINST_UNLIKELY(ts == NULL || ts->busy)) {
    timed_exit_thunk(frame_address, now);
    return;
  }
  uint32_t depth = ts->depth;
  struct zinst_frame *top = &ts->frames[depth - 1];
  if (ZINST_UNLIKELY(top->frame_address != frame_address)) {
    timed_exit_thunk(frame_address, now);
    return;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  zinst_credit_frame(ts, top, now);
  RELAXED_STORE(ts->depth, depth - 1);
  __zinst_timed_frame = zinst_innermost_function_frame(ts);
  SIGNAL_FENCE();
  ts->busy = 0;
}

/* The one call of inline timing's entry code: after a miss (due is
 * null), __zinst_context_miss, then the timed enter when the new context's
 * call is due (a new context's first call always is); else the timed enter
 * of `due`, the context the inline code found, whose call is due. One entry
 * point for both, so that the inline code has one call and one cold block,
 * not two: less code for the compiler to generate in every function. */
ZINST_EXPORT __attribute__((noinline, preserve_most)) void *
__zinst_context_miss_or_due(struct zinst_module_info *module, uint32_t index, void *current,
                            void *due, void *frame) {
  void *node = due;
  void *restore = current; /* a found context's caller is a real context */
  if (node == NULL) {
    restore = __zinst_context_miss(module, index, current);
    node = __zinst_context; /* the miss made the new context current */
    if (!zinst_inline_timing_due(node))
      return restore;
  }
  timed_enter_inline(node, (uintptr_t)frame);
  return restore;
}

/* A landing pad, or a return of setjmp, in an inline-timed function whose
 * frame is at `frame`: the calls the exception or the longjmp skipped were
 * abandoned. Their timed frames (all those below `frame`) end now, not at
 * the thread's next timed event, which may come many untimed calls later
 * and would make them that much longer. The function's own frame stays. */
ZINST_EXPORT __attribute__((noinline, preserve_most)) void __zinst_timed_reenter(void *frame) {
  uintptr_t frame_address = (uintptr_t)frame;
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL || ts->frames[ts->depth - 1].frame_address >= frame_address)
    return; /* no frame below: nothing was abandoned, or it was closed already */
  if (ts->busy) {
    ts->reentrant_events++;
    return;
  }
  ts->busy = 1;
  SIGNAL_FENCE();
  zinst_thread_repair_for_enter(ts, frame_address - 1);
  __zinst_timed_frame = zinst_innermost_function_frame(ts);
  SIGNAL_FENCE();
  ts->busy = 0;
}
#endif

/*
 * The registering thread (the main thread, for an executable's modules; the
 * one that called dlopen, for a library's) starts with its own root as its
 * context, not the no-context node. All threads share that node, so it
 * remembers no thread's children, and the inline code misses on every call
 * made from it: from uninstrumented code, such as a program calling an
 * instrumented library, or a main() left out by ZINST_EXCLUDE. The thread's
 * root remembers them: those calls hit after their first. Other threads
 * start at the no-context node (nothing runs on a new thread before its
 * own code) and move to their own root when their first call returns
 * (context_to_restore).
 *
 * This makes the thread's block now, before its first event, as the first
 * event would. Only for a module with inline trees that the process took;
 * and never from inside the runtime, nor when the thread has a context
 * already (a constructor that runs instrumented code, then registers).
 */
static void start_at_own_root(const struct zinst_module_info *module) {
  if (!(module->flags & ZINST_MODULE_INLINE_TREE) ||
      !zinst_id_base_registered(__atomic_load_n(&module->id_base, __ATOMIC_RELAXED)) ||
      __zinst_context != &zinst_no_context || zinst_tls_in_runtime)
    return;
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL)
    ts = zinst_thread_state_create();
  if (ts != NULL && !ts->busy)
    __zinst_context = &ts->nodes[0];
}

ZINST_EXPORT void __zinst_register_module(struct zinst_module_info *module) {
  zinst_registry_register(module);
  start_at_own_root(module);
}

ZINST_EXPORT void __zinst_unregister_module(struct zinst_module_info *module) {
  zinst_registry_unregister(module);
}

/* The site counters' TLS pointer (zinst_abi.h): set when the thread's block
 * is created, cleared when it is retired.
 *
 * The instrumented code loads it (and its module's site_base) once per
 * call of a function, in the block that dominates all the function's sites
 * (outside loops), then increments through it at each site. Nothing that
 * runs while the function does can invalidate that: only thread exit clears
 * the pointer (and no frame of the exiting thread resumes after that), the
 * array never moves, and site_base only goes from 0 to its value.
 *
 * Signals: each increment is the thread's plain load, add and store;
 * x86-64 code generation folds it into one add to memory, which a signal
 * cannot split. Where it stays three instructions, a handler that runs
 * between them and counts the same site loses its own increment; the
 * interrupted one is never lost. */
ZINST_EXPORT __thread __attribute__((tls_model("initial-exec"))) uint64_t *__zinst_site_counters;

/* The entry's slow path (zinst_abi.h): the thread's first event, or an
 * event after its block was retired (an instrumented destructor at thread
 * exit). Registers the module if it is not yet (code that runs before its
 * constructor). Returns the thread's counter of the module's site 0:
 * site_base 0 is the sink (too many sites in the process: the module's are
 * not counted). */
ZINST_EXPORT __attribute__((noinline, cold)) uint64_t *
__zinst_site_counters_slow(struct zinst_module_info *module) {
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL) {
    ts = zinst_thread_state_create();
    if (ts == NULL)
      return unrecorded_site_counts;
  }
  uint32_t site_base = __atomic_load_n(&module->site_base, __ATOMIC_ACQUIRE);
  if (site_base == 0 &&
      !zinst_id_base_registered(__atomic_load_n(&module->id_base, __ATOMIC_RELAXED)) &&
      zinst_registry_register_lazily(module) != 0)
    site_base = __atomic_load_n(&module->site_base, __ATOMIC_ACQUIRE);
  return ts->site_array + site_base;
}
