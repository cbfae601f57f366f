/*
 * profile_util.c - helpers shared by the commands and the profile merge.
 */
#include "profile_util.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef ZINST_RUNTIME_HEAP
#include "heap.h" /* the runtime's build: allocations safe in a signal handler */
#endif

char *zinst_strdup_printf(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  const int length = vsnprintf(NULL, 0, fmt, args);
  va_end(args);
  if (length < 0)
    return NULL;
  char *text = malloc((size_t)length + 1);
  if (!text)
    return NULL;
  va_start(args, fmt);
  vsnprintf(text, (size_t)length + 1, fmt, args);
  va_end(args);
  return text;
}

const char *zinst_display_path(const char *path) {
  static char cwd[4096];
  static size_t cwd_length;
  if (cwd_length == 0) {
    if (!getcwd(cwd, sizeof cwd - 1))
      return path;
    cwd_length = strlen(cwd);
    if (cwd_length > 1)
      cwd[cwd_length++] = '/'; /* "/" itself already ends in one */
    cwd[cwd_length] = '\0';
  }
  if (strncmp(path, cwd, cwd_length) == 0 && path[cwd_length] != '\0')
    return path + cwd_length;
  return path;
}

char *zinst_function_location(const struct zinst_profile *profile, uint32_t function) {
  if (function == profile->function_count) /* grouped library code: many files */
    return zinst_strdup_printf("%s", "");
  const struct zinst_function_record *f = &profile->functions[function];
  const char *file = zinst_display_path(zinst_profile_string(profile, f->file));
  /* A zone is a region the program marked, not a function: say so
   * wherever its place is shown. */
  const char *kind = (f->flags & ZINST_FUNCTION_ZONE) ? "zone at " : "";
  if (file[0] == '\0')
    return zinst_strdup_printf("%s?", kind);
  if (f->line == 0)
    return zinst_strdup_printf("%s%s", kind, file);
  return zinst_strdup_printf("%s%s:%" PRIu32, kind, file, f->line);
}

const char *zinst_function_name(const struct zinst_profile *profile, uint32_t function) {
  if (function == profile->function_count)
    return ZINST_LIBRARY_GROUP_NAME;
  const struct zinst_function_record *f = &profile->functions[function];
  const char *name = zinst_profile_string(profile, f->name);
  if (name[0] == '\0')
    name = zinst_profile_string(profile, f->linkage_name);
  return name[0] ? name : "?";
}

static uint64_t string_hash(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

int zinst_string_map_init(struct zinst_string_map *map) {
  memset(map, 0, sizeof *map);
  map->keys = calloc(64, sizeof *map->keys);
  map->values = malloc(64 * sizeof *map->values);
  if (!map->keys || !map->values) {
    free(map->keys);
    free(map->values);
    memset(map, 0, sizeof *map);
    return -1;
  }
  map->mask = 63;
  return 0;
}

static uint32_t map_slot(const struct zinst_string_map *map, const char *key) {
  uint32_t slot = (uint32_t)string_hash(key) & map->mask;
  while (map->keys[slot] && strcmp(map->keys[slot], key) != 0)
    slot = (slot + 1) & map->mask;
  return slot;
}

uint32_t zinst_string_map_get(const struct zinst_string_map *map, const char *key) {
  if (!map->keys)
    return ZINST_NONE;
  const uint32_t slot = map_slot(map, key);
  return map->keys[slot] ? map->values[slot] : ZINST_NONE;
}

static int map_grow(struct zinst_string_map *map) {
  const uint32_t capacity = (map->mask + 1) * 2;
  struct zinst_string_map bigger = {.mask = capacity - 1, .used = map->used};
  bigger.keys = calloc(capacity, sizeof *bigger.keys);
  bigger.values = malloc((size_t)capacity * sizeof *bigger.values);
  if (!bigger.keys || !bigger.values || capacity == 0) {
    free(bigger.keys);
    free(bigger.values);
    return -1;
  }
  for (uint32_t i = 0; i <= map->mask; i++) {
    if (!map->keys[i])
      continue;
    const uint32_t slot = map_slot(&bigger, map->keys[i]);
    bigger.keys[slot] = map->keys[i];
    bigger.values[slot] = map->values[i];
  }
  free(map->keys);
  free(map->values);
  *map = bigger;
  return 0;
}

uint32_t zinst_string_map_put(struct zinst_string_map *map, const char *key, uint32_t value) {
  if (!map->keys)
    return ZINST_NONE;
  uint32_t slot = map_slot(map, key);
  if (map->keys[slot])
    return map->values[slot];
  if ((uint64_t)(map->used + 1) * 2 > (uint64_t)map->mask + 1) {
    if (map_grow(map) != 0)
      return ZINST_NONE;
    slot = map_slot(map, key);
  }
  char *copy = strdup(key);
  if (!copy)
    return ZINST_NONE;
  map->keys[slot] = copy;
  map->values[slot] = value;
  map->used++;
  return value;
}

void zinst_string_map_free(struct zinst_string_map *map) {
  if (map->keys)
    for (uint32_t i = 0; i <= map->mask; i++)
      free(map->keys[i]);
  free(map->keys);
  free(map->values);
  memset(map, 0, sizeof *map);
}

char *zinst_function_identity(const struct zinst_profile *profile, uint32_t function) {
  const struct zinst_function_record *f = &profile->functions[function];
  return zinst_strdup_printf("%s\x1f%s\x1f%" PRIu32, zinst_function_name(profile, function),
                             zinst_profile_string(profile, f->file), f->line);
}
