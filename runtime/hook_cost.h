/*
 * hook_cost.h - what the hooks themselves cost, calibrated on this machine.
 *
 * A timed activation's interval holds, besides its body, a part of its own
 * enter and exit hooks and every hook of the calls it makes. The runtime
 * measures those costs on the real hooks and stores them in the profile
 * (PROCESS, minor 3); the reader subtracts them (cli/profile_model.c), so
 * that the file stays the measurement and the correction can be undone
 * (`--raw`). For a process whose modules time activations in inline code
 * (ZINST_MODULE_INLINE_TIME), the same costs are those of that code: the
 * "hooks" are then the instructions the pass adds at entry and exit.
 */
#ifndef ZINST_HOOK_COST_H
#define ZINST_HOOK_COST_H

#include <stdint.h>

/* In picoseconds; all 0 = not calibrated. Fields as in zinst_format.h. */
struct zinst_hook_costs {
  uint32_t untimed_pair_ps; /* enter + exit of an untimed activation, whole */
  uint32_t timed_pair_ps;   /* enter + exit of a timed activation, whole */
  uint32_t timed_inner_ps;  /* of those, the part inside its own interval */
  uint32_t spread_ps;       /* the calibration's noise: largest median - minimum */
};

/* Calibrate at start-up (time mode; the runtime's initialization), for a
 * program sampling 1 in `sample_interval`: a window far in time from the
 * dumps', so that one disturbed window (a sibling core busy throughout)
 * does not decide alone. About 0.35 ms. */
void zinst_hook_costs_at_start(uint32_t sample_interval);

/* In a fork child: the other threads are gone; none of them holds the
 * calibrations' lock any more. */
void zinst_hook_costs_after_fork_child(void);

/* Calibrate now (about 0.35 ms; repeated, up to three times in all, when
 * the machine was noisy meanwhile) and give the hooks' costs at the
 * counter's frequency `ticks_per_second`: each the smallest that this and
 * every earlier calibration of the process found. All 0 when they
 * cannot be measured (frequency unknown, no memory for the scratch block,
 * or the hooks did not behave as the calibration expects). Runs the real
 * hooks on a private block with the calling thread's signals blocked: the
 * program's profile does not change. Cold path, async-signal-safe (its
 * only system calls are mmap, munmap and sigprocmask): a dump from a signal
 * handler may call it. */
void zinst_hook_costs(uint64_t ticks_per_second, struct zinst_hook_costs *out);

#endif /* ZINST_HOOK_COST_H */
