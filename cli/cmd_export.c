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
 *               location first, a "thread" label.
 *
 * Every format carries self values per context: a viewer's totals for a
 * function are sums over the contexts, so they equal zinst's own numbers.
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
    "              Grafana: values calls and self time, a 'thread' label\n"
    "\n"
    "Functions sharing a name get 'name (file:line)' in folded stacks; the other\n"
    "formats carry file and line separately. Times are nanoseconds when the\n"
    "profile knows its counter's frequency, else ticks.\n"
    "\n"
    "options:\n"
    "  --format F        folded, speedscope or pprof\n"
    "  -o, --output FILE where to write (default: standard output; pprof needs a file\n"
    "                    or a pipe)\n"
    "  --weight W        folded and speedscope: cycles (default in time mode) or calls\n"
    "  --thread TID      only the thread(s) with this kernel thread id\n"
    "  --raw             times as measured, the hooks' own cost included (default:\n"
    "                    subtracted, as the runtime calibrated it)\n"
    "  -h, --help        this text\n";

enum export_format { FORMAT_NONE, FORMAT_FOLDED, FORMAT_SPEEDSCOPE, FORMAT_PPROF };

struct export_options {
  const char *path;
  const char *output;
  enum export_format format;
  bool by_calls;
  bool weight_given;
  bool has_thread;
  uint64_t thread;
  enum zinst_times times;
};

/* Self time of a context in the exported unit: ns when the frequency is known. */
static uint64_t self_time(const struct zinst_profile *profile, uint64_t ticks) {
  uint64_t ns;
  return zinst_ticks_to_ns(ticks, profile->process.ticks_per_second, &ns) ? ns : ticks;
}

static bool time_in_ns(const struct zinst_profile *profile) {
  return profile->process.ticks_per_second != 0;
}

/* ---- folded ---- */

/* A label as one folded frame: ';' separates frames and the line ends at a
 * newline, so both are replaced. */
static void write_folded_label(FILE *out, const char *label) {
  for (const char *c = label; *c; c++)
    fputc(*c == ';' ? ':' : (*c == '\n' || *c == '\r') ? ' ' : *c, out);
}

static int write_folded(FILE *out, const struct zinst_profile *profile,
                        const struct zinst_call_tree *tree, bool by_calls) {
  char **labels = zinst_unique_function_labels(profile);
  uint32_t *path = malloc((size_t)tree->node_count * sizeof *path);
  if (!labels || !path) {
    zinst_free_labels(labels, profile->function_count);
    free(path);
    return -1;
  }
  for (uint32_t i = 1; i < tree->node_count; i++) {
    const struct zinst_tree_node *node = &tree->nodes[i];
    const uint64_t value = by_calls ? node->calls : node->exclusive_ticks;
    if (value == 0)
      continue; /* adds nothing to any frame */
    uint32_t depth = 0;
    for (uint32_t n = i; n != ZINST_TREE_ROOT; n = tree->nodes[n].parent)
      path[depth++] = n;
    while (depth-- > 0) {
      write_folded_label(out, labels[tree->nodes[path[depth]].function]);
      if (depth > 0)
        fputc(';', out);
    }
    fprintf(out, " %" PRIu64 "\n", value);
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

static int write_speedscope(FILE *out, const struct zinst_profile *profile, enum zinst_times times,
                            const uint32_t *threads, uint32_t thread_count, bool by_calls) {
  struct zinst_json json;
  zinst_json_init(&json, out);
  zinst_json_begin_object(&json);
  zinst_json_key(&json, "$schema");
  zinst_json_string(&json, "https://www.speedscope.app/file-format-schema.json");
  zinst_json_key(&json, "exporter");
  zinst_json_string(&json, "zinst " ZINST_VERSION_STRING);
  const char *exe = zinst_profile_string(profile, profile->process.exe_path);
  const char *slash = strrchr(exe, '/');
  zinst_json_key(&json, "name");
  zinst_json_string(&json, slash ? slash + 1 : exe);
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
  zinst_json_end_array(&json);
  zinst_json_end_object(&json);

  zinst_json_key(&json, "profiles");
  zinst_json_begin_array(&json);
  int status = 0;
  for (uint32_t k = 0; k < thread_count && status == 0; k++) {
    struct zinst_call_tree tree;
    if (zinst_call_tree_build(profile, &threads[k], 1, times, &tree) != 0) {
      status = -1;
      break;
    }
    uint32_t *path = malloc((size_t)tree.node_count * sizeof *path);
    if (!path) {
      zinst_call_tree_free(&tree);
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
    zinst_json_string(&json, !by_calls && time_in_ns(profile) ? "nanoseconds" : "none");
    uint64_t end = 0;
    for (uint32_t i = 1; i < tree.node_count; i++)
      end += by_calls ? tree.nodes[i].calls : self_time(profile, tree.nodes[i].exclusive_ticks);
    zinst_json_key(&json, "startValue");
    zinst_json_uint(&json, 0);
    zinst_json_key(&json, "endValue");
    zinst_json_uint(&json, end);
    /* Two passes over the same contexts: the stacks, then their weights. */
    for (int pass = 0; pass < 2; pass++) {
      zinst_json_key(&json, pass == 0 ? "samples" : "weights");
      zinst_json_begin_array(&json);
      for (uint32_t i = 1; i < tree.node_count; i++) {
        const struct zinst_tree_node *node = &tree.nodes[i];
        const uint64_t weight = by_calls ? node->calls : self_time(profile, node->exclusive_ticks);
        if (weight == 0)
          continue;
        if (pass == 1) {
          zinst_json_uint(&json, weight);
          continue;
        }
        uint32_t depth = 0;
        for (uint32_t n = i; n != ZINST_TREE_ROOT; n = tree.nodes[n].parent)
          path[depth++] = n;
        zinst_json_begin_array(&json);
        while (depth-- > 0)
          zinst_json_uint(&json, tree.nodes[path[depth]].function);
        zinst_json_end_array(&json);
      }
      zinst_json_end_array(&json);
    }
    zinst_json_end_object(&json);
    free(path);
    zinst_call_tree_free(&tree);
  }
  zinst_json_end_array(&json);
  zinst_json_end_object(&json);
  if (zinst_json_finish(&json) != 0)
    status = -1;
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

/* The encoded Profile message (not yet compressed) in `pb`; -1 when out of memory. */
static int encode_pprof(const struct zinst_profile *profile, enum zinst_times times,
                        const uint32_t *threads, uint32_t thread_count, struct zinst_pb *pb) {
  struct pprof_strings strings = {0};
  struct zinst_pb scratch, inner;
  zinst_pb_init(&scratch);
  zinst_pb_init(&inner);
  zinst_pb_init(&strings.table);
  if (zinst_string_map_init(&strings.index) != 0)
    return -1;
  pprof_string(&strings, "");
  const bool timed = zinst_profile_has_time(profile);
  pprof_value_type(pb, &scratch, &strings, PROFILE_SAMPLE_TYPE, "calls", "count");
  if (timed)
    pprof_value_type(pb, &scratch, &strings, PROFILE_SAMPLE_TYPE, "time",
                     time_in_ns(profile) ? "nanoseconds" : zinst_tick_unit(profile));

  int status = 0;
  uint64_t *stack = malloc(((size_t)profile->node_count + 1) * sizeof *stack);
  if (!stack)
    status = -1;
  const uint64_t thread_key = pprof_string(&strings, "thread");
  for (uint32_t k = 0; k < thread_count && status == 0; k++) {
    /* The thread's own tree: its contexts, in the file's order, with the
     * times the reports show. */
    struct zinst_call_tree tree;
    if (zinst_call_tree_build(profile, &threads[k], 1, times, &tree) != 0) {
      status = -1;
      break;
    }
    char label[128];
    thread_label(label, sizeof label, profile, threads[k]);
    const uint64_t label_value = pprof_string(&strings, label);
    for (uint32_t n = 1; n < tree.node_count; n++) {
      const struct zinst_tree_node *node = &tree.nodes[n];
      /* Leaf first; location ids are function index + 1 (0 is not an id). */
      size_t depth = 0;
      for (uint32_t m = n; m != ZINST_TREE_ROOT; m = tree.nodes[m].parent)
        stack[depth++] = (uint64_t)tree.nodes[m].function + 1;
      const uint64_t values[2] = {node->calls, self_time(profile, node->exclusive_ticks)};
      zinst_pb_clear(&scratch);
      zinst_pb_packed_uints(&scratch, SAMPLE_LOCATION_ID, stack, depth);
      zinst_pb_packed_uints(&scratch, SAMPLE_VALUE, values, timed ? 2 : 1);
      zinst_pb_clear(&inner);
      zinst_pb_uint(&inner, LABEL_KEY, thread_key);
      zinst_pb_uint(&inner, LABEL_STR, label_value);
      zinst_pb_message(&scratch, SAMPLE_LABEL, &inner);
      zinst_pb_message(pb, PROFILE_SAMPLE, &scratch);
    }
    zinst_call_tree_free(&tree);
  }
  for (uint32_t f = 0; f < profile->function_count && status == 0; f++) {
    const struct zinst_function_record *record = &profile->functions[f];
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
        (int64_t)pprof_string(&strings, zinst_profile_string(profile, record->linkage_name)));
    zinst_pb_int(&scratch, FUNCTION_FILENAME,
                 (int64_t)pprof_string(&strings, zinst_profile_string(profile, record->file)));
    zinst_pb_int(&scratch, FUNCTION_START_LINE, record->line);
    zinst_pb_message(pb, PROFILE_FUNCTION, &scratch);
  }
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
                       const uint32_t *threads, uint32_t thread_count) {
  struct zinst_pb pb;
  zinst_pb_init(&pb);
  int status = encode_pprof(profile, times, threads, thread_count, &pb);
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
  switch (options->format) {
  case FORMAT_FOLDED: {
    struct zinst_call_tree tree;
    status = zinst_call_tree_build(profile, threads, thread_count, options->times, &tree);
    if (status == 0)
      status = write_folded(output.file, profile, &tree, options->by_calls);
    zinst_call_tree_free(&tree);
    break;
  }
  case FORMAT_SPEEDSCOPE:
    status = write_speedscope(output.file, profile, options->times, threads, thread_count,
                              options->by_calls);
    break;
  case FORMAT_PPROF:
    status = write_pprof(output.file, profile, options->times, threads, thread_count);
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

enum { OPT_HELP = 1, OPT_FORMAT, OPT_OUTPUT, OPT_WEIGHT, OPT_THREAD, OPT_RAW };

int zinst_cmd_export(int argc, char **argv) {
  static const struct zinst_option_spec specs[] = {
      {"help", false, OPT_HELP},
      {"format", true, OPT_FORMAT},
      {"output", true, OPT_OUTPUT},
      {"weight", true, OPT_WEIGHT},
      {"thread", true, OPT_THREAD},
      {"raw", false, OPT_RAW},
      {NULL, false, 0},
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
      if (strcmp(value, "calls") == 0)
        options.by_calls = true;
      else if (strcmp(value, "cycles") == 0)
        options.by_calls = false;
      else
        return zinst_usage_error("export", "--weight wants 'cycles' or 'calls', got '%s'", value);
      options.weight_given = true;
      break;
    case OPT_THREAD:
      if (zinst_parse_uint("export", "thread", value, &options.thread) != 0)
        return ZINST_EXIT_USAGE;
      options.has_thread = true;
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
    return zinst_usage_error("export", "--weight does not apply to pprof, which carries both "
                                       "calls and time");
  struct zinst_profile profile;
  if (zinst_load_profile_or_complain(options.path, &profile) != 0)
    return ZINST_EXIT_FAILURE;
  int status;
  if (!zinst_profile_has_time(&profile) && options.weight_given && !options.by_calls) {
    fprintf(stderr,
            "zinst export: %s is a count-mode profile (ZINST_MODE=count): it has no cycles; "
            "use --weight calls\n",
            options.path);
    status = ZINST_EXIT_FAILURE;
  } else {
    if (!zinst_profile_has_time(&profile))
      options.by_calls = true;
    status = run_export(&profile, &options);
  }
  zinst_profile_free(&profile);
  return status;
}
