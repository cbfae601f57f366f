/*
 * main.c - `zinst`: dispatch to one subcommand per file (cmd_<name>.c).
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

#ifndef ZINST_VERSION_STRING
#error "ZINST_VERSION_STRING must be defined by the build"
#endif

struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
};

static const struct command commands[] = {
    {"report", zinst_cmd_report, "flat profile: time and calls per function"},
    {"tree", zinst_cmd_tree, "call tree with inclusive times"},
    {"inline", zinst_cmd_inline, "inlining decisions joined with how often each site ran"},
    {"dump", zinst_cmd_dump, "every raw record of a profile, for debugging"},
    {"flame", zinst_cmd_flame, "interactive SVG flame graph"},
    {"export", zinst_cmd_export, "folded stacks, speedscope JSON or pprof for other viewers"},
    {"diff", zinst_cmd_diff, "what changed between profiles, with a noise guard"},
    {"merge", zinst_cmd_merge, "sum profiles of one program into one"},
    {"mem", zinst_cmd_mem, "heap memory per calling context and leaks (ZINST_MEMORY=1)"},
    {"cc", zinst_cmd_cc, "compile and link C with instrumentation (runs the matching clang)"},
    {"c++", zinst_cmd_cc, "the same for C++"},
    {"flags", zinst_cmd_flags, "print compiler and linker flags for build systems"},
    {"zig", zinst_cmd_zig, "build an instrumented Zig executable (zinst zig build-exe ...)"},
};

static void print_help(FILE *out) {
  fputs("usage: zinst <command> [options] [arguments]\n"
        "\n"
        "zinst is a compiler-based profiler: programs built with `zinst cc` count\n"
        "every call of every instrumented function and write a profile at exit\n"
        "(default file: <program>.zinst, or the ZINST_OUTPUT pattern).\n"
        "\n"
        "commands:\n",
        out);
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fputs("\n"
        "  zinst <command> --help   options of one command\n"
        "  zinst --version          version and the LLVM this build targets\n",
        out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_help(stderr);
    return ZINST_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
    print_help(stdout);
    return ZINST_EXIT_OK;
  }
  if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
    printf("zinst %s (LLVM %s, profile format %u.%u)\n", ZINST_VERSION_STRING, ZINST_LLVM_MAJOR,
           ZINST_PROFILE_VERSION, ZINST_PROFILE_MINOR);
    return ZINST_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(name, commands[i].name) == 0)
      return commands[i].run(argc - 1, argv + 1);
  if (name[0] == '-')
    fprintf(stderr, "zinst: unknown option '%s'\nTry 'zinst --help'.\n", name);
  else
    fprintf(stderr, "zinst: unknown command '%s'\nTry 'zinst --help'.\n", name);
  return ZINST_EXIT_USAGE;
}
