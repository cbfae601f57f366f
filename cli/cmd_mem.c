/*
 * cmd_mem.c - `zinst mem`: heap memory per calling context (the MEMORY
 * section, written when the program ran with ZINST_MEMORY=1): the top
 * contexts by bytes allocated, by allocations and by peak live bytes, and
 * the blocks still live when the profile was written (leaks, for a profile
 * written at exit), each with its call path.
 *
 * By default the records of all threads are grouped by call path, as
 * LeakSanitizer groups leaks by stack: a worker pool's 600 threads leaking
 * in the same function are one row that says 600 threads (the profile
 * model's merged call tree carries the sums). --per-thread lists the
 * records as the profile holds them, one per thread and context.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_writer.h"
#include "profile_model.h"

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
    "\n"
    "Contexts are call paths with the threads that share them summed (their\n"
    "count in the 'threads' column); the peak of several threads is the sum of\n"
    "their peaks, an upper bound. --per-thread keeps each thread's own.\n"
    "PROFILE '-' reads standard input.\n"
    "\n"
    "options:\n"
    "  --top N        contexts per table (default 10, 0 = all)\n"
    "  --per-thread   one row per thread and context, the thread's id in front\n"
    "  --json         every context and every leak, machine-readable\n"
    "  --help         this text\n";

/* One row of the tables: a call path of all threads, or one thread's context. */
struct mem_row {
  uint32_t node;   /* grouped: a node of the tree; per thread: a NODES index or ZINST_NONE */
  uint32_t thread; /* per thread: index into profile->threads; grouped: ZINST_NONE */
  struct zinst_tree_memory memory;
};

struct mem_view { /* owns rows and order, not the rest */
  const struct zinst_profile *profile;
  const struct zinst_call_tree *tree; /* grouped view; NULL per thread */
  struct mem_row *rows;
  uint32_t count;
  uint32_t *order; /* indices into rows */
  uint64_t top;    /* rows per table, 0: all */
};

static uint64_t live_bytes(const struct zinst_tree_memory *m) {
  return m->allocated_bytes - m->freed_bytes;
}

static uint64_t live_blocks(const struct zinst_tree_memory *m) {
  return m->allocations - m->frees;
}

static uint64_t key_of(const struct zinst_tree_memory *m, enum order by) {
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
static const struct mem_row *sort_rows;
static enum order sort_by;

/* Larger first; ties in row order (the file's, or the tree's), so that the
 * output is stable. */
static int compare_rows(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  uint64_t kx = key_of(&sort_rows[x].memory, sort_by);
  uint64_t ky = key_of(&sort_rows[y].memory, sort_by);
  if (kx != ky)
    return kx > ky ? -1 : 1;
  if (sort_by == BY_LIVE) {
    uint64_t bx = live_blocks(&sort_rows[x].memory);
    uint64_t by = live_blocks(&sort_rows[y].memory);
    if (bx != by)
      return bx > by ? -1 : 1;
  }
  return x < y ? -1 : x > y;
}

static void sort_view(struct mem_view *view, enum order by) {
  for (uint32_t k = 0; k < view->count; k++)
    view->order[k] = k;
  sort_rows = view->rows;
  sort_by = by;
  qsort(view->order, view->count, sizeof *view->order, compare_rows);
}

/* The rows of the view: one per tree node with memory records (grouped),
 * or one per record (per thread). Returns 0, or -1 when out of memory
 * (the view's arrays are then freed). */
static int build_rows(struct mem_view *view) {
  const struct zinst_profile *profile = view->profile;
  uint32_t count = 0;
  if (view->tree) {
    for (uint32_t n = 0; n < view->tree->node_count; n++)
      count += view->tree->nodes[n].memory.records > 0;
  } else {
    count = profile->memory_count;
  }
  view->rows = malloc((count + 1) * sizeof *view->rows);
  view->order = malloc((count + 1) * sizeof *view->order);
  if (!view->rows || !view->order) {
    free(view->rows);
    free(view->order);
    return -1;
  }
  view->count = 0;
  if (view->tree) {
    for (uint32_t n = 0; n < view->tree->node_count; n++)
      if (view->tree->nodes[n].memory.records > 0)
        view->rows[view->count++] = (struct mem_row){n, ZINST_NONE, view->tree->nodes[n].memory};
    return 0;
  }
  for (uint32_t k = 0; k < profile->memory_count; k++) {
    const struct zinst_memory_record *m = &profile->memory[k];
    const uint32_t threads = profile->threads[m->thread].thread_count;
    view->rows[view->count++] = (struct mem_row){
        m->node,
        m->thread,
        {.allocations = m->allocations,
         .allocated_bytes = m->allocated_bytes,
         .frees = m->frees,
         .freed_bytes = m->freed_bytes,
         .peak_live_bytes = m->peak_live_bytes,
         .threads = threads > 1 ? threads : 1,
         .records = 1,
         .summed = threads > 1},
    };
  }
  return 0;
}

/* The row's call path, outermost first, into `names` (room for
 * `capacity`); returns its length (no instrumented function: 0). */
static uint32_t call_path(const struct mem_view *view, const struct mem_row *row,
                          const char **names, uint32_t capacity) {
  const struct zinst_profile *profile = view->profile;
  uint32_t depth = 0;
  if (view->tree) {
    for (uint32_t n = row->node; n != ZINST_TREE_ROOT; n = view->tree->nodes[n].parent)
      depth++;
  } else {
    for (uint32_t n = row->node; n != ZINST_NONE; n = profile->nodes[n].parent)
      depth++;
  }
  uint32_t length = depth < capacity ? depth : capacity;
  uint32_t at = depth;
  if (view->tree) {
    for (uint32_t n = row->node; n != ZINST_TREE_ROOT; n = view->tree->nodes[n].parent)
      if (--at < length)
        names[at] = zinst_function_name(profile, view->tree->nodes[n].function);
  } else {
    for (uint32_t n = row->node; n != ZINST_NONE; n = profile->nodes[n].parent)
      if (--at < length)
        names[at] = zinst_function_name(profile, profile->nodes[n].function);
  }
  return length;
}

enum { MAX_PATH = 4096 };

static void print_path(FILE *out, const struct mem_view *view, const struct mem_row *row) {
  static const char *names[MAX_PATH];
  uint32_t length = call_path(view, row, names, MAX_PATH);
  if (length == 0) {
    fputs("[no instrumented function]", out);
    return;
  }
  for (uint32_t k = 0; k < length; k++)
    fprintf(out, "%s%s", k ? " > " : "", names[k]);
}

/* Records of more than one thread: per-thread contexts name their thread. */
static bool several_threads(const struct zinst_profile *profile) {
  for (uint32_t k = 1; k < profile->memory_count; k++)
    if (profile->memory[k].thread != profile->memory[0].thread)
      return true;
  return false;
}

/* The row's thread count (grouped) and context, then a newline. */
static void print_context(FILE *out, const struct mem_view *view, const struct mem_row *row) {
  if (view->tree)
    fprintf(out, " %8" PRIu64 "  ", row->memory.threads);
  else if (several_threads(view->profile))
    fprintf(out, "[tid %" PRIu64 "] ", view->profile->threads[row->thread].tid);
  print_path(out, view, row);
  fputc('\n', out);
}

/* What the notes below the tables must explain. */
struct notes {
  bool summed_peaks;  /* a row's peak is a sum over threads */
  bool summed_record; /* a row counts a record of several threads */
};

static void note_row(struct notes *notes, const struct mem_row *row) {
  notes->summed_peaks |= row->memory.threads > 1;
  notes->summed_record |= row->memory.summed;
}

static void print_table(FILE *out, struct mem_view *view, enum order by, uint64_t top,
                        const char *title, struct notes *notes) {
  sort_view(view, by);
  fprintf(out, "\n%s\n", title);
  fprintf(out, "%14s %10s %10s %14s %14s  %s%s\n", "bytes", "allocs", "frees", "live bytes",
          "peak live", view->tree ? " threads  " : "", "context");
  for (uint32_t k = 0; k < view->count && (top == 0 || k < top); k++) {
    const struct mem_row *row = &view->rows[view->order[k]];
    const struct zinst_tree_memory *m = &row->memory;
    if (key_of(m, by) == 0)
      break;
    fprintf(out, "%14" PRIu64 " %10" PRIu64 " %10" PRIu64 " %14" PRIu64 " %14" PRIu64 " ",
            m->allocated_bytes, m->allocations, m->frees, live_bytes(m), m->peak_live_bytes);
    if (!view->tree)
      fputc(' ', out);
    print_context(out, view, row);
    if (view->tree)
      note_row(notes, row);
  }
}

static void print_leaks(FILE *out, struct mem_view *view, struct notes *notes) {
  const struct zinst_profile *profile = view->profile;
  sort_view(view, BY_LIVE);
  uint64_t bytes = 0, blocks = 0, contexts = 0;
  for (uint32_t k = 0; k < view->count; k++) {
    bytes += live_bytes(&view->rows[k].memory);
    blocks += live_blocks(&view->rows[k].memory);
    contexts += live_blocks(&view->rows[k].memory) != 0;
  }
  const bool at_exit = profile->process.dump_reason == ZINST_DUMP_EXIT;
  fprintf(out, "\n%s: %" PRIu64 " bytes in %" PRIu64 " blocks from %" PRIu64 " contexts\n",
          at_exit ? "live at exit (leaks)" : "live when the profile was written", bytes, blocks,
          contexts);
  if (contexts == 0)
    return;
  fprintf(out, "%14s %10s  %s%s\n", "bytes", "blocks", view->tree ? " threads  " : "", "context");
  for (uint32_t k = 0; k < view->count; k++) {
    const struct mem_row *row = &view->rows[view->order[k]];
    if (live_blocks(&row->memory) == 0)
      break;
    fprintf(out, "%14" PRIu64 " %10" PRIu64 " ", live_bytes(&row->memory),
            live_blocks(&row->memory));
    if (!view->tree)
      fputc(' ', out);
    print_context(out, view, row);
    if (view->tree)
      notes->summed_record |= row->memory.summed;
  }
}

static void print_notes(FILE *out, const struct notes *notes) {
  if (notes->summed_peaks)
    fputs("\npeak live of a context of several threads: the sum of their peaks, an upper "
          "bound (each thread peaked at its own moment)\n",
          out);
  if (notes->summed_record)
    fputs("threads: a record of several threads summed (exited threads past "
          "ZINST_MAX_THREADS, or zinst merge --merge-threads) counts as all of them, an upper "
          "bound\n",
          out);
}

static void json_path(struct zinst_json *json, const struct mem_view *view,
                      const struct mem_row *row) {
  static const char *names[MAX_PATH];
  uint32_t length = call_path(view, row, names, MAX_PATH);
  zinst_json_key(json, "path");
  zinst_json_begin_array(json);
  for (uint32_t k = 0; k < length; k++)
    zinst_json_string(json, names[k]);
  zinst_json_end_array(json);
}

static void json_row(struct zinst_json *json, const struct mem_view *view,
                     const struct mem_row *row, bool leak) {
  const struct zinst_tree_memory *m = &row->memory;
  zinst_json_begin_object(json);
  if (view->tree) {
    zinst_json_key(json, "threads");
    zinst_json_uint(json, m->threads);
  } else {
    zinst_json_key(json, "tid");
    zinst_json_uint(json, view->profile->threads[row->thread].tid);
  }
  json_path(json, view, row);
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
  zinst_json_key(&json, "per_thread");
  zinst_json_bool(&json, view->tree == NULL);
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
  sort_view(view, BY_BYTES);
  zinst_json_key(&json, "contexts");
  zinst_json_begin_array(&json);
  for (uint32_t k = 0; k < view->count; k++)
    json_row(&json, view, &view->rows[view->order[k]], false);
  zinst_json_end_array(&json);
  sort_view(view, BY_LIVE);
  zinst_json_key(&json, "leaks");
  zinst_json_begin_array(&json);
  for (uint32_t k = 0; k < view->count; k++) {
    const struct mem_row *row = &view->rows[view->order[k]];
    if (live_blocks(&row->memory) == 0)
      break;
    json_row(&json, view, row, true);
  }
  zinst_json_end_array(&json);
  zinst_json_end_object(&json);
  fputc('\n', out);
  return zinst_json_finish(&json);
}

static void print_text(FILE *out, const char *path, struct mem_view *view) {
  const struct zinst_profile *profile = view->profile;
  zinst_print_profile_header(out, path, profile);
  uint64_t allocations = 0, allocated = 0, frees = 0, freed = 0;
  for (uint32_t k = 0; k < profile->memory_count; k++) {
    allocations += profile->memory[k].allocations;
    allocated += profile->memory[k].allocated_bytes;
    frees += profile->memory[k].frees;
    freed += profile->memory[k].freed_bytes;
  }
  fprintf(out,
          "memory: %" PRIu64 " allocations (%" PRIu64 " bytes), %" PRIu64 " frees (%" PRIu64
          " bytes), in %" PRIu32 " contexts%s\n",
          allocations, allocated, frees, freed, view->count, view->tree ? "" : " (per thread)");
  struct notes notes = {0};
  print_table(out, view, BY_BYTES, view->top, "by bytes allocated:", &notes);
  print_table(out, view, BY_COUNT, view->top, "by allocations:", &notes);
  print_table(out, view, BY_PEAK, view->top, "by peak live bytes:", &notes);
  print_leaks(out, view, &notes);
  print_notes(out, &notes);
}

int zinst_cmd_mem(int argc, char **argv) {
  enum { OPT_HELP = 1, OPT_TOP, OPT_JSON, OPT_PER_THREAD };
  static const struct zinst_option_spec specs[] = {{"help", false, OPT_HELP},
                                                   {"top", true, OPT_TOP},
                                                   {"json", false, OPT_JSON},
                                                   {"per-thread", false, OPT_PER_THREAD},
                                                   {NULL, false, 0}};
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "mem", argc, argv);
  const char *path = NULL;
  const char *value;
  uint64_t top = 10;
  bool json = false, per_thread = false;
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
    } else if (id == OPT_PER_THREAD) {
      per_thread = true;
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
  struct zinst_call_tree tree = {0};
  struct mem_view view = {.profile = &profile, .tree = per_thread ? NULL : &tree, .top = top};
  if ((!per_thread && zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_RAW, &tree) != 0) ||
      build_rows(&view) != 0) {
    fprintf(stderr, "zinst: out of memory\n");
    zinst_call_tree_free(&tree);
    zinst_profile_free(&profile);
    return ZINST_EXIT_FAILURE;
  }
  int status = ZINST_EXIT_OK;
  if (json) {
    if (print_json(stdout, path, &view) != 0)
      status = ZINST_EXIT_FAILURE;
  } else {
    print_text(stdout, path, &view);
  }
  free(view.rows);
  free(view.order);
  zinst_call_tree_free(&tree);
  zinst_profile_free(&profile);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "zinst mem: output error\n");
    return ZINST_EXIT_FAILURE;
  }
  return status;
}
