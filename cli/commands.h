/*
 * commands.h - the subcommands of `zinst` and what they share.
 *
 * Each subcommand lives in its own file (cmd_<name>.c) and is called with
 * argv[0] = its own name. Exit status: 0 success, 1 the work failed (for
 * instance an unreadable profile), 2 bad usage.
 */
#ifndef ZINST_COMMANDS_H
#define ZINST_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "profile_model.h"
#include "profile_reader.h"
#include "profile_util.h"

#define ZINST_EXIT_OK 0
#define ZINST_EXIT_FAILURE 1
#define ZINST_EXIT_USAGE 2

int zinst_cmd_report(int argc, char **argv);
int zinst_cmd_tree(int argc, char **argv);
int zinst_cmd_dump(int argc, char **argv);
int zinst_cmd_inline(int argc, char **argv);
int zinst_cmd_cc(int argc, char **argv); /* argv[0] is "cc" or "c++" */
int zinst_cmd_flags(int argc, char **argv);
int zinst_cmd_zig(int argc, char **argv); /* cmd_zig.c */
int zinst_cmd_flame(int argc, char **argv);
int zinst_cmd_export(int argc, char **argv);
int zinst_cmd_merge(int argc, char **argv);
int zinst_cmd_diff(int argc, char **argv);
int zinst_cmd_mem(int argc, char **argv);

/* ---- command-line parsing: long options, "--opt value" or "--opt=value" ---- */

struct zinst_option_spec {
  const char *name; /* without the leading "--"; NULL ends a spec list */
  bool takes_value;
  int id; /* > 0 */
};

#define ZINST_ARG_END 0
#define ZINST_ARG_POSITIONAL (-1)
#define ZINST_ARG_ERROR (-2)

struct zinst_arg_parser {
  const char *command; /* for messages: "report" */
  int argc;
  char **argv;
  int next;             /* index of the next argument */
  bool positional_only; /* after "--" */
};

void zinst_args_init(struct zinst_arg_parser *parser, const char *command, int argc, char **argv);

/*
 * Next argument: an option's id (*value = its value or NULL), ZINST_ARG_POSITIONAL
 * (*value = the argument), ZINST_ARG_END, or ZINST_ARG_ERROR after printing
 * the problem and a pointer to --help on stderr. "-h" means "--help". *value
 * points into argv.
 */
int zinst_args_next(struct zinst_arg_parser *parser, const struct zinst_option_spec *specs,
                    const char **value);

/* Print "zinst CMD: MESSAGE" and the --help pointer on stderr; returns ZINST_EXIT_USAGE. */
int zinst_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parse a decimal unsigned integer option value; prints the problem and returns -1 if bad. */
int zinst_parse_uint(const char *command, const char *option, const char *text, uint64_t *out);
/* Parse a percentage in [0, 100]; prints the problem and returns -1 if bad. */
int zinst_parse_percent(const char *command, const char *option, const char *text, double *out);

/* ---- profiles ---- */

/*
 * Load `path` ("-" = standard input) into `profile`; on failure print the
 * reader's message on stderr and return -1. The caller frees the profile.
 */
int zinst_load_profile_or_complain(const char *path, struct zinst_profile *profile);

/* Takes `value`, a positional argument, as the command's one PROFILE into
 * *path (which points into argv). Returns ZINST_EXIT_OK, or, when a PROFILE
 * was already given, the usage error's status after saying so. */
int zinst_take_profile_argument(const char *command, const char **path, const char *value);

/*
 * Indices of the threads whose tid is `tid` (all threads when !has_tid) in a
 * new array owned by the caller (*threads, *count). A tid that matches no
 * thread is reported on stderr with the tids that exist; returns -1 then.
 */
int zinst_select_threads(const struct zinst_profile *profile, const char *path, bool has_tid,
                         uint64_t tid, uint32_t **threads, uint32_t *count);

/* Do the profile's ticks measure time (time mode)? */
bool zinst_profile_has_time(const struct zinst_profile *profile);

/* "cycles" when ticks are TSC cycles, else "ticks": for column headers. */
const char *zinst_tick_unit(const struct zinst_profile *profile);

/* How many processes' main threads the profile holds: 1 for a run, the
 * number of processes summed in a merge (zinst merge, `%m` outputs; 0 when
 * no main thread ran instrumented code). */
uint64_t zinst_profile_processes(const struct zinst_profile *profile);

/* The text header above reports: program, pid, threads, mode, elapsed, counter, warnings. */
void zinst_print_profile_header(FILE *out, const char *path, const struct zinst_profile *profile);

/* The same for reports that show times, with a line saying which times
 * they are (`times`): the hooks' cost subtracted, and how much, or as
 * measured. */
void zinst_print_profile_header_times(FILE *out, const char *path,
                                      const struct zinst_profile *profile, enum zinst_times times);

/* "hook cost subtracted: ..." or "times as measured ...": one line without
 * a newline into `buffer` (`size` bytes), for the headers and the flame
 * graph's title; "" in count mode. */
void zinst_describe_times(const struct zinst_profile *profile, enum zinst_times times, char *buffer,
                          size_t size);

/* The "profile" JSON object shared by report and tree (key already written by the caller). */
struct zinst_json;
void zinst_json_profile_object(struct zinst_json *json, const char *path,
                               const struct zinst_profile *profile);

/* The "times" key and its value: "corrected" (the hooks' cost subtracted),
 * "raw" (as measured: --raw, or no calibration in the profile) or null
 * (count mode: no times). */
void zinst_json_times(struct zinst_json *json, const struct zinst_profile *profile,
                      enum zinst_times times);

/* Heading line for one thread in --per-thread output: "thread 1234 (worker) [main]". */
void zinst_print_thread_heading(FILE *out, const struct zinst_profile *profile, uint32_t thread);

#endif /* ZINST_COMMANDS_H */
