/*
 * cmd_inline.c - `zinst inline`: the compiler's inlining decisions joined
 * with how often each site really ran.
 *
 * Sites of the profile (format/zinst_format.h, SITES) are grouped by what a
 * user can act on: one row per (caller, callee, file:line:column, inlined or
 * not). Copies of one source site (its caller was itself inlined into several
 * functions, or a loop around it was unrolled) add up into that row.
 *
 * Sections, each ranked by run-time counts:
 *  - hot sites NOT inlined: calls, the inliner's cost against its threshold
 *    and by how much it missed, the reason, and what the calls cost
 *    (calls x the cost of one call, as the runtime measured it on the
 *    profiled machine, or --call-ns): the candidates for `inline`, always_inline or a
 *    smaller callee;
 *  - large inlined sites that ran rarely: callee size bought for little;
 *  - per callee: sites inlined and not, executions inlined and called.
 */
#include <fnmatch.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_writer.h"
#include "profile_model.h"
#include "table.h"
#include "units.h"

enum {
  OPT_HELP = 1,
  OPT_CALLER,
  OPT_CALLEE,
  OPT_FILE,
  OPT_MIN_COUNT,
  OPT_TOP,
  OPT_ALL,
  OPT_SHOW_LIBRARY,
  OPT_JSON,
  OPT_THREAD,
  OPT_CALL_NS,
  OPT_COLD,
};

struct inline_options {
  const char *caller; /* globs; NULL = any */
  const char *callee;
  const char *file;
  uint64_t min_count;
  uint64_t top;
  bool all;
  bool json;
  bool show_library; /* also the calls written in library code (Zig's std) */
  bool has_thread;
  uint64_t thread;
  double call_ns;             /* cost of one call + return, for the estimate; < 0: unset */
  const char *call_ns_source; /* "measured", "option" or "assumed" */
  double cold_percent;        /* inlined sites below this % of the hottest site are cold */
  const char *path;
};

/* One row: the sites of one source location and outcome, summed. Borrows
 * the strings from the profile. */
struct site_row {
  const char *caller, *callee, *callee_linkage, *file, *reason;
  uint32_t line, column, flags; /* flags: the first record's, COUNTED if any copy */
  int32_t cost, threshold;      /* the first record's (copies may differ slightly) */
  uint32_t callee_instructions;
  uint64_t count;
  uint32_t copies;
};

static const char help_text[] =
    "usage: zinst inline [options] PROFILE\n"
    "\n"
    "The inliner's decision at every call site it considered, with the number\n"
    "of times each site ran: hot calls that were NOT inlined (with the cost the\n"
    "inliner computed, its threshold and its reason), inlined sites with large\n"
    "bodies that hardly ran, and a summary per callee. Ranked by run-time count.\n"
    "Costs are LLVM's inline cost units (about 5 per IR instruction).\n"
    "In Zig code, the calls Zig inlined itself (inline fn, @call(.always_inline))\n"
    "are sites too, decided by the always-inline rule.\n"
    "PROFILE '-' reads standard input.\n"
    "\n"
    "options:\n"
    "  --caller GLOB    only sites in functions whose name matches (fnmatch)\n"
    "  --callee GLOB    only sites calling functions whose name matches\n"
    "  --file GLOB      only sites whose source file matches (full or shown path)\n"
    "  --min-count N    only sites that ran at least N times\n"
    "  --top N          rows per section (default 10, 0 = all)\n"
    "  --all            one table of every site, inlined or not, by count\n"
    "  --show-library   also the calls written in library code (Zig's std), which\n"
    "                   are left out by default\n"
    "  --thread TID     only the thread(s) with this kernel thread id\n"
    "  --call-ns NS     cost of one call and return, for the estimate (default:\n"
    "                   as measured by the runtime; 2 if the profile has none)\n"
    "  --cold PCT       inlined sites below PCT% of the hottest site's count are\n"
    "                   cold (default 0.1)\n"
    "  --json           every selected site and the per-callee summary\n"
    "  -h, --help       this text\n";

static bool glob_matches(const char *pattern, const char *text) {
  return pattern == NULL || fnmatch(pattern, text, 0) == 0;
}

static bool row_selected(const struct site_row *row, const struct inline_options *options) {
  /* JSON keeps them, marked, like `zinst report --json`. */
  if ((row->flags & ZINST_SITE_LIBRARY) && !options->show_library && !options->json)
    return false;
  if (!glob_matches(options->caller, row->caller) || !glob_matches(options->callee, row->callee))
    return false;
  if (options->file && !glob_matches(options->file, row->file) &&
      !glob_matches(options->file, zinst_display_path(row->file)))
    return false;
  return row->count >= options->min_count;
}

/* The grouping key: source position, caller, callee, inlined or not. */
static int compare_rows_by_key(const void *a, const void *b) {
  const struct site_row *ra = a, *rb = b;
  int order = strcmp(ra->file, rb->file);
  if (order == 0)
    order = ra->line < rb->line ? -1 : ra->line > rb->line;
  if (order == 0)
    order = ra->column < rb->column ? -1 : ra->column > rb->column;
  if (order == 0)
    order = strcmp(ra->caller, rb->caller);
  if (order == 0)
    order = strcmp(ra->callee_linkage, rb->callee_linkage);
  if (order == 0)
    order = (int)(ra->flags & ZINST_SITE_INLINED) - (int)(rb->flags & ZINST_SITE_INLINED);
  return order;
}

static int compare_rows_by_count(const void *a, const void *b) {
  const struct site_row *ra = a, *rb = b;
  if (ra->count != rb->count)
    return ra->count < rb->count ? 1 : -1;
  int order = strcmp(ra->file, rb->file);
  if (order == 0)
    order = ra->line < rb->line ? -1 : ra->line > rb->line;
  if (order == 0)
    order = ra->column < rb->column ? -1 : ra->column > rb->column;
  if (order == 0)
    order = strcmp(ra->caller, rb->caller);
  return order;
}

/* Cold inlined sites: the biggest callee first, then the fewest executions. */
static int compare_rows_by_size(const void *a, const void *b) {
  const struct site_row *ra = a, *rb = b;
  if (ra->callee_instructions != rb->callee_instructions)
    return ra->callee_instructions < rb->callee_instructions ? 1 : -1;
  if (ra->count != rb->count)
    return ra->count < rb->count ? -1 : 1;
  return compare_rows_by_count(a, b);
}

/*
 * Group the profile's sites into rows (a new array owned by the caller,
 * *rows / *count), merged through a sort on the grouping key. The entry
 * counters of count-only functions (ZINST_SITE_ENTRY) are no call sites and
 * no decisions: left out. Returns -1 when out of memory.
 */
static int build_rows(const struct zinst_profile *profile, const uint64_t *site_counts,
                      struct site_row **rows_out, uint32_t *count_out) {
  struct site_row *rows = malloc((profile->site_count ? profile->site_count : 1) * sizeof *rows);
  if (!rows)
    return -1;
  uint32_t count = 0;
  for (uint32_t s = 0; s < profile->site_count; s++) {
    const struct zinst_site_record *site = &profile->sites[s];
    if (site->flags & ZINST_SITE_ENTRY)
      continue;
    rows[count++] = (struct site_row){
        .caller = zinst_profile_string(profile, site->caller),
        .callee = zinst_profile_string(profile, site->callee),
        .callee_linkage = zinst_profile_string(profile, site->callee_linkage),
        .file = zinst_profile_string(profile, site->file),
        .reason = zinst_profile_string(profile, site->reason),
        .line = site->line,
        .column = site->column,
        .flags = site->flags,
        .cost = site->cost,
        .threshold = site->threshold,
        .callee_instructions = site->callee_instructions,
        .count = site_counts[s],
        .copies = 1,
    };
  }
  /* Merge copies: sorted by the grouping key, copies are adjacent. */
  qsort(rows, count, sizeof *rows, compare_rows_by_key);
  uint32_t kept = 0;
  for (uint32_t s = 0; s < count; s++) {
    if (kept > 0 && compare_rows_by_key(&rows[kept - 1], &rows[s]) == 0) {
      rows[kept - 1].count += rows[s].count;
      rows[kept - 1].copies++;
      rows[kept - 1].flags |= rows[s].flags & (ZINST_SITE_COUNTED | ZINST_SITE_TREE);
      continue;
    }
    rows[kept++] = rows[s];
  }
  *rows_out = rows;
  *count_out = kept;
  return 0;
}

static const char *site_location(const struct site_row *row, char *buf, size_t size) {
  if (row->line == 0)
    snprintf(buf, size, "%s", row->file[0] ? zinst_display_path(row->file) : "?");
  else
    snprintf(buf, size, "%s:%" PRIu32 ":%" PRIu32, zinst_display_path(row->file), row->line,
             row->column);
  return buf;
}

/* "405 / 225", "always", "never". */
static const char *cost_text(const struct site_row *row, char *buf, size_t size) {
  if (row->flags & ZINST_SITE_ALWAYS)
    snprintf(buf, size, "always");
  else if (row->flags & ZINST_SITE_NEVER)
    snprintf(buf, size, "never");
  else if (row->flags & ZINST_SITE_COST)
    snprintf(buf, size, "%" PRId32 " / %" PRId32, row->cost, row->threshold);
  else
    snprintf(buf, size, "-");
  return buf;
}

static const char *reason_text(const struct site_row *row) {
  if (row->reason[0])
    return row->reason;
  if (row->flags & ZINST_SITE_INLINED)
    return "cost below threshold";
  return "-";
}

static const char *count_text(const struct site_row *row, char *buf, size_t size) {
  if (!(row->flags & ZINST_SITE_COUNTED))
    return "-"; /* the optimizer removed the site's code: nothing ran there */
  return zinst_format_count(row->count, buf, size);
}

static void print_not_inlined(FILE *out, const struct site_row *rows, uint32_t count,
                              const struct inline_options *options) {
  static const char *const headers[] = {"calls",  "est. call cost", "cost / threshold", "missed by",
                                        "reason", "site",           "caller -> callee"};
  struct zinst_table table;
  zinst_table_init(&table, 7, headers, "rrrrlll");
  uint32_t shown = 0, listed = 0;
  for (uint32_t r = 0; r < count; r++) {
    const struct site_row *row = &rows[r];
    if ((row->flags & ZINST_SITE_INLINED) || !(row->flags & ZINST_SITE_COUNTED) || row->count == 0)
      continue;
    listed++;
    if (options->top && shown == options->top)
      continue;
    char calls[ZINST_UNIT_BUFFER], estimate[ZINST_UNIT_BUFFER], cost[48], missed[32], where[512];
    if (row->flags & ZINST_SITE_COST)
      snprintf(missed, sizeof missed, "%+" PRId64, (int64_t)row->cost - row->threshold);
    else
      snprintf(missed, sizeof missed, "-");
    char *pair = zinst_strdup_printf("%s -> %s", row->caller, row->callee);
    const char *cells[] = {
        zinst_format_count(row->count, calls, sizeof calls),
        zinst_format_duration((double)row->count * options->call_ns, estimate, sizeof estimate),
        cost_text(row, cost, sizeof cost),
        missed,
        reason_text(row),
        site_location(row, where, sizeof where),
        pair ? pair : "?"};
    zinst_table_add_row(&table, cells);
    free(pair);
    shown++;
  }
  fprintf(out, "\nHot call sites NOT inlined (calls x %.3g ns per call, %s):\n", options->call_ns,
          strcmp(options->call_ns_source, "measured") == 0 ? "measured on the profiled machine"
          : strcmp(options->call_ns_source, "option") == 0
              ? "from --call-ns"
              : "assumed: the profile has no measurement");
  if (listed == 0)
    fputs("  none\n", out);
  else
    zinst_table_print(&table, out);
  if (shown < listed)
    fprintf(out, "  ... %" PRIu32 " more (--top 0 or --all to see them)\n", listed - shown);
  zinst_table_free(&table);
}

static void print_cold_inlined(FILE *out, struct site_row *rows, uint32_t count,
                               const struct inline_options *options, uint64_t hottest) {
  /* Cold: counted and below cold_percent of the hottest site's count. */
  struct site_row *cold = malloc((count ? count : 1) * sizeof *cold);
  if (!cold)
    return;
  uint32_t listed = 0;
  for (uint32_t r = 0; r < count; r++) {
    const struct site_row *row = &rows[r];
    if (!(row->flags & ZINST_SITE_INLINED) || !(row->flags & ZINST_SITE_COUNTED))
      continue;
    if ((double)row->count * 100.0 >= options->cold_percent * (double)hottest)
      continue;
    cold[listed++] = *row;
  }
  qsort(cold, listed, sizeof *cold, compare_rows_by_size);
  static const char *const headers[] = {"executions", "callee size", "cost / threshold", "site",
                                        "caller <- callee"};
  struct zinst_table table;
  zinst_table_init(&table, 5, headers, "rrrll");
  uint32_t shown = options->top && options->top < listed ? (uint32_t)options->top : listed;
  for (uint32_t r = 0; r < shown; r++) {
    char executions[ZINST_UNIT_BUFFER], size[32], cost[48], where[512];
    snprintf(size, sizeof size, "%" PRIu32 " instr", cold[r].callee_instructions);
    char *pair = zinst_strdup_printf("%s <- %s", cold[r].caller, cold[r].callee);
    const char *cells[] = {count_text(&cold[r], executions, sizeof executions), size,
                           cost_text(&cold[r], cost, sizeof cost),
                           site_location(&cold[r], where, sizeof where), pair ? pair : "?"};
    zinst_table_add_row(&table, cells);
    free(pair);
  }
  fprintf(out,
          "\nInlined sites that hardly ran (below %.3g%% of the hottest site), largest first:\n",
          options->cold_percent);
  if (listed == 0)
    fputs("  none\n", out);
  else
    zinst_table_print(&table, out);
  if (shown < listed)
    fprintf(out, "  ... %" PRIu32 " more\n", listed - shown);
  zinst_table_free(&table);
  free(cold);
}

/* Per callee (by linkage name): sites inlined / not, executions inlined / called. */
struct callee_summary {
  const char *callee, *linkage;
  uint32_t inlined_sites, called_sites;
  uint64_t inlined_executions, calls;
};

static int compare_summaries(const void *a, const void *b) {
  const struct callee_summary *sa = a, *sb = b;
  uint64_t ta = sa->inlined_executions + sa->calls, tb = sb->inlined_executions + sb->calls;
  if (ta != tb)
    return ta < tb ? 1 : -1;
  return strcmp(sa->linkage, sb->linkage);
}

/* The summaries of the selected rows: a new array (*out, *count), -1 when out of memory. */
static int summarize(const struct site_row *rows, uint32_t count, struct callee_summary **out,
                     uint32_t *summary_count) {
  struct callee_summary *sums = malloc((count ? count : 1) * sizeof *sums);
  if (!sums)
    return -1;
  uint32_t used = 0;
  for (uint32_t r = 0; r < count; r++) {
    uint32_t k = 0;
    while (k < used && strcmp(sums[k].linkage, rows[r].callee_linkage) != 0)
      k++;
    if (k == used)
      sums[used++] =
          (struct callee_summary){.callee = rows[r].callee, .linkage = rows[r].callee_linkage};
    if (rows[r].flags & ZINST_SITE_INLINED) {
      sums[k].inlined_sites++;
      sums[k].inlined_executions += rows[r].count;
    } else {
      sums[k].called_sites++;
      sums[k].calls += rows[r].count;
    }
  }
  qsort(sums, used, sizeof *sums, compare_summaries);
  *out = sums;
  *summary_count = used;
  return 0;
}

static void print_summaries(FILE *out, const struct callee_summary *sums, uint32_t count,
                            const struct inline_options *options) {
  static const char *const headers[] = {"inlined sites", "executions", "called sites", "calls",
                                        "callee"};
  struct zinst_table table;
  zinst_table_init(&table, 5, headers, "rrrrl");
  uint32_t shown = options->top && options->top < count ? (uint32_t)options->top : count;
  for (uint32_t k = 0; k < shown; k++) {
    char inlined_sites[16], called_sites[16], executions[ZINST_UNIT_BUFFER],
        calls[ZINST_UNIT_BUFFER];
    snprintf(inlined_sites, sizeof inlined_sites, "%" PRIu32, sums[k].inlined_sites);
    snprintf(called_sites, sizeof called_sites, "%" PRIu32, sums[k].called_sites);
    const char *cells[] = {
        inlined_sites,
        zinst_format_count(sums[k].inlined_executions, executions, sizeof executions), called_sites,
        zinst_format_count(sums[k].calls, calls, sizeof calls), sums[k].callee};
    zinst_table_add_row(&table, cells);
  }
  fputs("\nPer callee (sites as the inliner saw them; executions at those sites):\n", out);
  if (count == 0)
    fputs("  none\n", out);
  else
    zinst_table_print(&table, out);
  if (shown < count)
    fprintf(out, "  ... %" PRIu32 " more\n", count - shown);
  zinst_table_free(&table);
}

static void print_all(FILE *out, const struct site_row *rows, uint32_t count,
                      const struct inline_options *options) {
  static const char *const headers[] = {"count",  "inlined", "cost / threshold",
                                        "reason", "site",    "caller -> callee"};
  struct zinst_table table;
  zinst_table_init(&table, 6, headers, "rlrlll");
  uint32_t shown =
      options->top && !options->all && options->top < count ? (uint32_t)options->top : count;
  for (uint32_t r = 0; r < shown; r++) {
    char counted[ZINST_UNIT_BUFFER], cost[48], where[512];
    char *pair = zinst_strdup_printf("%s -> %s", rows[r].caller, rows[r].callee);
    const char *cells[] = {count_text(&rows[r], counted, sizeof counted),
                           (rows[r].flags & ZINST_SITE_INLINED) ? "yes" : "no",
                           cost_text(&rows[r], cost, sizeof cost),
                           reason_text(&rows[r]),
                           site_location(&rows[r], where, sizeof where),
                           pair ? pair : "?"};
    zinst_table_add_row(&table, cells);
    free(pair);
  }
  fputs("\nEvery site, by count ('-': the optimizer removed the site's code):\n", out);
  zinst_table_print(&table, out);
  zinst_table_free(&table);
}

static void json_rows(struct zinst_json *json, const struct site_row *rows, uint32_t count,
                      const struct inline_options *options) {
  zinst_json_begin_array(json);
  for (uint32_t r = 0; r < count; r++) {
    const struct site_row *row = &rows[r];
    zinst_json_begin_object(json);
    zinst_json_key(json, "caller");
    zinst_json_string(json, row->caller);
    zinst_json_key(json, "callee");
    zinst_json_string(json, row->callee);
    zinst_json_key(json, "callee_linkage_name");
    zinst_json_string(json, row->callee_linkage);
    zinst_json_key(json, "file");
    zinst_json_string(json, row->file);
    zinst_json_key(json, "line");
    zinst_json_uint(json, row->line);
    zinst_json_key(json, "column");
    zinst_json_uint(json, row->column);
    zinst_json_key(json, "inlined");
    zinst_json_bool(json, (row->flags & ZINST_SITE_INLINED) != 0);
    zinst_json_key(json, "library");
    zinst_json_bool(json, (row->flags & ZINST_SITE_LIBRARY) != 0);
    zinst_json_key(json, "decided_by");
    zinst_json_string(json, (row->flags & ZINST_SITE_ALWAYS)  ? "always"
                            : (row->flags & ZINST_SITE_NEVER) ? "never"
                            : (row->flags & ZINST_SITE_COST)  ? "cost"
                                                              : "unknown");
    zinst_json_key(json, "cost");
    if (row->flags & ZINST_SITE_COST)
      zinst_json_double(json, row->cost);
    else
      zinst_json_null(json);
    zinst_json_key(json, "threshold");
    if (row->flags & ZINST_SITE_COST)
      zinst_json_double(json, row->threshold);
    else
      zinst_json_null(json);
    zinst_json_key(json, "reason");
    zinst_json_string(json, row->reason);
    zinst_json_key(json, "deferred");
    zinst_json_bool(json, (row->flags & ZINST_SITE_DEFERRED) != 0);
    zinst_json_key(json, "unsuccessful");
    zinst_json_bool(json, (row->flags & ZINST_SITE_UNSUCCESSFUL) != 0);
    zinst_json_key(json, "callee_instructions");
    zinst_json_uint(json, row->callee_instructions);
    zinst_json_key(json, "counted");
    zinst_json_bool(json, (row->flags & ZINST_SITE_COUNTED) != 0);
    /* Counted without a counter: the tree's calls of the callee under the
     * caller (format minor 9). */
    zinst_json_key(json, "counted_from_tree");
    zinst_json_bool(json, (row->flags & ZINST_SITE_TREE) != 0);
    zinst_json_key(json, "count");
    zinst_json_uint(json, row->count);
    zinst_json_key(json, "copies");
    zinst_json_uint(json, row->copies);
    if (!(row->flags & ZINST_SITE_INLINED)) {
      zinst_json_key(json, "estimated_call_ns");
      zinst_json_double(json, (double)row->count * options->call_ns);
    }
    zinst_json_end_object(json);
  }
  zinst_json_end_array(json);
}

static int run_inline(const struct zinst_profile *profile, const struct inline_options *options) {
  uint32_t *threads = NULL, thread_count = 0;
  if (zinst_select_threads(profile, options->path, options->has_thread, options->thread, &threads,
                           &thread_count) != 0)
    return ZINST_EXIT_FAILURE;
  uint64_t *site_counts = zinst_site_counts_sum(profile, threads, thread_count);
  struct site_row *rows = NULL;
  uint32_t row_count = 0;
  struct callee_summary *sums = NULL;
  uint32_t sum_count = 0;
  int status = ZINST_EXIT_FAILURE;
  if (!site_counts || build_rows(profile, site_counts, &rows, &row_count) != 0) {
    fprintf(stderr, "zinst inline: out of memory\n");
    goto done;
  }
  uint32_t selected = 0;
  uint64_t hottest = 0;
  for (uint32_t r = 0; r < row_count; r++) {
    if (!row_selected(&rows[r], options))
      continue;
    if (rows[r].count > hottest)
      hottest = rows[r].count;
    rows[selected++] = rows[r];
  }
  qsort(rows, selected, sizeof *rows, compare_rows_by_count);
  if (summarize(rows, selected, &sums, &sum_count) != 0) {
    fprintf(stderr, "zinst inline: out of memory\n");
    goto done;
  }

  if (options->json) {
    struct zinst_json json;
    zinst_json_init(&json, stdout);
    zinst_json_begin_object(&json);
    zinst_json_key(&json, "profile");
    zinst_json_profile_object(&json, options->path, profile);
    zinst_json_key(&json, "call_ns");
    zinst_json_double(&json, options->call_ns);
    zinst_json_key(&json, "call_ns_source");
    zinst_json_string(&json, options->call_ns_source);
    zinst_json_key(&json, "sites");
    json_rows(&json, rows, selected, options);
    zinst_json_key(&json, "callees");
    zinst_json_begin_array(&json);
    for (uint32_t k = 0; k < sum_count; k++) {
      zinst_json_begin_object(&json);
      zinst_json_key(&json, "callee");
      zinst_json_string(&json, sums[k].callee);
      zinst_json_key(&json, "linkage_name");
      zinst_json_string(&json, sums[k].linkage);
      zinst_json_key(&json, "inlined_sites");
      zinst_json_uint(&json, sums[k].inlined_sites);
      zinst_json_key(&json, "inlined_executions");
      zinst_json_uint(&json, sums[k].inlined_executions);
      zinst_json_key(&json, "called_sites");
      zinst_json_uint(&json, sums[k].called_sites);
      zinst_json_key(&json, "calls");
      zinst_json_uint(&json, sums[k].calls);
      zinst_json_end_object(&json);
    }
    zinst_json_end_array(&json);
    zinst_json_end_object(&json);
    status = zinst_json_finish(&json) == 0 ? ZINST_EXIT_OK : ZINST_EXIT_FAILURE;
    goto done;
  }

  zinst_print_profile_header(stdout, options->path, profile);
  uint32_t decided = 0, counted = 0, in_library = 0;
  for (uint32_t s = 0; s < profile->site_count; s++) {
    if (profile->sites[s].flags & ZINST_SITE_ENTRY)
      continue; /* a count-only function's entry counter (zinst report lists it) */
    decided++;
    counted += (profile->sites[s].flags & ZINST_SITE_COUNTED) != 0;
    in_library += (profile->sites[s].flags & ZINST_SITE_LIBRARY) != 0;
  }
  printf("inlining: %" PRIu32 " %s decided (%" PRIu32 " counted), %" PRIu32 " shown after filters",
         decided, decided == 1 ? "site" : "sites", counted, selected);
  if (in_library && !options->show_library)
    printf("; %" PRIu32 " in library code left out (--show-library)", in_library);
  putchar('\n');
  if (decided == 0)
    printf("no inlining decisions in this profile: build with -O1 or higher and the zinst "
           "plugin of this version\n");
  else if (options->all)
    print_all(stdout, rows, selected, options);
  else {
    print_not_inlined(stdout, rows, selected, options);
    print_cold_inlined(stdout, rows, selected, options, hottest);
    print_summaries(stdout, sums, sum_count, options);
  }
  status = ZINST_EXIT_OK;
done:
  free(sums);
  free(rows);
  free(site_counts);
  free(threads);
  return status;
}

int zinst_cmd_inline(int argc, char **argv) {
  static const struct zinst_option_spec specs[] = {
      {"help", false, OPT_HELP},
      {"caller", true, OPT_CALLER},
      {"callee", true, OPT_CALLEE},
      {"file", true, OPT_FILE},
      {"min-count", true, OPT_MIN_COUNT},
      {"top", true, OPT_TOP},
      {"all", false, OPT_ALL},
      {"show-library", false, OPT_SHOW_LIBRARY},
      {"json", false, OPT_JSON},
      {"thread", true, OPT_THREAD},
      {"call-ns", true, OPT_CALL_NS},
      {"cold", true, OPT_COLD},
      {NULL, false, 0},
  };
  struct inline_options options = {.top = 10, .call_ns = -1, .cold_percent = 0.1};
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "inline", argc, argv);
  const char *value;
  int id;
  while ((id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    switch (id) {
    case ZINST_ARG_ERROR:
      return ZINST_EXIT_USAGE;
    case OPT_HELP:
      fputs(help_text, stdout);
      return ZINST_EXIT_OK;
    case OPT_CALLER:
      options.caller = value;
      break;
    case OPT_CALLEE:
      options.callee = value;
      break;
    case OPT_FILE:
      options.file = value;
      break;
    case OPT_MIN_COUNT:
      if (zinst_parse_uint("inline", "min-count", value, &options.min_count) != 0)
        return ZINST_EXIT_USAGE;
      break;
    case OPT_TOP:
      if (zinst_parse_uint("inline", "top", value, &options.top) != 0)
        return ZINST_EXIT_USAGE;
      break;
    case OPT_ALL:
      options.all = true;
      break;
    case OPT_SHOW_LIBRARY:
      options.show_library = true;
      break;
    case OPT_JSON:
      options.json = true;
      break;
    case OPT_THREAD:
      if (zinst_parse_uint("inline", "thread", value, &options.thread) != 0)
        return ZINST_EXIT_USAGE;
      options.has_thread = true;
      break;
    case OPT_CALL_NS: {
      char *end = NULL;
      options.call_ns = strtod(value, &end);
      if (!end || *end || !(options.call_ns >= 0) || options.call_ns > 1e9)
        return zinst_usage_error("inline", "option '--call-ns' wants nanoseconds >= 0, got '%s'",
                                 value);
      options.call_ns_source = "option";
      break;
    }
    case OPT_COLD:
      if (zinst_parse_percent("inline", "cold", value, &options.cold_percent) != 0)
        return ZINST_EXIT_USAGE;
      break;
    case ZINST_ARG_POSITIONAL:
      if (zinst_take_profile_argument("inline", &options.path, value) != ZINST_EXIT_OK)
        return ZINST_EXIT_USAGE;
      break;
    }
  }
  if (!options.path)
    return zinst_usage_error("inline", "missing PROFILE");
  struct zinst_profile profile;
  if (zinst_load_profile_or_complain(options.path, &profile) != 0)
    return ZINST_EXIT_FAILURE;
  if (options.call_ns < 0) {
    const uint32_t measured_ps = profile.process.call_cost_ps;
    options.call_ns = measured_ps ? measured_ps / 1000.0 : 2.0;
    options.call_ns_source = measured_ps ? "measured" : "assumed";
  }
  const int status = run_inline(&profile, &options);
  zinst_profile_free(&profile);
  return status;
}
