/*
 * profile_util.h - small helpers over a parsed profile that the commands
 * and the profile merge (profile_merge.h, also compiled into the runtime
 * for `%m` outputs) share: a string map, printf into a new string, and the
 * names, locations and identities of functions.
 *
 * Allocation: with ZINST_RUNTIME_HEAP (the runtime's build) the .c file
 * allocates through runtime/heap.h, so it is safe in a signal handler's dump.
 */
#ifndef ZINST_PROFILE_UTIL_H
#define ZINST_PROFILE_UTIL_H

#include <stdint.h>

#include "profile_reader.h"

/* Display name of the pseudo-function of grouped library code. */
#define ZINST_LIBRARY_GROUP_NAME "[library]"

/* printf into a new malloc'd string; NULL when out of memory. */
char *zinst_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* `path` relative to the current directory when it lies below it (tables
 * stay narrow and free of machine-specific prefixes), else `path` itself.
 * Returns a pointer into `path`. JSON output keeps full paths. */
const char *zinst_display_path(const char *path);

/* "file:line", "file" when the line is unknown, "?" when the file is too. New malloc'd string. */
char *zinst_function_location(const struct zinst_profile *profile, uint32_t function);

/* Display name of a function, falling back to its linkage name, then "?". Borrowed.
 * Both accept profile->function_count, the grouped library code of
 * zinst_call_tree_group_library: "[library]", location "". */
const char *zinst_function_name(const struct zinst_profile *profile, uint32_t function);

/*
 * Identity of a function across profiles: display name, file and line, as
 * one new malloc'd string ("name\x1f" "file\x1f" "line"). NULL when out of memory.
 */
char *zinst_function_identity(const struct zinst_profile *profile, uint32_t function);

/* String -> uint32 hash map with owned keys, for identities and labels. */
struct zinst_string_map {
  char **keys; /* owned; NULL = empty slot */
  uint32_t *values;
  uint32_t mask;
  uint32_t used;
};

int zinst_string_map_init(struct zinst_string_map *map);
/* The value of `key`, or ZINST_NONE when absent. */
uint32_t zinst_string_map_get(const struct zinst_string_map *map, const char *key);
/* Insert `key` (copied) -> value if absent. Returns the value now stored for
 * the key (the old one if it was there), or ZINST_NONE when out of memory. */
uint32_t zinst_string_map_put(struct zinst_string_map *map, const char *key, uint32_t value);
void zinst_string_map_free(struct zinst_string_map *map);

#endif /* ZINST_PROFILE_UTIL_H */
