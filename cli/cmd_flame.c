/*
 * cmd_flame.c - `zinst flame`: an interactive SVG flame graph of a profile.
 *
 * The graph is the calling-context tree, threads merged by call path. A
 * frame's width is the weight of its subtree: with --weight cycles, the sum
 * of the self ticks of the contexts below it (for a measured profile, its
 * inclusive ticks), so the widths are exactly those a flame graph tool
 * draws from `zinst export --format folded`; with --weight calls, the calls
 * made in the subtree; with --weight bytes, allocs or live (a profile with
 * a MEMORY section), the bytes allocated, the allocations, or the bytes
 * still live when the profile was written, by the contexts of the subtree.
 *
 * Inlined code (the profile's site counts, placed on the tree's nodes by
 * the profile model as `zinst tree` shows them): with --weight calls, each
 * callee inlined into a context is a child frame "NAME [inlined]", as wide
 * as its executions, drawn in cool colors with a dashed outline and
 * explained by a legend line. With the other weights it is not drawn: its
 * time was never measured apart from its caller's, its allocations are its
 * caller's, and the legend says so.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "flame_svg.h"
#include "profile_model.h"
#include "units.h"
#include "viz_common.h"

static const char help_text[] =
    "usage: zinst flame [options] -o OUT.svg PROFILE\n"
    "\n"
    "Write an interactive flame graph: one SVG file with its own script, to open\n"
    "in a browser. Click a frame to zoom into it, the bottom frame or 'Reset\n"
    "zoom' to go back; 'Search' (or Ctrl-F, '/') highlights the frames matching\n"
    "a regular expression and shows the share of the total they cover; hover\n"
    "for calls, time and file:line. Threads are merged by call path.\n"
    "\n"
    "With --weight calls, code the compiler inlined is drawn too: a frame\n"
    "'NAME [inlined]' above its caller, as wide as its executions (counted at\n"
    "the call site; shared by calls when the caller has several contexts),\n"
    "in blue with a dashed outline. With the other weights it is not: its time\n"
    "is part of its caller's self time, never measured apart, and what it\n"
    "allocates is its caller's.\n"
    "\n"
    "Memory (a profile of a program run with ZINST_MEMORY=1; see zinst mem):\n"
    "each context's own allocations, made while it was the innermost\n"
    "instrumented function; '" ZINST_NO_FUNCTION_FRAME "' holds those made\n"
    "with none on the stack.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   the SVG to write ('-': standard output)\n"
    "  --weight W          frame width = what the subtree's contexts did:\n"
    "                      cycles: ticks spent (default in time mode)\n"
    "                      calls: calls made (default in count mode)\n"
    "                      bytes: bytes allocated\n"
    "                      allocs: allocations (blocks)\n"
    "                      live: bytes still live when the profile was written\n"
    "                      (at exit: the leaks)\n"
    "  --icicle            top-down: callers at the top, callees below\n"
    "  --show-library      draw library functions one by one (default: each run\n"
    "                      of library frames, e.g. Zig's std, is one '[library]'\n"
    "                      frame under its caller, user callbacks above it)\n"
    "  --thread TID        only the thread(s) with this kernel thread id\n"
    "  --raw               times as measured, the hooks' own cost included\n"
    "                      (default: subtracted, as the runtime calibrated it)\n"
    "  --min-width PX      frames narrower than PX pixels are merged into one\n"
    "                      box per caller (default 0.5; 0 draws every frame)\n"
    "  --width PX          image width (default 1200)\n"
    "  --title TEXT        the title (default: the program's name)\n"
    "  -h, --help          this text\n";

struct flame_options {
  const char *path;
  const char *output;
  const char *title;
  enum zinst_weight weight;
  bool weight_given;
  bool icicle;
  bool show_library;
  enum zinst_times times;
  bool has_thread;
  uint64_t thread;
  double min_width;
  uint64_t width;
};

/* "12.3 ms" or "-" when the counter frequency is unknown. */
static const char *duration_of(const struct zinst_profile *profile, uint64_t ticks, char *buf,
                               size_t size) {
  uint64_t ns;
  if (!zinst_ticks_to_ns(ticks, profile->process.ticks_per_second, &ns)) {
    snprintf(buf, size, "-");
    return buf;
  }
  return zinst_format_duration((double)ns, buf, size);
}

/* Tooltip lines of one context. New malloc'd string, NULL when out of memory. */
static char *node_details(const struct zinst_profile *profile, const struct zinst_tree_node *node,
                          uint64_t total_ticks) {
  char *location = zinst_function_location(profile, node->function);
  if (location && location[0] == '\0') { /* "[library]": grouped library code */
    free(location);
    location = zinst_strdup_printf("%s", "library code, several functions");
  }
  char calls[ZINST_UNIT_BUFFER], total[ZINST_UNIT_BUFFER], self[ZINST_UNIT_BUFFER],
      error[ZINST_UNIT_BUFFER];
  zinst_format_count(node->calls, calls, sizeof calls);
  char *text;
  if (!zinst_profile_has_time(profile)) {
    text = zinst_strdup_printf("calls %s, %s\ncalls: %" PRIu64 " (count-mode profile: no times)",
                               calls, location ? location : "?", node->calls);
  } else {
    const char *unit = zinst_tick_unit(profile);
    duration_of(profile, node->inclusive_ticks, total, sizeof total);
    duration_of(profile, node->exclusive_ticks, self, sizeof self);
    zinst_format_error(zinst_error_ticks(node->inclusive_variance), node->inclusive_ticks,
                       node->timed_calls == node->calls, error, sizeof error);
    const double share =
        total_ticks ? 100.0 * (double)node->inclusive_ticks / (double)total_ticks : 0;
    text = zinst_strdup_printf("calls %s, total %s, self %s, %s\n"
                               "calls: %" PRIu64 " (%" PRIu64 " timed)\n"
                               "total: %s, %" PRIu64 " %s, %.2f%% of all (%s)\n"
                               "self: %s, %" PRIu64 " %s\n"
                               "%s",
                               calls, total, self, location ? location : "?", node->calls,
                               node->timed_calls, total, node->inclusive_ticks, unit, share, error,
                               self, node->exclusive_ticks, unit, location ? location : "?");
  }
  free(location);
  return text;
}

/* "s" unless `count` is 1. */
static const char *plural(uint64_t count) {
  return count == 1 ? "" : "s";
}

/* Tooltip lines of one context weighed by memory: a summary line ending in
 * its location, then its own allocations, their frees, live and peak bytes,
 * and its calls. `name_line` (may be NULL) replaces the location (the
 * pseudo-frame of no function). New
 * malloc'd string, NULL when out of memory. */
static char *memory_details(const struct zinst_profile *profile, const struct zinst_tree_node *node,
                            const char *name_line) {
  const struct zinst_tree_memory *m = &node->memory;
  char *location = name_line ? NULL : zinst_function_location(profile, node->function);
  if (location && location[0] == '\0') { /* "[library]": grouped library code */
    free(location);
    location = zinst_strdup_printf("%s", "library code, several functions");
  }
  const char *where = name_line ? name_line : location ? location : "?";
  const uint64_t live = m->allocated_bytes - m->freed_bytes,
                 live_blocks = m->allocations - m->frees;
  char bytes[ZINST_UNIT_BUFFER], live_text[ZINST_UNIT_BUFFER];
  zinst_format_bytes(m->allocated_bytes, bytes, sizeof bytes);
  zinst_format_bytes(live, live_text, sizeof live_text);
  char *peak = m->threads > 1
                   ? zinst_strdup_printf(" (the sum of %" PRIu64 " threads' peaks: an upper bound)",
                                         m->threads)
                   : zinst_strdup_printf("%s", "");
  char *text =
      peak ? zinst_strdup_printf(
                 "own: %s in %" PRIu64 " allocation%s, %s live, %s\n"
                 "its allocations: %" PRIu64 " block%s, %" PRIu64 " bytes\n"
                 "their frees: %" PRIu64 " block%s, %" PRIu64 " bytes\n"
                 "live %s: %" PRIu64 " block%s, %" PRIu64 " bytes\n"
                 "peak live: %" PRIu64 " bytes%s\n"
                 "calls: %" PRIu64,
                 bytes, m->allocations, plural(m->allocations), live_text, where, m->allocations,
                 plural(m->allocations), m->allocated_bytes, m->frees, plural(m->frees),
                 m->freed_bytes,
                 profile->process.dump_reason == ZINST_DUMP_EXIT ? "at exit" : "when written",
                 live_blocks, plural(live_blocks), live, m->peak_live_bytes, peak, node->calls)
           : NULL;
  free(peak);
  free(location);
  return text;
}

/*
 * The frame of the callee of line `k` of node `node`, with the executions
 * of all its sites there and tooltip lines naming them, under
 * `parent_frame`. Returns the new frame's index, ZINST_NONE when out of
 * memory. Called for the first line of each callee only.
 */
static uint32_t add_inlined_frame(struct zinst_flame_graph *graph,
                                  const struct zinst_profile *profile, const char *caller,
                                  uint32_t parent_frame, const struct zinst_inlined_lines *inlined,
                                  uint32_t node, uint32_t k) {
  bool estimated;
  const uint64_t executions =
      zinst_inlined_callee_executions(profile, inlined, node, k, &estimated);
  const struct zinst_inlined_line *lines = inlined->lines;
  char count[ZINST_UNIT_BUFFER];
  zinst_format_count(executions, count, sizeof count);
  char *details = zinst_strdup_printf(
      "inlined into %s: %s%s executions\nexecutions: %" PRIu64 "%s\n"
      "no time of its own: it is part of %s's self time\nsites:",
      caller, estimated ? "~" : "", count, executions,
      estimated ? " (a share of the sites' counts, by the caller's calls per context)" : "",
      caller);
  for (uint32_t m = k; m < inlined->start[node + 1] && details; m++) {
    if (!zinst_inlined_same_callee(profile, &lines[k], &lines[m]))
      continue;
    const struct zinst_site_record *site = &profile->sites[lines[m].site];
    const char *file = zinst_profile_string(profile, site->file);
    char *longer = zinst_strdup_printf("%s %s:%" PRIu32 ":%" PRIu32 " (%" PRIu64 ")", details,
                                       file[0] ? zinst_display_path(file) : "?", site->line,
                                       site->column, lines[m].executions);
    free(details);
    details = longer;
  }
  char *name = zinst_strdup_printf(
      "%s [inlined]", zinst_profile_string(profile, profile->sites[lines[k].site].callee));
  if (!details) {
    free(name);
    return ZINST_NONE;
  }
  const uint32_t frame = zinst_flame_add(graph, parent_frame, name, details, executions);
  if (frame != ZINST_NONE)
    graph->frames[frame].flags |= ZINST_FLAME_INLINED;
  return frame;
}

/*
 * Frames of `tree` in `graph` (which holds just the root); with `inlined`
 * (calls weight only), above each node a frame per callee inlined into
 * it, that callee's sites in the node merged. -1 when out of memory.
 */
static int build_graph(const struct zinst_profile *profile, const struct zinst_call_tree *tree,
                       enum zinst_weight by, const struct zinst_inlined_lines *inlined,
                       struct zinst_flame_graph *graph) {
  const bool memory = zinst_weight_is_memory(by);
  const uint32_t n = tree->node_count;
  uint32_t *frame_of = malloc((size_t)n * sizeof *frame_of);
  uint64_t *weight = calloc(n, sizeof *weight);
  if (!frame_of || !weight) {
    free(frame_of);
    free(weight);
    return -1;
  }
  /* Children have larger indices than parents: one backward pass sums subtrees. */
  for (uint32_t i = n; i-- > 1;) {
    const struct zinst_tree_node *node = &tree->nodes[i];
    weight[i] += memory                     ? zinst_memory_weight(&node->memory, by)
                 : by == ZINST_WEIGHT_CALLS ? node->calls
                                            : node->exclusive_ticks;
    if (inlined)
      for (uint32_t k = inlined->start[i]; k < inlined->start[i + 1]; k++)
        weight[i] += inlined->lines[k].executions;
    weight[node->parent] += weight[i];
  }
  /* Memory of no instrumented function (the root's own): a frame of its own. */
  const uint64_t unattached = memory ? zinst_memory_weight(&tree->nodes[0].memory, by) : 0;
  weight[0] += unattached;
  graph->frames[0].weight = weight[0];
  frame_of[0] = 0;
  int status = 0;
  if (unattached > 0) {
    char *details = memory_details(profile, &tree->nodes[0],
                                   "allocated with no instrumented function on the stack");
    if (zinst_flame_add(graph, 0, strdup(ZINST_NO_FUNCTION_FRAME), details, unattached) ==
            ZINST_NONE ||
        !details)
      status = -1;
  }
  for (uint32_t i = 1; i < n && status == 0; i++) {
    const struct zinst_tree_node *node = &tree->nodes[i];
    char *name = strdup(zinst_function_name(profile, node->function));
    char *details = memory ? memory_details(profile, node, NULL)
                           : node_details(profile, node, tree->total_ticks);
    frame_of[i] = zinst_flame_add(graph, frame_of[node->parent], name, details, weight[i]);
    if (frame_of[i] == ZINST_NONE || !details)
      status = -1;
    if (!inlined)
      continue;
    /* One frame per callee, made at its first line in the node. */
    for (uint32_t k = inlined->start[i]; k < inlined->start[i + 1] && status == 0; k++)
      if (zinst_inlined_callee_executions(profile, inlined, i, k, NULL) > 0 &&
          add_inlined_frame(graph, profile, zinst_function_name(profile, node->function),
                            frame_of[i], inlined, i, k) == ZINST_NONE)
        status = -1;
  }
  free(frame_of);
  free(weight);
  return status;
}

/* The legend line: what the inlined frames are, or why there are none.
 * New malloc'd string; NULL when the selection ran no inlined code, or when
 * out of memory (then *failed is set). */
static char *legend_text(const struct zinst_inlined_lines *inlined, enum zinst_weight by,
                         bool *failed) {
  uint64_t placed = 0;
  for (uint32_t i = 0; i < inlined->count; i++)
    placed += inlined->lines[i].executions;
  const uint64_t all = placed + inlined->unplaced_executions + inlined->library_executions +
                       inlined->count_only_executions;
  *failed = false;
  if (all == 0)
    return NULL;
  char count[ZINST_UNIT_BUFFER], unplaced[ZINST_UNIT_BUFFER], library[ZINST_UNIT_BUFFER];
  char *text;
  if (by == ZINST_WEIGHT_CYCLES) {
    text = zinst_strdup_printf("%s executions of inlined code are not drawn: their time is their "
                               "callers' self time (--weight calls draws them)",
                               zinst_format_count(all, count, sizeof count));
  } else if (by != ZINST_WEIGHT_CALLS) {
    text = zinst_strdup_printf("%s executions of inlined code are not drawn: what they allocate "
                               "is their callers' (--weight calls draws them)",
                               zinst_format_count(all, count, sizeof count));
  } else {
    /* What is not drawn: sites in functions inlined everywhere (no frame
     * to place them on) and, when it is grouped, inside library code. */
    char not_drawn[240] = "";
    char count_only[ZINST_UNIT_BUFFER];
    if (inlined->unplaced_executions || inlined->library_executions ||
        inlined->count_only_executions)
      snprintf(not_drawn, sizeof not_drawn, "; not drawn: %s%s%s%s%s%s%s%s",
               inlined->unplaced_executions
                   ? zinst_format_count(inlined->unplaced_executions, unplaced, sizeof unplaced)
                   : "",
               inlined->unplaced_executions ? " in functions inlined everywhere" : "",
               inlined->unplaced_executions && inlined->library_executions ? ", " : "",
               inlined->library_executions
                   ? zinst_format_count(inlined->library_executions, library, sizeof library)
                   : "",
               inlined->library_executions ? " inside library code" : "",
               (inlined->unplaced_executions || inlined->library_executions) &&
                       inlined->count_only_executions
                   ? ", "
                   : "",
               inlined->count_only_executions ? zinst_format_count(inlined->count_only_executions,
                                                                   count_only, sizeof count_only)
                                              : "",
               inlined->count_only_executions ? " in count-only functions" : "");
    text = zinst_strdup_printf(
        "[inlined]: code the compiler inlined into the frame below, %s executions%s",
        zinst_format_count(placed, count, sizeof count), not_drawn);
  }
  *failed = text == NULL;
  return text;
}

static int run_flame(const struct zinst_profile *profile, const struct flame_options *options) {
  uint32_t *threads;
  uint32_t thread_count;
  if (zinst_select_threads(profile, options->path, options->has_thread, options->thread, &threads,
                           &thread_count) != 0)
    return ZINST_EXIT_FAILURE;
  /* Library code as "[library]" frames unless --show-library. */
  struct zinst_shown_tree shown;
  uint32_t count_only_functions = 0;
  uint64_t count_only_calls = 0;
  int built = zinst_count_only_totals(profile, threads, thread_count, &count_only_functions,
                                      &count_only_calls);
  if (built == 0)
    built = zinst_shown_tree_build(profile, threads, thread_count, !options->show_library,
                                   options->times, &shown);
  free(threads);
  if (built != 0) {
    fprintf(stderr, "zinst flame: out of memory\n");
    return ZINST_EXIT_FAILURE;
  }
  const struct zinst_call_tree *tree = &shown.tree;
  const char *program = zinst_base_name(zinst_profile_string(profile, profile->process.exe_path));
  char *root_name = zinst_strdup_printf("all (%s)", program[0] ? program : "?");
  char elapsed[ZINST_UNIT_BUFFER];
  zinst_format_duration((double)profile->process.elapsed_ns, elapsed, sizeof elapsed);
  /* Count-only functions have no frame to draw: the root says so. */
  char count_only_note[160] = "";
  if (count_only_functions > 0)
    snprintf(count_only_note, sizeof count_only_note,
             "\n%" PRIu32 " count-only function%s (%" PRIu64
             " calls) not drawn: no hooks, their time is their callers'; see zinst report",
             count_only_functions, count_only_functions == 1 ? "" : "s", count_only_calls);
  const enum zinst_weight by = options->weight;
  const bool by_calls = by == ZINST_WEIGHT_CALLS;
  char *root_details;
  if (zinst_weight_is_memory(by)) {
    struct zinst_tree_memory all = {0};
    for (uint32_t i = 0; i < tree->node_count; i++)
      zinst_tree_memory_add(&all, &tree->nodes[i].memory);
    root_details = zinst_strdup_printf(
        "%" PRIu32 " threads, %" PRIu64 " allocations of %" PRIu64 " bytes, %" PRIu64
        " frees of %" PRIu64 " bytes, %" PRIu64 " bytes live %s",
        profile->thread_count, all.allocations, all.allocated_bytes, all.frees, all.freed_bytes,
        all.allocated_bytes - all.freed_bytes,
        profile->process.dump_reason == ZINST_DUMP_EXIT ? "at exit" : "when written");
  } else {
    root_details =
        zinst_strdup_printf("%" PRIu32 " threads, %" PRIu64 " calls, %s elapsed%s",
                            profile->thread_count, tree->total_calls, elapsed, count_only_note);
  }
  char *title = options->title ? NULL : zinst_strdup_printf("%s", program[0] ? program : "?");
  const char *width_text = "cycles in the subtree";
  if (by_calls)
    width_text = "calls and inlined executions in the subtree";
  else if (by == ZINST_WEIGHT_BYTES)
    width_text = "bytes allocated in the subtree (ZINST_MEMORY)";
  else if (by == ZINST_WEIGHT_ALLOCS)
    width_text = "allocations in the subtree (ZINST_MEMORY)";
  else if (by == ZINST_WEIGHT_LIVE)
    width_text = profile->process.dump_reason == ZINST_DUMP_EXIT
                     ? "bytes live at exit (leaks) allocated in the subtree (ZINST_MEMORY)"
                     : "bytes live when the profile was written, allocated in the subtree "
                       "(ZINST_MEMORY)";
  /* Which times (widths, tooltips): with or without the hooks' cost. */
  const char *hooks = !zinst_profile_has_time(profile) || zinst_weight_is_memory(by) ? ""
                      : zinst_hook_correction(profile, options->times) ? ", hook cost subtracted"
                                                                       : ", hook cost included";
  char *subtitle =
      zinst_strdup_printf("%s, width: %s%s%s", zinst_base_name(options->path), width_text,
                          by == ZINST_WEIGHT_CYCLES && profile->process.sample_interval > 1
                              ? " (sampled timing: estimates)"
                              : "",
                          hooks);
  bool legend_failed;
  char *legend = legend_text(&shown.inlined, by, &legend_failed);
  struct zinst_flame_graph graph = {0};
  int status = -1;
  if (root_name && root_details && subtitle && !legend_failed && (options->title || title) &&
      zinst_flame_init(&graph, root_name, root_details) == 0 &&
      build_graph(profile, tree, by, by_calls ? &shown.inlined : NULL, &graph) == 0)
    status = 0;
  if (status != 0)
    fprintf(stderr, "zinst flame: out of memory\n");
  struct zinst_output output;
  if (status == 0 && zinst_output_open(&output, "flame", options->output) != 0)
    status = 1;
  if (status == 0) {
    const struct zinst_flame_style style = {
        .title = options->title ? options->title : title,
        .subtitle = subtitle,
        .weight_unit = zinst_weight_unit(profile, by),
        .icicle = options->icicle,
        .width_px = (uint32_t)options->width,
        .min_width_px = options->min_width,
        .legend = legend,
        .legend_swatch = by_calls && shown.inlined.count > 0,
    };
    struct zinst_flame_stats stats;
    if (zinst_flame_write_svg(output.file, &graph, &style, &stats) != 0) {
      fprintf(stderr, "zinst flame: out of memory or output error\n");
      zinst_output_abandon(&output);
      status = 1;
    } else if (zinst_output_commit(&output, "flame") != 0) {
      status = 1;
    } else if (strcmp(options->output, "-") != 0) {
      fprintf(stderr, "zinst flame: wrote %s: %" PRIu32 " frames", options->output,
              stats.frames_drawn);
      if (stats.merged_boxes)
        fprintf(stderr, ", %" PRIu32 " narrow frames merged into %" PRIu32 " boxes",
                stats.frames_merged, stats.merged_boxes);
      fputc('\n', stderr);
    }
  }
  zinst_flame_free(&graph);
  zinst_shown_tree_free(&shown);
  free(root_name);
  free(root_details);
  free(title);
  free(subtitle);
  free(legend);
  return status == 0 ? ZINST_EXIT_OK : ZINST_EXIT_FAILURE;
}

enum {
  OPT_HELP = 1,
  OPT_OUTPUT,
  OPT_WEIGHT,
  OPT_ICICLE,
  OPT_SHOW_LIBRARY,
  OPT_THREAD,
  OPT_MIN_WIDTH,
  OPT_WIDTH,
  OPT_TITLE,
  OPT_RAW
};

int zinst_cmd_flame(int argc, char **argv) {
  static const struct zinst_option_spec specs[] = {
      {"help", false, OPT_HELP},
      {"output", true, OPT_OUTPUT},
      {"weight", true, OPT_WEIGHT},
      {"icicle", false, OPT_ICICLE},
      {"show-library", false, OPT_SHOW_LIBRARY},
      {"thread", true, OPT_THREAD},
      {"min-width", true, OPT_MIN_WIDTH},
      {"width", true, OPT_WIDTH},
      {"title", true, OPT_TITLE},
      {"raw", false, OPT_RAW},
      {NULL, false, 0},
  };
  struct flame_options options = {.min_width = 0.5, .width = 1200};
  zinst_viz_accept_short_output(argc, argv);
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "flame", argc, argv);
  const char *value;
  int id;
  while ((id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    switch (id) {
    case ZINST_ARG_ERROR:
      return ZINST_EXIT_USAGE;
    case OPT_HELP:
      fputs(help_text, stdout);
      return ZINST_EXIT_OK;
    case OPT_OUTPUT:
      options.output = value;
      break;
    case OPT_WEIGHT:
      if (!zinst_weight_parse(value, &options.weight))
        return zinst_usage_error("flame", "--weight wants " ZINST_WEIGHT_NAMES ", got '%s'", value);
      options.weight_given = true;
      break;
    case OPT_ICICLE:
      options.icicle = true;
      break;
    case OPT_SHOW_LIBRARY:
      options.show_library = true;
      break;
    case OPT_RAW:
      options.times = ZINST_TIMES_RAW;
      break;
    case OPT_THREAD:
      if (zinst_parse_uint("flame", "thread", value, &options.thread) != 0)
        return ZINST_EXIT_USAGE;
      options.has_thread = true;
      break;
    case OPT_MIN_WIDTH: {
      char *end;
      options.min_width = strtod(value, &end);
      if (end == value || *end != '\0' || !(options.min_width >= 0 && options.min_width <= 1000))
        return zinst_usage_error("flame", "--min-width wants pixels from 0 to 1000, got '%s'",
                                 value);
      break;
    }
    case OPT_WIDTH:
      if (zinst_parse_uint("flame", "width", value, &options.width) != 0)
        return ZINST_EXIT_USAGE;
      if (options.width < 200 || options.width > 100000)
        return zinst_usage_error("flame", "--width wants 200 to 100000 pixels, got '%s'", value);
      break;
    case OPT_TITLE:
      options.title = value;
      break;
    case ZINST_ARG_POSITIONAL:
      if (zinst_take_profile_argument("flame", &options.path, value) != ZINST_EXIT_OK)
        return ZINST_EXIT_USAGE;
      break;
    }
  }
  if (!options.path)
    return zinst_usage_error("flame", "missing PROFILE");
  if (!options.output)
    return zinst_usage_error("flame", "missing -o OUT.svg");
  struct zinst_profile profile;
  if (zinst_load_profile_or_complain(options.path, &profile) != 0)
    return ZINST_EXIT_FAILURE;
  int status = ZINST_EXIT_FAILURE;
  if (zinst_weight_resolve(&profile, options.path, "flame", options.weight_given,
                           &options.weight) == 0)
    status = run_flame(&profile, &options);
  zinst_profile_free(&profile);
  return status;
}
