/*
 * cmd_tree.c - `zinst tree`: the calling-context tree, indented.
 *
 * Trees can be as deep as the runtime's depth bound (recursive programs),
 * so traversal uses an explicit stack, never C recursion.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_writer.h"
#include "profile_model.h"
#include "table.h"
#include "units.h"

struct tree_options {
  uint64_t depth;   /* 0 = unlimited */
  double threshold; /* percent */
  bool has_thread;
  uint64_t thread;
  bool per_thread;
  bool json;
  bool show_library;
  enum zinst_times times;
  const char *path;
};

static const char help_text[] =
    "usage: zinst tree [options] PROFILE\n"
    "\n"
    "The call tree: every calling context with its share of the total time,\n"
    "its self time, calls and total time. Children are sorted by total time\n"
    "(for count-mode profiles: by the calls in their subtree). Threads are\n"
    "merged by call path unless --per-thread. PROFILE '-' reads standard input.\n"
    "Times of sampled profiles are estimates; '\u00b1 total' is the 95% interval\n"
    "of the total time, 'exact' when every call was timed.\n"
    "Times are shown without the hooks' own cost, which the runtime calibrates\n"
    "and the header states ('hooks:'); --raw shows them as measured.\n"
    "\n"
    "Library code (functions the compiler flagged by their source file, e.g.\n"
    "Zig's standard library) is grouped: each run of library frames becomes one\n"
    "'[library]' node under its nearest user caller, holding the run's calls\n"
    "and time; user functions that library code calls back stay below it.\n"
    "\n"
    "Inlined code: below a node, '[inlined] NAME  N executions  at FILE:LINE'\n"
    "lists the calls the compiler inlined into that function and how often\n"
    "their code ran (its time is the node's self time: it is not measured\n"
    "apart). Executions are counted per thread and call site, not per calling\n"
    "context: when the function has one context in the tree, the number is\n"
    "exact; when it has several, each gets a share in proportion to its calls,\n"
    "marked '~' (an estimate: --per-thread or --thread may make it exact).\n"
    "Sites in functions that were themselves inlined everywhere, and with\n"
    "library code grouped the sites inside it, are counted in a footer.\n"
    "\n"
    "Functions built with ZINST_COUNT_ONLY have no hooks, hence no calling\n"
    "context: they are not in the tree (their time is their callers' self\n"
    "time); a footer counts them and their calls, 'zinst report' lists them.\n"
    "\n"
    "options:\n"
    "  --depth N        show N levels (default: all)\n"
    "  --threshold PCT  hide subtrees below PCT percent of the total (default 0)\n"
    "  --thread TID     only the thread(s) with this kernel thread id\n"
    "  --per-thread     one tree per thread\n"
    "  --show-library   show library functions one by one\n"
    "  --raw            times as measured, the hooks' cost included\n"
    "  --json           nested machine-readable output: every function (library\n"
    "                   code marked \"library\": true), each node's \"inlined\"\n"
    "  -h, --help       this text\n";

/* Children of every node in display order: children[child_start[n] .. child_start[n + 1]). */
struct ordered_tree {
  uint32_t *child_start; /* node_count + 1 entries */
  uint32_t *children;    /* node_count - 1 entries: every node but the root */
};

struct order_item {
  uint32_t parent;
  uint32_t function;
  uint64_t key;
  uint32_t node;
};

static int compare_order_items(const void *a, const void *b) {
  const struct order_item *x = a, *y = b;
  if (x->parent != y->parent)
    return x->parent < y->parent ? -1 : 1;
  if (x->key != y->key)
    return x->key > y->key ? -1 : 1; /* heaviest first */
  if (x->function != y->function)
    return x->function < y->function ? -1 : 1;
  return x->node < y->node ? -1 : x->node > y->node;
}

/* Fills `order` (owned by the caller, freed with free_order); -1 when out of memory. */
static int order_children(const struct zinst_call_tree *tree, bool by_ticks,
                          struct ordered_tree *order) {
  const uint32_t n = tree->node_count;
  struct order_item *items = malloc((size_t)n * sizeof *items);
  order->child_start = calloc((size_t)n + 1, sizeof *order->child_start);
  order->children = malloc((size_t)n * sizeof *order->children);
  if (!items || !order->child_start || !order->children) {
    free(items);
    free(order->child_start);
    free(order->children);
    return -1;
  }
  for (uint32_t i = 1; i < n; i++) {
    const struct zinst_tree_node *node = &tree->nodes[i];
    items[i - 1] = (struct order_item){node->parent, node->function,
                                       by_ticks ? node->inclusive_ticks : node->subtree_calls, i};
  }
  qsort(items, n - 1, sizeof *items, compare_order_items);
  for (uint32_t i = 0; i + 1 < n; i++) {
    order->children[i] = items[i].node;
    order->child_start[items[i].parent + 1]++;
  }
  for (uint32_t i = 0; i < n; i++)
    order->child_start[i + 1] += order->child_start[i];
  free(items);
  return 0;
}

static void free_order(struct ordered_tree *order) {
  free(order->child_start);
  free(order->children);
}

struct tree_view {
  const struct zinst_profile *profile;
  const struct zinst_call_tree *tree;
  const struct tree_options *options;
  const struct zinst_inlined_lines *inlined;
  bool timed;     /* weights are ticks, else calls */
  uint64_t total; /* 100% */
  uint64_t hidden_below_threshold;
  uint64_t hidden_below_depth;
};

static uint64_t weight(const struct tree_view *view, const struct zinst_tree_node *node) {
  return view->timed ? node->inclusive_ticks : node->subtree_calls;
}

static double percent(uint64_t part, uint64_t whole) {
  return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* Decide whether `node` is shown, counting it if it is cut. */
static bool visible(struct tree_view *view, const struct zinst_tree_node *node) {
  if (view->options->depth && node->depth > view->options->depth) {
    view->hidden_below_depth++;
    return false;
  }
  if (view->options->threshold > 0 &&
      percent(weight(view, node), view->total) < view->options->threshold) {
    view->hidden_below_threshold++;
    return false;
  }
  return true;
}

static void json_ns(struct zinst_json *json, const struct zinst_profile *profile, uint64_t ticks) {
  uint64_t ns;
  if (zinst_ticks_to_ns(ticks, profile->process.ticks_per_second, &ns))
    zinst_json_uint(json, ns);
  else
    zinst_json_null(json);
}

/* "file:line:column" of a site, "" without debug info. New malloc'd string. */
static char *site_location(const struct zinst_profile *profile, uint32_t site, bool display) {
  const struct zinst_site_record *record = &profile->sites[site];
  const char *file = zinst_profile_string(profile, record->file);
  if (file[0] == '\0')
    return zinst_strdup_printf("%s", "");
  return zinst_strdup_printf("%s:%" PRIu32 ":%" PRIu32, display ? zinst_display_path(file) : file,
                             record->line, record->column);
}

/* The node's "inlined" array. Returns -1 when out of memory. */
static int json_inlined(struct zinst_json *json, const struct tree_view *view, uint32_t node) {
  const struct zinst_inlined_lines *inlined = view->inlined;
  zinst_json_key(json, "inlined");
  zinst_json_begin_array(json);
  for (uint32_t i = inlined->start[node]; i < inlined->start[node + 1]; i++) {
    const struct zinst_inlined_line *line = &inlined->lines[i];
    const struct zinst_site_record *site = &view->profile->sites[line->site];
    char *location = site_location(view->profile, line->site, false);
    if (!location)
      return -1;
    zinst_json_begin_object(json);
    zinst_json_key(json, "name");
    zinst_json_string(json, zinst_profile_string(view->profile, site->callee));
    zinst_json_key(json, "linkage_name");
    zinst_json_string(json, zinst_profile_string(view->profile, site->callee_linkage));
    zinst_json_key(json, "executions");
    zinst_json_uint(json, line->executions);
    /* true: a share of the site's count, spread over the caller's contexts by calls */
    zinst_json_key(json, "estimated");
    zinst_json_bool(json, line->estimated);
    zinst_json_key(json, "site");
    zinst_json_string(json, location);
    zinst_json_end_object(json);
    free(location);
  }
  zinst_json_end_array(json);
  return 0;
}

/* Open the node's object, down to its "children" array. JSON trees are
 * never grouped: every node is a real function. -1 when out of memory. */
static int json_open_node(struct zinst_json *json, const struct tree_view *view, uint32_t index) {
  const struct zinst_tree_node *node = &view->tree->nodes[index];
  const struct zinst_function_record *f = &view->profile->functions[node->function];
  zinst_json_begin_object(json);
  zinst_json_key(json, "name");
  zinst_json_string(json, zinst_function_name(view->profile, node->function));
  zinst_json_key(json, "file");
  zinst_json_string(json, zinst_profile_string(view->profile, f->file));
  zinst_json_key(json, "line");
  zinst_json_uint(json, f->line);
  zinst_json_key(json, "library");
  zinst_json_bool(json, (f->flags & ZINST_FUNCTION_LIBRARY) != 0);
  zinst_json_key(json, "zone");
  zinst_json_bool(json, (f->flags & ZINST_FUNCTION_ZONE) != 0);
  zinst_json_key(json, "calls");
  zinst_json_uint(json, node->calls);
  zinst_json_key(json, "timed_calls");
  zinst_json_uint(json, node->timed_calls);
  zinst_json_key(json, "total_ticks");
  zinst_json_uint(json, node->inclusive_ticks);
  zinst_json_key(json, "self_ticks");
  zinst_json_uint(json, node->exclusive_ticks);
  /* One standard error each, in ticks; 0 when measured exactly. */
  zinst_json_key(json, "total_ticks_error");
  zinst_json_uint(json, zinst_error_ticks(node->inclusive_variance));
  zinst_json_key(json, "self_ticks_error");
  zinst_json_uint(json, zinst_error_ticks(node->exclusive_variance));
  zinst_json_key(json, "total_ns");
  json_ns(json, view->profile, node->inclusive_ticks);
  zinst_json_key(json, "self_ns");
  json_ns(json, view->profile, node->exclusive_ticks);
  if (json_inlined(json, view, index) != 0)
    return -1;
  zinst_json_key(json, "children");
  zinst_json_begin_array(json);
  return 0;
}

static int add_text_row(struct zinst_table *table, const struct tree_view *view,
                        const struct zinst_tree_node *node) {
  const struct zinst_profile *profile = view->profile;
  char total_percent[ZINST_UNIT_BUFFER], self_percent[ZINST_UNIT_BUFFER], calls[ZINST_UNIT_BUFFER],
      total_time[ZINST_UNIT_BUFFER], total_error[ZINST_UNIT_BUFFER];
  zinst_format_percent(percent(weight(view, node), view->total), total_percent,
                       sizeof total_percent);
  zinst_format_percent(percent(view->timed ? node->exclusive_ticks : node->calls, view->total),
                       self_percent, sizeof self_percent);
  zinst_format_count(node->calls, calls, sizeof calls);
  const char *time = "-";
  uint64_t ns;
  if (zinst_ticks_to_ns(node->inclusive_ticks, profile->process.ticks_per_second, &ns))
    time = zinst_format_duration((double)ns, total_time, sizeof total_time);
  char *location = zinst_function_location(profile, node->function);
  /* "[library]" has no single location: its label is the name alone. */
  char *label = zinst_strdup_printf(
      "%*s%s%s%s", (int)(2 * (node->depth - 1)), "", zinst_function_name(profile, node->function),
      location && location[0] == '\0' ? "" : "  ", location ? location : "?");
  free(location);
  if (!label)
    return -1;
  int status;
  if (zinst_profile_has_time(profile)) {
    const char *cells[] = {
        total_percent,
        self_percent,
        calls,
        time,
        zinst_format_error(zinst_error_ticks(node->inclusive_variance), node->inclusive_ticks,
                           node->timed_calls == node->calls, total_error, sizeof total_error),
        label};
    status = zinst_table_add_row(table, cells);
  } else {
    const char *cells[] = {total_percent, self_percent, calls, label};
    status = zinst_table_add_row(table, cells);
  }
  free(label);
  return status;
}

/* The "[inlined]" rows under tree node `index`, one level deeper than it. */
static int add_inlined_rows(struct zinst_table *table, const struct tree_view *view,
                            uint32_t index) {
  const struct zinst_inlined_lines *inlined = view->inlined;
  const struct zinst_tree_node *node = &view->tree->nodes[index];
  const uint32_t columns = zinst_profile_has_time(view->profile) ? 6 : 4;
  int status = 0;
  for (uint32_t i = inlined->start[index]; i < inlined->start[index + 1] && status == 0; i++) {
    const struct zinst_inlined_line *line = &inlined->lines[i];
    char executions[ZINST_UNIT_BUFFER];
    zinst_format_count(line->executions, executions, sizeof executions);
    char *location = site_location(view->profile, line->site, true);
    char *label =
        location ? zinst_strdup_printf(
                       "%*s[inlined] %s  %s%s executions%s%s", (int)(2 * node->depth), "",
                       zinst_profile_string(view->profile, view->profile->sites[line->site].callee),
                       line->estimated ? "~" : "", executions, location[0] ? "  at " : "", location)
                 : NULL;
    free(location);
    if (!label)
      return -1;
    const char *cells[ZINST_TABLE_MAX_COLUMNS] = {"", "", "", "", "", ""};
    cells[columns - 1] = label;
    status = zinst_table_add_row(table, cells);
    free(label);
  }
  return status;
}

/*
 * Walk the tree of `view` in display order, emitting either table rows or
 * JSON (`json` non-NULL: the "roots" array is written). Returns -1 when out of memory.
 */
static int walk(struct tree_view *view, const struct ordered_tree *order, struct zinst_table *table,
                struct zinst_json *json) {
  const struct zinst_call_tree *tree = view->tree;
  /* stack[i]: a node being shown and the position of its next child. */
  struct frame {
    uint32_t node;
    uint32_t next;
  } *stack = malloc((size_t)tree->node_count * sizeof *stack);
  if (!stack)
    return -1;
  int status = 0;
  uint32_t depth = 0;
  stack[depth++] = (struct frame){ZINST_TREE_ROOT, order->child_start[ZINST_TREE_ROOT]};
  if (json)
    zinst_json_begin_array(json);
  while (depth > 0 && status == 0) {
    struct frame *top = &stack[depth - 1];
    if (top->next == order->child_start[top->node + 1]) {
      if (json) {
        zinst_json_end_array(json); /* children, or the roots */
        if (top->node != ZINST_TREE_ROOT)
          zinst_json_end_object(json);
      }
      depth--;
      continue;
    }
    const uint32_t child = order->children[top->next++];
    const struct zinst_tree_node *node = &tree->nodes[child];
    if (!visible(view, node))
      continue;
    if (json) {
      status = json_open_node(json, view, child);
    } else {
      status = add_text_row(table, view, node);
      if (status == 0)
        status = add_inlined_rows(table, view, child);
    }
    stack[depth++] = (struct frame){child, order->child_start[child]};
  }
  free(stack);
  return status;
}

/* Show one tree: text table with its footer, or the JSON "roots" array and counters. */
static int show_tree(const struct zinst_profile *profile, const struct tree_options *options,
                     const uint32_t *threads, uint32_t thread_count, struct zinst_json *json) {
  /* Text groups library code unless --show-library; JSON keeps every node. */
  struct zinst_shown_tree built;
  if (zinst_shown_tree_build(profile, threads, thread_count, !options->show_library && !json,
                             options->times, &built) != 0)
    return -1;
  const struct zinst_call_tree *shown = &built.tree;
  const struct zinst_inlined_lines *inlined = &built.inlined;
  const bool timed = zinst_profile_has_time(profile) && shown->total_ticks > 0;
  struct tree_view view = {
      .profile = profile,
      .tree = shown,
      .options = options,
      .inlined = inlined,
      .timed = timed,
      .total = timed ? shown->total_ticks : shown->total_calls,
  };
  struct ordered_tree order;
  if (order_children(shown, timed, &order) != 0) {
    zinst_shown_tree_free(&built);
    return -1;
  }
  uint32_t count_only_functions;
  uint64_t count_only_calls;
  int status = zinst_count_only_totals(profile, threads, thread_count, &count_only_functions,
                                       &count_only_calls);
  const struct zinst_call_tree tree = *shown;
  if (status != 0) {
    /* out of memory: reported by the caller */
  } else if (json) {
    zinst_json_key(json, "roots");
    status = walk(&view, &order, NULL, json);
    zinst_json_key(json, "hidden_below_threshold");
    zinst_json_uint(json, view.hidden_below_threshold);
    zinst_json_key(json, "hidden_below_depth");
    zinst_json_uint(json, view.hidden_below_depth);
  } else {
    static const char *const timed_headers[] = {
        "total %", "self %", "calls", "total time", "\u00b1 total", "function  file:line"};
    static const char *const count_headers[] = {"calls %", "self %", "calls",
                                                "function  file:line"};
    struct zinst_table table;
    if (zinst_profile_has_time(profile))
      zinst_table_init(&table, 6, timed_headers, "rrrrrl");
    else
      zinst_table_init(&table, 4, count_headers, "rrrl");
    status = walk(&view, &order, &table, NULL);
    if (status == 0)
      status = zinst_table_print(&table, stdout);
    zinst_table_free(&table);
    if (tree.node_count == 1)
      fputs("(no instrumented function was called)\n", stdout);
    if (view.hidden_below_threshold)
      printf("(%" PRIu64 " subtrees below %g%% hidden)\n", view.hidden_below_threshold,
             options->threshold);
    if (view.hidden_below_depth)
      printf("(%" PRIu64 " subtrees deeper than %" PRIu64 " levels not shown)\n",
             view.hidden_below_depth, options->depth);
    char executions[ZINST_UNIT_BUFFER];
    if (inlined->library_executions)
      printf("(%s inlined executions inside library code not shown; --show-library shows them)\n",
             zinst_format_count(inlined->library_executions, executions, sizeof executions));
    if (inlined->unplaced_executions)
      printf("(%s inlined executions in functions that were themselves inlined everywhere: see "
             "zinst report)\n",
             zinst_format_count(inlined->unplaced_executions, executions, sizeof executions));
    if (count_only_functions > 0) {
      char calls[ZINST_UNIT_BUFFER];
      printf("(%" PRIu32 " count-only function%s, %s calls: no hooks, so no contexts in the "
             "tree; their time is their callers' self time; see zinst report)\n",
             count_only_functions, count_only_functions == 1 ? "" : "s",
             zinst_format_count(count_only_calls, calls, sizeof calls));
    }
    if (inlined->count_only_executions)
      printf("(%s inlined executions in count-only functions not shown)\n",
             zinst_format_count(inlined->count_only_executions, executions, sizeof executions));
  }
  if (json && status == 0) {
    zinst_json_key(json, "inlined_unplaced_executions");
    zinst_json_uint(json, inlined->unplaced_executions);
    /* Count-only functions (ZINST_COUNT_ONLY) have no node: their totals. */
    zinst_json_key(json, "count_only_functions");
    zinst_json_uint(json, count_only_functions);
    zinst_json_key(json, "count_only_calls");
    zinst_json_uint(json, count_only_calls);
    zinst_json_key(json, "inlined_count_only_executions");
    zinst_json_uint(json, inlined->count_only_executions);
  }
  free_order(&order);
  zinst_shown_tree_free(&built);
  return status;
}

static int run_tree(const struct zinst_profile *profile, const struct tree_options *options) {
  uint32_t *selected;
  uint32_t selected_count;
  if (zinst_select_threads(profile, options->path, options->has_thread, options->thread, &selected,
                           &selected_count) != 0)
    return ZINST_EXIT_FAILURE;
  struct zinst_json json;
  zinst_json_init(&json, stdout);
  struct zinst_json *out = options->json ? &json : NULL;
  int status = 0;
  if (out) {
    zinst_json_begin_object(out);
    zinst_json_key(out, "profile");
    zinst_json_profile_object(out, options->path, profile);
    zinst_json_times(out, profile, options->times);
  } else {
    zinst_print_profile_header_times(stdout, options->path, profile, options->times);
  }
  if (options->per_thread) {
    if (out) {
      zinst_json_key(out, "threads");
      zinst_json_begin_array(out);
    }
    for (uint32_t k = 0; k < selected_count && status == 0; k++) {
      const uint32_t t = selected[k];
      if (out) {
        zinst_json_begin_object(out);
        zinst_json_key(out, "tid");
        zinst_json_uint(out, profile->threads[t].tid);
        zinst_json_key(out, "name");
        zinst_json_string(out, zinst_profile_string(profile, profile->threads[t].name));
      } else {
        if (k > 0)
          fputc('\n', stdout);
        zinst_print_thread_heading(stdout, profile, t);
      }
      status = show_tree(profile, options, &t, 1, out);
      if (out)
        zinst_json_end_object(out);
    }
    if (out)
      zinst_json_end_array(out);
  } else {
    status = show_tree(profile, options, selected, selected_count, out);
  }
  if (out) {
    zinst_json_end_object(out);
    if (zinst_json_finish(out) != 0)
      status = -1;
  }
  free(selected);
  if (status != 0 || fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "zinst tree: out of memory or output error\n");
    return ZINST_EXIT_FAILURE;
  }
  return ZINST_EXIT_OK;
}

enum {
  OPT_HELP = 1,
  OPT_DEPTH,
  OPT_THRESHOLD,
  OPT_THREAD,
  OPT_PER_THREAD,
  OPT_JSON,
  OPT_SHOW_LIBRARY,
  OPT_RAW
};

int zinst_cmd_tree(int argc, char **argv) {
  static const struct zinst_option_spec specs[] = {
      {"help", false, OPT_HELP},
      {"depth", true, OPT_DEPTH},
      {"threshold", true, OPT_THRESHOLD},
      {"thread", true, OPT_THREAD},
      {"per-thread", false, OPT_PER_THREAD},
      {"json", false, OPT_JSON},
      {"show-library", false, OPT_SHOW_LIBRARY},
      {"raw", false, OPT_RAW},
      {NULL, false, 0},
  };
  struct tree_options options = {0};
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "tree", argc, argv);
  const char *value;
  int id;
  while ((id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    switch (id) {
    case ZINST_ARG_ERROR:
      return ZINST_EXIT_USAGE;
    case OPT_HELP:
      fputs(help_text, stdout);
      return ZINST_EXIT_OK;
    case OPT_DEPTH:
      if (zinst_parse_uint("tree", "depth", value, &options.depth) != 0)
        return ZINST_EXIT_USAGE;
      break;
    case OPT_THRESHOLD:
      if (zinst_parse_percent("tree", "threshold", value, &options.threshold) != 0)
        return ZINST_EXIT_USAGE;
      break;
    case OPT_THREAD:
      if (zinst_parse_uint("tree", "thread", value, &options.thread) != 0)
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
      if (zinst_take_profile_argument("tree", &options.path, value) != ZINST_EXIT_OK)
        return ZINST_EXIT_USAGE;
      break;
    }
  }
  if (!options.path)
    return zinst_usage_error("tree", "missing PROFILE");
  struct zinst_profile profile;
  if (zinst_load_profile_or_complain(options.path, &profile) != 0)
    return ZINST_EXIT_FAILURE;
  const int status = run_tree(&profile, &options);
  zinst_profile_free(&profile);
  return status;
}
