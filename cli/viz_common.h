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
 * Path "-" writes to standard output directly.
 */
struct zinst_output {
  FILE *file;      /* write here */
  char *path;      /* owned: the destination */
  char *temporary; /* owned; NULL for standard output */
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

/* The last component of `path` (a pointer into it). */
const char *zinst_base_name(const char *path);

#endif /* ZINST_VIZ_COMMON_H */
