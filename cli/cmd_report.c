/*
 * cmd_report.c - `zinst report`: the flat profile, one line per function.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_writer.h"
#include "profile_model.h"
#include "table.h"
#include "units.h"

enum sort_key { SORT_SELF, SORT_TOTAL, SORT_CALLS, SORT_NAME, SORT_MEAN };

struct report_options {
  enum sort_key sort;
  uint64_t top; /* 0 = all */
  bool has_thread;
  uint64_t thread;
  bool per_thread;
  bool json;
  bool show_library;
  enum zinst_times times;
  const char *path;
};

/* One printed function; borrows from the flat profile and the profile. A
 * count-only function's entry has its calls and no ticks, and `count_only`
 * names it (NULL for the functions of the flat profile). */
struct report_row {
  const struct zinst_flat_entry *entry;
  const char *name;
  enum sort_key sort;
  uint64_t inlined; /* executions of the function's body inlined elsewhere */
  const struct zinst_count_only_function *count_only;
};

/* The count-only functions of the selected threads and their flat entries
 * (calls only), for the rows; released with free_count_only(). */
struct count_only_rows {
  struct zinst_count_only_function *functions;
  struct zinst_flat_entry *entries; /* entries[k] for functions[k] */
  uint32_t count;
  uint32_t hidden_library; /* library functions left out of the text table */
};

static void free_count_only(struct count_only_rows *rows) {
  free(rows->functions);
  free(rows->entries);
  memset(rows, 0, sizeof *rows);
}

/* Fills `rows` (owned by the caller, free_count_only) from the site counts
 * of the selected threads. Returns -1 when out of memory. */
static int collect_count_only(const struct zinst_profile *profile, const uint64_t *site_counts,
                              struct count_only_rows *rows) {
  memset(rows, 0, sizeof *rows);
  if (zinst_count_only_functions(profile, site_counts, &rows->functions, &rows->count) != 0)
    return -1;
  rows->entries = calloc(rows->count ? rows->count : 1, sizeof *rows->entries);
  if (!rows->entries) {
    free_count_only(rows);
    return -1;
  }
  for (uint32_t k = 0; k < rows->count; k++)
    rows->entries[k] =
        (struct zinst_flat_entry){.function = ZINST_NONE, .calls = rows->functions[k].calls};
  return 0;
}

/* "file:line" of a count-only function's definition, as zinst_function_location. */
static char *count_only_location(const struct zinst_profile *profile,
                                 const struct zinst_count_only_function *function) {
  const struct zinst_site_record *site = &profile->sites[function->site];
  const char *file = zinst_display_path(zinst_profile_string(profile, site->file));
  if (file[0] == '\0')
    return zinst_strdup_printf("?");
  if (site->line == 0)
    return zinst_strdup_printf("%s", file);
  return zinst_strdup_printf("%s:%" PRIu32, file, site->line);
}

static const char help_text[] =
    "usage: zinst report [options] PROFILE\n"
    "\n"
    "Flat profile: per function, its calls, its self time (in the function\n"
    "itself) and its total time (including callees; recursion counted once).\n"
    "When the compiler inlined some of a function's call sites, 'inlined' counts\n"
    "the executions of those inlined copies (their time is their caller's):\n"
    "the function ran calls + inlined times. Functions inlined everywhere are\n"
    "listed below the table.\n"
    "Library code (functions the compiler flagged by their source file, e.g.\n"
    "Zig's standard library) is one row, '[library: N functions]': its calls\n"
    "are the calls into library code from outside it, its self time the sum\n"
    "of the library functions' self times, its total the time with library\n"
    "code on the stack (callbacks into user code included, counted once).\n"
    "Times of sampled profiles are estimates; '\u00b1 total' is the 95% interval\n"
    "of the total time, 'exact' when every call was timed.\n"
    "Functions built with ZINST_COUNT_ONLY have no hooks: their calls are\n"
    "counted exactly, their time is not measured (it is in their callers'\n"
    "self time); they are marked 'count-only', their times '-'.\n"
    "Times are shown without the hooks' own cost, which the runtime calibrates\n"
    "and the header states ('hooks:'); --raw shows them as measured.\n"
    "PROFILE '-' reads standard input.\n"
    "\n"
    "options:\n"
    "  --sort KEY       self (default), total, calls, name or mean\n"
    "  --top N          show the N first functions (default 30, 0 = all)\n"
    "  --thread TID     only the thread(s) with this kernel thread id\n"
    "  --per-thread     one table per thread\n"
    "  --show-library   list library functions one by one\n"
    "  --raw            times as measured, the hooks' cost included\n"
    "  --json           machine-readable output: every function, library code\n"
    "                   marked \"library\": true; \"inlined_everywhere\" lists the\n"
    "                   functions below the table\n"
    "  -h, --help       this text\n";

static int compare_rows(const void *a, const void *b) {
  const struct report_row *ra = a, *rb = b;
  const struct zinst_flat_entry *ea = ra->entry, *eb = rb->entry;
  int order = 0;
  switch (ra->sort) {
  case SORT_SELF:
    order = ea->self_ticks < eb->self_ticks ? 1 : ea->self_ticks > eb->self_ticks ? -1 : 0;
    break;
  case SORT_TOTAL:
    order = ea->total_ticks < eb->total_ticks ? 1 : ea->total_ticks > eb->total_ticks ? -1 : 0;
    break;
  case SORT_MEAN: {
    const double ma = ea->calls ? (double)ea->total_ticks / (double)ea->calls : 0;
    const double mb = eb->calls ? (double)eb->total_ticks / (double)eb->calls : 0;
    order = ma < mb ? 1 : ma > mb ? -1 : 0;
    break;
  }
  case SORT_CALLS:
  case SORT_NAME:
    break;
  }
  if (order == 0 && ra->sort != SORT_NAME)
    order = ea->calls < eb->calls ? 1 : ea->calls > eb->calls ? -1 : 0;
  if (order == 0)
    order = strcmp(ra->name, rb->name);
  if (order == 0)
    order = ea->function < eb->function ? -1 : ea->function > eb->function;
  if (order == 0 && ra->count_only && rb->count_only)
    order = ra->count_only->site < rb->count_only->site
                ? -1
                : ra->count_only->site > rb->count_only->site;
  return order;
}

/*
 * The rows to show, sorted, --top applied: a new array owned by the caller
 * (*rows, *shown); *listed is the number before --top. A flat profile with
 * the grouped library entry ([function_count], see build_flat) shows it as
 * `group_name`, and its library functions have no calls of their own there.
 * The count-only functions that ran are rows too, but library ones when
 * `hide_library` (counted in count_only->hidden_library). Returns -1 when
 * out of memory.
 */
static int select_rows(const struct zinst_profile *profile, const struct zinst_flat_profile *flat,
                       const uint64_t *inlined, const char *group_name,
                       struct count_only_rows *count_only, bool hide_library,
                       const struct report_options *options, struct report_row **rows,
                       uint32_t *shown, uint32_t *listed) {
  *rows = malloc(((size_t)flat->count + count_only->count + 1) * sizeof **rows);
  if (!*rows)
    return -1;
  enum sort_key sort = options->sort;
  if (!zinst_profile_has_time(profile) && sort != SORT_NAME)
    sort = SORT_CALLS; /* count mode: no ticks to sort by */
  uint32_t count = 0;
  for (uint32_t f = 0; f < flat->count; f++) {
    const struct zinst_flat_entry *e = &flat->entries[f];
    /* Calls can be 0 with ticks after zinst_reset(): a frame open across the reset. */
    if (e->calls == 0 && e->total_ticks == 0 && e->self_ticks == 0 && inlined[f] == 0)
      continue;
    const char *name = f == profile->function_count ? group_name : zinst_function_name(profile, f);
    (*rows)[count++] = (struct report_row){e, name, sort, inlined[f], NULL};
  }
  count_only->hidden_library = 0;
  for (uint32_t k = 0; k < count_only->count; k++) {
    const struct zinst_count_only_function *c = &count_only->functions[k];
    if (c->calls == 0 && c->inlined == 0)
      continue;
    if (c->library && hide_library) {
      count_only->hidden_library++;
      continue;
    }
    const struct zinst_site_record *site = &profile->sites[c->site];
    const char *name = zinst_profile_string(profile, site->callee);
    if (name[0] == '\0')
      name = zinst_profile_string(profile, site->callee_linkage);
    (*rows)[count++] = (struct report_row){&count_only->entries[k], name, sort, c->inlined, c};
  }
  qsort(*rows, count, sizeof **rows, compare_rows);
  *listed = count;
  *shown = options->top && options->top < count ? (uint32_t)options->top : count;
  return 0;
}

static double percent_of(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void json_ns(struct zinst_json *json, const struct zinst_profile *profile, uint64_t ticks) {
  uint64_t ns;
  if (zinst_ticks_to_ns(ticks, profile->process.ticks_per_second, &ns))
    zinst_json_uint(json, ns);
  else
    zinst_json_null(json);
}

/* A count-only function in the JSON array: calls and inlined executions,
 * every time field null (not measured), "count_only": true. */
static void json_count_only(struct zinst_json *json, const struct zinst_profile *profile,
                            const struct report_row *row) {
  const struct zinst_site_record *site = &profile->sites[row->count_only->site];
  zinst_json_begin_object(json);
  zinst_json_key(json, "name");
  zinst_json_string(json, row->name);
  zinst_json_key(json, "linkage_name");
  zinst_json_string(json, zinst_profile_string(profile, site->callee_linkage));
  zinst_json_key(json, "file");
  zinst_json_string(json, zinst_profile_string(profile, site->file));
  zinst_json_key(json, "line");
  zinst_json_uint(json, site->line);
  zinst_json_key(json, "library");
  zinst_json_bool(json, row->count_only->library);
  zinst_json_key(json, "zone");
  zinst_json_bool(json, false);
  zinst_json_key(json, "count_only");
  zinst_json_bool(json, true);
  zinst_json_key(json, "calls");
  zinst_json_uint(json, row->count_only->calls);
  zinst_json_key(json, "inlined");
  zinst_json_uint(json, row->inlined);
  zinst_json_key(json, "timed_calls");
  zinst_json_uint(json, 0);
  static const char *const unmeasured[] = {"self_ticks",        "total_ticks", "self_ticks_error",
                                           "total_ticks_error", "self_ns",     "total_ns",
                                           "self_percent"};
  for (size_t k = 0; k < sizeof unmeasured / sizeof unmeasured[0]; k++) {
    zinst_json_key(json, unmeasured[k]);
    zinst_json_null(json);
  }
  zinst_json_end_object(json);
}

static void json_functions(struct zinst_json *json, const struct zinst_profile *profile,
                           const struct zinst_flat_profile *flat, const struct report_row *rows,
                           uint32_t shown) {
  zinst_json_begin_array(json);
  for (uint32_t i = 0; i < shown; i++) {
    if (rows[i].count_only) {
      json_count_only(json, profile, &rows[i]);
      continue;
    }
    const struct zinst_flat_entry *e = rows[i].entry;
    const struct zinst_function_record *f = &profile->functions[e->function];
    zinst_json_begin_object(json);
    zinst_json_key(json, "name");
    zinst_json_string(json, rows[i].name);
    zinst_json_key(json, "linkage_name");
    zinst_json_string(json, zinst_profile_string(profile, f->linkage_name));
    zinst_json_key(json, "file");
    zinst_json_string(json, zinst_profile_string(profile, f->file));
    zinst_json_key(json, "line");
    zinst_json_uint(json, f->line);
    zinst_json_key(json, "library");
    zinst_json_bool(json, (f->flags & ZINST_FUNCTION_LIBRARY) != 0);
    zinst_json_key(json, "zone");
    zinst_json_bool(json, (f->flags & ZINST_FUNCTION_ZONE) != 0);
    zinst_json_key(json, "count_only");
    zinst_json_bool(json, false);
    zinst_json_key(json, "calls");
    zinst_json_uint(json, e->calls);
    /* Executions inlined at call sites: calls + inlined = every execution. */
    zinst_json_key(json, "inlined");
    zinst_json_uint(json, rows[i].inlined);
    zinst_json_key(json, "timed_calls");
    zinst_json_uint(json, e->timed_calls);
    zinst_json_key(json, "self_ticks");
    zinst_json_uint(json, e->self_ticks);
    zinst_json_key(json, "total_ticks");
    zinst_json_uint(json, e->total_ticks);
    /* One standard error each, in ticks; 0 when measured exactly. */
    zinst_json_key(json, "self_ticks_error");
    zinst_json_uint(json, zinst_error_ticks(e->self_variance));
    zinst_json_key(json, "total_ticks_error");
    zinst_json_uint(json, zinst_error_ticks(e->total_variance));
    zinst_json_key(json, "self_ns");
    json_ns(json, profile, e->self_ticks);
    zinst_json_key(json, "total_ns");
    json_ns(json, profile, e->total_ticks);
    zinst_json_key(json, "self_percent");
    if (flat->total_ticks)
      zinst_json_double(json, percent_of(e->self_ticks, flat->total_ticks));
    else
      zinst_json_null(json);
    zinst_json_end_object(json);
  }
  zinst_json_end_array(json);
}

/* A duration cell, "-" when the frequency is unknown. */
static const char *time_cell(const struct zinst_profile *profile, double ticks, char *buffer) {
  const uint64_t tps = profile->process.ticks_per_second;
  if (tps == 0)
    return "-";
  return zinst_format_duration(ticks * 1e9 / (double)tps, buffer, ZINST_UNIT_BUFFER);
}

/* Add `cells` (the table's columns without 'inlined'), with `inlined`
 * inserted as the second cell unless it is NULL. */
static int add_row(struct zinst_table *table, const char *const *cells, const char *inlined) {
  if (!inlined)
    return zinst_table_add_row(table, cells);
  const char *with_inlined[ZINST_TABLE_MAX_COLUMNS];
  with_inlined[0] = cells[0];
  with_inlined[1] = inlined;
  for (uint32_t c = 2; c < table->columns; c++)
    with_inlined[c] = cells[c - 1];
  return zinst_table_add_row(table, with_inlined);
}

/* Has the profile an inlined site that ran? Only then does the table get an
 * 'inlined' column. (A count-only function's executions are calls.) */
static bool has_inlined_executions(const struct zinst_profile *profile) {
  for (uint32_t i = 0; i < profile->site_count_count; i++)
    if (profile->sites[profile->site_counts[i].site].flags & ZINST_SITE_INLINED)
      return true;
  return false;
}

static int print_table(FILE *out, const struct zinst_profile *profile,
                       const struct zinst_flat_profile *flat, const struct report_row *rows,
                       uint32_t shown, uint32_t listed, const struct count_only_rows *count_only) {
  const bool timed = zinst_profile_has_time(profile);
  const bool inlined_column = has_inlined_executions(profile);
  char self_header[32], total_header[32];
  snprintf(self_header, sizeof self_header, "self %s", zinst_tick_unit(profile));
  snprintf(total_header, sizeof total_header, "total %s", zinst_tick_unit(profile));
  const char *timed_headers[] = {"calls",      self_header,  "self time",    "self %",
                                 total_header, "total time", "\u00b1 total", "mean/call",
                                 "function",   "file:line"};
  const char *count_headers[] = {"calls", "function", "file:line"};
  struct zinst_table table;
  if (timed) {
    zinst_table_init(&table, 10, timed_headers, "rrrrrrrrll");
    table.max_width[8] = 60;
  } else {
    zinst_table_init(&table, 3, count_headers, "rll");
    table.max_width[1] = 60;
  }
  if (inlined_column) {
    /* "inlined" right after "calls": shift the other headers one column. */
    const uint32_t columns = table.columns;
    for (uint32_t c = columns; c > 1; c--) {
      table.headers[c] = table.headers[c - 1];
      table.right_aligned[c] = table.right_aligned[c - 1];
      table.max_width[c] = table.max_width[c - 1];
    }
    table.headers[1] = "inlined";
    table.right_aligned[1] = true;
    table.max_width[1] = 0;
    table.columns = columns + 1;
  }
  int status = 0;
  for (uint32_t i = 0; i < shown && status == 0; i++) {
    const struct zinst_flat_entry *e = rows[i].entry;
    char inlined[ZINST_UNIT_BUFFER];
    zinst_format_count(rows[i].inlined, inlined, sizeof inlined);
    char calls[ZINST_UNIT_BUFFER], self_time[ZINST_UNIT_BUFFER], self_ticks[ZINST_UNIT_BUFFER],
        self_percent[ZINST_UNIT_BUFFER], total_ticks[ZINST_UNIT_BUFFER],
        total_time[ZINST_UNIT_BUFFER], total_error[ZINST_UNIT_BUFFER], mean[ZINST_UNIT_BUFFER];
    char *location = rows[i].count_only ? count_only_location(profile, rows[i].count_only)
                                        : zinst_function_location(profile, e->function);
    zinst_format_count(e->calls, calls, sizeof calls);
    if (timed && rows[i].count_only) {
      /* Not measured: the function's time is its callers' self time. */
      const char *cells[] = {
          calls, "-",          "in callers", "-",          "-",
          "-",   "count-only", "-",          rows[i].name, location ? location : "?",
      };
      status = add_row(&table, cells, inlined_column ? inlined : NULL);
    } else if (timed) {
      const char *mean_cell =
          e->calls ? time_cell(profile, (double)e->total_ticks / (double)e->calls, mean) : "-";
      const char *cells[] = {
          calls,
          zinst_format_count(e->self_ticks, self_ticks, sizeof self_ticks),
          time_cell(profile, (double)e->self_ticks, self_time),
          zinst_format_percent(percent_of(e->self_ticks, flat->total_ticks), self_percent,
                               sizeof self_percent),
          zinst_format_count(e->total_ticks, total_ticks, sizeof total_ticks),
          time_cell(profile, (double)e->total_ticks, total_time),
          zinst_format_error(zinst_error_ticks(e->total_variance), e->total_ticks,
                             e->total_untimed_calls == 0, total_error, sizeof total_error),
          mean_cell,
          rows[i].name,
          location ? location : "?",
      };
      status = add_row(&table, cells, inlined_column ? inlined : NULL);
    } else {
      /* Count mode has no time columns to mark a count-only function in. */
      char *marked =
          rows[i].count_only && location ? zinst_strdup_printf("%s (count-only)", location) : NULL;
      const char *cells[] = {calls, rows[i].name, marked ? marked : location ? location : "?"};
      status = add_row(&table, cells, inlined_column ? inlined : NULL);
      free(marked);
    }
    free(location);
  }
  if (status == 0)
    status = zinst_table_print(&table, out);
  zinst_table_free(&table);
  if (listed == 0)
    fputs("(no instrumented function was called)\n", out);
  else if (shown < listed)
    fprintf(out, "(%" PRIu32 " of %" PRIu32 " functions shown; --top 0 shows all)\n", shown,
            listed);
  uint32_t counted_only = 0;
  for (uint32_t i = 0; i < shown; i++)
    counted_only += rows[i].count_only != NULL;
  if (counted_only > 0)
    fprintf(out,
            "(%" PRIu32 " count-only function%s (ZINST_COUNT_ONLY): calls counted exactly, time "
            "not measured, part of the callers' self time)\n",
            counted_only, counted_only == 1 ? "" : "s");
  if (count_only->hidden_library > 0)
    fprintf(out,
            "(%" PRIu32 " count-only library function%s not listed; --show-library lists them)\n",
            count_only->hidden_library, count_only->hidden_library == 1 ? "" : "s");
  return status;
}

/* A function whose every counted execution was inlined; borrows the profile's strings. */
struct only_inlined {
  const char *name, *linkage;
  uint64_t executions;
  uint32_t sites;
  bool library; /* the callee is library code (sites' CALLEE_LIBRARY) */
};

/*
 * Functions whose every counted execution was inlined (no FUNCTIONS record:
 * inlined everywhere, or a Zig `inline fn`), the most executed first, so
 * that no executed code is missing from the report: *list (a new array
 * owned by the caller) and *count. Count-only functions, which have no
 * record either, are rows of the table instead. Returns -1 when out of
 * memory.
 */
static int collect_inlined_everywhere(const struct zinst_profile *profile,
                                      const uint64_t *site_counts,
                                      const struct count_only_rows *count_only,
                                      struct only_inlined **list_out, uint32_t *count_out) {
  struct only_inlined *list =
      malloc((profile->site_count ? profile->site_count : 1) * sizeof *list);
  if (!list)
    return -1;
  uint32_t count = 0;
  for (uint32_t s = 0; s < profile->site_count; s++) {
    const struct zinst_site_record *site = &profile->sites[s];
    if (!(site->flags & ZINST_SITE_INLINED) || site_counts[s] == 0)
      continue;
    const bool library = (site->flags & ZINST_SITE_CALLEE_LIBRARY) != 0;
    const char *linkage = zinst_profile_string(profile, site->callee_linkage);
    bool has_record = false;
    for (uint32_t f = 0; f < profile->function_count && !has_record; f++)
      has_record =
          strcmp(zinst_profile_string(profile, profile->functions[f].linkage_name), linkage) == 0;
    for (uint32_t k = 0; k < count_only->count && !has_record; k++)
      has_record =
          strcmp(zinst_profile_string(profile,
                                      profile->sites[count_only->functions[k].site].callee_linkage),
                 linkage) == 0;
    if (has_record)
      continue;
    uint32_t k = 0;
    while (k < count && strcmp(list[k].linkage, linkage) != 0)
      k++;
    if (k == count)
      list[count++] = (struct only_inlined){zinst_profile_string(profile, site->callee), linkage, 0,
                                            0, library};
    list[k].executions += site_counts[s];
    list[k].sites++;
  }
  for (uint32_t i = 1; i < count; i++) /* insertion sort: these lists are short */
    for (uint32_t j = i; j > 0 && list[j].executions > list[j - 1].executions; j--) {
      struct only_inlined swap = list[j];
      list[j] = list[j - 1];
      list[j - 1] = swap;
    }
  *list_out = list;
  *count_out = count;
  return 0;
}

/* The text version: one line each, under the table. Library functions
 * only with `show_library`, else counted in one closing line. */
static int print_inlined_everywhere(FILE *out, const struct zinst_profile *profile,
                                    const uint64_t *site_counts,
                                    const struct count_only_rows *count_only, bool show_library) {
  struct only_inlined *list;
  uint32_t count;
  if (collect_inlined_everywhere(profile, site_counts, count_only, &list, &count) != 0)
    return -1;
  uint32_t hidden = 0;
  for (uint32_t k = 0; k < count; k++)
    hidden += list[k].library && !show_library;
  if (count > hidden)
    fputs("\nInlined everywhere (no calls of their own; their time is their callers'):\n", out);
  for (uint32_t k = 0; k < count; k++) {
    if (list[k].library && !show_library)
      continue;
    char executions[ZINST_UNIT_BUFFER];
    fprintf(out, "  %s: %s execution%s at %" PRIu32 " site%s\n", list[k].name,
            zinst_format_count(list[k].executions, executions, sizeof executions),
            list[k].executions == 1 ? "" : "s", list[k].sites, list[k].sites == 1 ? "" : "s");
  }
  if (hidden > 0)
    fprintf(out,
            "(%" PRIu32 " library function%s inlined everywhere not listed; --show-library lists "
            "them)\n",
            hidden, hidden == 1 ? "" : "s");
  free(list);
  return 0;
}

/* The JSON version: the value of "inlined_everywhere". */
static int json_inlined_everywhere(struct zinst_json *json, const struct zinst_profile *profile,
                                   const uint64_t *site_counts,
                                   const struct count_only_rows *count_only) {
  struct only_inlined *list;
  uint32_t count;
  if (collect_inlined_everywhere(profile, site_counts, count_only, &list, &count) != 0)
    return -1;
  zinst_json_begin_array(json);
  for (uint32_t k = 0; k < count; k++) {
    zinst_json_begin_object(json);
    zinst_json_key(json, "name");
    zinst_json_string(json, list[k].name);
    zinst_json_key(json, "linkage_name");
    zinst_json_string(json, list[k].linkage);
    zinst_json_key(json, "executions");
    zinst_json_uint(json, list[k].executions);
    zinst_json_key(json, "sites");
    zinst_json_uint(json, list[k].sites);
    zinst_json_key(json, "library");
    zinst_json_bool(json, list[k].library);
    zinst_json_end_object(json);
  }
  zinst_json_end_array(json);
  free(list);
  return 0;
}

/*
 * Flat profile of the threads `threads` (NULL = all): *flat owned by the
 * caller. Unless `show_library`, library code is grouped first: the flat
 * profile then has one more entry, [function_count], for "[library]", and
 * *library_functions receives how many library functions ran (calls or
 * inlined executions).
 */
static int build_flat(const struct zinst_profile *profile, const uint32_t *threads,
                      uint32_t thread_count, bool show_library, enum zinst_times times,
                      const uint64_t *inlined, struct zinst_flat_profile *flat,
                      uint32_t *library_functions) {
  struct zinst_call_tree tree;
  *library_functions = 0;
  if (zinst_call_tree_build(profile, threads, thread_count, times, &tree) != 0)
    return -1;
  if (show_library) {
    const int status = zinst_flat_profile_build(&tree, profile->function_count, flat);
    zinst_call_tree_free(&tree);
    return status;
  }
  bool *ran = calloc(profile->function_count ? profile->function_count : 1, sizeof *ran);
  struct zinst_call_tree grouped;
  if (!ran || zinst_call_tree_group_library(profile, &tree, &grouped, NULL) != 0) {
    free(ran);
    zinst_call_tree_free(&tree);
    return -1;
  }
  for (uint32_t n = 1; n < tree.node_count; n++)
    ran[tree.nodes[n].function] = true;
  for (uint32_t f = 0; f < profile->function_count; f++)
    if (zinst_is_library_function(profile, f) && (ran[f] || inlined[f] > 0))
      ++*library_functions;
  free(ran);
  zinst_call_tree_free(&tree);
  const int status = zinst_flat_profile_build(&grouped, profile->function_count + 1, flat);
  zinst_call_tree_free(&grouped);
  return status;
}

/*
 * Executions inlined per flat entry: `inlined` (one per function) extended
 * by the "[library]" entry, which sums the library functions' and zeroes
 * theirs (they are not listed). New array owned by the caller, NULL when
 * out of memory.
 */
static uint64_t *group_inlined(const struct zinst_profile *profile, const uint64_t *inlined) {
  uint64_t *grouped = calloc((size_t)profile->function_count + 1, sizeof *grouped);
  if (!grouped)
    return NULL;
  for (uint32_t f = 0; f < profile->function_count; f++) {
    if (zinst_is_library_function(profile, f))
      grouped[profile->function_count] += inlined[f];
    else
      grouped[f] = inlined[f];
  }
  return grouped;
}

/* One table (or JSON array) for the threads given; `json` NULL for text.
 * Text groups library code unless --show-library; JSON always lists every
 * function, library code marked "library": true. */
static int report_threads(const struct zinst_profile *profile, const struct report_options *options,
                          const uint32_t *threads, uint32_t thread_count, struct zinst_json *json) {
  const bool show_library = options->show_library || json;
  uint64_t *site_counts = zinst_site_counts_sum(profile, threads, thread_count);
  uint64_t *inlined = site_counts ? zinst_inlined_executions(profile, site_counts) : NULL;
  uint64_t *row_inlined = inlined && !show_library ? group_inlined(profile, inlined) : NULL;
  struct zinst_flat_profile flat = {0};
  struct count_only_rows count_only = {0};
  uint32_t library_functions = 0;
  int status = -1;
  if (inlined && (show_library || row_inlined))
    status = build_flat(profile, threads, thread_count, show_library, options->times, inlined,
                        &flat, &library_functions);
  if (status == 0)
    status = collect_count_only(profile, site_counts, &count_only);
  struct report_row *rows = NULL;
  uint32_t shown, listed;
  char group_name[64];
  snprintf(group_name, sizeof group_name, "[library: %" PRIu32 " function%s]", library_functions,
           library_functions == 1 ? "" : "s");
  if (status == 0)
    status = select_rows(profile, &flat, row_inlined ? row_inlined : inlined, group_name,
                         &count_only, !show_library, options, &rows, &shown, &listed);
  if (status == 0) {
    if (json) {
      json_functions(json, profile, &flat, rows, shown);
      /* Next to "functions": executed code that has no function record. */
      zinst_json_key(json, "inlined_everywhere");
      status = json_inlined_everywhere(json, profile, site_counts, &count_only);
    } else {
      status = print_table(stdout, profile, &flat, rows, shown, listed, &count_only);
      if (status == 0)
        status = print_inlined_everywhere(stdout, profile, site_counts, &count_only,
                                          options->show_library);
      if (library_functions > 0)
        fprintf(stdout,
                "(library code grouped: %" PRIu32 " function%s in one row; --show-library lists "
                "them)\n",
                library_functions, library_functions == 1 ? "" : "s");
    }
  }
  free(rows);
  free_count_only(&count_only);
  free(row_inlined);
  free(inlined);
  free(site_counts);
  zinst_flat_profile_free(&flat);
  return status;
}

static int run_report(const struct zinst_profile *profile, const struct report_options *options) {
  uint32_t *selected;
  uint32_t selected_count;
  if (zinst_select_threads(profile, options->path, options->has_thread, options->thread, &selected,
                           &selected_count) != 0)
    return ZINST_EXIT_FAILURE;
  int status = 0;
  struct zinst_json json;
  zinst_json_init(&json, stdout);
  if (options->json) {
    zinst_json_begin_object(&json);
    zinst_json_key(&json, "profile");
    zinst_json_profile_object(&json, options->path, profile);
    zinst_json_times(&json, profile, options->times);
    zinst_json_key(&json, options->per_thread ? "threads" : "functions");
  } else {
    zinst_print_profile_header_times(stdout, options->path, profile, options->times);
  }
  if (options->per_thread) {
    if (options->json)
      zinst_json_begin_array(&json);
    for (uint32_t k = 0; k < selected_count && status == 0; k++) {
      const uint32_t t = selected[k];
      if (options->json) {
        zinst_json_begin_object(&json);
        zinst_json_key(&json, "tid");
        zinst_json_uint(&json, profile->threads[t].tid);
        zinst_json_key(&json, "name");
        zinst_json_string(&json, zinst_profile_string(profile, profile->threads[t].name));
        zinst_json_key(&json, "functions");
      } else {
        if (k > 0)
          fputc('\n', stdout);
        zinst_print_thread_heading(stdout, profile, t);
      }
      status = report_threads(profile, options, &t, 1, options->json ? &json : NULL);
      if (options->json)
        zinst_json_end_object(&json);
    }
    if (options->json)
      zinst_json_end_array(&json);
  } else {
    status =
        report_threads(profile, options, selected, selected_count, options->json ? &json : NULL);
  }
  if (options->json) {
    zinst_json_end_object(&json);
    if (zinst_json_finish(&json) != 0)
      status = -1;
  }
  free(selected);
  if (status != 0 || fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "zinst report: out of memory or output error\n");
    return ZINST_EXIT_FAILURE;
  }
  return ZINST_EXIT_OK;
}

enum {
  OPT_HELP = 1,
  OPT_SORT,
  OPT_TOP,
  OPT_THREAD,
  OPT_PER_THREAD,
  OPT_JSON,
  OPT_SHOW_LIBRARY,
  OPT_RAW
};

int zinst_cmd_report(int argc, char **argv) {
  static const struct zinst_option_spec specs[] = {
      {"help", false, OPT_HELP},
      {"sort", true, OPT_SORT},
      {"top", true, OPT_TOP},
      {"thread", true, OPT_THREAD},
      {"per-thread", false, OPT_PER_THREAD},
      {"json", false, OPT_JSON},
      {"show-library", false, OPT_SHOW_LIBRARY},
      {"raw", false, OPT_RAW},
      {NULL, false, 0},
  };
  struct report_options options = {.sort = SORT_SELF, .top = 30};
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "report", argc, argv);
  const char *value;
  int id;
  while ((id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    switch (id) {
    case ZINST_ARG_ERROR:
      return ZINST_EXIT_USAGE;
    case OPT_HELP:
      fputs(help_text, stdout);
      return ZINST_EXIT_OK;
    case OPT_SORT: {
      static const char *const names[] = {"self", "total", "calls", "name", "mean"};
      static const enum sort_key keys[] = {SORT_SELF, SORT_TOTAL, SORT_CALLS, SORT_NAME, SORT_MEAN};
      size_t k = 0;
      while (k < 5 && strcmp(value, names[k]) != 0)
        k++;
      if (k == 5)
        return zinst_usage_error(
            "report", "option '--sort' wants self, total, calls, name or mean, got '%s'", value);
      options.sort = keys[k];
      break;
    }
    case OPT_TOP:
      if (zinst_parse_uint("report", "top", value, &options.top) != 0)
        return ZINST_EXIT_USAGE;
      break;
    case OPT_THREAD:
      if (zinst_parse_uint("report", "thread", value, &options.thread) != 0)
        return ZINST_EXIT_USAGE;
      options.has_thread = true;
      break;
    case OPT_PER_THREAD:
      options.per_thread = true;
      break;
    case OPT_JSON:
      options.json = true;
      break;
    case OPT_SHOW_LIBRARY:
      options.show_library = true;
      break;
    case OPT_RAW:
      options.times = ZINST_TIMES_RAW;
      break;
    case ZINST_ARG_POSITIONAL:
      if (zinst_take_profile_argument("report", &options.path, value) != ZINST_EXIT_OK)
        return ZINST_EXIT_USAGE;
      break;
    }
  }
  if (!options.path)
    return zinst_usage_error("report", "missing PROFILE");
  struct zinst_profile profile;
  if (zinst_load_profile_or_complain(options.path, &profile) != 0)
    return ZINST_EXIT_FAILURE;
  const int status = run_report(&profile, &options);
  zinst_profile_free(&profile);
  return status;
}
