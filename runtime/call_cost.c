/*
 * call_cost.c - measuring the cost of a call that stays a call.
 *
 * Two loops of the same dependent chain of additions, one calling a
 * noinline function for each step and one doing the step in place; the
 * difference per step is the call. Rounds alternate between the loops and
 * the smallest time of each is kept: on a shared machine the noise only
 * ever adds time.
 */
#include "call_cost.h"

#include "cycle_counter.h"

#define CALL_COST_ROUNDS 9
#define CALL_COST_STEPS 2048u

/* The asm makes `x` opaque: the compiler can neither fold the chain nor
 * reason across the call about what it returns. */
static __attribute__((noinline)) uint64_t step_through_call(uint64_t x) {
  __asm__ volatile("" : "+r"(x));
  return x + 1;
}

static uint64_t ticks_for_calls(void) {
  uint64_t x = 0, start = zinst_read_ticks();
  for (uint32_t i = 0; i < CALL_COST_STEPS; i++)
    x = step_through_call(x);
  uint64_t end = zinst_read_ticks();
  __asm__ volatile("" : : "r"(x));
  return end - start;
}

static uint64_t ticks_in_place(void) {
  uint64_t x = 0, start = zinst_read_ticks();
  for (uint32_t i = 0; i < CALL_COST_STEPS; i++) {
    __asm__ volatile("" : "+r"(x));
    x = x + 1;
  }
  uint64_t end = zinst_read_ticks();
  __asm__ volatile("" : : "r"(x));
  return end - start;
}

uint32_t zinst_call_cost_ps(uint64_t ticks_per_second) {
  static uint64_t measured_ticks_x1024; /* per call, scaled; 0 = not yet */
  static int measured;
  if (ticks_per_second == 0)
    return 0;
  if (!__atomic_load_n(&measured, __ATOMIC_ACQUIRE)) {
    uint64_t best_calls = UINT64_MAX, best_in_place = UINT64_MAX;
    for (int round = 0; round < CALL_COST_ROUNDS; round++) {
      uint64_t calls = ticks_for_calls(), in_place = ticks_in_place();
      best_calls = calls < best_calls ? calls : best_calls;
      best_in_place = in_place < best_in_place ? in_place : best_in_place;
    }
    uint64_t extra = best_calls > best_in_place ? best_calls - best_in_place : 0;
    /* Two threads dumping at once both measure; either result is fine. */
    __atomic_store_n(&measured_ticks_x1024, extra * 1024 / CALL_COST_STEPS, __ATOMIC_RELAXED);
    __atomic_store_n(&measured, 1, __ATOMIC_RELEASE);
  }
  double ps = (double)__atomic_load_n(&measured_ticks_x1024, __ATOMIC_RELAXED) / 1024.0 * 1e12 /
              (double)ticks_per_second;
  return ps >= 4294967295.0 ? UINT32_MAX : (uint32_t)ps;
}
