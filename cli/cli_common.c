/*
 * cli_common.c - what the subcommands share: argument parsing, loading a
 * profile with a readable complaint, thread selection, function labels and
 * the profile header.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "json_writer.h"
#include "profile_model.h"
#include "units.h"

void zinst_args_init(struct zinst_arg_parser *parser, const char *command, int argc, char **argv) {
  *parser = (struct zinst_arg_parser){.command = command, .argc = argc, .argv = argv, .next = 1};
}

int zinst_usage_error(const char *command, const char *fmt, ...) {
  fprintf(stderr, "zinst %s: ", command);
  va_list args;
  va_start(args, fmt);
  vfprintf(stderr, fmt, args);
  va_end(args);
  fprintf(stderr, "\nTry 'zinst %s --help'.\n", command);
  return ZINST_EXIT_USAGE;
}

int zinst_args_next(struct zinst_arg_parser *parser, const struct zinst_option_spec *specs,
                    const char **value) {
  *value = NULL;
  if (parser->next >= parser->argc)
    return ZINST_ARG_END;
  const char *arg = parser->argv[parser->next++];
  if (parser->positional_only || arg[0] != '-' || strcmp(arg, "-") == 0) {
    *value = arg;
    return ZINST_ARG_POSITIONAL;
  }
  if (strcmp(arg, "--") == 0) {
    parser->positional_only = true;
    return zinst_args_next(parser, specs, value);
  }
  const char *name = strcmp(arg, "-h") == 0 ? "help" : arg + (arg[1] == '-' ? 2 : 1);
  if (arg[1] != '-' && strcmp(arg, "-h") != 0) {
    zinst_usage_error(parser->command, "unknown option '%s'", arg);
    return ZINST_ARG_ERROR;
  }
  const char *equals = strchr(name, '=');
  const size_t name_length = equals ? (size_t)(equals - name) : strlen(name);
  for (const struct zinst_option_spec *spec = specs; spec->name; spec++) {
    if (strlen(spec->name) != name_length || strncmp(spec->name, name, name_length) != 0)
      continue;
    if (!spec->takes_value) {
      if (equals) {
        zinst_usage_error(parser->command, "option '--%s' takes no value", spec->name);
        return ZINST_ARG_ERROR;
      }
      return spec->id;
    }
    if (equals) {
      *value = equals + 1;
    } else if (parser->next < parser->argc) {
      *value = parser->argv[parser->next++];
    } else {
      zinst_usage_error(parser->command, "option '--%s' needs a value", spec->name);
      return ZINST_ARG_ERROR;
    }
    return spec->id;
  }
  zinst_usage_error(parser->command, "unknown option '%.*s'", (int)(name - arg + name_length), arg);
  return ZINST_ARG_ERROR;
}

int zinst_parse_uint(const char *command, const char *option, const char *text, uint64_t *out) {
  char *end;
  errno = 0;
  const unsigned long long value = strtoull(text, &end, 10);
  if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno == ERANGE) {
    zinst_usage_error(command, "option '--%s' wants a non-negative integer, got '%s'", option,
                      text);
    return -1;
  }
  *out = value;
  return 0;
}

int zinst_parse_percent(const char *command, const char *option, const char *text, double *out) {
  char *end;
  errno = 0;
  const double value = strtod(text, &end);
  if (end == text || (*end != '\0' && strcmp(end, "%") != 0) || errno == ERANGE ||
      !(value >= 0 && value <= 100)) {
    zinst_usage_error(command, "option '--%s' wants a percentage from 0 to 100, got '%s'", option,
                      text);
    return -1;
  }
  *out = value;
  return 0;
}

int zinst_take_profile_argument(const char *command, const char **path, const char *value) {
  if (*path)
    return zinst_usage_error(command, "one PROFILE expected, got '%s' and '%s'", *path, value);
  *path = value;
  return ZINST_EXIT_OK;
}

int zinst_load_profile_or_complain(const char *path, struct zinst_profile *profile) {
  char message[1024];
  const char *real_path = strcmp(path, "-") == 0 ? "/dev/stdin" : path;
  if (zinst_profile_load(real_path, profile, message, sizeof message) != 0) {
    fprintf(stderr, "zinst: %s\n", message);
    return -1;
  }
  return 0;
}

int zinst_select_threads(const struct zinst_profile *profile, const char *path, bool has_tid,
                         uint64_t tid, uint32_t **threads, uint32_t *count) {
  *threads = malloc((profile->thread_count ? profile->thread_count : 1) * sizeof **threads);
  *count = 0;
  if (!*threads) {
    fprintf(stderr, "zinst: out of memory\n");
    return -1;
  }
  for (uint32_t t = 0; t < profile->thread_count; t++)
    if (!has_tid || profile->threads[t].tid == tid)
      (*threads)[(*count)++] = t;
  if (has_tid && *count == 0) {
    fprintf(stderr, "zinst: %s has no thread with tid %" PRIu64 "; its threads are:", path, tid);
    for (uint32_t t = 0; t < profile->thread_count; t++)
      fprintf(stderr, " %" PRIu64, profile->threads[t].tid);
    fputc('\n', stderr);
    free(*threads);
    *threads = NULL;
    return -1;
  }
  return 0;
}

bool zinst_profile_has_time(const struct zinst_profile *profile) {
  return profile->process.mode == ZINST_MODE_TIME;
}

const char *zinst_tick_unit(const struct zinst_profile *profile) {
  return profile->process.clock_flags & ZINST_CLOCK_TSC ? "cycles" : "ticks";
}

static const char *clock_description(uint32_t flags) {
  if (flags & ZINST_CLOCK_TSC)
    return flags & ZINST_CLOCK_TSC_INVARIANT
               ? "TSC, invariant"
               : "TSC, NOT invariant (times drift when the CPU frequency changes)";
  if (flags & ZINST_CLOCK_VIRTUAL_COUNTER)
    return "virtual counter";
  if (flags & ZINST_CLOCK_NANOSECONDS)
    return "CLOCK_MONOTONIC nanoseconds";
  return "unknown clock";
}

static const char *dump_reason_name(uint32_t reason) {
  switch (reason) {
  case ZINST_DUMP_EXIT:
    return "at exit";
  case ZINST_DUMP_API:
    return "by zinst_dump()";
  case ZINST_DUMP_SIGNAL:
    return "on a signal";
  default:
    return "for an unknown reason";
  }
}

uint64_t zinst_profile_processes(const struct zinst_profile *profile) {
  uint64_t processes = 0;
  for (uint32_t t = 0; t < profile->thread_count; t++)
    if (profile->threads[t].flags & ZINST_THREAD_MAIN)
      processes += profile->threads[t].thread_count;
  return processes;
}

/* Nanoseconds of `ps` picoseconds, for the header: "5.61". */
static const char *ps_as_ns(uint32_t ps, char *buffer, size_t size) {
  const double ns = (double)ps / 1000.0;
  snprintf(buffer, size, ns < 10 ? "%.2f" : ns < 100 ? "%.1f" : "%.0f", ns);
  return buffer;
}

void zinst_describe_times(const struct zinst_profile *profile, enum zinst_times times, char *buffer,
                          size_t size) {
  const struct zinst_process_record *p = &profile->process;
  if (size == 0)
    return;
  buffer[0] = '\0';
  if (!zinst_profile_has_time(profile))
    return;
  /* What is calibrated: the hooks, or the code inlined in place of them. */
  const char *cost = strcmp(zinst_profile_instrumentation(profile), "hooks") == 0
                         ? "hook cost"
                         : "inline code's cost";
  if (!zinst_profile_has_hook_costs(profile)) {
    snprintf(buffer, size, "times as measured, %s included (the profile has no calibration of it)",
             cost);
    return;
  }
  /* The mean pair over every call in the file: what a call costs on average. */
  uint64_t calls = 0;
  double pairs_ps = 0;
  for (uint32_t n = 0; n < profile->node_count; n++) {
    const struct zinst_node_record *node = &profile->nodes[n];
    calls += node->calls;
    pairs_ps += (double)node->timed_calls * p->hook_timed_pair_ps +
                (double)(node->calls - node->timed_calls) * p->hook_untimed_pair_ps;
  }
  char mean[32], untimed[32], timed[32], inner[32], spread[32];
  ps_as_ns(calls ? (uint32_t)(pairs_ps / (double)calls + 0.5) : 0, mean, sizeof mean);
  ps_as_ns(p->hook_untimed_pair_ps, untimed, sizeof untimed);
  ps_as_ns(p->hook_timed_pair_ps, timed, sizeof timed);
  ps_as_ns(p->hook_timed_inner_ps, inner, sizeof inner);
  ps_as_ns(p->hook_spread_ps, spread, sizeof spread);
  /* The calibration prices the hooks with nothing beside them; where the
   * processor ran them beside the program's own work (a long dependency
   * chain) they cost less, and this takes too much: the line says it is
   * the whole cost (README, Known limits, has the measured error). */
  if (zinst_hook_correction(profile, times))
    snprintf(buffer, size,
             "%s subtracted in full (out-of-order execution may have hidden part of it): "
             "%s ns per call (untimed %s, timed %s of which %s in the callee's own time; "
             "calibration spread %s ns); --raw shows times as measured",
             cost, mean, untimed, timed, inner, spread);
  else
    snprintf(buffer, size,
             "times as measured, %s included: %s ns per call (untimed %s, timed %s of "
             "which %s in the callee's own time)",
             cost, mean, untimed, timed, inner);
}

static void print_header(FILE *out, const char *path, const struct zinst_profile *profile,
                         const enum zinst_times *times);

void zinst_print_profile_header(FILE *out, const char *path, const struct zinst_profile *profile) {
  print_header(out, path, profile, NULL);
}

void zinst_print_profile_header_times(FILE *out, const char *path,
                                      const struct zinst_profile *profile, enum zinst_times times) {
  print_header(out, path, profile, &times);
}

/* The header; with the line on `times` when not NULL. */
static void print_header(FILE *out, const char *path, const struct zinst_profile *profile,
                         const enum zinst_times *times) {
  const struct zinst_process_record *p = &profile->process;
  char buffer[ZINST_UNIT_BUFFER];
  fprintf(out, "profile:  %s (written %s)\n", zinst_display_path(path),
          dump_reason_name(p->dump_reason));
  fprintf(out, "program:  %s\n", zinst_display_path(zinst_profile_string(profile, p->exe_path)));
  const char *command_line = zinst_profile_string(profile, p->command_line);
  if (command_line[0])
    fprintf(out, "command:  %s\n", command_line);
  uint32_t merged = 0;
  for (uint32_t t = 0; t < profile->thread_count; t++)
    if ((profile->threads[t].flags & ZINST_THREAD_MERGED) &&
        !(profile->threads[t].flags & ZINST_THREAD_MAIN))
      merged++;
  const uint64_t processes = zinst_profile_processes(profile);
  fprintf(out, "pid:      %" PRIu64, p->pid);
  if (processes > 1)
    fprintf(out, " (the first of %" PRIu64 " processes merged)", processes);
  fprintf(out, "    threads: %" PRIu32, profile->thread_count);
  if (merged)
    fprintf(out, " (%" PRIu32 " of them merged exited threads)", merged);
  fprintf(out, "    mode: %s", p->mode == ZINST_MODE_COUNT ? "count" : "time");
  const char *instrumentation = zinst_profile_instrumentation(profile);
  if (strcmp(instrumentation, "hooks") != 0)
    fprintf(out, " (%s)", instrumentation);
  fputc('\n', out);
  fprintf(out, "elapsed:  %s %s\n",
          zinst_format_duration((double)p->elapsed_ns, buffer, sizeof buffer),
          processes > 1 ? "summed over the processes" : "wall");
  if (p->ticks_per_second == 0)
    fprintf(out, "counter:  frequency unknown (%s); times are not shown\n",
            clock_description(p->clock_flags));
  else if (p->ticks_per_second >= 1000000000u)
    fprintf(out, "counter:  %.2f GHz, %s\n", (double)p->ticks_per_second / 1e9,
            clock_description(p->clock_flags));
  else
    fprintf(out, "counter:  %.2f MHz, %s\n", (double)p->ticks_per_second / 1e6,
            clock_description(p->clock_flags));
  if (p->mode == ZINST_MODE_TIME) {
    if (p->sample_interval <= 1)
      fprintf(out, "timing:   every activation (exact)\n");
    else {
      if (p->sample_limit == 0)
        fprintf(out,
                "timing:   1 in %" PRIu32 " activations sampled (first %" PRIu32
                " calls of each context exact)",
                p->sample_interval, p->exact_calls_per_context);
      else if (p->sample_error == 0)
        fprintf(out,
                "timing:   1 in %" PRIu32 " activations sampled, half as often each time a context "
                "has %" PRIu32 " samples, earlier ones weighted (first %" PRIu32
                " calls of each context exact)",
                p->sample_interval, p->sample_limit, p->exact_calls_per_context);
      else
        fprintf(out,
                "timing:   1 in %" PRIu32 " activations sampled, half as often each time a context "
                "has enough samples (its mean within \u00b1%" PRIu32 "%%, or %" PRIu32
                " samples), earlier ones weighted (first %" PRIu32 " calls of each context exact)",
                p->sample_interval, p->sample_error, p->sample_limit, p->exact_calls_per_context);
      if (p->sample_outlier != 0)
        fprintf(out, "; a sample over %" PRIu32 "x its context's mean counts its excess once",
                p->sample_outlier);
      fprintf(out, "; \u00b1 is a 95%% interval\n");
    }
    if (times) {
      char line[512];
      zinst_describe_times(profile, *times, line, sizeof line);
      /* "hooks:" for the hooks build, "cost:" for the inline code's. */
      fprintf(out, "%-10s%s\n", strcmp(instrumentation, "hooks") == 0 ? "hooks:" : "cost:", line);
    }
  }
  if (p->depth_overflow_calls)
    fprintf(out,
            "warning:  %" PRIu64 " calls were deeper than the maximum depth %" PRIu32
            ": counted under their ancestor at that depth, which also holds their time\n",
            p->depth_overflow_calls, p->max_depth);
  if (p->lost_calls)
    fprintf(out, "warning:  %" PRIu64 " calls were not recorded (node arena exhausted)\n",
            p->lost_calls);
  fputc('\n', out);
}

void zinst_json_profile_object(struct zinst_json *json, const char *path,
                               const struct zinst_profile *profile) {
  const struct zinst_process_record *p = &profile->process;
  zinst_json_begin_object(json);
  zinst_json_key(json, "path");
  zinst_json_string(json, path);
  zinst_json_key(json, "pid");
  zinst_json_uint(json, p->pid);
  zinst_json_key(json, "exe");
  zinst_json_string(json, zinst_profile_string(profile, p->exe_path));
  zinst_json_key(json, "command_line");
  zinst_json_string(json, zinst_profile_string(profile, p->command_line));
  zinst_json_key(json, "mode");
  zinst_json_string(json, p->mode == ZINST_MODE_COUNT ? "count" : "time");
  zinst_json_key(json, "instrumentation");
  zinst_json_string(json, zinst_profile_instrumentation(profile));
  zinst_json_key(json, "dump_reason");
  zinst_json_string(json, p->dump_reason == ZINST_DUMP_EXIT     ? "exit"
                          : p->dump_reason == ZINST_DUMP_API    ? "api"
                          : p->dump_reason == ZINST_DUMP_SIGNAL ? "signal"
                                                                : "unknown");
  zinst_json_key(json, "ticks_per_second");
  zinst_json_uint(json, p->ticks_per_second);
  zinst_json_key(json, "elapsed_ns");
  zinst_json_uint(json, p->elapsed_ns);
  zinst_json_key(json, "threads");
  zinst_json_uint(json, profile->thread_count);
  zinst_json_key(json, "processes");
  zinst_json_uint(json, zinst_profile_processes(profile));
  zinst_json_key(json, "depth_overflow_calls");
  zinst_json_uint(json, p->depth_overflow_calls);
  zinst_json_key(json, "lost_calls");
  zinst_json_uint(json, p->lost_calls);
  zinst_json_key(json, "sample_interval");
  zinst_json_uint(json, p->sample_interval);
  zinst_json_key(json, "sample_limit");
  zinst_json_uint(json, p->sample_limit);
  zinst_json_key(json, "sample_error");
  zinst_json_uint(json, p->sample_error);
  zinst_json_key(json, "sample_outlier");
  zinst_json_uint(json, p->sample_outlier);
  zinst_json_key(json, "exact_calls_per_context");
  zinst_json_uint(json, p->exact_calls_per_context);
  /* What the hooks cost (picoseconds), as the runtime calibrated it; null
   * when the profile has no calibration. */
  zinst_json_key(json, "hook_cost");
  if (zinst_profile_has_hook_costs(profile)) {
    zinst_json_begin_object(json);
    zinst_json_key(json, "untimed_pair_ps");
    zinst_json_uint(json, p->hook_untimed_pair_ps);
    zinst_json_key(json, "timed_pair_ps");
    zinst_json_uint(json, p->hook_timed_pair_ps);
    zinst_json_key(json, "timed_inner_ps");
    zinst_json_uint(json, p->hook_timed_inner_ps);
    zinst_json_key(json, "spread_ps");
    zinst_json_uint(json, p->hook_spread_ps);
    zinst_json_end_object(json);
  } else {
    zinst_json_null(json);
  }
  zinst_json_end_object(json);
}

void zinst_json_times(struct zinst_json *json, const struct zinst_profile *profile,
                      enum zinst_times times) {
  zinst_json_key(json, "times");
  if (!zinst_profile_has_time(profile))
    zinst_json_null(json);
  else
    zinst_json_string(json, zinst_hook_correction(profile, times) ? "corrected" : "raw");
}

void zinst_print_thread_heading(FILE *out, const struct zinst_profile *profile, uint32_t thread) {
  const struct zinst_thread_record *t = &profile->threads[thread];
  const char *name = zinst_profile_string(profile, t->name);
  fprintf(out, "thread %" PRIu64, t->tid);
  if (name[0])
    fprintf(out, " (%s)", name);
  if (t->flags & ZINST_THREAD_MAIN)
    fputs(" [main]", out);
  if (t->flags & ZINST_THREAD_MERGED)
    fprintf(out, " [%" PRIu32 " exited threads merged]", t->thread_count);
  else if (t->flags & ZINST_THREAD_EXITED)
    fputs(" [exited]", out);
  fputc('\n', out);
}
