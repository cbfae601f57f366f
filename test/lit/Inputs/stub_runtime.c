/*
 * A minimal stand-in for the zinst runtime, for the lit tests only: it checks
 * that instrumented code calls the hooks as runtime/zinst_abi.h promises and
 * prints, when the module unregisters, each table row with its call counts,
 * then each inline/call site with its count (from its counter, or for a site
 * counted from the tree, the calls of its callee under its caller).
 * Single module, single thread; it owns no heap memory.
 */
#include "zinst_abi.h"

#include <stdio.h>
#include <stdlib.h>

enum { MAX_FUNCTIONS = 64 };

static struct zinst_module_info *registered;
static unsigned long enter_count[MAX_FUNCTIONS];
static unsigned long exit_count[MAX_FUNCTIONS];
/* Calls of function j while function i's activation was the innermost
 * open one: what the tree holds for sites counted from it
 * (ZINST_SITE_INFO_TREE). */
static unsigned long calls_under[MAX_FUNCTIONS][MAX_FUNCTIONS];
static long depth;

/* Site counters: the sink, then room for MAX_SITES sites of the module. */
enum { MAX_SITES = 256 };
static uint64_t site_array[ZINST_MAX_MODULE_SITES + MAX_SITES];
__thread uint64_t *__zinst_site_counters;

static void fail(const char *what) {
  fprintf(stderr, "stub runtime: %s\n", what);
  exit(3);
}

/* The open activations' frame addresses, outermost first. An exception
 * that leaves a frame without a landing pad leaves its entry behind; the
 * next exit of an outer frame discards it. */
enum { MAX_OPEN = 1024 };
static struct {
  uintptr_t frame_address;
  uint32_t index;
} open_frames[MAX_OPEN];
static uint32_t open_count;

static void check(struct zinst_module_info *module, uint32_t index) {
  if (module != registered)
    fail("hook called with an unregistered module");
  if (index >= module->function_count || index >= MAX_FUNCTIONS)
    fail("hook index out of range");
}

void __zinst_register_module(struct zinst_module_info *module) {
  if (module->abi_version != ZINST_ABI_VERSION)
    fail("wrong ABI version");
  if (registered != NULL)
    fail("module registered twice");
  registered = module;
  if (module->site_count > MAX_SITES)
    fail("too many sites for the stub");
  module->site_base = ZINST_MAX_MODULE_SITES;
  __zinst_site_counters = site_array;
  printf("register functions=%u source=%s\n", module->function_count, module->source_file);
}

/* The frame address the pass passes names the instrumented function's
 * frame: above the hook's own (the hook is its callee), and strictly below
 * every frame still open outside it. */
static uintptr_t checked_frame(void *frame_address, const void *hook_frame) {
  uintptr_t frame = (uintptr_t)frame_address;
  if (frame <= (uintptr_t)hook_frame || frame - (uintptr_t)hook_frame > (1u << 20))
    fail("frame address is not the instrumented function's");
  return frame;
}

void __zinst_enter(struct zinst_module_info *module, uint32_t index, void *frame_address) {
  check(module, index);
  uintptr_t frame = checked_frame(frame_address, __builtin_frame_address(0));
  while (open_count > 0 && open_frames[open_count - 1].frame_address <= frame)
    open_count--; /* abandoned: the new frame is not below them */
  if (open_count == MAX_OPEN)
    fail("too deep for the stub");
  if (open_count > 0)
    ++calls_under[open_frames[open_count - 1].index][index];
  open_frames[open_count].frame_address = frame;
  open_frames[open_count].index = index;
  open_count++;
  ++enter_count[index];
  ++depth;
}

void __zinst_exit(struct zinst_module_info *module, uint32_t index, void *frame_address) {
  check(module, index);
  uintptr_t frame = checked_frame(frame_address, __builtin_frame_address(0));
  while (open_count > 0 && open_frames[open_count - 1].frame_address < frame)
    open_count--; /* abandoned by an exception */
  if (open_count == 0 || open_frames[open_count - 1].frame_address != frame ||
      open_frames[open_count - 1].index != index)
    fail("exit with another frame address than its enter");
  open_count--;
  ++exit_count[index];
  if (--depth < 0)
    fail("more exits than enters");
}

uint64_t *__zinst_site_counters_slow(struct zinst_module_info *module) {
  (void)module;
  fail("site counted before the module registered");
  return NULL;
}

void __zinst_unregister_module(struct zinst_module_info *module) {
  if (module != registered)
    fail("unregistering an unknown module");
  for (uint32_t i = 0; i < module->function_count; ++i) {
    const struct zinst_function_info *f = &module->functions[i];
    printf("%s|%s|%s:%u|flags=%u|enter=%lu|exit=%lu\n", f->name, f->linkage_name, f->file, f->line,
           f->flags, enter_count[i], exit_count[i]);
  }
  for (uint32_t i = 0; i < module->site_count; ++i) {
    const struct zinst_site_info *site = &module->sites[i];
    unsigned long long count = site_array[ZINST_MAX_MODULE_SITES + i];
    if (site->shared_counter != 0) {
      /* Counted by an earlier site's counter (zinst_abi.h): its own stays 0. */
      uint32_t leader = site->shared_counter - 1;
      if (count != 0)
        fail("a site that shares a counter was counted in its own");
      if (leader >= module->site_count || module->sites[leader].shared_counter != 0)
        fail("a site shares the counter of a site without one of its own");
      count = site_array[ZINST_MAX_MODULE_SITES + leader];
    }
    if (site->flags & ZINST_SITE_INFO_TREE) {
      if (count != 0)
        fail("a site counted from the tree has a counter");
      if (site->caller_index >= module->function_count ||
          site->callee_index >= module->function_count)
        fail("a site counted from the tree names no function");
      count = calls_under[site->caller_index][site->callee_index];
    }
    printf("site %s->%s at %u:%u flags=%#x count=%llu\n", site->caller, site->callee, site->line,
           site->column, site->flags, count);
    if (getenv("STUB_SITE_DECISIONS"))
      printf("  decision cost=%d threshold=%d reason=%s\n", site->cost, site->threshold,
             site->reason);
  }
  printf("unregister depth=%ld\n", depth);
  fflush(stdout);
}
