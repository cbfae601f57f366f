/*
 * profile_image.h - write a profile held in the reader's form back to the
 * file format (format/zinst_format.h).
 *
 * The runtime's serializer (runtime/profile_writer.c) starts from raw
 * sampling sums and computes the estimates; a profile made by the `zinst`
 * command (a merge) already holds estimates and their errors, which cannot
 * be turned back into raw sums. This writer lays out the records as they
 * are: header, section table, then STRINGS, PROCESS, MODULES, FUNCTIONS,
 * THREADS, NODES, SITES, SITE_COUNTS and MEMORY (if has_memory), each
 * 8-aligned, and the checksum.
 */
#ifndef ZINST_PROFILE_IMAGE_H
#define ZINST_PROFILE_IMAGE_H

#include <stddef.h>

#include "profile_reader.h"

/* The section kinds this writer writes: every kind the reader knows
 * (MEMORY only when the profile has it). A profile with more sections holds
 * data that would be lost on the way. */
#define ZINST_IMAGE_SECTION_COUNT 9

/*
 * Serialize `profile` (only read; its `storage` and `header` are ignored)
 * into a new malloc'd buffer *image of *size bytes, owned by the caller.
 * The image is parsed back before it is returned, so a profile the reader
 * would refuse is never produced: returns 0, or -1 with the problem in
 * `err` (out of memory, or the reader's complaint).
 */
int zinst_profile_image_build(const struct zinst_profile *profile, void **image, size_t *size,
                              char *err, size_t errlen);

#endif /* ZINST_PROFILE_IMAGE_H */
