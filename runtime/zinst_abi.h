/*
 * zinst_abi.h - the contract between the compiler pass and the runtime.
 *
 * The pass (pass/) emits, in every instrumented module:
 *
 *   - a constant table of struct zinst_function_info, one per instrumented
 *     function, in the order of their module-local indices 0..n-1;
 *   - one writable struct zinst_module_info that points at that table;
 *   - a constructor (llvm.global_ctors, priority ZINST_CTOR_PRIORITY) calling
 *     __zinst_register_module(&module) and a destructor (llvm.global_dtors)
 *     calling __zinst_unregister_module(&module);
 *   - in each instrumented function, __zinst_enter(&module, index, cfa) at
 *     entry and __zinst_exit(&module, index, cfa) on every way out, where cfa
 *     is the function's canonical frame address: the address of its return
 *     address slot (llvm.addressofreturnaddress), computed once in the
 *     function. It is the same for every function called from the same
 *     place and strictly lower for every deeper call, which is how the
 *     runtime relates hooks to frames and finds frames that longjmp or an
 *     exception abandoned;
 *   - for the call sites the inliner decided about (pass/InlineSiteCounters.h),
 *     a constant table of struct zinst_site_info and, where each site's code
 *     ended up, an inline increment of this thread's counter of the site,
 *     through the address of the module's counters that the function
 *     computes once at its entry:
 *
 *       counters = __zinst_site_counters;          (initial-exec TLS)
 *       base = module.site_base;
 *       if (counters == NULL)                      (the thread's first event)
 *         sites = __zinst_site_counters_slow(&module);
 *       else
 *         sites = counters + base;
 *       ...
 *       sites[index]++;                            (at each site; sites
 *                                                   that run alike share
 *                                                   one: shared_counter)
 *
 *     In a function with entry code (the hooks, or the inline code below),
 *     which runs first, `sites = counters + base` without the test: once
 *     a thread ran entry code, the runtime never leaves the pointer NULL
 *     (a discard array as long as a thread's own when it has none).
 *
 *     A function chosen with ZINST_COUNT_ONLY (pass/Options.h) gets no
 *     hooks: the same increment at its entry, of a site flagged
 *     ZINST_SITE_INFO_ENTRY, counts every call of it from anywhere.
 *
 *   - instead of the hooks, when built with -zinst-inline-tree
 *     (ZINST_MODULE_INLINE_TREE): code that keeps the calling-context tree
 *     itself, with no call on the common path and no clock read:
 *
 *       cur = __zinst_context;                     (initial-exec TLS)
 *       id = module.function_ids[index];         (id_base + index)
 *       child = cur->recent_children[index & 7];   (never NULL; id & 7)
 *       if (child->function != id)                 (its second slot)
 *         child = cur->recent_children[(index >> 3) & 7];
 *       saved = cur;
 *       if (child->function == id) {
 *         child->calls++;                          (one add to memory)
 *         __zinst_context = child;
 *       } else {
 *         saved = __zinst_context_miss(&module, index, cur);  (preserve_most;
 *       }                   __zinst_context_enter on other targets)
 *       ... the function's body ...
 *       __zinst_context = saved;                   (on every way out)
 *
 *     The miss returns what to put back: `cur`, or the thread's own root
 *     when `cur` was the no-context node, where a thread that did not
 *     register the modules starts, which all threads share and which
 *     remembers no child: calls from uninstrumented code on such a thread
 *     then hit after their first, in the root.
 *
 *     A leaf, a function that calls nothing (intrinsics other than memcpy
 *     and its kin are not calls), stores neither: no function reads the
 *     context before it returns. After a miss, which made its context
 *     current, it stores `saved` back at once.
 *
 *     Both slots are constants, as id_base is a multiple of
 *     ZINST_ID_BASE_ALIGNMENT; an unregistered module's ids are
 *     ZINST_ID_BASE_UNREGISTERED + index, which no node has, so such a call
 *     misses and the runtime registers the module, with no test of its own.
 *     The id is one load of the module's own array (function_ids), which
 *     the runtime writes at registration, not a load and an add.
 *
 *     and, after a call that returns twice (setjmp) and at a landing pad,
 *     __zinst_context = child (the function's own context again, whatever
 *     longjmp or an exception skipped). A process runs modules of one kind
 *     only: the runtime refuses modules of the other kind than the first
 *     one registered.
 *
 *     The runtime keeps the first ZINST_MAX_MODULE_SITES slots of every
 *     thread's array as a sink that is never reported: a module whose
 *     site_base is still 0 (not registered yet, or refused) counts there
 *     harmlessly, so the increment needs no other check.
 *
 * The runtime (runtime/) assigns each module a block of process-wide function
 * ids on registration. Registration is also done lazily by the first hook, so
 * a function called from another module's constructor before this module's
 * own constructor ran is still counted.
 *
 * Any change to these types or signatures bumps ZINST_ABI_VERSION; the
 * runtime refuses (with a message) modules of another version.
 */
#ifndef ZINST_ABI_H
#define ZINST_ABI_H

#include <stdint.h>

#define ZINST_ABI_VERSION 15u   /* 15: sites of one block share a counter (shared_counter) */
#define ZINST_CTOR_PRIORITY 101 /* earliest priority open to programs */

#define ZINST_FUNCTION_INFO_DEBUG 0x1u   /* file/line from DISubprogram */
#define ZINST_FUNCTION_INFO_LIBRARY 0x2u /* source file under a -zinst-library-dir */
#define ZINST_FUNCTION_INFO_ZONE 0x4u    /* a zone (zinst.h); only the runtime makes these */

/* A module has at most this many counted sites (site indices are below it);
 * the pass leaves further sites uncounted. Also the size of the sink at the
 * start of every thread's counter array. */
#define ZINST_MAX_MODULE_SITES 65536u

/* zinst_site_info.flags; the same bits as the profile's ZINST_SITE_*. */
#define ZINST_SITE_INFO_INLINED 0x1u  /* the callee's body was inlined here */
#define ZINST_SITE_INFO_ALWAYS 0x2u   /* decided by the always-inline rule (cost=always) */
#define ZINST_SITE_INFO_NEVER 0x4u    /* never inlinable (cost=never): noinline, recursion... */
#define ZINST_SITE_INFO_COST 0x8u     /* cost and threshold hold the inliner's numbers */
#define ZINST_SITE_INFO_COUNTED 0x10u /* the program counts this site's executions */
#define ZINST_SITE_INFO_DEBUG 0x20u   /* file/line/column from the call's debug location */
#define ZINST_SITE_INFO_UNSUCCESSFUL 0x40u /* recommended, but inlining it failed */
#define ZINST_SITE_INFO_DEFERRED 0x80u     /* not inlined now so that the caller can be inlined */
#define ZINST_SITE_INFO_LIBRARY 0x100u     /* the call's file is under a -zinst-library-dir */
#define ZINST_SITE_INFO_CALLEE_LIBRARY 0x200u /* so is the callee's */
/* Not a call site: the entry counter of a count-only function (caller and
 * callee both name it, file and line are its definition's); its counter
 * counts every call of the function, from anywhere. */
#define ZINST_SITE_INFO_ENTRY 0x400u
/* A call that was not inlined, whose count the calling-context tree already
 * holds exactly, so it has no counter: the calls of the callee's contexts
 * whose parent is a context of the caller (functions caller_index and
 * callee_index of the module, both instrumented with entry code). The pass
 * flags a site so only where nothing else can make such a context
 * (pass/InlineSiteCounters.cpp, countFromTree); the runtime adds the counts
 * up when it writes a profile. Also flagged ZINST_SITE_INFO_COUNTED. */
#define ZINST_SITE_INFO_TREE 0x800u

/* zinst_module_info.flags */
#define ZINST_MODULE_INLINE_TREE 0x1u /* -zinst-inline-tree: no hooks, __zinst_context */
/* With ZINST_MODULE_INLINE_TREE (-zinst-inline-time): the inline code also
 * keeps, for the runtime, the timing schedule of each context: a node's
 * untimed_left is how many of its calls are untimed before its next timed
 * one (0 for a new context in time mode, INT64_MAX in count mode), and the
 * call that brings it below 0 is timed. Only those activations call the
 * runtime, which decides the stratum (exact or sampled) and schedules the
 * next one:
 *
 *       (at entry, after the context: node = the function's own context,
 *        whose count was just incremented)
 *       if (--node->untimed_left < 0)              (one decrement and a
 *         __zinst_context_miss_or_due(module,       branch on its sign)
 *                             index, current, node, frame);
 *
 * After a miss, the same call with a null `due`: the runtime counts the
 * call in both fields and times it itself when it is due.
 *       ... the function's body ...
 *       if (__zinst_timed_frame <= frame)          (on every way out)
 *         __zinst_timed_exit(frame);
 *       ...
 *       __zinst_timed_reenter(frame);              (at landing pads and
 *                                                   after setjmp returns)
 *
 * `frame` is the function's canonical frame address, as the hooks get it.
 * __zinst_timed_frame (initial-exec TLS) is the frame address of the
 * thread's innermost timed function activation: the exit asks the runtime
 * rather than keep a flag and the node live across the body, which cost
 * two registers in every function, and pushes in those that ran short.
 * Equal, the activation is timed; below (deeper), the frames there were
 * abandoned (a longjmp or an exception that no instrumented function
 * caught), and the exit ends them at once. */
#define ZINST_MODULE_INLINE_TIME 0x2u

/* What the inline code of ZINST_MODULE_INLINE_TREE reads of a calling
 * context (struct zinst_node, runtime/thread_state.h, checks them): its
 * call count (uint64_t), with ZINST_MODULE_INLINE_TIME its untimed calls
 * left before the next timed one (int64_t), its function's process-wide id (uint32_t, 0 for
 * no function), and its recent children: ZINST_NODE_RECENT_CHILDREN
 * pointers, never NULL (a node that matches no function until a child is
 * entered there); a child running function id F is at index
 * F & (ZINST_NODE_RECENT_CHILDREN - 1), or at
 * (F >> ZINST_NODE_SECOND_SLOT_SHIFT) & (ZINST_NODE_RECENT_CHILDREN - 1):
 * other bits of F, so that functions with the same first slot rarely have
 * the same second one too. */
#define ZINST_NODE_CALLS_OFFSET 0
#define ZINST_NODE_UNTIMED_LEFT_OFFSET 8 /* int64_t, ZINST_MODULE_INLINE_TIME */
#define ZINST_NODE_FUNCTION_OFFSET 20
#define ZINST_NODE_RECENT_CHILDREN_OFFSET 64
#define ZINST_NODE_RECENT_CHILDREN 8
#define ZINST_NODE_SECOND_SLOT_SHIFT 3 /* log2 of ZINST_NODE_RECENT_CHILDREN */
/* A registered module's id_base is a multiple of this, so that both of
 * function `index`'s slots are constants in the inline code, index's low
 * bits and its next ones (the id's: ZINST_NODE_SECOND_SLOT_SHIFT), loaded
 * without waiting for id_base. */
#define ZINST_ID_BASE_ALIGNMENT (ZINST_NODE_RECENT_CHILDREN * ZINST_NODE_RECENT_CHILDREN)
/* The id_base the pass emits, until the runtime registers the module: the
 * ids it gives are at least this, and no node's function is (registered
 * ids stay below it), so the inline code's lookup misses without testing
 * for registration. Runtime code also takes 0 as unregistered: modules
 * defined in C (zones, tests) start at 0. A multiple of the alignment. */
#define ZINST_ID_BASE_UNREGISTERED 0x80000000u

/* One instrumented function; emitted as constant data by the pass. */
struct zinst_function_info {
  const char *name;         /* display name, demangled for C++ */
  const char *linkage_name; /* symbol name */
  const char *file;         /* source path from debug info, else the module's source file */
  uint32_t line;            /* from debug info, 0 if unknown */
  uint32_t flags;           /* ZINST_FUNCTION_INFO_* */
};

/* One call site the inliner decided about; emitted as constant data. Its
 * counter (when ZINST_SITE_INFO_COUNTED) counts the executions of the
 * inlined body (INLINED), the calls of a count-only function (ENTRY) or the
 * calls made through the site (otherwise). */
struct zinst_site_info {
  const char *caller;           /* display name of the function that held the call */
  const char *caller_linkage;   /* its symbol name */
  const char *callee;           /* display name of the called function */
  const char *callee_linkage;   /* its symbol name */
  const char *file;             /* source of the call; "" without debug info */
  const char *reason;           /* the inliner's reason, as its remarks word it */
  uint32_t line, column;        /* 0 without debug info */
  uint32_t flags;               /* ZINST_SITE_INFO_* */
  int32_t cost, threshold;      /* the inline cost analysis (valid with _COST) */
  uint32_t callee_instructions; /* IR instructions of the callee when decided */
  /* With ZINST_SITE_INFO_TREE: the module-local indices of the caller and
   * the callee in `functions`; 0 otherwise. */
  uint32_t caller_index, callee_index;
  /* 0: the site has a counter of its own (or none). Else 1 + the
   * module-local index of the site whose counter counts this one too, which
   * has one of its own: their code lies in the same runs of basic blocks,
   * with nothing between them in a run that may not come back, so both
   * run exactly as often (pass/InlineSiteCounters.cpp, shareCounters).
   * This site's own counter stays 0. */
  uint32_t shared_counter;
};

/* One instrumented module (translation unit, or LTO partition). */
struct zinst_module_info {
  uint32_t abi_version; /* ZINST_ABI_VERSION of the pass that emitted it */
  uint32_t function_count;
  const struct zinst_function_info *functions; /* function_count entries */
  const char *source_file;                     /* the module's source file name */
  uint32_t id_base;    /* written by the runtime; ZINST_ID_BASE_UNREGISTERED (or 0) until then */
  uint32_t reserved;   /* written by the runtime */
  uint32_t site_count; /* entries of `sites`, at most ZINST_MAX_MODULE_SITES */
  /* Written by the runtime at registration: the index of the module's first
   * site in every thread's counter array; 0 (the sink) until then. */
  uint32_t site_base;
  const struct zinst_site_info *sites; /* site_count entries */
  uint32_t flags;                      /* ZINST_MODULE_* */
  uint32_t unused;
  /* ZINST_MODULE_INLINE_TREE: function_count ids, id_base + i, which the
   * inline code loads (zinst_abi.h, above); ZINST_ID_BASE_UNREGISTERED + i
   * until the runtime registers the module, and writes them before
   * id_base. NULL in other modules. */
  uint32_t *function_ids;
};

#ifdef __cplusplus
extern "C" {
#endif

/* Hooks. Never called by hand; their names start with __zinst_ so the pass
 * can recognise and skip the runtime. */
void __zinst_enter(struct zinst_module_info *module, uint32_t index, void *frame_address);
void __zinst_exit(struct zinst_module_info *module, uint32_t index, void *frame_address);
void __zinst_register_module(struct zinst_module_info *module);
void __zinst_unregister_module(struct zinst_module_info *module);
/* The entry's slow path of the site counters: the thread has no counter
 * array yet. Registers the module if it is not yet. Returns the thread's
 * counter of the module's site 0; never NULL. */
uint64_t *__zinst_site_counters_slow(struct zinst_module_info *module);

/* The slow path of an inline enter (ZINST_MODULE_INLINE_TREE): counts the
 * call of `module`'s function `index` in the context `current` and makes
 * its context this thread's __zinst_context: `current` itself for a module
 * the runtime refused (its functions are not seen, their callees count
 * under the caller), the no-context node for an event dropped inside the
 * runtime (and then every nested one). Returns the context the caller
 * puts back on its way out: `current`, or the thread's own root when
 * `current` was the no-context node and the call was counted (a thread's
 * first call from uninstrumented code: its later ones then hit inline). */
void *__zinst_context_enter(struct zinst_module_info *module, uint32_t index, void *current);

/* The same where the compiler has the preserve_most calling convention
 * (x86-64, AArch64): the inline code calls this one with it, so that its
 * common case (the thread's edge cache knows the child) saves only the
 * registers it uses. */
#if defined(__has_attribute)
#if __has_attribute(preserve_most) && (defined(__x86_64__) || defined(__aarch64__))
#define ZINST_HAVE_CONTEXT_MISS 1
__attribute__((preserve_most)) void *__zinst_context_miss(struct zinst_module_info *module,
                                                          uint32_t index, void *current);
/* ZINST_MODULE_INLINE_TIME (x86-64 and AArch64 only, like the hooks: they
 * need the frame address). Called when `node` (this thread's
 * __zinst_context) was due (its untimed_left fell below 0): the enter schedules the
 * context's next timed call and starts timing the activation at `frame`,
 * which sets __zinst_timed_frame to it, unless it does not time it (count
 * mode, an event inside the runtime, past ZINST_MAX_DEPTH). The exit of
 * the activation at `frame`, called when __zinst_timed_frame is at or
 * below `frame`, closes the frames below it, abandoned, and its own. */
__attribute__((preserve_most)) void __zinst_timed_enter(void *node, void *frame_address);
/* The inline code's one call at entry with inline timing. After a miss
 * (`due` null): __zinst_context_miss, then __zinst_timed_enter(new context,
 * frame_address) when the call is due. Else `due` is the context the inline
 * code found and counted, whose call is due: its timed enter. Returns the
 * context to put back on the way out, as __zinst_context_enter. */
__attribute__((preserve_most)) void *__zinst_context_miss_or_due(struct zinst_module_info *module,
                                                                 uint32_t index, void *current,
                                                                 void *due, void *frame_address);
__attribute__((preserve_most)) void __zinst_timed_exit(void *frame_address);
/* At a landing pad or after setjmp returned in an inline-timed function
 * whose frame is at `frame_address`: ends the timed frames below it, which
 * the exception or the longjmp abandoned. */
__attribute__((preserve_most)) void __zinst_timed_reenter(void *frame_address);
#endif
#endif
#ifndef ZINST_HAVE_CONTEXT_MISS
#define ZINST_HAVE_CONTEXT_MISS 0
#endif

/* This thread's current calling context in a process of inline modules
 * (ZINST_MODULE_INLINE_TREE); a node that matches no function before the
 * thread's first event and after its profile was retired. */
extern __thread void *__zinst_context;

/* The frame address of this thread's innermost timed function activation
 * in a process of inline timing (ZINST_MODULE_INLINE_TIME; zones' frames
 * do not count), or one no activation has. */
extern __thread uintptr_t __zinst_timed_frame;

/* This thread's site counters (NULL before its first event). Initial-exec
 * TLS, so the instrumented code reaches it with one %fs-relative load. */
extern __thread uint64_t *__zinst_site_counters;

#ifdef __cplusplus
}
#endif

#endif /* ZINST_ABI_H */
