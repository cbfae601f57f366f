/*
 * zones.c - regions the program marks by hand (include/zinst.h).
 *
 * A zone is an instrumented function as far as the rest of the runtime is
 * concerned: on its first use it gets a module of its own, made and owned
 * here (one function, flagged ZINST_FUNCTION_INFO_ZONE), registered like a
 * compiled module; begin and end are that function's enter and exit hooks.
 * So zones take the hooks' paths, sampling and repairs unchanged, and the
 * profile, the reader and the reports need nothing new beyond the flag.
 *
 * The one thing a zone lacks is a frame address: it is not a call. Frames
 * of functions are 8-aligned (zinst_frame.frame_address), and a callee's
 * frame is at least 16 bytes below its caller's, so a zone opened while
 * frame F is on top of the shadow stack gets F - 1, the next zone inside it
 * F - 2, and so on to F - 7: strictly between the function it is in and
 * anything that function calls, so the hooks' ordering rules (an enter at
 * or above a recorded frame proves that frame abandoned; an exit matches by
 * equality) hold for zones as they are. The low bits also tell zone frames
 * from function frames when a zone ends.
 */
#include "zinst.h"

#include "module_registry.h"
#include "runtime_internal.h"
#include "thread_state.h"
#include "zinst_abi.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A zone's module: the descriptor the registry keeps a pointer to, its one
 * function, and the copied strings. Never freed: the registry refers to it
 * for the life of the process, as it does to a loaded module. */
struct zone_module {
  struct zinst_module_info module;
  struct zinst_function_info function;
  char strings[];
};

static int nesting_warned;

/* The zone's module, made and registered on first use. Two threads may
 * both make one: the first to publish it wins, the other's stays registered
 * with no calls (never shown) and is not used. NULL when it cannot be made
 * (no memory, out of ids, or called from inside the runtime). */
static struct zinst_module_info *zone_module(struct zinst_zone *zone) {
  struct zinst_module_info *module =
      __atomic_load_n((struct zinst_module_info **)&zone->runtime_data, __ATOMIC_ACQUIRE);
  if (module || zinst_tls_in_runtime)
    return module;
  const char *name = zone->name ? zone->name : "(unnamed zone)";
  const char *file = zone->file ? zone->file : "";
  size_t name_size = strlen(name) + 1, file_size = strlen(file) + 1;
  /* The runtime's block, not the program's: memory tracing must not
   * credit it to the context that opened the zone (it is never freed, so
   * it would show as the program's leak). Not zinst_heap_malloc: during
   * another thread's signal dump that hands out arena blocks, unmapped
   * after the dump, and this one lives as long as the process. The fences
   * keep the flag's stores (see heap.c). */
  zinst_tls_in_runtime = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  struct zone_module *made = malloc(sizeof *made + name_size + file_size);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  zinst_tls_in_runtime = 0;
  if (!made)
    return NULL;
  char *name_copy = made->strings, *file_copy = made->strings + name_size;
  memcpy(name_copy, name, name_size);
  memcpy(file_copy, file, file_size);
  made->function = (struct zinst_function_info){
      .name = name_copy,
      .linkage_name = name_copy,
      .file = file_copy,
      .line = zone->line,
      .flags = ZINST_FUNCTION_INFO_ZONE | (zone->line ? ZINST_FUNCTION_INFO_DEBUG : 0),
  };
  made->module = (struct zinst_module_info){
      .abi_version = ZINST_ABI_VERSION,
      .function_count = 1,
      .functions = &made->function,
      .source_file = file_copy,
  };
  if (zinst_registry_register(&made->module) == 0)
    return NULL; /* refused, with a message; `made` stays with the registry */
  struct zinst_module_info *expected = NULL;
  if (__atomic_compare_exchange_n((struct zinst_module_info **)&zone->runtime_data, &expected,
                                  &made->module, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return &made->module;
  return expected;
}

/* Warns, once per process, that a zone nested 8 deep is not recorded. */
static void warn_nesting(const struct zinst_module_info *module) {
  if (!__atomic_exchange_n(&nesting_warned, 1, __ATOMIC_RELAXED))
    fprintf(stderr,
            "zinst: zone \"%s\" is nested 8 deep inside one function; zones nest at most 7 "
            "deep there, so it and any deeper ones are not recorded\n",
            module->functions[0].name);
}

#if ZINST_HAVE_CONTEXT_MISS
/* Times the zone whose context `node` was just entered in a process of
 * inline timing, when the inline code would time a function there (the
 * context's untimed_left fell below 0). Only timed
 * activations have frames, so the zone's frame address is 1 to 7 below the
 * innermost timed frame, which is the function the zone is in or one of
 * its callers: still above anything that function calls. A zone left open
 * when its function returns stays open until it ends or a caller's timed
 * exit closes it (README, Known limits). */
static void time_inline_zone(const struct zinst_module_info *module, struct zinst_node *node) {
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL || ts->busy || zinst_context_index(ts, node) == 0)
    return; /* dropped, or no context: nothing to time */
  if (!zinst_inline_timing_due(node))
    return;
  uintptr_t top = ts->frames[ts->depth - 1].frame_address;
  if ((top & ZINST_ZONE_ADDRESS_BITS) == 1) {
    /* Seven timed zones in one function already: counted, not timed; its
     * time stays in the zone around it. */
    if (!__atomic_exchange_n(&nesting_warned, 1, __ATOMIC_RELAXED))
      fprintf(stderr,
              "zinst: zone \"%s\" is timed 8 deep inside one function; zones are timed at "
              "most 7 deep there, so it and any deeper ones are counted but not timed\n",
              module->functions[0].name);
    if (node->calls <= node->exact_until) {
      zinst_end_exact_stratum(ts, node);
    } else {
      /* The next activation takes its sample. */
      zinst_schedule_in(node, 1);
    }
    return;
  }
  __zinst_timed_enter(node, (void *)(top - 1));
}

/* Ends the timing of zone context `node`, if its activation was timed: its
 * frame is among the zone frames on top of the stack (functions it called
 * have returned). */
static void close_inline_zone(struct zinst_thread_state *ts, uint32_t node) {
  for (uint32_t d = ts->depth - 1; d >= 1; d--) {
    const struct zinst_frame *frame = &ts->frames[d];
    if ((frame->frame_address & ZINST_ZONE_ADDRESS_BITS) == 0)
      return;
    if (frame->node == node) {
      __zinst_timed_exit((void *)frame->frame_address);
      return;
    }
  }
}
#endif

ZINST_EXPORT void zinst_zone_begin(struct zinst_zone *zone) {
  struct zinst_module_info *module = zone_module(zone);
  if (!module)
    return;
  if (zinst_registry_inline_tree()) {
    /* The zone is a context like a function's (hooks.c), timed as one
     * where the inline code times functions. */
    (void)__zinst_context_enter(module, 0, __zinst_context);
    struct zinst_node *node = __zinst_context; /* the zone's context, made current */
#if ZINST_HAVE_CONTEXT_MISS
    if (zinst_registry_inline_time())
      time_inline_zone(module, node);
#else
    (void)node;
#endif
    return;
  }
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts == NULL && (ts = zinst_thread_state_create()) == NULL)
    return;
  /* Read outside `busy`: a signal handler in between leaves the top frame
   * as it found it (hooks.c), and inside a hook the enter is dropped. */
  uintptr_t top = ts->frames[ts->depth - 1].frame_address;
  if ((top & ZINST_ZONE_ADDRESS_BITS) == 1) {
    warn_nesting(module);
    return;
  }
  __zinst_enter(module, 0, (void *)(top - 1));
}

/* Ends zone `id` in a process of inline trees: the current context goes
 * back to the parent of the nearest context of the zone, found from the
 * current one up (functions it called have returned; zones begun inside it
 * and not ended close with it). None: counted as an unmatched exit. Inside
 * the runtime (`busy`), the zone's begin was dropped and so is its end. */
static void inline_zone_end(struct zinst_thread_state *ts, uint32_t id) {
  if (ts->busy || id == 0)
    return;
  uint32_t node = zinst_context_index(ts, __zinst_context);
  for (; node != 0 && node != ts->sink_node; node = ts->nodes[node].parent) {
    if (ts->nodes[node].function == id) {
#if ZINST_HAVE_CONTEXT_MISS
      if (zinst_registry_inline_time())
        close_inline_zone(ts, node);
#endif
      __zinst_context = &ts->nodes[ts->nodes[node].parent];
      return;
    }
  }
  ts->unmatched_exits++;
}

ZINST_EXPORT void zinst_zone_end(struct zinst_zone *zone) {
  struct zinst_module_info *module =
      __atomic_load_n((struct zinst_module_info **)&zone->runtime_data, __ATOMIC_ACQUIRE);
  struct zinst_thread_state *ts = zinst_tls_state;
  if (!module || !ts)
    return; /* never begun here */
  uint32_t id = __atomic_load_n(&module->id_base, __ATOMIC_RELAXED);
  if (zinst_registry_inline_tree()) {
    inline_zone_end(ts, id);
    return;
  }
  /* The zone's frame: among the zone frames on top of the stack (functions
   * it called have returned), the nearest one of this zone. */
  for (uint32_t d = ts->depth - 1; d >= 1; d--) {
    const struct zinst_frame *frame = &ts->frames[d];
    if ((frame->frame_address & ZINST_ZONE_ADDRESS_BITS) == 0)
      break;
    if (frame->function == id) {
      __zinst_exit(module, 0, (void *)frame->frame_address);
      return;
    }
  }
  /* Not on the stack: it began past ZINST_MAX_DEPTH (an exit below the
   * deepest frame closes such a call), or it was dropped, or ended twice
   * (the exit then matches nothing and is counted as unmatched). */
  __zinst_exit(module, 0, (void *)(ts->frames[ts->depth - 1].frame_address - 1));
}

ZINST_EXPORT void zinst_zone_end_scope_(struct zinst_zone **zone) {
  zinst_zone_end(*zone);
}
