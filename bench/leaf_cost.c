/*
 * leaf_cost.c - a small leaf of known cost, called many times from one
 * caller: what the hook-cost correction is measured on (bench/run.py).
 *
 *   leaf_cost CALLS STEPS busy|chain|fib [REPS]
 *
 * Two leaves of STEPS steps each, the same with and without
 * instrumentation (the asm keeps the compiler from folding or vectorizing
 * them):
 *   busy   six independent additions per step: the processor's units are
 *          busy, so whatever the hooks add costs time;
 *   chain  one dependent multiply-add per step: one long chain of latency,
 *          behind which out-of-order execution can hide other work;
 *   fib    not a leaf: the recursion fib(STEPS), nothing but calls (fib(10)
 *          makes 177), where the hooks are most of the instrumented cost.
 * Each call takes the previous one's result, so calls cannot overlap in the
 * processor and the cost of one is well defined. The program runs the
 * caller REPS times (default 1), times each run itself (CLOCK_MONOTONIC
 * around it, start-up left out) and prints "rep I ns_per_call N switches S"
 * for each, S the involuntary context switches the thread had during the
 * rep (getrusage): a rep with none was not preempted, the only kind whose
 * wall time says what the code costs on a loaded machine. Uninstrumented,
 * N is the leaf's true cost per call, call included.
 * Instrumented, with LEAF_COST_DUMP=PREFIX, each rep also gets a profile of
 * its own, PREFIX.I.zinst (zinst_reset() before it, zinst_dump() after; no
 * profile at exit), so that the least disturbed rep's profile can be read.
 */
#define _GNU_SOURCE /* RUSAGE_THREAD */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

__attribute__((noinline)) uint64_t busy_leaf(uint64_t x, uint32_t steps) {
  uint64_t a = x, b = x + 1, c = x + 2, d = x + 3, e = x + 4, f = x + 5;
  for (uint32_t i = 0; i < steps; i++) {
    __asm__ volatile("" : "+r"(a), "+r"(b), "+r"(c), "+r"(d), "+r"(e), "+r"(f));
    a += i;
    b ^= i;
    c += a;
    d ^= b;
    e += c;
    f ^= d;
  }
  return a ^ b ^ c ^ d ^ e ^ f;
}

__attribute__((noinline)) uint64_t chain_leaf(uint64_t x, uint32_t steps) {
  for (uint32_t i = 0; i < steps; i++) {
    __asm__ volatile("" : "+r"(x));
    x = x * 2654435761u + 1;
  }
  return x;
}

__attribute__((noinline)) uint64_t fib_leaf(uint64_t x, uint32_t n) {
  return n < 2 ? x + n : fib_leaf(x, n - 1) + fib_leaf(x, n - 2);
}

__attribute__((noinline)) uint64_t busy_caller(uint64_t calls, uint32_t steps) {
  uint64_t x = calls;
  for (uint64_t i = 0; i < calls; i++)
    x = busy_leaf(x, steps);
  return x;
}

__attribute__((noinline)) uint64_t chain_caller(uint64_t calls, uint32_t steps) {
  uint64_t x = calls;
  for (uint64_t i = 0; i < calls; i++)
    x = chain_leaf(x, steps);
  return x;
}

__attribute__((noinline)) uint64_t fib_caller(uint64_t calls, uint32_t steps) {
  uint64_t x = calls;
  for (uint64_t i = 0; i < calls; i++)
    x = fib_leaf(x, steps);
  return x;
}

/* The zinst API when the program is instrumented (zinst cc links the
 * runtime); NULL in the uninstrumented build. */
extern int zinst_dump(const char *path) __attribute__((weak));
extern void zinst_reset(void) __attribute__((weak));
extern void zinst_disable_exit_dump(void) __attribute__((weak));

/* Involuntary context switches of the calling thread so far. */
static long preemptions(void) {
  struct rusage usage;
  return getrusage(RUSAGE_THREAD, &usage) == 0 ? usage.ru_nivcsw : -1;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
  uint64_t (*callers[])(uint64_t, uint32_t) = {busy_caller, chain_caller, fib_caller};
  const char *shapes[] = {"busy", "chain", "fib"};
  int shape = 0;
  while (argc >= 4 && shape < 3 && strcmp(argv[3], shapes[shape]) != 0)
    shape++;
  if (argc < 4 || argc > 5 || shape == 3) {
    fprintf(stderr, "usage: leaf_cost CALLS STEPS busy|chain|fib [REPS]\n");
    return 2;
  }
  uint64_t calls = strtoull(argv[1], NULL, 10);
  uint32_t steps = (uint32_t)strtoul(argv[2], NULL, 10);
  int reps = argc == 5 ? atoi(argv[4]) : 1;
  if (calls == 0 || reps < 1) {
    fprintf(stderr, "leaf_cost: CALLS and REPS must be at least 1\n");
    return 2;
  }
  const char *dump = getenv("LEAF_COST_DUMP");
  if (dump && (!zinst_dump || !zinst_reset || !zinst_disable_exit_dump)) {
    fprintf(stderr, "leaf_cost: LEAF_COST_DUMP needs the instrumented build\n");
    return 2;
  }
  if (dump)
    zinst_disable_exit_dump(); /* the reps' profiles are the ones read */
  uint64_t result = 0;
  for (int rep = 0; rep < reps; rep++) {
    if (dump)
      zinst_reset();
    long switches = preemptions();
    uint64_t start = now_ns();
    result += callers[shape](calls, steps);
    uint64_t elapsed = now_ns() - start;
    switches = preemptions() - switches;
    if (dump) {
      char path[4096];
      snprintf(path, sizeof path, "%s.%d.zinst", dump, rep);
      if (zinst_dump(path) != 0) {
        perror(path);
        return 1;
      }
    }
    printf("rep %d ns_per_call %.3f switches %ld\n", rep, (double)elapsed / (double)calls,
           switches);
  }
  printf("checksum %llu\n", (unsigned long long)result);
  return 0;
}
