/*
 * cmd_mem.c - `zinst mem`: heap memory per calling context (the MEMORY
 * section, written when the program ran with ZINST_MEMORY=1): the top
 * contexts by bytes allocated, by allocations and by peak live bytes, and
 * the blocks still live when the profile was written (leaks, for a profile
 * written at exit), each with its call path.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_writer.h"

enum order { BY_BYTES, BY_COUNT, BY_PEAK, BY_LIVE };

static const char help_text[] =
    "usage: zinst mem [options] PROFILE\n"
    "\n"
    "Heap memory per calling context, from a profile of a program run with\n"
    "ZINST_MEMORY=1: allocations (malloc and its family, C++ new, Zig's\n"
    "std.heap.c_allocator) are credited to the innermost instrumented function\n"
    "on the allocating thread's stack, and a free to the context that\n"
    "allocated the block, whichever thread frees it. A realloc counts as a\n"
    "free of the old block and an allocation of the new size.\n"
    "Prints the top contexts by bytes allocated, by allocations and by peak\n"
    "live bytes, then the blocks still live when the profile was written:\n"
    "in a profile written at exit, the leaks.\n"
    "PROFILE '-' reads standard input.\n"
    "\n"
    "options:\n"
    "  --top N    contexts per table (default 10, 0 = all)\n"
    "  --json     every context and every leak, machine-readable\n"
    "  --help     this text\n";

struct mem_view {
  const struct zinst_profile *profile;
  uint32_t *order; /* indices into profile->memory */
};

static uint64_t live_bytes(const struct zinst_memory_record *m) {
  return m->allocated_bytes - m->freed_bytes;
}

static uint64_t live_blocks(const struct zinst_memory_record *m) {
  return m->allocations - m->frees;
}

static uint64_t key_of(const struct zinst_memory_record *m, enum order by) {
  switch (by) {
  case BY_BYTES:
    return m->allocated_bytes;
  case BY_COUNT:
    return m->allocations;
  case BY_PEAK:
    return m->peak_live_bytes;
  case BY_LIVE:
    return live_bytes(m);
  }
  return 0;
}

/* qsort has no context argument: the comparison reads these. */
static const struct zinst_profile *sort_profile;
static enum order sort_by;

/* Larger first; ties in file order, so that the output is stable. */
static int compare_records(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  uint64_t kx = key_of(&sort_profile->memory[x], sort_by);
  uint64_t ky = key_of(&sort_profile->memory[y], sort_by);
  if (kx != ky)
    return kx > ky ? -1 : 1;
  if (sort_by == BY_LIVE) {
    uint64_t bx = live_blocks(&sort_profile->memory[x]);
    uint64_t by = live_blocks(&sort_profile->memory[y]);
    if (bx != by)
      return bx > by ? -1 : 1;
  }
  return x < y ? -1 : x > y;
}

static void sort_records(struct mem_view *view, enum order by) {
  for (uint32_t k = 0; k < view->profile->memory_count; k++)
    view->order[k] = k;
  sort_profile = view->profile;
  sort_by = by;
  qsort(view->order, view->profile->memory_count, sizeof *view->order, compare_records);
}

/* The node's call path, outermost first, into `names` (room for
 * `capacity`); returns its length (the root context: 0). */
static uint32_t call_path(const struct zinst_profile *profile, uint32_t node, const char **names,
                          uint32_t capacity) {
  uint32_t depth = 0;
  for (uint32_t n = node; n != ZINST_NONE; n = profile->nodes[n].parent)
    depth++;
  uint32_t length = depth < capacity ? depth : capacity;
  uint32_t at = depth;
  for (uint32_t n = node; n != ZINST_NONE; n = profile->nodes[n].parent) {
    at--;
    if (at < length)
      names[at] = zinst_function_name(profile, profile->nodes[n].function);
  }
  return length;
}

enum { MAX_PATH = 4096 };

static void print_path(FILE *out, const struct zinst_profile *profile, uint32_t node) {
  static const char *names[MAX_PATH];
  uint32_t length = call_path(profile, node, names, MAX_PATH);
  if (length == 0) {
    fputs("[no instrumented function]", out);
    return;
  }
  for (uint32_t k = 0; k < length; k++)
    fprintf(out, "%s%s", k ? " > " : "", names[k]);
}

/* Records of more than one thread: contexts name their thread. */
static bool several_threads(const struct zinst_profile *profile) {
  for (uint32_t k = 1; k < profile->memory_count; k++)
    if (profile->memory[k].thread != profile->memory[0].thread)
      return true;
  return false;
}

static void print_context(FILE *out, const struct zinst_profile *profile,
                          const struct zinst_memory_record *m) {
  if (several_threads(profile))
    fprintf(out, "[tid %" PRIu64 "] ", profile->threads[m->thread].tid);
  print_path(out, profile, m->node);
  fputc('\n', out);
}

static void print_table(FILE *out, struct mem_view *view, enum order by, uint64_t top,
                        const char *title) {
  const struct zinst_profile *profile = view->profile;
  sort_records(view, by);
  fprintf(out, "\n%s\n", title);
  fprintf(out, "%14s %10s %10s %14s %14s  %s\n", "bytes", "allocs", "frees", "live bytes",
          "peak live", "context");
  for (uint32_t k = 0; k < profile->memory_count && (top == 0 || k < top); k++) {
    const struct zinst_memory_record *m = &profile->memory[view->order[k]];
    if (key_of(m, by) == 0)
      break;
    fprintf(out, "%14" PRIu64 " %10" PRIu64 " %10" PRIu64 " %14" PRIu64 " %14" PRIu64 "  ",
            m->allocated_bytes, m->allocations, m->frees, live_bytes(m), m->peak_live_bytes);
    print_context(out, profile, m);
  }
}

static void print_leaks(FILE *out, struct mem_view *view) {
  const struct zinst_profile *profile = view->profile;
  sort_records(view, BY_LIVE);
  uint64_t bytes = 0, blocks = 0, contexts = 0;
  for (uint32_t k = 0; k < profile->memory_count; k++) {
    bytes += live_bytes(&profile->memory[k]);
    blocks += live_blocks(&profile->memory[k]);
    contexts += live_blocks(&profile->memory[k]) != 0;
  }
  const bool at_exit = profile->process.dump_reason == ZINST_DUMP_EXIT;
  fprintf(out, "\n%s: %" PRIu64 " bytes in %" PRIu64 " blocks from %" PRIu64 " contexts\n",
          at_exit ? "live at exit (leaks)" : "live when the profile was written", bytes, blocks,
          contexts);
  for (uint32_t k = 0; k < profile->memory_count; k++) {
    const struct zinst_memory_record *m = &profile->memory[view->order[k]];
    if (live_blocks(m) == 0)
      break;
    fprintf(out, "%14" PRIu64 " bytes in %" PRIu64 " block%s  ", live_bytes(m), live_blocks(m),
            live_blocks(m) == 1 ? " " : "s");
    print_context(out, profile, m);
  }
}

static void json_path(struct zinst_json *json, const struct zinst_profile *profile, uint32_t node) {
  static const char *names[MAX_PATH];
  uint32_t length = call_path(profile, node, names, MAX_PATH);
  zinst_json_key(json, "path");
  zinst_json_begin_array(json);
  for (uint32_t k = 0; k < length; k++)
    zinst_json_string(json, names[k]);
  zinst_json_end_array(json);
}

static void json_record(struct zinst_json *json, const struct zinst_profile *profile,
                        const struct zinst_memory_record *m, bool leak) {
  zinst_json_begin_object(json);
  zinst_json_key(json, "tid");
  zinst_json_uint(json, profile->threads[m->thread].tid);
  json_path(json, profile, m->node);
  if (leak) {
    zinst_json_key(json, "blocks");
    zinst_json_uint(json, live_blocks(m));
    zinst_json_key(json, "bytes");
    zinst_json_uint(json, live_bytes(m));
  } else {
    const char *keys[] = {"allocations", "allocated_bytes", "frees",          "freed_bytes",
                          "live_blocks", "live_bytes",      "peak_live_bytes"};
    const uint64_t values[] = {m->allocations,    m->allocated_bytes, m->frees,
                               m->freed_bytes,    live_blocks(m),     live_bytes(m),
                               m->peak_live_bytes};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
      zinst_json_key(json, keys[k]);
      zinst_json_uint(json, values[k]);
    }
  }
  zinst_json_end_object(json);
}

static int print_json(FILE *out, const char *path, struct mem_view *view) {
  const struct zinst_profile *profile = view->profile;
  struct zinst_json json;
  zinst_json_init(&json, out);
  zinst_json_begin_object(&json);
  zinst_json_key(&json, "profile");
  zinst_json_profile_object(&json, path, profile);
  uint64_t totals[4] = {0};
  for (uint32_t k = 0; k < profile->memory_count; k++) {
    totals[0] += profile->memory[k].allocations;
    totals[1] += profile->memory[k].allocated_bytes;
    totals[2] += profile->memory[k].frees;
    totals[3] += profile->memory[k].freed_bytes;
  }
  zinst_json_key(&json, "totals");
  zinst_json_begin_object(&json);
  const char *keys[] = {"allocations", "allocated_bytes", "frees", "freed_bytes"};
  for (int k = 0; k < 4; k++) {
    zinst_json_key(&json, keys[k]);
    zinst_json_uint(&json, totals[k]);
  }
  zinst_json_end_object(&json);
  sort_records(view, BY_BYTES);
  zinst_json_key(&json, "contexts");
  zinst_json_begin_array(&json);
  for (uint32_t k = 0; k < profile->memory_count; k++)
    json_record(&json, profile, &profile->memory[view->order[k]], false);
  zinst_json_end_array(&json);
  sort_records(view, BY_LIVE);
  zinst_json_key(&json, "leaks");
  zinst_json_begin_array(&json);
  for (uint32_t k = 0; k < profile->memory_count; k++) {
    const struct zinst_memory_record *m = &profile->memory[view->order[k]];
    if (live_blocks(m) == 0)
      break;
    json_record(&json, profile, m, true);
  }
  zinst_json_end_array(&json);
  zinst_json_end_object(&json);
  fputc('\n', out);
  return zinst_json_finish(&json);
}

int zinst_cmd_mem(int argc, char **argv) {
  enum { OPT_HELP = 1, OPT_TOP, OPT_JSON };
  static const struct zinst_option_spec specs[] = {{"help", false, OPT_HELP},
                                                   {"top", true, OPT_TOP},
                                                   {"json", false, OPT_JSON},
                                                   {NULL, false, 0}};
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "mem", argc, argv);
  const char *path = NULL;
  const char *value;
  uint64_t top = 10;
  bool json = false;
  int id;
  while ((id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    if (id == ZINST_ARG_ERROR)
      return ZINST_EXIT_USAGE;
    if (id == OPT_HELP) {
      fputs(help_text, stdout);
      return ZINST_EXIT_OK;
    }
    if (id == OPT_TOP) {
      if (zinst_parse_uint("mem", "--top", value, &top) != 0)
        return ZINST_EXIT_USAGE;
    } else if (id == OPT_JSON) {
      json = true;
    } else if (zinst_take_profile_argument("mem", &path, value) != ZINST_EXIT_OK) {
      return ZINST_EXIT_USAGE;
    }
  }
  if (!path)
    return zinst_usage_error("mem", "missing PROFILE");
  struct zinst_profile profile;
  if (zinst_load_profile_or_complain(path, &profile) != 0)
    return ZINST_EXIT_FAILURE;
  if (!profile.has_memory) {
    fprintf(stderr,
            "zinst mem: %s has no memory records: the program ran with memory tracing off; "
            "run it with ZINST_MEMORY=1\n",
            path);
    zinst_profile_free(&profile);
    return ZINST_EXIT_FAILURE;
  }
  struct mem_view view = {.profile = &profile,
                          .order = malloc((profile.memory_count + 1) * sizeof(uint32_t))};
  if (!view.order) {
    fprintf(stderr, "zinst: out of memory\n");
    zinst_profile_free(&profile);
    return ZINST_EXIT_FAILURE;
  }
  int status = ZINST_EXIT_OK;
  if (json) {
    if (print_json(stdout, path, &view) != 0)
      status = ZINST_EXIT_FAILURE;
  } else {
    zinst_print_profile_header(stdout, path, &profile);
    uint64_t allocations = 0, allocated = 0, frees = 0, freed = 0;
    for (uint32_t k = 0; k < profile.memory_count; k++) {
      allocations += profile.memory[k].allocations;
      allocated += profile.memory[k].allocated_bytes;
      frees += profile.memory[k].frees;
      freed += profile.memory[k].freed_bytes;
    }
    printf("memory: %" PRIu64 " allocations (%" PRIu64 " bytes), %" PRIu64 " frees (%" PRIu64
           " bytes), in %" PRIu32 " contexts\n",
           allocations, allocated, frees, freed, profile.memory_count);
    print_table(stdout, &view, BY_BYTES, top, "by bytes allocated:");
    print_table(stdout, &view, BY_COUNT, top, "by allocations:");
    print_table(stdout, &view, BY_PEAK, top, "by peak live bytes:");
    print_leaks(stdout, &view);
  }
  free(view.order);
  zinst_profile_free(&profile);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "zinst mem: output error\n");
    return ZINST_EXIT_FAILURE;
  }
  return status;
}
