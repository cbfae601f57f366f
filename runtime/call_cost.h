/*
 * call_cost.h - what one call that stays a call costs on this machine.
 *
 * The inline report (`zinst inline`) prices the calls made through sites the
 * compiler did not inline with this figure, so it is measured where the
 * program ran, not assumed.
 */
#ifndef ZINST_CALL_COST_H
#define ZINST_CALL_COST_H

#include <stdint.h>

/* The cost of one call and return to a minimal non-inlined function (its
 * prologue and epilogue included), in picoseconds, given the counter's
 * frequency: the smallest of several short measurements, measured on the
 * first use (about 50 us) and remembered. 0 when it cannot be measured
 * (ticks_per_second 0) or measures as nothing. A floor: a real callee also
 * costs the caller the registers it must save around the call. */
uint32_t zinst_call_cost_ps(uint64_t ticks_per_second);

#endif /* ZINST_CALL_COST_H */
