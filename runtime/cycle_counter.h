/*
 * cycle_counter.h - THE one place that reads the profiling clock.
 *
 * Everything that timestamps an event goes through zinst_read_ticks(), so the
 * choice of counter (and its flags in the profile) is made here only:
 *
 *   x86-64   rdtsc, unserialized: an lfence or rdtscp would double the cost of
 *            an event (about 9.6 ns vs 18.5 ns on the project's VMs) to buy an
 *            ordering precision far below the hooks' own cost.
 *   aarch64  the virtual counter cntvct_el0 (fixed frequency, usually far
 *            below the CPU clock).
 *   others   CLOCK_MONOTONIC in nanoseconds.
 */
#ifndef ZINST_CYCLE_COUNTER_H
#define ZINST_CYCLE_COUNTER_H

#include "zinst_format.h"

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define ZINST_TICKS_ARE_TSC 1
#elif defined(__aarch64__)
#define ZINST_TICKS_ARE_VIRTUAL_COUNTER 1
#endif

/* CLOCK_MONOTONIC as nanoseconds. clock_gettime cannot fail for this clock
 * with a valid pointer, so errno is never touched. */
static inline uint64_t zinst_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CLOCK_REALTIME as nanoseconds since the Unix epoch. */
static inline uint64_t zinst_realtime_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(ZINST_TEST_FAKE_CLOCK)
/* Unit tests of sampled timing only: a clock the test advances by hand, so
 * that the statistics are checked against an exact truth instead of against
 * the scheduler's noise. Each read also advances it by one tick, so that
 * every timed interval is positive. Defined by the test. */
extern uint64_t zinst_test_fake_ticks;
#endif

/* The profiling clock. No syscall, no errno, no serialization. */
static inline __attribute__((always_inline)) uint64_t zinst_read_ticks(void) {
#if defined(ZINST_TEST_FAKE_CLOCK)
  return __atomic_fetch_add(&zinst_test_fake_ticks, 1, __ATOMIC_RELAXED);
#elif defined(ZINST_TICKS_ARE_TSC)
  return __builtin_ia32_rdtsc();
#elif defined(ZINST_TICKS_ARE_VIRTUAL_COUNTER)
  uint64_t value;
  __asm__ __volatile__("mrs %0, cntvct_el0" : "=r"(value));
  return value;
#else
  return zinst_monotonic_ns();
#endif
}

/* ZINST_CLOCK_* flags describing zinst_read_ticks() on this machine. On x86
 * the TSC is only flagged invariant when CPUID leaf 0x80000007 says so (EDX
 * bit 8): then it ticks at a constant rate across P-/C-states and cores. */
static inline uint32_t zinst_clock_flags(void) {
#if defined(ZINST_TICKS_ARE_TSC)
  uint32_t flags = ZINST_CLOCK_TSC;
  unsigned eax, ebx, ecx, edx;
  if (__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) && eax >= 0x80000007u &&
      __get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx) && (edx & (1u << 8)))
    flags |= ZINST_CLOCK_TSC_INVARIANT;
  return flags;
#elif defined(ZINST_TICKS_ARE_VIRTUAL_COUNTER)
  return ZINST_CLOCK_VIRTUAL_COUNTER;
#else
  return ZINST_CLOCK_NANOSECONDS;
#endif
}

#endif /* ZINST_CYCLE_COUNTER_H */
