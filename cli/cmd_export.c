/*
 * cmd_export.c - `zinst export`: a profile in the formats other viewers read.
 *
 *   folded      "main;compute;fib 150" lines: flamegraph.pl, inferno, and
 *               most flame graph tools. One line per calling context
 *               (threads merged by path) with its self weight.
 *   speedscope  speedscope's JSON file format (file-format-spec.ts of the
 *               speedscope project): shared frames, one "sampled" profile per
 *               thread whose samples are the calling contexts, root first,
 *               weighted by self time.
 *   pprof       profile.proto of github.com/google/pprof, gzip-compressed:
 *               `go tool pprof`, Pyroscope, Grafana. One sample per calling
 *               context of every thread, values [calls, self time], leaf
 *               location first, a "thread" label; one per source site
 *               inlined into a context, its leaf location [callee, caller].
 *               A profile with memory records adds the values of Go's heap
 *               profiles: alloc_objects, alloc_space, inuse_objects,
 *               inuse_space (inuse: live when the profile was written).
 *
 * Inlined code is placed on the contexts by the profile model, as zinst
 * tree and zinst flame show it; folded and speedscope add it only when
 * weighting by calls, since it has no time of its own.
 *
 * Every format carries self values per context: a viewer's totals for a
 * function are sums over the contexts, so they equal zinst's own numbers.
 * Memory allocated with no instrumented function on the stack is a context
 * of its own, the frame "[no instrumented function]".
 *
 * Library code is grouped as `zinst tree` and `zinst flame` group it (the
 * profile model's zinst_call_tree_group_library): each run of library
 * frames is one "[library]" frame, unless --show-library.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "commands.h"
#include "json_writer.h"
#include "profile_model.h"
#include "protobuf_writer.h"
#include "viz_common.h"

static const char help_text[] =
    "usage: zinst export --format FORMAT [options] PROFILE\n"
    "\n"
    "Write the profile in another tool's format:\n"
    "  folded      'main;compute;fib 150' lines for flamegraph.pl and inferno:\n"
    "              one line per calling context, threads merged, its self value\n"
    "  speedscope  JSON for https://www.speedscope.app, one profile per thread\n"
    "  pprof       gzip-compressed profile.proto for go tool pprof, Pyroscope,\n"
    "              Grafana: values calls and self time, a 'thread' label; with\n"
    "              memory records (ZINST_MEMORY=1) also alloc_objects,\n"
    "              alloc_space, inuse_objects and inuse_space (bytes; inuse:\n"
    "              live when the profile was written), as in Go's heap\n"
    "              profiles: go tool pprof -sample_index=alloc_space\n"
    "\n"
    "Functions sharing a name get 'name (file:line)' in folded stacks; the other\n"
    "formats carry file and line separately. Times are nanoseconds when the\n"
    "profile knows its counter's frequency, else ticks. Library code (e.g. Zig's\n"
    "standard library) is grouped as in zinst tree: each run of library frames\n"
    "is one '[library]' frame.\n"
    "\n"
    "Inlined code (what zinst tree lists as '[inlined]'): folded and speedscope\n"
    "with --weight calls add a frame 'NAME [inlined]' above its caller, weighted\n"
    "by its executions; by cycles they add nothing (its time is its caller's\n"
    "self time). pprof always has it, the way pprof marks inlining: a location\n"
    "of two lines, the callee inlined into the caller at the call's line, with\n"
    "the executions as calls and no time.\n"
    "\n"
    "options:\n"
    "  --format F        folded, speedscope or pprof\n"
    "  -o, --output FILE where to write (default: standard output; pprof needs a file\n"
    "                    or a pipe)\n"
    "  --weight W        folded and speedscope: cycles (default in time mode), calls,\n"
    "                    or from memory records (ZINST_MEMORY=1): bytes (allocated),\n"
    "                    allocs, live (bytes live when written: at exit, the leaks)\n"
    "  --thread TID      only the thread(s) with this kernel thread id\n"
    "  --show-library    library functions one by one\n"
    "  --raw             times as measured, the hooks' own cost included (default:\n"
    "                    subtracted, as the runtime calibrated it)\n"
    "  -h, --help        this text\n";

enum export_format { FORMAT_NONE, FORMAT_FOLDED, FORMAT_SPEEDSCOPE, FORMAT_PPROF };

struct export_options {
  const char *path;
  const char *output;
  enum export_format format;
  enum zinst_weight weight;
  bool weight_given;
  bool has_thread;
  uint64_t thread;
  enum zinst_times times;
  bool show_library;
};

/* Self time of a context in the exported unit: ns when the frequency is known. */
static uint64_t self_time(const struct zinst_profile *profile, uint64_t ticks) {
  uint64_t ns;
  return zinst_ticks_to_ns(ticks, profile->process.ticks_per_second, &ns) ? ns : ticks;
}

static bool time_in_ns(const struct zinst_profile *profile) {
  return profile->process.ticks_per_second != 0;
}

/* A context's own value by `weight`: self ticks (as nanoseconds with
 * `in_ns`, when the frequency is known), calls, or its memory. */
static uint64_t self_value(const struct zinst_profile *profile, const struct zinst_tree_node *node,
                           enum zinst_weight weight, bool in_ns) {
  switch (weight) {
  case ZINST_WEIGHT_CYCLES:
    return in_ns ? self_time(profile, node->exclusive_ticks) : node->exclusive_ticks;
  case ZINST_WEIGHT_CALLS:
    return node->calls;
  case ZINST_WEIGHT_BYTES:
  case ZINST_WEIGHT_ALLOCS:
  case ZINST_WEIGHT_LIVE:
    break;
  }
  return zinst_memory_weight(&node->memory, weight);
}

/* Does the profile flag any function as library code (so a grouped tree may
 * hold the pseudo-function profile->function_count, "[library]")? */
static bool has_library_code(const struct zinst_profile *profile) {
  for (uint32_t f = 0; f < profile->function_count; f++)
    if (zinst_is_library_function(profile, f))
      return true;
  return false;
}

/* The label of function `f` of a shown tree: "[library]" for grouped library code. */
static const char *label_of(char **labels, const struct zinst_profile *profile, uint32_t f) {
  return f == profile->function_count ? ZINST_LIBRARY_GROUP_NAME : labels[f];
}

/* The functions inlined at the sites that ran in the selected threads, by
 * linkage name, numbered in the order of the SITES records. */
struct inlined_callees {         /* owns index and site */
  struct zinst_string_map index; /* linkage name -> its number */
  uint32_t *site;                /* number -> a SITES record of it (for its names) */
  uint32_t count;
};

static void inlined_callees_free(struct inlined_callees *callees) {
  zinst_string_map_free(&callees->index);
  free(callees->site);
  memset(callees, 0, sizeof *callees);
}

/* Fill `out` (owned by the caller, inlined_callees_free); -1 when out of memory. */
static int inlined_callees_build(const struct zinst_profile *profile, const uint32_t *threads,
                                 uint32_t thread_count, struct inlined_callees *out) {
  memset(out, 0, sizeof *out);
  uint64_t *counts = zinst_site_counts_sum(profile, threads, thread_count);
  out->site = malloc((profile->site_count ? profile->site_count : 1) * sizeof *out->site);
  int status = counts && out->site && zinst_string_map_init(&out->index) == 0 ? 0 : -1;
  for (uint32_t s = 0; s < profile->site_count && status == 0; s++) {
    if (!(profile->sites[s].flags & ZINST_SITE_INLINED) || counts[s] == 0)
      continue;
    const char *linkage = zinst_profile_string(profile, profile->sites[s].callee_linkage);
    const uint32_t number = zinst_string_map_put(&out->index, linkage, out->count);
    if (number == ZINST_NONE)
      status = -1;
    else if (number == out->count)
      out->site[out->count++] = s;
  }
  free(counts);
  if (status != 0)
    inlined_callees_free(out);
  return status;
}

/* The number of the function inlined by inlined line `line`. */
static uint32_t inlined_callee_of(const struct zinst_profile *profile,
                                  const struct inlined_callees *callees,
                                  const struct zinst_inlined_line *line) {
  return zinst_string_map_get(
      &callees->index, zinst_profile_string(profile, profile->sites[line->site].callee_linkage));
}

/* ---- folded ---- */

/* A label as one folded frame: ';' separates frames and the line ends at a
 * newline, so both are replaced. */
static void write_folded_label(FILE *out, const char *label) {
  for (const char *c = label; *c; c++)
    fputc(*c == ';' ? ':' : (*c == '\n' || *c == '\r') ? ' ' : *c, out);
}

/* The stack of tree node `i`, root first, as folded frames and ';'s. */
static void write_folded_stack(FILE *out, const struct zinst_profile *profile, char **labels,
                               const struct zinst_call_tree *tree, uint32_t i, uint32_t *path) {
  uint32_t depth = 0;
  for (uint32_t n = i; n != ZINST_TREE_ROOT; n = tree->nodes[n].parent)
    path[depth++] = n;
  while (depth-- > 0) {
    write_folded_label(out, label_of(labels, profile, tree->nodes[path[depth]].function));
    if (depth > 0)
      fputc(';', out);
  }
}

/* With `inlined` (calls weight), a line "STACK;CALLEE [inlined] N" per
 * callee inlined into each context, N its executions there. By memory, the
 * root's own (no instrumented function) is a line of its own. */
static int write_folded(FILE *out, const struct zinst_profile *profile,
                        const struct zinst_call_tree *tree, enum zinst_weight weight,
                        const struct zinst_inlined_lines *inlined) {
  char **labels = zinst_unique_function_labels(profile);
  uint32_t *path = malloc((size_t)tree->node_count * sizeof *path);
  if (!labels || !path) {
    zinst_free_labels(labels, profile->function_count);
    free(path);
    return -1;
  }
  const uint64_t unattached = zinst_memory_weight(&tree->nodes[ZINST_TREE_ROOT].memory, weight);
  if (unattached != 0)
    fprintf(out, "%s %" PRIu64 "\n", ZINST_NO_FUNCTION_FRAME, unattached);
  for (uint32_t i = 1; i < tree->node_count; i++) {
    const struct zinst_tree_node *node = &tree->nodes[i];
    const uint64_t value = self_value(profile, node, weight, false);
    if (value != 0) { /* else it adds nothing to any frame */
      write_folded_stack(out, profile, labels, tree, i, path);
      fprintf(out, " %" PRIu64 "\n", value);
    }
    for (uint32_t k = inlined ? inlined->start[i] : 0; inlined && k < inlined->start[i + 1]; k++) {
      const uint64_t executions = zinst_inlined_callee_executions(profile, inlined, i, k, NULL);
      if (executions == 0)
        continue; /* counted with the callee's first line */
      write_folded_stack(out, profile, labels, tree, i, path);
      fputc(';', out);
      write_folded_label(
          out, zinst_profile_string(profile, profile->sites[inlined->lines[k].site].callee));
      fprintf(out, " [inlined] %" PRIu64 "\n", executions);
    }
  }
  zinst_free_labels(labels, profile->function_count);
  free(path);
  return 0;
}

/* ---- speedscope ---- */

static void thread_label(char *buf, size_t size, const struct zinst_profile *profile,
                         uint32_t thread) {
  const struct zinst_thread_record *t = &profile->threads[thread];
  const char *name = zinst_profile_string(profile, t->name);
  if (t->flags & ZINST_THREAD_MERGED)
    snprintf(buf, size, "%" PRIu32 " exited threads%s%s", t->thread_count, name[0] ? " " : "",
             name);
  else
    snprintf(buf, size, "thread %" PRIu64 "%s%s", t->tid, name[0] ? " " : "", name);
}

/* One sample of speedscope's two passes: its stack (pass 0: the nodes
 * path[depth - 1] .. path[0], root first, then `top` unless ZINST_NONE) or
 * its weight (pass 1). */
static void speedscope_sample(struct zinst_json *json, int pass, const struct zinst_call_tree *tree,
                              const uint32_t *path, uint32_t depth, uint32_t top, uint64_t weight) {
  if (pass == 1) {
    zinst_json_uint(json, weight);
    return;
  }
  zinst_json_begin_array(json);
  while (depth-- > 0)
    zinst_json_uint(json, tree->nodes[path[depth]].function);
  if (top != ZINST_NONE)
    zinst_json_uint(json, top);
  zinst_json_end_array(json);
}

/* With --weight calls, the speedscope frames after the functions' are the
 * inlined callees' ("NAME [inlined]"), and each context's inlined callees
 * are samples of their own above it, weighted by their executions. By
 * memory, the last frame is "[no instrumented function]", the sample of
 * each thread's root record. */
static int write_speedscope(FILE *out, const struct zinst_profile *profile, enum zinst_times times,
                            const uint32_t *threads, uint32_t thread_count,
                            enum zinst_weight weight, bool group_library) {
  const bool by_calls = weight == ZINST_WEIGHT_CALLS;
  const bool memory = zinst_weight_is_memory(weight);
  struct inlined_callees callees = {0};
  if (by_calls && inlined_callees_build(profile, threads, thread_count, &callees) != 0)
    return -1;
  /* Frames: the functions, [library] when grouped, then the inlined callees. */
  const uint32_t first_inlined =
      profile->function_count + (group_library && has_library_code(profile));
  const char *exe = zinst_profile_string(profile, profile->process.exe_path);
  const char *slash = strrchr(exe, '/');
  /* The title says which times the weights are (pprof: its comments). */
  const char *times_note = !zinst_profile_has_time(profile) || weight != ZINST_WEIGHT_CYCLES ? ""
                           : zinst_hook_correction(profile, times) ? " (hook cost subtracted)"
                                                                   : " (hook cost included)";
  char *title = zinst_strdup_printf("%s%s", slash ? slash + 1 : exe, times_note);
  if (!title) {
    inlined_callees_free(&callees);
    return -1;
  }
  struct zinst_json json;
  zinst_json_init(&json, out);
  zinst_json_begin_object(&json);
  zinst_json_key(&json, "$schema");
  zinst_json_string(&json, "https://www.speedscope.app/file-format-schema.json");
  zinst_json_key(&json, "exporter");
  zinst_json_string(&json, "zinst " ZINST_VERSION_STRING);
  zinst_json_key(&json, "name");
  zinst_json_string(&json, title);
  free(title);
  uint32_t active = 0;
  for (uint32_t k = 0; k < thread_count; k++)
    if (profile->threads[threads[k]].flags & ZINST_THREAD_MAIN)
      active = k;
  zinst_json_key(&json, "activeProfileIndex");
  zinst_json_uint(&json, active);
  /* Frame i is function i: indices are shared by every profile. */
  zinst_json_key(&json, "shared");
  zinst_json_begin_object(&json);
  zinst_json_key(&json, "frames");
  zinst_json_begin_array(&json);
  for (uint32_t f = 0; f < profile->function_count; f++) {
    const struct zinst_function_record *record = &profile->functions[f];
    zinst_json_begin_object(&json);
    zinst_json_key(&json, "name");
    zinst_json_string(&json, zinst_function_name(profile, f));
    const char *file = zinst_profile_string(profile, record->file);
    if (file[0]) {
      zinst_json_key(&json, "file");
      zinst_json_string(&json, file);
    }
    if (record->line) {
      zinst_json_key(&json, "line");
      zinst_json_uint(&json, record->line);
    }
    zinst_json_end_object(&json);
  }
  /* Frame function_count: grouped library code. */
  if (group_library && has_library_code(profile)) {
    zinst_json_begin_object(&json);
    zinst_json_key(&json, "name");
    zinst_json_string(&json, ZINST_LIBRARY_GROUP_NAME);
    zinst_json_end_object(&json);
  }
  for (uint32_t c = 0; c < callees.count; c++) {
    char *label = zinst_strdup_printf(
        "%s [inlined]", zinst_profile_string(profile, profile->sites[callees.site[c]].callee));
    if (!label) {
      inlined_callees_free(&callees);
      return -1;
    }
    zinst_json_begin_object(&json);
    zinst_json_key(&json, "name");
    zinst_json_string(&json, label);
    zinst_json_end_object(&json);
    free(label);
  }
  const uint32_t no_function = first_inlined + callees.count;
  if (memory) {
    zinst_json_begin_object(&json);
    zinst_json_key(&json, "name");
    zinst_json_string(&json, ZINST_NO_FUNCTION_FRAME);
    zinst_json_end_object(&json);
  }
  zinst_json_end_array(&json);
  zinst_json_end_object(&json);

  zinst_json_key(&json, "profiles");
  zinst_json_begin_array(&json);
  int status = 0;
  for (uint32_t k = 0; k < thread_count && status == 0; k++) {
    struct zinst_shown_tree shown;
    if (zinst_shown_tree_build(profile, &threads[k], 1, group_library, times, &shown) != 0) {
      status = -1;
      break;
    }
    const struct zinst_call_tree tree = shown.tree;
    const struct zinst_inlined_lines *inlined = by_calls ? &shown.inlined : NULL;
    uint32_t *path = malloc((size_t)tree.node_count * sizeof *path);
    if (!path) {
      zinst_shown_tree_free(&shown);
      status = -1;
      break;
    }
    char name[128];
    thread_label(name, sizeof name, profile, threads[k]);
    zinst_json_begin_object(&json);
    zinst_json_key(&json, "type");
    zinst_json_string(&json, "sampled");
    zinst_json_key(&json, "name");
    zinst_json_string(&json, name);
    zinst_json_key(&json, "unit");
    const char *unit = "none";
    if (weight == ZINST_WEIGHT_CYCLES && time_in_ns(profile))
      unit = "nanoseconds";
    else if (weight == ZINST_WEIGHT_BYTES || weight == ZINST_WEIGHT_LIVE)
      unit = "bytes";
    zinst_json_string(&json, unit);
    const uint64_t unattached = zinst_memory_weight(&tree.nodes[ZINST_TREE_ROOT].memory, weight);
    uint64_t end = unattached;
    for (uint32_t i = 1; i < tree.node_count; i++)
      end += self_value(profile, &tree.nodes[i], weight, true);
    for (uint32_t k = 0; inlined && k < inlined->count; k++)
      end += inlined->lines[k].executions;
    zinst_json_key(&json, "startValue");
    zinst_json_uint(&json, 0);
    zinst_json_key(&json, "endValue");
    zinst_json_uint(&json, end);
    /* Two passes over the same contexts: the stacks, then their weights. */
    for (int pass = 0; pass < 2; pass++) {
      zinst_json_key(&json, pass == 0 ? "samples" : "weights");
      zinst_json_begin_array(&json);
      if (unattached != 0)
        speedscope_sample(&json, pass, &tree, path, 0, no_function, unattached);
      for (uint32_t i = 1; i < tree.node_count; i++) {
        const struct zinst_tree_node *node = &tree.nodes[i];
        uint32_t depth = 0;
        for (uint32_t n = i; n != ZINST_TREE_ROOT; n = tree.nodes[n].parent)
          path[depth++] = n;
        const uint64_t value = self_value(profile, node, weight, true);
        if (value != 0) /* else it adds nothing to any frame */
          speedscope_sample(&json, pass, &tree, path, depth, ZINST_NONE, value);
        for (uint32_t k = inlined ? inlined->start[i] : 0; inlined && k < inlined->start[i + 1];
             k++) {
          const uint64_t executions = zinst_inlined_callee_executions(profile, inlined, i, k, NULL);
          if (executions > 0) /* else counted with the callee's first line */
            speedscope_sample(&json, pass, &tree, path, depth,
                              first_inlined +
                                  inlined_callee_of(profile, &callees, &inlined->lines[k]),
                              executions);
        }
      }
      zinst_json_end_array(&json);
    }
    zinst_json_end_object(&json);
    free(path);
    zinst_shown_tree_free(&shown);
  }
  zinst_json_end_array(&json);
  zinst_json_end_object(&json);
  if (zinst_json_finish(&json) != 0)
    status = -1;
  inlined_callees_free(&callees);
  return status;
}

/* ---- pprof ---- */

/* profile.proto field numbers (github.com/google/pprof, proto/profile.proto). */
enum {
  PROFILE_SAMPLE_TYPE = 1,
  PROFILE_SAMPLE = 2,
  PROFILE_LOCATION = 4,
  PROFILE_FUNCTION = 5,
  PROFILE_STRING_TABLE = 6,
  PROFILE_TIME_NANOS = 9,
  PROFILE_DURATION_NANOS = 10,
  PROFILE_COMMENT = 13,
  PROFILE_DEFAULT_SAMPLE_TYPE = 14,
  VALUE_TYPE_TYPE = 1,
  VALUE_TYPE_UNIT = 2,
  SAMPLE_LOCATION_ID = 1,
  SAMPLE_VALUE = 2,
  SAMPLE_LABEL = 3,
  LABEL_KEY = 1,
  LABEL_STR = 2,
  LOCATION_ID = 1,
  LOCATION_LINE = 4,
  LINE_FUNCTION_ID = 1,
  LINE_LINE = 2,
  FUNCTION_ID = 1,
  FUNCTION_NAME = 2,
  FUNCTION_SYSTEM_NAME = 3,
  FUNCTION_FILENAME = 4,
  FUNCTION_START_LINE = 5,
};

/* pprof's string table: index 0 is "", every other string appears once. */
struct pprof_strings {
  struct zinst_string_map index;
  struct zinst_pb table; /* the string_table fields, appended to the profile last */
  uint32_t count;
};

static uint64_t pprof_string(struct pprof_strings *strings, const char *text) {
  const uint32_t found = zinst_string_map_get(&strings->index, text);
  if (found != ZINST_NONE)
    return found;
  const uint32_t added = zinst_string_map_put(&strings->index, text, strings->count);
  if (added == ZINST_NONE) {
    strings->table.failed = true;
    return 0;
  }
  zinst_pb_string(&strings->table, PROFILE_STRING_TABLE, text);
  return strings->count++;
}

static void pprof_value_type(struct zinst_pb *profile_pb, struct zinst_pb *scratch,
                             struct pprof_strings *strings, uint32_t field, const char *type,
                             const char *unit) {
  zinst_pb_clear(scratch);
  zinst_pb_uint(scratch, VALUE_TYPE_TYPE, pprof_string(strings, type));
  zinst_pb_uint(scratch, VALUE_TYPE_UNIT, pprof_string(strings, unit));
  zinst_pb_message(profile_pb, field, scratch);
}

/*
 * Inlined code in pprof (profile.proto's own inline semantics): a location
 * holds several lines when functions were inlined there, "the last entry
 * represents the caller into which the preceding entries were inlined". A
 * source site inlined into a caller is one such location, [callee, caller
 * at the site's line]; its samples carry the executions as calls and no
 * time (the time is the caller's self time, never measured apart).
 */
struct pprof_inlined {               /* owns everything */
  struct inlined_callees callees;    /* the functions inlined, numbered */
  struct zinst_string_map records;   /* linkage name -> FUNCTIONS index (the first) */
  struct zinst_string_map locations; /* "caller site" -> location number */
  uint32_t *caller, *site;           /* location number -> caller function, SITES record */
  uint32_t count, capacity;          /* locations */
};

static void pprof_inlined_free(struct pprof_inlined *inlined) {
  inlined_callees_free(&inlined->callees);
  zinst_string_map_free(&inlined->records);
  zinst_string_map_free(&inlined->locations);
  free(inlined->caller);
  free(inlined->site);
  memset(inlined, 0, sizeof *inlined);
}

/* Fill `inlined` for the selected threads: owned by the caller afterwards
 * (pprof_inlined_free); -1 when out of memory (it is then empty). */
static int pprof_inlined_init(struct pprof_inlined *inlined, const struct zinst_profile *profile,
                              const uint32_t *threads, uint32_t thread_count) {
  memset(inlined, 0, sizeof *inlined);
  if (inlined_callees_build(profile, threads, thread_count, &inlined->callees) != 0)
    return -1;
  int status = zinst_string_map_init(&inlined->records) == 0 &&
                       zinst_string_map_init(&inlined->locations) == 0
                   ? 0
                   : -1;
  for (uint32_t f = 0; f < profile->function_count && status == 0; f++)
    if (zinst_string_map_put(&inlined->records,
                             zinst_profile_string(profile, profile->functions[f].linkage_name),
                             f) == ZINST_NONE)
      status = -1;
  if (status != 0)
    pprof_inlined_free(inlined);
  return status;
}

/* The location number of `site` inlined into function `caller`, added if
 * new; ZINST_NONE when out of memory. */
static uint32_t pprof_inlined_location(struct pprof_inlined *inlined, uint32_t caller,
                                       uint32_t site) {
  char key[32];
  snprintf(key, sizeof key, "%" PRIu32 " %" PRIu32, caller, site);
  const uint32_t found = zinst_string_map_get(&inlined->locations, key);
  if (found != ZINST_NONE)
    return found;
  if (inlined->count == inlined->capacity) {
    const uint32_t capacity = inlined->capacity ? 2 * inlined->capacity : 16;
    uint32_t *callers = realloc(inlined->caller, capacity * sizeof *callers);
    if (callers)
      inlined->caller = callers;
    uint32_t *sites = callers ? realloc(inlined->site, capacity * sizeof *sites) : NULL;
    if (!sites)
      return ZINST_NONE;
    inlined->site = sites;
    inlined->capacity = capacity;
  }
  if (zinst_string_map_put(&inlined->locations, key, inlined->count) == ZINST_NONE)
    return ZINST_NONE;
  inlined->caller[inlined->count] = caller;
  inlined->site[inlined->count] = site;
  return inlined->count++;
}

/* One Sample: its locations (leaf first), its values, the thread label.
 * `scratch` and `inner` are the caller's work buffers. */
static void pprof_sample(struct zinst_pb *pb, struct zinst_pb *scratch, struct zinst_pb *inner,
                         const uint64_t *stack, size_t depth, const uint64_t *values,
                         size_t value_count, uint64_t thread_key, uint64_t label_value) {
  zinst_pb_clear(scratch);
  zinst_pb_packed_uints(scratch, SAMPLE_LOCATION_ID, stack, depth);
  zinst_pb_packed_uints(scratch, SAMPLE_VALUE, values, value_count);
  zinst_pb_clear(inner);
  zinst_pb_uint(inner, LABEL_KEY, thread_key);
  zinst_pb_uint(inner, LABEL_STR, label_value);
  zinst_pb_message(scratch, SAMPLE_LABEL, inner);
  zinst_pb_message(pb, PROFILE_SAMPLE, scratch);
}

/* A context's memory as pprof's heap values: alloc_objects, alloc_space,
 * inuse_objects, inuse_space (inuse: live when the profile was written). */
static void memory_values(const struct zinst_tree_memory *memory, uint64_t *values) {
  values[0] = memory->allocations;
  values[1] = memory->allocated_bytes;
  values[2] = memory->allocations - memory->frees;
  values[3] = memory->allocated_bytes - memory->freed_bytes;
}

/* The encoded Profile message (not yet compressed) in `pb`; -1 when out of memory. */
static int encode_pprof(const struct zinst_profile *profile, enum zinst_times times,
                        const uint32_t *threads, uint32_t thread_count, bool group_library,
                        struct zinst_pb *pb) {
  struct pprof_strings strings = {0};
  struct zinst_pb scratch, inner;
  zinst_pb_init(&scratch);
  zinst_pb_init(&inner);
  zinst_pb_init(&strings.table);
  if (zinst_string_map_init(&strings.index) != 0)
    return -1;
  pprof_string(&strings, "");
  const bool timed = zinst_profile_has_time(profile);
  const bool memory = profile->has_memory;
  pprof_value_type(pb, &scratch, &strings, PROFILE_SAMPLE_TYPE, "calls", "count");
  if (timed)
    pprof_value_type(pb, &scratch, &strings, PROFILE_SAMPLE_TYPE, "time",
                     time_in_ns(profile) ? "nanoseconds" : zinst_tick_unit(profile));
  /* Go's heap profile names, which pprof's -alloc_space etc. look for. */
  static const char *const memory_types[4][2] = {{"alloc_objects", "count"},
                                                 {"alloc_space", "bytes"},
                                                 {"inuse_objects", "count"},
                                                 {"inuse_space", "bytes"}};
  for (int k = 0; memory && k < 4; k++)
    pprof_value_type(pb, &scratch, &strings, PROFILE_SAMPLE_TYPE, memory_types[k][0],
                     memory_types[k][1]);
  const size_t value_count = 1 + (timed ? 1 : 0) + (memory ? 4 : 0);

  /* Ids: functions and their locations 1 .. functions (the last one
   * "[library]" when grouped); then the inlined callees that have no
   * function of their own, by number; then "[no instrumented function]",
   * a function and a location; then the inlined locations. */
  const uint32_t functions = profile->function_count + (group_library && has_library_code(profile));
  struct pprof_inlined inlined;
  int status = pprof_inlined_init(&inlined, profile, threads, thread_count);
  const uint64_t no_function_id = (uint64_t)functions + inlined.callees.count + 1;
  const uint64_t first_inlined_location = no_function_id + 1;
  bool no_function_used = false;
  uint64_t *stack = malloc(((size_t)profile->node_count + 1) * sizeof *stack);
  /* The functions the samples name: only they get a function and a
   * location (grouped library functions do not). */
  bool *located = calloc((size_t)functions + 1, sizeof *located);
  if (!stack || !located)
    status = -1;
  const uint64_t thread_key = pprof_string(&strings, "thread");
  for (uint32_t k = 0; k < thread_count && status == 0; k++) {
    char label[128];
    thread_label(label, sizeof label, profile, threads[k]);
    const uint64_t label_value = pprof_string(&strings, label);
    /* The thread's own tree: its contexts, in the file's order, with the
     * times the reports show. */
    struct zinst_shown_tree shown;
    if (zinst_shown_tree_build(profile, &threads[k], 1, group_library, times, &shown) != 0) {
      status = -1;
      break;
    }
    const struct zinst_call_tree *tree = &shown.tree;
    uint64_t values[6];
    if (memory && tree->nodes[ZINST_TREE_ROOT].memory.records > 0) {
      /* Memory of no instrumented function: no calls, no time. */
      memset(values, 0, sizeof values);
      memory_values(&tree->nodes[ZINST_TREE_ROOT].memory, values + value_count - 4);
      stack[0] = no_function_id;
      no_function_used = true;
      pprof_sample(pb, &scratch, &inner, stack, 1, values, value_count, thread_key, label_value);
    }
    for (uint32_t n = 1; n < tree->node_count; n++) {
      const struct zinst_tree_node *node = &tree->nodes[n];
      /* Leaf first; location ids are function index + 1 (0 is not an id). */
      size_t depth = 0;
      for (uint32_t m = n; m != ZINST_TREE_ROOT; m = tree->nodes[m].parent)
        stack[depth++] = (uint64_t)tree->nodes[m].function + 1;
      located[node->function] = true;
      values[0] = node->calls;
      /* In count mode values[1] is the first memory value, or unused. */
      values[1] = self_time(profile, node->exclusive_ticks);
      if (memory)
        memory_values(&node->memory, values + value_count - 4);
      pprof_sample(pb, &scratch, &inner, stack, depth, values, value_count, thread_key,
                   label_value);
      /* Each source site inlined here: the same stack, its leaf the
       * location of the site inlined into this node's function. */
      for (uint32_t i = shown.inlined.start[n]; i < shown.inlined.start[n + 1] && status == 0;
           i++) {
        const struct zinst_inlined_line *line = &shown.inlined.lines[i];
        const uint32_t location = pprof_inlined_location(&inlined, node->function, line->site);
        if (location == ZINST_NONE) {
          status = -1;
          break;
        }
        stack[0] = first_inlined_location + location;
        /* Its executions as calls; no time and no memory of its own. */
        const uint64_t executions[6] = {line->executions};
        pprof_sample(pb, &scratch, &inner, stack, depth, executions, value_count, thread_key,
                     label_value);
      }
    }
    zinst_shown_tree_free(&shown);
  }
  bool *used = calloc(inlined.callees.count + 1, sizeof *used); /* callee numbers located */
  if (!used)
    status = -1;
  /* The inlined locations: [callee (at its first line when known), caller at the site]. */
  for (uint32_t l = 0; l < inlined.count && status == 0; l++) {
    const struct zinst_site_record *site = &profile->sites[inlined.site[l]];
    const char *linkage = zinst_profile_string(profile, site->callee_linkage);
    const uint32_t record = zinst_string_map_get(&inlined.records, linkage);
    const uint32_t number = zinst_string_map_get(&inlined.callees.index, linkage);
    if (record == ZINST_NONE)
      used[number] = true;
    else
      located[record] = true;
    zinst_pb_clear(&scratch);
    zinst_pb_uint(&scratch, LOCATION_ID, first_inlined_location + l);
    zinst_pb_clear(&inner);
    zinst_pb_uint(&inner, LINE_FUNCTION_ID,
                  record != ZINST_NONE ? (uint64_t)record + 1 : (uint64_t)functions + 1 + number);
    zinst_pb_int(&inner, LINE_LINE, record != ZINST_NONE ? profile->functions[record].line : 0);
    zinst_pb_message(&scratch, LOCATION_LINE, &inner);
    zinst_pb_clear(&inner);
    zinst_pb_uint(&inner, LINE_FUNCTION_ID, (uint64_t)inlined.caller[l] + 1);
    zinst_pb_int(&inner, LINE_LINE, site->line);
    zinst_pb_message(&scratch, LOCATION_LINE, &inner);
    zinst_pb_message(pb, PROFILE_LOCATION, &scratch);
  }
  /* Functions inlined everywhere have no record: a function of their own
   * for those the locations name, as the site names them (their file is
   * not known). */
  for (uint32_t c = 0; c < inlined.callees.count && status == 0; c++) {
    if (!used[c])
      continue;
    const struct zinst_site_record *site = &profile->sites[inlined.callees.site[c]];
    const char *linkage = zinst_profile_string(profile, site->callee_linkage);
    zinst_pb_clear(&scratch);
    zinst_pb_uint(&scratch, FUNCTION_ID, (uint64_t)functions + 1 + c);
    zinst_pb_int(&scratch, FUNCTION_NAME,
                 (int64_t)pprof_string(&strings, zinst_profile_string(profile, site->callee)));
    zinst_pb_int(&scratch, FUNCTION_SYSTEM_NAME, (int64_t)pprof_string(&strings, linkage));
    zinst_pb_message(pb, PROFILE_FUNCTION, &scratch);
  }
  if (no_function_used && status == 0) {
    zinst_pb_clear(&inner);
    zinst_pb_uint(&inner, LINE_FUNCTION_ID, no_function_id);
    zinst_pb_clear(&scratch);
    zinst_pb_uint(&scratch, LOCATION_ID, no_function_id);
    zinst_pb_message(&scratch, LOCATION_LINE, &inner);
    zinst_pb_message(pb, PROFILE_LOCATION, &scratch);
    zinst_pb_clear(&scratch);
    zinst_pb_uint(&scratch, FUNCTION_ID, no_function_id);
    zinst_pb_int(&scratch, FUNCTION_NAME, (int64_t)pprof_string(&strings, ZINST_NO_FUNCTION_FRAME));
    zinst_pb_message(pb, PROFILE_FUNCTION, &scratch);
  }
  /* A function and a location per function the samples name; id
   * function_count + 1 is grouped library code. */
  for (uint32_t f = 0; f < functions && status == 0; f++) {
    if (!located[f])
      continue;
    static const struct zinst_function_record library = {0};
    const struct zinst_function_record *record =
        f < profile->function_count ? &profile->functions[f] : &library;
    zinst_pb_clear(&inner);
    zinst_pb_uint(&inner, LINE_FUNCTION_ID, (uint64_t)f + 1);
    zinst_pb_int(&inner, LINE_LINE, record->line);
    zinst_pb_clear(&scratch);
    zinst_pb_uint(&scratch, LOCATION_ID, (uint64_t)f + 1);
    zinst_pb_message(&scratch, LOCATION_LINE, &inner);
    zinst_pb_message(pb, PROFILE_LOCATION, &scratch);

    zinst_pb_clear(&scratch);
    zinst_pb_uint(&scratch, FUNCTION_ID, (uint64_t)f + 1);
    zinst_pb_int(&scratch, FUNCTION_NAME,
                 (int64_t)pprof_string(&strings, zinst_function_name(profile, f)));
    zinst_pb_int(
        &scratch, FUNCTION_SYSTEM_NAME,
        (int64_t)pprof_string(&strings, f < profile->function_count
                                            ? zinst_profile_string(profile, record->linkage_name)
                                            : ZINST_LIBRARY_GROUP_NAME));
    zinst_pb_int(&scratch, FUNCTION_FILENAME,
                 (int64_t)pprof_string(&strings, zinst_profile_string(profile, record->file)));
    zinst_pb_int(&scratch, FUNCTION_START_LINE, record->line);
    zinst_pb_message(pb, PROFILE_FUNCTION, &scratch);
  }
  free(used);
  free(located);
  if (status == 0) {
    zinst_pb_int(pb, PROFILE_TIME_NANOS, (int64_t)profile->process.start_unix_ns);
    zinst_pb_int(pb, PROFILE_DURATION_NANOS, (int64_t)profile->process.elapsed_ns);
    char comment[256];
    snprintf(comment, sizeof comment, "zinst %s profile of %s, pid %" PRIu64,
             timed ? "time-mode" : "count-mode",
             zinst_profile_string(profile, profile->process.exe_path), profile->process.pid);
    zinst_pb_int(pb, PROFILE_COMMENT, (int64_t)pprof_string(&strings, comment));
    if (timed) { /* which times: without or with the hooks' own cost */
      char times_comment[512];
      zinst_describe_times(profile, times, times_comment, sizeof times_comment);
      zinst_pb_int(pb, PROFILE_COMMENT, (int64_t)pprof_string(&strings, times_comment));
    }
    if (timed)
      zinst_pb_int(pb, PROFILE_DEFAULT_SAMPLE_TYPE, (int64_t)pprof_string(&strings, "time"));
    /* The table goes last: every string is known by now. */
    zinst_pb_append(pb, &strings.table);
  }
  free(stack);
  pprof_inlined_free(&inlined);
  zinst_pb_free(&scratch);
  zinst_pb_free(&inner);
  zinst_string_map_free(&strings.index);
  zinst_pb_free(&strings.table);
  return status != 0 || pb->failed ? -1 : 0;
}

/* gzip `size` bytes at `data` into `out` (RFC 1952 through zlib). 0 or -1. */
static int write_gzip(FILE *out, const unsigned char *data, size_t size) {
  z_stream stream = {0};
  /* 15 window bits + 16: a gzip header and trailer instead of zlib's. */
  if (deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return -1;
  unsigned char buffer[1 << 16];
  int status = 0;
  size_t offset = 0;
  int flush;
  do {
    const size_t chunk = size - offset > (1u << 30) ? (1u << 30) : size - offset;
    stream.next_in = (unsigned char *)data + offset;
    stream.avail_in = (uInt)chunk;
    offset += chunk;
    flush = offset == size ? Z_FINISH : Z_NO_FLUSH;
    do {
      stream.next_out = buffer;
      stream.avail_out = sizeof buffer;
      if (deflate(&stream, flush) == Z_STREAM_ERROR) {
        status = -1;
        break;
      }
      const size_t produced = sizeof buffer - stream.avail_out;
      if (fwrite(buffer, 1, produced, out) != produced)
        status = -1;
    } while (stream.avail_out == 0 && status == 0);
  } while (flush != Z_FINISH && status == 0);
  deflateEnd(&stream);
  return status;
}

static int write_pprof(FILE *out, const struct zinst_profile *profile, enum zinst_times times,
                       const uint32_t *threads, uint32_t thread_count, bool group_library) {
  struct zinst_pb pb;
  zinst_pb_init(&pb);
  int status = encode_pprof(profile, times, threads, thread_count, group_library, &pb);
  if (status == 0)
    status = write_gzip(out, pb.bytes, pb.size);
  zinst_pb_free(&pb);
  return status;
}

static int run_export(const struct zinst_profile *profile, const struct export_options *options) {
  uint32_t *threads;
  uint32_t thread_count;
  if (zinst_select_threads(profile, options->path, options->has_thread, options->thread, &threads,
                           &thread_count) != 0)
    return ZINST_EXIT_FAILURE;
  if (options->format == FORMAT_PPROF && strcmp(options->output, "-") == 0 &&
      isatty(STDOUT_FILENO)) {
    free(threads);
    fprintf(stderr, "zinst export: pprof output is gzip-compressed binary; give -o FILE\n");
    return ZINST_EXIT_USAGE;
  }
  struct zinst_output output;
  if (zinst_output_open(&output, "export", options->output) != 0) {
    free(threads);
    return ZINST_EXIT_FAILURE;
  }
  int status = 0;
  const bool group = !options->show_library;
  switch (options->format) {
  case FORMAT_FOLDED: {
    struct zinst_shown_tree shown;
    status = zinst_shown_tree_build(profile, threads, thread_count, group, options->times, &shown);
    if (status == 0)
      status = write_folded(output.file, profile, &shown.tree, options->weight,
                            options->weight == ZINST_WEIGHT_CALLS ? &shown.inlined : NULL);
    zinst_shown_tree_free(&shown);
    break;
  }
  case FORMAT_SPEEDSCOPE:
    status = write_speedscope(output.file, profile, options->times, threads, thread_count,
                              options->weight, group);
    break;
  case FORMAT_PPROF:
    status = write_pprof(output.file, profile, options->times, threads, thread_count, group);
    break;
  case FORMAT_NONE:
    status = -1;
    break;
  }
  free(threads);
  if (status != 0) {
    fprintf(stderr, "zinst export: out of memory or output error\n");
    zinst_output_abandon(&output);
    return ZINST_EXIT_FAILURE;
  }
  return zinst_output_commit(&output, "export") == 0 ? ZINST_EXIT_OK : ZINST_EXIT_FAILURE;
}

enum { OPT_HELP = 1, OPT_FORMAT, OPT_OUTPUT, OPT_WEIGHT, OPT_THREAD, OPT_SHOW_LIBRARY, OPT_RAW };

int zinst_cmd_export(int argc, char **argv) {
  static const struct zinst_option_spec specs[] = {
      {"help", false, OPT_HELP},    {"format", true, OPT_FORMAT},
      {"output", true, OPT_OUTPUT}, {"weight", true, OPT_WEIGHT},
      {"thread", true, OPT_THREAD}, {"show-library", false, OPT_SHOW_LIBRARY},
      {"raw", false, OPT_RAW},      {NULL, false, 0},
  };
  struct export_options options = {.output = "-"};
  zinst_viz_accept_short_output(argc, argv);
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "export", argc, argv);
  const char *value;
  int id;
  while ((id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    switch (id) {
    case ZINST_ARG_ERROR:
      return ZINST_EXIT_USAGE;
    case OPT_HELP:
      fputs(help_text, stdout);
      return ZINST_EXIT_OK;
    case OPT_FORMAT:
      if (strcmp(value, "folded") == 0)
        options.format = FORMAT_FOLDED;
      else if (strcmp(value, "speedscope") == 0)
        options.format = FORMAT_SPEEDSCOPE;
      else if (strcmp(value, "pprof") == 0)
        options.format = FORMAT_PPROF;
      else
        return zinst_usage_error("export", "--format wants folded, speedscope or pprof, got '%s'",
                                 value);
      break;
    case OPT_OUTPUT:
      options.output = value;
      break;
    case OPT_WEIGHT:
      if (!zinst_weight_parse(value, &options.weight))
        return zinst_usage_error("export", "--weight wants " ZINST_WEIGHT_NAMES ", got '%s'",
                                 value);
      options.weight_given = true;
      break;
    case OPT_THREAD:
      if (zinst_parse_uint("export", "thread", value, &options.thread) != 0)
        return ZINST_EXIT_USAGE;
      options.has_thread = true;
      break;
    case OPT_SHOW_LIBRARY:
      options.show_library = true;
      break;
    case OPT_RAW:
      options.times = ZINST_TIMES_RAW;
      break;
    case ZINST_ARG_POSITIONAL:
      if (zinst_take_profile_argument("export", &options.path, value) != ZINST_EXIT_OK)
        return ZINST_EXIT_USAGE;
      break;
    }
  }
  if (options.format == FORMAT_NONE)
    return zinst_usage_error("export", "missing --format folded|speedscope|pprof");
  if (!options.path)
    return zinst_usage_error("export", "missing PROFILE");
  if (options.format == FORMAT_PPROF && options.weight_given)
    return zinst_usage_error("export", "--weight does not apply to pprof, which carries every "
                                       "weight as a sample type (calls, time, and with memory "
                                       "records alloc_objects, alloc_space, inuse_objects, "
                                       "inuse_space): pick one in the viewer, e.g. go tool pprof "
                                       "-sample_index=alloc_space");
  struct zinst_profile profile;
  if (zinst_load_profile_or_complain(options.path, &profile) != 0)
    return ZINST_EXIT_FAILURE;
  int status = ZINST_EXIT_FAILURE;
  if (zinst_weight_resolve(&profile, options.path, "export", options.weight_given,
                           &options.weight) == 0)
    status = run_export(&profile, &options);
  zinst_profile_free(&profile);
  return status;
}
