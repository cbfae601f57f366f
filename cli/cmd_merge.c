/*
 * cmd_merge.c - `zinst merge`: the sum of several profiles of one program
 * (the summing itself is profile_merge.c, shared with the runtime).
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "profile_merge.h"
#include "viz_common.h"

static const char help_text[] =
    "usage: zinst merge [options] -o OUT PROFILE PROFILE...\n"
    "\n"
    "Sum profiles of the same program (several processes or runs) into one\n"
    "profile that every zinst command reads. Functions are matched by module,\n"
    "name, file and line; calls and ticks are summed exactly.\n"
    "\n"
    "Refused without --force: profiles of different executables, or whose\n"
    "function tables differ (a rebuilt binary). Always refused: mixing time\n"
    "and count mode, and profiles with memory records (ZINST_MEMORY=1) with\n"
    "profiles without. Memory records add per call path; a merged peak of\n"
    "live bytes is the sum of the inputs' peaks, an upper bound. Profiles\n"
    "measured with different counter frequencies are converted to the first\n"
    "one's.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE  the merged profile\n"
    "  --merge-threads    sum threads of the same name (and the main threads)\n"
    "                     into one record each (default: keep every thread)\n"
    "  --force            merge different binaries anyway\n"
    "  -h, --help         this text\n";

/* Write `size` bytes of `image` to `path` ("-": standard output), whole or not at all. */
static int write_profile(const void *image, size_t size, const char *path) {
  struct zinst_output output;
  int status = zinst_output_open(&output, "merge", path);
  if (status == 0) {
    if (fwrite(image, 1, size, output.file) != size) {
      fprintf(stderr, "zinst merge: error writing %s\n", path);
      zinst_output_abandon(&output);
      status = -1;
    } else {
      status = zinst_output_commit(&output, "merge");
    }
  }
  return status;
}

static int run_merge(char **paths, uint32_t input_count, const char *output, bool force,
                     bool merge_threads) {
  struct zinst_profile *inputs = calloc(input_count, sizeof *inputs);
  int status = inputs ? ZINST_EXIT_OK : ZINST_EXIT_FAILURE;
  uint32_t loaded = 0;
  for (; loaded < input_count && status == ZINST_EXIT_OK; loaded++)
    if (zinst_load_profile_or_complain(paths[loaded], &inputs[loaded]) != 0)
      status = ZINST_EXIT_FAILURE;
  char err[1024];
  bool forceable;
  if (status == ZINST_EXIT_OK && zinst_merge_check(inputs, (const char *const *)paths, input_count,
                                                   force, &forceable, err, sizeof err) != 0) {
    fprintf(stderr, "zinst merge: %s%s\n", err, forceable ? " (--force merges them anyway)" : "");
    status = ZINST_EXIT_FAILURE;
  }
  void *image = NULL;
  size_t size = 0;
  struct zinst_merge_result result;
  if (status == ZINST_EXIT_OK) {
    if (zinst_merge_profiles(inputs, input_count, merge_threads, &image, &size, &result, err,
                             sizeof err) != 0) {
      fprintf(stderr, "zinst merge: %s\n", err);
      status = ZINST_EXIT_FAILURE;
    } else {
      if (result.frequencies_differ)
        fprintf(stderr,
                "zinst merge: note: the profiles' counters ran at different frequencies; ticks "
                "are converted to the first one's (%" PRIu64 " per second)\n",
                result.ticks_per_second);
      if (result.sampling_differs)
        fprintf(stderr, "zinst merge: note: the profiles were sampled differently; the merged "
                        "profile states the sparsest sampling and the smallest exact stratum\n");
      if (write_profile(image, size, output) != 0)
        status = ZINST_EXIT_FAILURE;
    }
  }
  if (status == ZINST_EXIT_OK && strcmp(output, "-") != 0)
    fprintf(stderr,
            "zinst merge: wrote %s: %" PRIu32 " profiles, %" PRIu32 " threads, %" PRIu32
            " functions, %" PRIu32 " calling contexts, %" PRIu64 " calls\n",
            output, input_count, result.threads, result.functions, result.contexts, result.calls);
  free(image);
  for (uint32_t k = 0; k < loaded; k++)
    zinst_profile_free(&inputs[k]);
  free(inputs);
  return status;
}

enum { OPT_HELP = 1, OPT_OUTPUT, OPT_FORCE, OPT_MERGE_THREADS };

int zinst_cmd_merge(int argc, char **argv) {
  static const struct zinst_option_spec specs[] = {
      {"help", false, OPT_HELP},
      {"output", true, OPT_OUTPUT},
      {"force", false, OPT_FORCE},
      {"merge-threads", false, OPT_MERGE_THREADS},
      {NULL, false, 0},
  };
  const char *output = NULL;
  bool force = false, merge_threads = false;
  char **paths = calloc((size_t)argc + 1, sizeof *paths);
  uint32_t path_count = 0;
  if (!paths) {
    fprintf(stderr, "zinst merge: out of memory\n");
    return ZINST_EXIT_FAILURE;
  }
  zinst_viz_accept_short_output(argc, argv);
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "merge", argc, argv);
  const char *value;
  int id;
  int status = -1;
  while (status < 0 && (id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    switch (id) {
    case ZINST_ARG_ERROR:
      status = ZINST_EXIT_USAGE;
      break;
    case OPT_HELP:
      fputs(help_text, stdout);
      status = ZINST_EXIT_OK;
      break;
    case OPT_OUTPUT:
      output = value;
      break;
    case OPT_FORCE:
      force = true;
      break;
    case OPT_MERGE_THREADS:
      merge_threads = true;
      break;
    case ZINST_ARG_POSITIONAL:
      paths[path_count++] = (char *)value;
      break;
    }
  }
  if (status < 0) {
    if (!output)
      status = zinst_usage_error("merge", "missing -o OUT");
    else if (path_count < 1)
      status = zinst_usage_error("merge", "missing PROFILE arguments");
    else
      status = run_merge(paths, path_count, output, force, merge_threads);
  }
  free(paths);
  return status;
}
