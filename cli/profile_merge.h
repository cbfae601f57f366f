/*
 * profile_merge.h - the sum of several profiles of one program.
 *
 * Shared by `zinst merge` (cmd_merge.c) and the runtime, which links this
 * file, the reader, profile_image.c and profile_util.c to add its profile
 * to an existing file for a `%m` output (runtime/merge_output.c). Built
 * into the runtime with ZINST_RUNTIME_HEAP, every allocation goes through
 * runtime/heap.h, so a merge inside a signal handler's dump is safe.
 *
 * The sum is exact: calls, timed calls, inclusive and exclusive ticks add
 * (ticks converted to the first profile's counter frequency), standard
 * errors add in quadrature, inline-site counts add per thread. The process
 * record keeps the first profile's identity (pid, executable, command line,
 * host, dump reason), the earliest start and the latest dump, and sums the
 * elapsed times and the overflow and lost calls. Memory records add per
 * (output thread, call path); their peaks add to an upper bound of the
 * merged peak.
 */
#ifndef ZINST_PROFILE_MERGE_H
#define ZINST_PROFILE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile_reader.h"

/* What a merge produced, and what it could not keep as it was. */
struct zinst_merge_result {
  uint32_t threads, functions, contexts; /* records of the output */
  uint64_t calls;                        /* over every calling context */
  bool frequencies_differ;               /* ticks were converted to ticks_per_second */
  uint64_t ticks_per_second;
  bool sampling_differs; /* the output states the sparsest sampling of its inputs */
};

/*
 * May `inputs` be summed? Always refused: profiles with sections this
 * reader does not know (their data would be lost), a mix of time and
 * count mode, and a mix of profiles with and without memory records. Refused unless `force`:
 * different executables, and function tables that differ (the same path holding a rebuilt program);
 * *forceable is set for these. paths[k] names inputs[k] in the message. Returns 0, or -1 with the
 * reason in `err`.
 */
int zinst_merge_check(const struct zinst_profile *inputs, const char *const *paths,
                      uint32_t input_count, bool force, bool *forceable, char *err, size_t errlen);

/*
 * Sum `input_count` >= 1 profiles into a new profile image (*image, *size
 * bytes, owned by the caller, released with free()). Each input thread
 * becomes a thread of the output, or with `merge_threads` the main threads
 * are summed into one record and the other threads into one record per
 * name (tid 0, flag MERGED, thread_count the number summed). The image is
 * checked by the reader before it is returned. Returns 0, or -1 with the
 * problem in `err`.
 */
int zinst_merge_profiles(const struct zinst_profile *inputs, uint32_t input_count,
                         bool merge_threads, void **image, size_t *size,
                         struct zinst_merge_result *result, char *err, size_t errlen);

#endif /* ZINST_PROFILE_MERGE_H */
