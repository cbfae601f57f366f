/*
 * naive_hook.c - the baseline every profiler is measured against: the
 * -finstrument-functions hooks most people write first. Per thread, a shadow
 * stack of entry timestamps; at exit, rdtsc again and add the difference to
 * a per-function total in an open-addressing hash table keyed by function
 * address. Built without -finstrument-functions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <x86intrin.h>

#define STACK_MAX 4096
#define TABLE_SIZE 4096 /* power of two, per thread */

struct entry {
  void *fn;
  uint64_t calls, cycles;
};

static __thread uint64_t stack_start[STACK_MAX];
static __thread int depth;
static __thread struct entry table[TABLE_SIZE];

__attribute__((no_instrument_function)) static struct entry *lookup(void *fn) {
  uintptr_t h = ((uintptr_t)fn >> 4) * 0x9E3779B97F4A7C15ULL;
  for (uint32_t i = (uint32_t)(h >> 52) & (TABLE_SIZE - 1);; i = (i + 1) & (TABLE_SIZE - 1)) {
    if (table[i].fn == fn)
      return &table[i];
    if (!table[i].fn) {
      table[i].fn = fn;
      return &table[i];
    }
  }
}

__attribute__((no_instrument_function)) void __cyg_profile_func_enter(void *fn, void *site) {
  (void)fn, (void)site;
  if (depth < STACK_MAX)
    stack_start[depth] = __rdtsc();
  depth++;
}

__attribute__((no_instrument_function)) void __cyg_profile_func_exit(void *fn, void *site) {
  (void)site;
  uint64_t now = __rdtsc();
  depth--;
  struct entry *e = lookup(fn);
  e->calls++;
  if (depth < STACK_MAX)
    e->cycles += now - stack_start[depth];
}

__attribute__((no_instrument_function, destructor)) static void report(void) {
  uint64_t calls = 0;
  for (int i = 0; i < TABLE_SIZE; i++)
    calls += table[i].calls;
  if (getenv("NAIVE_HOOK_VERBOSE"))
    fprintf(stderr, "naive hook: %llu calls\n", (unsigned long long)calls);
}
