/*
 * viz_common.h - what flame, export, diff and merge share: "-o FILE", output
 * files written whole or not at all, function identities across profiles,
 * and labels that stay unique when two functions share a name.
 */
#ifndef ZINST_VIZ_COMMON_H
#define ZINST_VIZ_COMMON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile_model.h"
#include "profile_reader.h"
#include "profile_util.h"

/*
 * The option parser knows long options only: rewrite each "-o" before a
 * "--" into "--output" in place (argv entries are pointers; the strings are
 * not touched).
 */
void zinst_viz_accept_short_output(int argc, char **argv);

/*
 * An output file that appears complete or not at all: writes go to a
 * temporary file beside `path`, renamed over it by zinst_output_commit.
 * Path "-" writes to standard output directly, and so does a path that
 * names a FIFO, a device or a socket (`-o /dev/null`, `-o /dev/stdout`, a
 * pipe): renaming over it would replace it, and it holds no half-written
 * file anyway. A directory is refused.
 */
struct zinst_output {
  FILE *file;      /* write here */
  char *path;      /* owned: the destination; NULL for standard output */
  char *temporary; /* owned; NULL for standard output and streams */
};

/* Open. Returns 0, or -1 after printing "zinst COMMAND: PATH: why". */
int zinst_output_open(struct zinst_output *output, const char *command, const char *path);

/* Flush, close and rename into place; on any failure (also an earlier write
 * error) print it, remove the temporary file and return -1. Frees `output`. */
int zinst_output_commit(struct zinst_output *output, const char *command);

/* Close and remove the temporary file without touching `path`. Frees `output`. */
void zinst_output_abandon(struct zinst_output *output);

/*
 * Labels for every function of `profile`: the display name, or
 * "name (file:line)" when another function of the profile has the same
 * display name (two static functions of different files), so stacks written
 * by name do not mix them up. Returns a new array of new strings, freed with
 * zinst_free_labels, or NULL when out of memory.
 */
char **zinst_unique_function_labels(const struct zinst_profile *profile);
void zinst_free_labels(char **labels, uint32_t count);

/* What flame graphs and folded/speedscope exports weigh contexts by. */
enum zinst_weight {
  ZINST_WEIGHT_CYCLES, /* self ticks (time mode) */
  ZINST_WEIGHT_CALLS,  /* calls, and inlined executions as frames of their own */
  /* From the MEMORY section (ZINST_MEMORY=1), each context's own: */
  ZINST_WEIGHT_BYTES,  /* bytes allocated */
  ZINST_WEIGHT_ALLOCS, /* allocations (blocks) */
  ZINST_WEIGHT_LIVE,   /* bytes still live when the profile was written: at exit, the leaks */
};

/* The names --weight takes, for messages: "cycles, calls, bytes, allocs or live". */
#define ZINST_WEIGHT_NAMES "cycles, calls, bytes, allocs or live"

/* `value` of --weight into *out; false when it names no weight. */
bool zinst_weight_parse(const char *value, enum zinst_weight *out);

/* Is `weight` one of the memory weights? */
bool zinst_weight_is_memory(enum zinst_weight weight);

/* A context's own value of memory weight `weight` (0 for the others). */
uint64_t zinst_memory_weight(const struct zinst_tree_memory *memory, enum zinst_weight weight);

/* The unit of `weight` in words, for legends and tooltips: "bytes
 * allocated", "allocations", "bytes live at exit" (or "... when written"
 * for a profile written before exit: `profile` decides), "calls", or the
 * profile's tick unit. Borrowed. */
const char *zinst_weight_unit(const struct zinst_profile *profile, enum zinst_weight weight);

/*
 * The weight a command draws `profile` (read from `path`) with: `weight`
 * when `given`, else cycles in time mode and calls in count mode. Returns
 * 0, or -1 after printing "zinst COMMAND: PATH ..." when the profile cannot
 * give that weight (no cycles in count mode; a memory weight without a
 * MEMORY section, with how to get one).
 */
int zinst_weight_resolve(const struct zinst_profile *profile, const char *path, const char *command,
                         bool given, enum zinst_weight *weight);

/* The pseudo-frame of memory allocated with no instrumented function on
 * the stack (a tree's root record), in flame graphs and exports. */
#define ZINST_NO_FUNCTION_FRAME "[no instrumented function]"

/* The last component of `path` (a pointer into it). */
const char *zinst_base_name(const char *path);

#endif /* ZINST_VIZ_COMMON_H */
