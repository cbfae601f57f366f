/*
 * viz_common.c - output files, function identities and labels for the
 * visualization commands.
 */
#include "viz_common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"

void zinst_viz_accept_short_output(int argc, char **argv) {
  static char long_form[] = "--output";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0)
      return;
    if (strcmp(argv[i], "-o") == 0)
      argv[i] = long_form;
  }
}

int zinst_output_open(struct zinst_output *output, const char *command, const char *path) {
  memset(output, 0, sizeof *output);
  if (strcmp(path, "-") == 0) {
    output->file = stdout;
    return 0;
  }
  struct stat info;
  if (stat(path, &info) == 0 && !S_ISREG(info.st_mode)) {
    if (S_ISDIR(info.st_mode)) {
      fprintf(stderr, "zinst %s: cannot write %s: it is a directory\n", command, path);
      return -1;
    }
    /* A stream (the null device, a terminal, a FIFO): written in place. */
    output->path = strdup(path);
    output->file = output->path ? fopen(path, "wb") : NULL;
    if (!output->file) {
      fprintf(stderr, "zinst %s: cannot open %s: %s\n", command, path,
              output->path ? strerror(errno) : "out of memory");
      free(output->path);
      output->path = NULL;
      return -1;
    }
    return 0;
  }
  output->path = strdup(path);
  output->temporary = zinst_strdup_printf("%s.tmp.XXXXXX", path);
  if (!output->path || !output->temporary) {
    fprintf(stderr, "zinst %s: out of memory\n", command);
    free(output->path);
    free(output->temporary);
    return -1;
  }
  const int fd = mkstemp(output->temporary);
  if (fd < 0 || !(output->file = fdopen(fd, "wb"))) {
    fprintf(stderr, "zinst %s: cannot create %s: %s\n", command, output->temporary,
            strerror(errno));
    if (fd >= 0) {
      close(fd);
      unlink(output->temporary);
    }
    free(output->path);
    free(output->temporary);
    return -1;
  }
  /* mkstemp creates the file private; give it the mode a plain create would. */
  const mode_t mask = umask(0);
  umask(mask);
  fchmod(fd, 0666 & ~mask);
  return 0;
}

int zinst_output_commit(struct zinst_output *output, const char *command) {
  if (!output->path) {
    const int failed = fflush(output->file) != 0 || ferror(output->file);
    if (failed)
      fprintf(stderr, "zinst %s: error writing standard output\n", command);
    return failed ? -1 : 0;
  }
  if (!output->temporary) { /* a stream, written in place */
    const bool write_failed = fflush(output->file) != 0 || ferror(output->file);
    const int saved = errno;
    const bool close_failed = fclose(output->file) != 0;
    if (write_failed || close_failed)
      fprintf(stderr, "zinst %s: error writing %s: %s\n", command, output->path,
              strerror(write_failed ? saved : errno));
    free(output->path);
    memset(output, 0, sizeof *output);
    return write_failed || close_failed ? -1 : 0;
  }
  int status = 0;
  const bool write_failed = fflush(output->file) != 0 || ferror(output->file);
  const int saved = errno;
  if (fclose(output->file) != 0 || write_failed) {
    fprintf(stderr, "zinst %s: error writing %s: %s\n", command, output->path,
            strerror(write_failed ? saved : errno));
    status = -1;
  } else if (rename(output->temporary, output->path) != 0) {
    fprintf(stderr, "zinst %s: cannot rename %s to %s: %s\n", command, output->temporary,
            output->path, strerror(errno));
    status = -1;
  }
  if (status != 0)
    unlink(output->temporary);
  free(output->path);
  free(output->temporary);
  memset(output, 0, sizeof *output);
  return status;
}

void zinst_output_abandon(struct zinst_output *output) {
  if (output->temporary) {
    fclose(output->file);
    unlink(output->temporary);
  } else if (output->path) {
    fclose(output->file); /* a stream: what went out is gone */
  }
  free(output->path);
  free(output->temporary);
  memset(output, 0, sizeof *output);
}

void zinst_free_labels(char **labels, uint32_t count) {
  if (!labels)
    return;
  for (uint32_t i = 0; i < count; i++)
    free(labels[i]);
  free(labels);
}

char **zinst_unique_function_labels(const struct zinst_profile *profile) {
  const uint32_t n = profile->function_count;
  char **labels = calloc(n ? n : 1, sizeof *labels);
  uint32_t *uses = calloc(n ? n : 1, sizeof *uses);
  struct zinst_string_map first_of;
  if (!labels || !uses || zinst_string_map_init(&first_of) != 0) {
    free(labels);
    free(uses);
    return NULL;
  }
  bool ok = true;
  /* uses[f]: how many functions carry the name of f's first holder. */
  for (uint32_t f = 0; f < n && ok; f++) {
    const uint32_t first = zinst_string_map_put(&first_of, zinst_function_name(profile, f), f);
    ok = first != ZINST_NONE;
    if (ok)
      uses[first]++;
  }
  for (uint32_t f = 0; f < n && ok; f++) {
    const char *name = zinst_function_name(profile, f);
    const uint32_t first = zinst_string_map_get(&first_of, name);
    if (uses[first] > 1) {
      char *location = zinst_function_location(profile, f);
      labels[f] = location ? zinst_strdup_printf("%s (%s)", name, location) : NULL;
      free(location);
    } else {
      labels[f] = strdup(name);
    }
    ok = labels[f] != NULL;
  }
  zinst_string_map_free(&first_of);
  free(uses);
  if (!ok) {
    zinst_free_labels(labels, n);
    return NULL;
  }
  return labels;
}

const char *zinst_base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* --weight's names, indexed by enum zinst_weight. */
static const char *const weight_names[] = {"cycles", "calls", "bytes", "allocs", "live"};

bool zinst_weight_parse(const char *value, enum zinst_weight *out) {
  for (size_t k = 0; k < sizeof weight_names / sizeof *weight_names; k++)
    if (strcmp(value, weight_names[k]) == 0) {
      *out = (enum zinst_weight)k;
      return true;
    }
  return false;
}

bool zinst_weight_is_memory(enum zinst_weight weight) {
  return weight == ZINST_WEIGHT_BYTES || weight == ZINST_WEIGHT_ALLOCS ||
         weight == ZINST_WEIGHT_LIVE;
}

uint64_t zinst_memory_weight(const struct zinst_tree_memory *memory, enum zinst_weight weight) {
  switch (weight) {
  case ZINST_WEIGHT_BYTES:
    return memory->allocated_bytes;
  case ZINST_WEIGHT_ALLOCS:
    return memory->allocations;
  case ZINST_WEIGHT_LIVE:
    /* The reader checked freed_bytes <= allocated_bytes. */
    return memory->allocated_bytes - memory->freed_bytes;
  case ZINST_WEIGHT_CYCLES:
  case ZINST_WEIGHT_CALLS:
    break;
  }
  return 0;
}

const char *zinst_weight_unit(const struct zinst_profile *profile, enum zinst_weight weight) {
  switch (weight) {
  case ZINST_WEIGHT_CYCLES:
    return zinst_tick_unit(profile);
  case ZINST_WEIGHT_CALLS:
    return "calls";
  case ZINST_WEIGHT_BYTES:
    return "bytes allocated";
  case ZINST_WEIGHT_ALLOCS:
    return "allocations";
  case ZINST_WEIGHT_LIVE:
    return profile->process.dump_reason == ZINST_DUMP_EXIT ? "bytes live at exit"
                                                           : "bytes live when written";
  }
  return "";
}

int zinst_weight_resolve(const struct zinst_profile *profile, const char *path, const char *command,
                         bool given, enum zinst_weight *weight) {
  const bool timed = zinst_profile_has_time(profile);
  if (!given) {
    *weight = timed ? ZINST_WEIGHT_CYCLES : ZINST_WEIGHT_CALLS;
    return 0;
  }
  if (*weight == ZINST_WEIGHT_CYCLES && !timed) {
    fprintf(stderr,
            "zinst %s: %s is a count-mode profile (ZINST_MODE=count): it has no cycles; "
            "use --weight calls\n",
            command, path);
    return -1;
  }
  if (zinst_weight_is_memory(*weight) && !profile->has_memory) {
    fprintf(stderr,
            "zinst %s: %s has no memory records to weigh by (--weight %s): the program ran "
            "with memory tracing off; run it with ZINST_MEMORY=1\n",
            command, path, weight_names[*weight]);
    return -1;
  }
  return 0;
}
