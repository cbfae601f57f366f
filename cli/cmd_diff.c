/*
 * cmd_diff.c - `zinst diff`: what changed between two versions of a program.
 *
 * Each side is one profile or several runs of the same build. Functions are
 * matched by (name, file, line), calling contexts by the path of such
 * functions from the root, threads merged. For every function and context,
 * each side's mean over its runs of calls, self time and total time is
 * compared.
 *
 * The noise guard: the standard error of each side's mean is the larger of
 * what the runs show (their sample standard deviation over sqrt(runs), when
 * there are two runs or more) and what sampled timing says (the profiles'
 * own standard errors); a difference within 1.96 combined standard errors
 * (a 95% interval) is marked as noise. With one exact run per side nothing
 * can be called noise, and the command says so.
 *
 * Count-only functions (ZINST_COUNT_ONLY, no hooks) are function rows with
 * their calls only: when a function is count-only in any run its times are
 * not compared (a side without them would look like a change to 0).
 */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "flame_svg.h"
#include "json_writer.h"
#include "profile_model.h"
#include "table.h"
#include "units.h"
#include "viz_common.h"

static const char help_text[] =
    "usage: zinst diff [options] BASE NEW\n"
    "       zinst diff [options] BASE1 BASE2... -- NEW1 NEW2...\n"
    "\n"
    "Compare profiles: per function and per calling context, the change in\n"
    "calls, self time and total time from BASE to NEW, largest first. Give\n"
    "several runs of each side to separate real changes from run-to-run\n"
    "variation: each side's mean is compared, and a change smaller than the\n"
    "95% interval of the difference (from the runs' spread and the sampled-\n"
    "timing errors) is marked 'noise'. Functions and contexts are matched by\n"
    "name, file and line; threads are merged. A function built count-only\n"
    "(ZINST_COUNT_ONLY) in any run compares by calls only, marked 'count-only'.\n"
    "\n"
    "options:\n"
    "  --sort KEY       self (default), total or calls: the change to rank by\n"
    "  --top N          rows per table (default 20; 0: all)\n"
    "  --flame FILE     also write a differential flame graph: NEW's shape,\n"
    "                   red where self time grew, blue where it shrank, grey\n"
    "                   for noise\n"
    "  --json           machine-readable output, every row\n"
    "  --raw            times as measured, the hooks' own cost included (default:\n"
    "                   subtracted, as each run's runtime calibrated it; as\n"
    "                   measured on both sides when a profile has no calibration)\n"
    "  -h, --help       this text\n";

enum metric { METRIC_CALLS, METRIC_SELF, METRIC_TOTAL, METRIC_COUNT };
static const char *const metric_names[METRIC_COUNT] = {"calls", "self", "total"};

struct diff_row {
  uint32_t parent;   /* contexts: the caller's context row; ZINST_NONE at the top */
  uint32_t function; /* contexts: the function row; functions: ZINST_NONE */
  char *name;        /* functions: owned label and location */
  char *location;
  bool count_only; /* functions: count-only in some run: no times compared */
  /* Per run: value and its sampling variance, METRIC_COUNT x run_count each. */
  double *values;
  double *variances;
};

struct side_stats {
  double mean;
  double variance_of_mean; /* squared standard error */
};

struct diff_result {
  double base, new_value, delta, error; /* error: one standard error of delta */
  bool noise;
};

struct diff_state {
  uint32_t base_runs, new_runs, run_count;
  bool timed; /* every profile has times */
  bool in_ns; /* times converted to ns (every frequency known) */
  enum zinst_times times;
  struct diff_row *functions, *contexts;
  uint32_t function_count, context_count, function_capacity, context_capacity;
  struct zinst_string_map function_index, context_index;
};

static uint32_t add_row(struct diff_state *s, bool context, uint32_t parent, uint32_t function) {
  struct diff_row **rows = context ? &s->contexts : &s->functions;
  uint32_t *count = context ? &s->context_count : &s->function_count;
  uint32_t *capacity = context ? &s->context_capacity : &s->function_capacity;
  if (*count == *capacity) {
    const uint32_t grown = *capacity ? *capacity * 2 : 256;
    struct diff_row *bigger = realloc(*rows, (size_t)grown * sizeof *bigger);
    if (!bigger)
      return ZINST_NONE;
    *rows = bigger;
    *capacity = grown;
  }
  const size_t cells = (size_t)METRIC_COUNT * s->run_count;
  struct diff_row row = {.parent = parent, .function = function};
  row.values = calloc(cells, sizeof *row.values);
  row.variances = calloc(cells, sizeof *row.variances);
  if (!row.values || !row.variances) {
    free(row.values);
    free(row.variances);
    return ZINST_NONE;
  }
  (*rows)[*count] = row;
  return (*count)++;
}

static void free_rows(struct diff_row *rows, uint32_t count) {
  for (uint32_t i = 0; i < count; i++) {
    free(rows[i].name);
    free(rows[i].location);
    free(rows[i].values);
    free(rows[i].variances);
  }
  free(rows);
}

static void record(struct diff_state *s, struct diff_row *row, uint32_t run, enum metric metric,
                   double value, double variance) {
  row->values[metric * s->run_count + run] += value;
  row->variances[metric * s->run_count + run] += variance;
}

/* The function row of `identity`, made (name and location copied) when
 * missing; ZINST_NONE when out of memory. */
static uint32_t function_row(struct diff_state *s, const char *identity, const char *name,
                             char *location) {
  uint32_t row = zinst_string_map_get(&s->function_index, identity);
  if (row != ZINST_NONE) {
    free(location);
    return row;
  }
  row = add_row(s, false, ZINST_NONE, ZINST_NONE);
  if (row == ZINST_NONE) {
    free(location);
    return ZINST_NONE;
  }
  s->functions[row].name = strdup(name);
  s->functions[row].location = location;
  if (!s->functions[row].name || !location ||
      zinst_string_map_put(&s->function_index, identity, row) == ZINST_NONE)
    return ZINST_NONE;
  return row;
}

/* The count-only functions of `p` (ENTRY sites), calls only, as run `run`.
 * Returns 0 or -1 (out of memory). */
static int add_count_only(struct diff_state *s, const struct zinst_profile *p, uint32_t run) {
  uint32_t *threads = malloc((p->thread_count ? p->thread_count : 1) * sizeof *threads);
  if (!threads)
    return -1;
  for (uint32_t t = 0; t < p->thread_count; t++)
    threads[t] = t;
  uint64_t *counts = zinst_site_counts_sum(p, threads, p->thread_count);
  free(threads);
  int status = counts ? 0 : -1;
  for (uint32_t k = 0; k < p->site_count && status == 0; k++) {
    const struct zinst_site_record *site = &p->sites[k];
    if (!(site->flags & ZINST_SITE_ENTRY))
      continue;
    const char *name = zinst_profile_string(p, site->callee);
    if (name[0] == '\0')
      name = zinst_profile_string(p, site->callee_linkage);
    const char *file = zinst_profile_string(p, site->file);
    /* The identity and location of zinst_function_identity/_location. */
    char *identity = zinst_strdup_printf("%s\x1f%s\x1f%" PRIu32, name, file, site->line);
    const char *shown = zinst_display_path(file);
    char *location = !shown[0]         ? zinst_strdup_printf("?")
                     : site->line == 0 ? zinst_strdup_printf("%s", shown)
                                       : zinst_strdup_printf("%s:%" PRIu32, shown, site->line);
    const uint32_t row = identity ? function_row(s, identity, name, location) : ZINST_NONE;
    if (!identity)
      free(location);
    free(identity);
    if (row == ZINST_NONE) {
      status = -1;
      break;
    }
    s->functions[row].count_only = true;
    record(s, &s->functions[row], run, METRIC_CALLS, (double)counts[k], 0);
  }
  free(counts);
  return status;
}

/* Add profile `p` as run `run`. Returns 0 or -1 (out of memory). */
static int add_run(struct diff_state *s, const struct zinst_profile *p, uint32_t run) {
  struct zinst_call_tree tree;
  if (zinst_call_tree_build(p, NULL, 0, s->times, &tree) != 0)
    return -1;
  struct zinst_flat_profile flat;
  if (zinst_flat_profile_build(&tree, p->function_count, &flat) != 0) {
    zinst_call_tree_free(&tree);
    return -1;
  }
  /* Ticks to the compared unit; variances scale with its square. */
  const double scale = s->in_ns ? 1e9 / (double)p->process.ticks_per_second : 1.0;
  uint32_t *row_of_function = malloc(((size_t)p->function_count + 1) * sizeof *row_of_function);
  uint32_t *row_of_node = malloc((size_t)tree.node_count * sizeof *row_of_node);
  int status = row_of_function && row_of_node ? 0 : -1;
  for (uint32_t f = 0; f < p->function_count && status == 0; f++) {
    char *identity = zinst_function_identity(p, f);
    uint32_t row = identity ? zinst_string_map_get(&s->function_index, identity) : ZINST_NONE;
    if (identity && row == ZINST_NONE) {
      row = add_row(s, false, ZINST_NONE, ZINST_NONE);
      if (row != ZINST_NONE) {
        s->functions[row].name = strdup(zinst_function_name(p, f));
        s->functions[row].location = zinst_function_location(p, f);
        if (!s->functions[row].name || !s->functions[row].location ||
            zinst_string_map_put(&s->function_index, identity, row) == ZINST_NONE)
          row = ZINST_NONE;
      }
    }
    free(identity);
    if (row == ZINST_NONE) {
      status = -1;
      break;
    }
    row_of_function[f] = row;
    const struct zinst_flat_entry *e = &flat.entries[f];
    struct diff_row *r = &s->functions[row];
    record(s, r, run, METRIC_CALLS, (double)e->calls, 0);
    record(s, r, run, METRIC_SELF, (double)e->self_ticks * scale, e->self_variance * scale * scale);
    record(s, r, run, METRIC_TOTAL, (double)e->total_ticks * scale,
           e->total_variance * scale * scale);
  }
  row_of_node[ZINST_TREE_ROOT] = ZINST_NONE;
  for (uint32_t n = 1; n < tree.node_count && status == 0; n++) {
    const struct zinst_tree_node *node = &tree.nodes[n];
    const uint32_t parent = row_of_node[node->parent];
    const uint32_t function = row_of_function[node->function];
    char key[32];
    snprintf(key, sizeof key, "%" PRIu32 ":%" PRIu32, parent, function);
    uint32_t row = zinst_string_map_get(&s->context_index, key);
    if (row == ZINST_NONE) {
      row = add_row(s, true, parent, function);
      if (row != ZINST_NONE && zinst_string_map_put(&s->context_index, key, row) == ZINST_NONE)
        row = ZINST_NONE;
    }
    if (row == ZINST_NONE) {
      status = -1;
      break;
    }
    row_of_node[n] = row;
    struct diff_row *r = &s->contexts[row];
    record(s, r, run, METRIC_CALLS, (double)node->calls, 0);
    record(s, r, run, METRIC_SELF, (double)node->exclusive_ticks * scale,
           node->exclusive_variance * scale * scale);
    record(s, r, run, METRIC_TOTAL, (double)node->inclusive_ticks * scale,
           node->inclusive_variance * scale * scale);
  }
  if (status == 0)
    status = add_count_only(s, p, run);
  free(row_of_function);
  free(row_of_node);
  zinst_flat_profile_free(&flat);
  zinst_call_tree_free(&tree);
  return status;
}

static struct side_stats side(const struct diff_state *s, const struct diff_row *row,
                              enum metric metric, uint32_t first, uint32_t runs) {
  const double *values = &row->values[metric * s->run_count + first];
  const double *variances = &row->variances[metric * s->run_count + first];
  double sum = 0, sampling = 0;
  for (uint32_t r = 0; r < runs; r++) {
    sum += values[r];
    sampling += variances[r];
  }
  struct side_stats stats = {.mean = sum / runs};
  /* The mean's sampling variance: the runs' variances over runs squared. */
  double variance = sampling / ((double)runs * runs);
  if (runs >= 2) {
    double squares = 0;
    for (uint32_t r = 0; r < runs; r++)
      squares += (values[r] - stats.mean) * (values[r] - stats.mean);
    const double spread = squares / (runs - 1) / runs;
    if (spread > variance)
      variance = spread;
  }
  stats.variance_of_mean = variance;
  return stats;
}

static struct diff_result compare(const struct diff_state *s, const struct diff_row *row,
                                  enum metric metric) {
  const struct side_stats base = side(s, row, metric, 0, s->base_runs);
  const struct side_stats new_side = side(s, row, metric, s->base_runs, s->new_runs);
  /* A function count-only in some run (or a context of one) has no time
   * there: its times are shown but never a change. */
  const bool count_only =
      row->function == ZINST_NONE ? row->count_only : s->functions[row->function].count_only;
  if (count_only && metric != METRIC_CALLS)
    return (struct diff_result){.base = base.mean, .new_value = new_side.mean};
  struct diff_result result = {.base = base.mean,
                               .new_value = new_side.mean,
                               .delta = new_side.mean - base.mean,
                               .error = sqrt(base.variance_of_mean + new_side.variance_of_mean)};
  result.noise = result.error > 0 && fabs(result.delta) <= 1.96 * result.error;
  return result;
}

/* Sorting rows by the size of their change. */
static const struct diff_state *sort_state;
static enum metric sort_metric;
static const struct diff_row *sort_rows;

static int compare_impact(const void *a, const void *b) {
  const uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  const double dx = fabs(compare(sort_state, &sort_rows[x], sort_metric).delta);
  const double dy = fabs(compare(sort_state, &sort_rows[y], sort_metric).delta);
  if (dx != dy)
    return dx > dy ? -1 : 1;
  return x < y ? -1 : x > y;
}

/* Row order by impact; new array or NULL. */
static uint32_t *rank(const struct diff_state *s, const struct diff_row *rows, uint32_t count,
                      enum metric metric) {
  uint32_t *order = malloc((count ? count : 1) * sizeof *order);
  if (!order)
    return NULL;
  for (uint32_t i = 0; i < count; i++)
    order[i] = i;
  sort_state = s;
  sort_rows = rows;
  sort_metric = metric;
  qsort(order, count, sizeof *order, compare_impact);
  return order;
}

static const struct diff_row *context_function(const struct diff_state *s,
                                               const struct diff_row *context) {
  return &s->functions[context->function];
}

/* "main > compute > fib": new string or NULL. */
static char *context_path(const struct diff_state *s, uint32_t row) {
  size_t length = 1;
  for (uint32_t r = row; r != ZINST_NONE; r = s->contexts[r].parent)
    length += strlen(context_function(s, &s->contexts[r])->name) + 3;
  char *text = malloc(length);
  if (!text)
    return NULL;
  size_t end = length - 1;
  text[end] = '\0';
  for (uint32_t r = row; r != ZINST_NONE; r = s->contexts[r].parent) {
    const char *name = context_function(s, &s->contexts[r])->name;
    const size_t n = strlen(name);
    end -= n;
    memcpy(text + end, name, n);
    if (s->contexts[r].parent != ZINST_NONE) {
      end -= 3;
      memcpy(text + end, " > ", 3);
    }
  }
  memmove(text, text + end, length - end);
  return text;
}

static const char *format_value(const struct diff_state *s, enum metric metric, double value,
                                char *buf, size_t size) {
  const bool negative = value < 0;
  const double magnitude = fabs(value);
  char digits[ZINST_UNIT_BUFFER];
  if (metric == METRIC_CALLS || !s->in_ns)
    zinst_format_count((uint64_t)(magnitude + 0.5), digits, sizeof digits);
  else
    zinst_format_duration(magnitude, digits, sizeof digits);
  snprintf(buf, size, "%s%s", negative ? "-" : "", digits);
  return buf;
}

static const char *format_delta(const struct diff_state *s, enum metric metric,
                                const struct diff_result *d, char *buf, size_t size) {
  char value[ZINST_UNIT_BUFFER];
  format_value(s, metric, fabs(d->delta), value, sizeof value);
  if (d->delta == 0) {
    snprintf(buf, size, "0");
  } else if (d->base > 0) {
    snprintf(buf, size, "%s%s (%+.1f%%)", d->delta > 0 ? "+" : "-", value,
             100.0 * d->delta / d->base);
  } else {
    snprintf(buf, size, "+%s (new)", value);
  }
  return buf;
}

static int print_table(const struct diff_state *s, bool contexts, enum metric sort_by,
                       uint64_t top) {
  const struct diff_row *rows = contexts ? s->contexts : s->functions;
  const uint32_t count = contexts ? s->context_count : s->function_count;
  uint32_t *order = rank(s, rows, count, sort_by);
  if (!order)
    return -1;
  static const char *const timed_headers[] = {"self base",    "self new",   "self change",
                                              "total change", "calls base", "calls new",
                                              "calls change", "",           "function  file:line"};
  static const char *const count_headers[] = {"calls base", "calls new", "calls change", "",
                                              "function  file:line"};
  struct zinst_table table;
  if (s->timed)
    zinst_table_init(&table, 9, timed_headers, "rrrrrrrll");
  else
    zinst_table_init(&table, 5, count_headers, "rrrll");
  int status = 0;
  uint32_t shown = 0;
  for (uint32_t k = 0; k < count && status == 0; k++) {
    if (top && shown == top)
      break;
    const struct diff_row *row = &rows[order[k]];
    struct diff_result d[METRIC_COUNT];
    bool changed = false, noise = false;
    for (int m = 0; m < METRIC_COUNT; m++) {
      d[m] = compare(s, row, (enum metric)m);
      changed |= d[m].delta != 0;
    }
    if (!changed)
      continue;
    noise = s->timed ? d[METRIC_SELF].noise && (d[METRIC_CALLS].delta == 0 || d[METRIC_CALLS].noise)
                     : d[METRIC_CALLS].noise;
    const struct diff_row *function = contexts ? context_function(s, row) : row;
    char *label = contexts ? context_path(s, order[k]) : strdup(function->name);
    char *text = label ? zinst_strdup_printf("%s  %s", label, function->location) : NULL;
    free(label);
    if (!text) {
      status = -1;
      break;
    }
    char cells[8][64];
    format_value(s, METRIC_SELF, d[METRIC_SELF].base, cells[0], sizeof cells[0]);
    format_value(s, METRIC_SELF, d[METRIC_SELF].new_value, cells[1], sizeof cells[1]);
    format_delta(s, METRIC_SELF, &d[METRIC_SELF], cells[2], sizeof cells[2]);
    format_delta(s, METRIC_TOTAL, &d[METRIC_TOTAL], cells[3], sizeof cells[3]);
    if (function->count_only) /* times not measured in some run */
      for (int c = 0; c < 4; c++)
        snprintf(cells[c], sizeof cells[c], "-");
    format_value(s, METRIC_CALLS, d[METRIC_CALLS].base, cells[4], sizeof cells[4]);
    format_value(s, METRIC_CALLS, d[METRIC_CALLS].new_value, cells[5], sizeof cells[5]);
    format_delta(s, METRIC_CALLS, &d[METRIC_CALLS], cells[6], sizeof cells[6]);
    const char *flag = noise ? "noise" : function->count_only ? "count-only" : "";
    if (s->timed) {
      const char *row_cells[] = {cells[0], cells[1], cells[2], cells[3], cells[4],
                                 cells[5], cells[6], flag,     text};
      status = zinst_table_add_row(&table, row_cells);
    } else {
      const char *row_cells[] = {cells[4], cells[5], cells[6], flag, text};
      status = zinst_table_add_row(&table, row_cells);
    }
    free(text);
    shown++;
  }
  printf("%s, by %s change:\n", contexts ? "calling contexts" : "functions", metric_names[sort_by]);
  if (status == 0)
    status = zinst_table_print(&table, stdout);
  if (shown == 0)
    puts("(no change)");
  fputc('\n', stdout);
  zinst_table_free(&table);
  free(order);
  return status;
}

static void json_metric(struct zinst_json *json, const struct diff_state *s,
                        const struct diff_row *row, enum metric metric) {
  const struct diff_result d = compare(s, row, metric);
  zinst_json_key(json, metric_names[metric]);
  zinst_json_begin_object(json);
  zinst_json_key(json, "base");
  zinst_json_double(json, d.base);
  zinst_json_key(json, "new");
  zinst_json_double(json, d.new_value);
  zinst_json_key(json, "delta");
  zinst_json_double(json, d.delta);
  zinst_json_key(json, "error");
  zinst_json_double(json, d.error);
  zinst_json_key(json, "noise");
  zinst_json_bool(json, d.noise);
  zinst_json_end_object(json);
}

static int print_json(const struct diff_state *s, char **paths, uint32_t base_first,
                      uint32_t new_first, enum metric sort_by) {
  struct zinst_json json;
  zinst_json_init(&json, stdout);
  zinst_json_begin_object(&json);
  for (int side_index = 0; side_index < 2; side_index++) {
    zinst_json_key(&json, side_index == 0 ? "base" : "new");
    zinst_json_begin_array(&json);
    const uint32_t first = side_index == 0 ? base_first : new_first;
    const uint32_t runs = side_index == 0 ? s->base_runs : s->new_runs;
    for (uint32_t r = 0; r < runs; r++)
      zinst_json_string(&json, paths[first + r]);
    zinst_json_end_array(&json);
  }
  zinst_json_key(&json, "time_unit");
  if (s->timed)
    zinst_json_string(&json, s->in_ns ? "ns" : "ticks");
  else
    zinst_json_null(&json);
  /* As in report and tree: "corrected" (hook cost subtracted), "raw", or
   * null without times. */
  zinst_json_key(&json, "times");
  if (s->timed)
    zinst_json_string(&json, s->times == ZINST_TIMES_CORRECTED ? "corrected" : "raw");
  else
    zinst_json_null(&json);
  int status = 0;
  for (int contexts = 0; contexts < 2 && status == 0; contexts++) {
    const struct diff_row *rows = contexts ? s->contexts : s->functions;
    const uint32_t count = contexts ? s->context_count : s->function_count;
    uint32_t *order = rank(s, rows, count, sort_by);
    if (!order) {
      status = -1;
      break;
    }
    zinst_json_key(&json, contexts ? "contexts" : "functions");
    zinst_json_begin_array(&json);
    for (uint32_t k = 0; k < count; k++) {
      const struct diff_row *row = &rows[order[k]];
      const struct diff_row *function = contexts ? context_function(s, row) : row;
      zinst_json_begin_object(&json);
      if (contexts) {
        zinst_json_key(&json, "path");
        zinst_json_begin_array(&json);
        /* Root first: collect the chain, then write it reversed. */
        uint32_t depth = 0;
        for (uint32_t r = order[k]; r != ZINST_NONE; r = s->contexts[r].parent)
          depth++;
        for (uint32_t level = depth; level-- > 0;) {
          uint32_t r = order[k];
          for (uint32_t up = 0; up < level; up++)
            r = s->contexts[r].parent;
          zinst_json_string(&json, context_function(s, &s->contexts[r])->name);
        }
        zinst_json_end_array(&json);
      } else {
        zinst_json_key(&json, "name");
        zinst_json_string(&json, function->name);
      }
      zinst_json_key(&json, "location");
      zinst_json_string(&json, function->location);
      if (!contexts) {
        zinst_json_key(&json, "count_only");
        zinst_json_bool(&json, function->count_only);
      }
      json_metric(&json, s, row, METRIC_CALLS);
      if (s->timed && function->count_only) {
        /* Count-only in some run: no times to compare. */
        zinst_json_key(&json, metric_names[METRIC_SELF]);
        zinst_json_null(&json);
        zinst_json_key(&json, metric_names[METRIC_TOTAL]);
        zinst_json_null(&json);
      } else if (s->timed) {
        json_metric(&json, s, row, METRIC_SELF);
        json_metric(&json, s, row, METRIC_TOTAL);
      }
      zinst_json_end_object(&json);
    }
    zinst_json_end_array(&json);
    free(order);
  }
  zinst_json_end_object(&json);
  if (zinst_json_finish(&json) != 0)
    status = -1;
  return status;
}

/* The differential flame graph: NEW's mean shape, colored by the change of self. */
static int write_diff_flame(const struct diff_state *s, const char *path, char **paths,
                            uint32_t new_first) {
  const enum metric metric = s->timed ? METRIC_SELF : METRIC_CALLS;
  const uint32_t n = s->context_count;
  uint64_t *weight = calloc(n ? n : 1, sizeof *weight);
  uint32_t *frame_of = malloc((n ? n : 1) * sizeof *frame_of);
  struct zinst_flame_graph graph = {0};
  int status = weight && frame_of && zinst_flame_init(&graph, "all", NULL) == 0 ? 0 : -1;
  /* Contexts are created after their parents: a backward pass sums subtrees. */
  uint64_t total = 0;
  for (uint32_t i = n; i-- > 0 && status == 0;) {
    const double mean = compare(s, &s->contexts[i], metric).new_value;
    weight[i] += mean > 0 ? (uint64_t)(mean + 0.5) : 0;
    if (s->contexts[i].parent != ZINST_NONE)
      weight[s->contexts[i].parent] += weight[i];
    else
      total += weight[i];
  }
  if (status == 0)
    graph.frames[0].weight = total;
  for (uint32_t i = 0; i < n && status == 0; i++) {
    const struct diff_row *row = &s->contexts[i];
    const struct diff_row *function = context_function(s, row);
    const struct diff_result d = compare(s, row, metric);
    const struct diff_result calls = compare(s, row, METRIC_CALLS);
    char base[ZINST_UNIT_BUFFER], new_value[ZINST_UNIT_BUFFER], delta[64], call_delta[64];
    format_value(s, metric, d.base, base, sizeof base);
    format_value(s, metric, d.new_value, new_value, sizeof new_value);
    format_delta(s, metric, &d, delta, sizeof delta);
    format_delta(s, METRIC_CALLS, &calls, call_delta, sizeof call_delta);
    char *details = zinst_strdup_printf(
        "%s %s, %s%s\n%s: base %s, new %s\ncalls: base %.0f, new %.0f, change %s\n%s",
        metric_names[metric], delta, function->location, d.noise ? " (noise)" : "",
        metric_names[metric], base, new_value, calls.base, calls.new_value, call_delta,
        function->location);
    const uint32_t parent = row->parent == ZINST_NONE ? 0 : frame_of[row->parent];
    frame_of[i] = zinst_flame_add(&graph, parent, strdup(function->name), details, weight[i]);
    if (frame_of[i] == ZINST_NONE || !details) {
      status = -1;
      break;
    }
    struct zinst_flame_frame *frame = &graph.frames[frame_of[i]];
    const double larger = d.base > d.new_value ? d.base : d.new_value;
    frame->change = larger > 0 ? d.delta / larger : 0;
    if (d.noise)
      frame->flags |= ZINST_FLAME_NOISE;
  }
  char *subtitle =
      zinst_strdup_printf("width: %s of %s%s; red: %s grew, blue: shrank, grey: within noise",
                          metric_names[metric], zinst_base_name(paths[new_first]),
                          s->new_runs > 1 ? " (mean of the runs)" : "", metric_names[metric]);
  struct zinst_output output;
  if (status == 0 && subtitle && zinst_output_open(&output, "diff", path) == 0) {
    const struct zinst_flame_style style = {
        .title = "zinst differential flame graph",
        .subtitle = subtitle,
        .weight_unit = metric == METRIC_CALLS ? "calls"
                       : s->in_ns             ? "ns"
                                              : "ticks",
        .differential = true,
        .min_width_px = 0.5,
    };
    if (zinst_flame_write_svg(output.file, &graph, &style, NULL) != 0) {
      zinst_output_abandon(&output);
      status = -1;
    } else if (zinst_output_commit(&output, "diff") != 0) {
      status = -1;
    }
  } else {
    status = -1;
  }
  free(subtitle);
  free(weight);
  free(frame_of);
  zinst_flame_free(&graph);
  return status;
}

enum { OPT_HELP = 1, OPT_SORT, OPT_TOP, OPT_FLAME, OPT_JSON, OPT_RAW };

int zinst_cmd_diff(int argc, char **argv) {
  static const struct zinst_option_spec specs[] = {
      {"help", false, OPT_HELP},  {"sort", true, OPT_SORT},  {"top", true, OPT_TOP},
      {"flame", true, OPT_FLAME}, {"json", false, OPT_JSON}, {"raw", false, OPT_RAW},
      {NULL, false, 0},
  };
  int separator = argc;
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--") == 0) {
      separator = i;
      break;
    }
  char **paths = calloc((size_t)argc + 1, sizeof *paths);
  if (!paths)
    return ZINST_EXIT_FAILURE;
  uint32_t before = 0, after = 0;
  enum metric sort_by = METRIC_SELF;
  bool sort_given = false, json = false, raw = false;
  uint64_t top = 20;
  const char *flame = NULL;
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "diff", argc, argv);
  const char *value;
  int id, status = -1;
  while (status < 0 && (id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    switch (id) {
    case ZINST_ARG_ERROR:
      status = ZINST_EXIT_USAGE;
      break;
    case OPT_HELP:
      fputs(help_text, stdout);
      status = ZINST_EXIT_OK;
      break;
    case OPT_SORT:
      if (strcmp(value, "self") == 0)
        sort_by = METRIC_SELF;
      else if (strcmp(value, "total") == 0)
        sort_by = METRIC_TOTAL;
      else if (strcmp(value, "calls") == 0)
        sort_by = METRIC_CALLS;
      else
        status = zinst_usage_error("diff", "--sort wants self, total or calls, got '%s'", value);
      sort_given = true;
      break;
    case OPT_TOP:
      if (zinst_parse_uint("diff", "top", value, &top) != 0)
        status = ZINST_EXIT_USAGE;
      break;
    case OPT_FLAME:
      flame = value;
      break;
    case OPT_JSON:
      json = true;
      break;
    case OPT_RAW:
      raw = true;
      break;
    case ZINST_ARG_POSITIONAL:
      /* Positionals keep their order; those after "--" are the NEW side. */
      paths[before + after] = (char *)value;
      if (parser.next - 1 > separator)
        after++;
      else
        before++;
      break;
    }
  }
  uint32_t base_runs = before, new_runs = after;
  if (status < 0 && separator == argc) {
    if (before != 2)
      status = zinst_usage_error(
          "diff", "BASE and NEW expected (or BASE... -- NEW...), got %" PRIu32 " profiles", before);
    base_runs = new_runs = 1;
  } else if (status < 0 && (before == 0 || after == 0)) {
    status = zinst_usage_error("diff", "each side of '--' needs at least one profile");
  }
  if (status >= 0) {
    free(paths);
    return status;
  }
  struct diff_state s = {.base_runs = base_runs,
                         .new_runs = new_runs,
                         .run_count = base_runs + new_runs,
                         .timed = true,
                         .in_ns = true,
                         .times = raw ? ZINST_TIMES_RAW : ZINST_TIMES_CORRECTED};
  struct zinst_profile *profiles = calloc(s.run_count, sizeof *profiles);
  uint32_t loaded = 0;
  status = profiles && zinst_string_map_init(&s.function_index) == 0 &&
                   zinst_string_map_init(&s.context_index) == 0
               ? ZINST_EXIT_OK
               : ZINST_EXIT_FAILURE;
  for (; loaded < s.run_count && status == ZINST_EXIT_OK; loaded++) {
    if (zinst_load_profile_or_complain(paths[loaded], &profiles[loaded]) != 0) {
      status = ZINST_EXIT_FAILURE;
      break;
    }
    s.timed &= zinst_profile_has_time(&profiles[loaded]);
    s.in_ns &= profiles[loaded].process.ticks_per_second != 0;
  }
  s.in_ns &= s.timed;
  /* Like with like: a side without a calibration cannot be corrected, so
   * neither is. */
  bool uncalibrated = false;
  for (uint32_t r = 0; r < loaded; r++)
    uncalibrated |= !zinst_profile_has_hook_costs(&profiles[r]);
  if (s.timed && uncalibrated)
    s.times = ZINST_TIMES_RAW;
  if (status == ZINST_EXIT_OK && !s.timed && (sort_given && sort_by != METRIC_CALLS))
    fprintf(stderr, "zinst diff: a count-mode profile has no times: sorting by calls\n");
  if (!s.timed)
    sort_by = METRIC_CALLS;
  for (uint32_t r = 0; r < s.run_count && status == ZINST_EXIT_OK; r++)
    if (add_run(&s, &profiles[r], r) != 0) {
      fprintf(stderr, "zinst diff: out of memory\n");
      status = ZINST_EXIT_FAILURE;
    }
  if (status == ZINST_EXIT_OK) {
    int written;
    if (json) {
      written = print_json(&s, paths, 0, base_runs, sort_by);
    } else {
      printf("base: %" PRIu32 " run%s (%s%s)\nnew:  %" PRIu32 " run%s (%s%s)\n", base_runs,
             base_runs == 1 ? "" : "s", zinst_display_path(paths[0]), base_runs > 1 ? ", ..." : "",
             new_runs, new_runs == 1 ? "" : "s", zinst_display_path(paths[base_runs]),
             new_runs > 1 ? ", ..." : "");
      if (s.timed)
        printf("times:  %s\n",
               s.times == ZINST_TIMES_CORRECTED
                   ? "each run's hook cost subtracted, as its runtime calibrated it (--raw: as "
                     "measured)"
               : uncalibrated && !raw
                   ? "as measured, hook cost included: a profile has no calibration of it"
                   : "as measured, hook cost included");
      if (base_runs == 1 && new_runs == 1 && s.timed)
        puts("noise:  one run per side: only sampled-timing errors are known; give several "
             "runs of each side (BASE... -- NEW...) to mark run-to-run variation");
      else
        puts("noise:  a change within the 95% interval of the runs' variation and the "
             "sampling errors");
      fputc('\n', stdout);
      written = print_table(&s, false, sort_by, top);
      if (written == 0)
        written = print_table(&s, true, sort_by, top);
    }
    if (written == 0 && flame)
      written = write_diff_flame(&s, flame, paths, base_runs);
    if (written != 0 || fflush(stdout) != 0 || ferror(stdout)) {
      fprintf(stderr, "zinst diff: out of memory or output error\n");
      status = ZINST_EXIT_FAILURE;
    }
  }
  for (uint32_t r = 0; r < loaded; r++)
    zinst_profile_free(&profiles[r]);
  free(profiles);
  free_rows(s.functions, s.function_count);
  free_rows(s.contexts, s.context_count);
  zinst_string_map_free(&s.function_index);
  zinst_string_map_free(&s.context_index);
  free(paths);
  return status;
}
