/*
 * cmd_cc.c - `zinst cc` / `zinst c++`: run the clang that matches the
 * plugin with instrumentation added, and `zinst flags`: the same flags for
 * build systems.
 *
 * The plugin and the runtime are found in ../lib relative to the zinst
 * executable itself, which holds in the build tree and in an install tree.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"

#ifndef ZINST_CLANG_PATH
#error "ZINST_CLANG_PATH must be defined by the build"
#endif
#ifndef ZINST_CLANGXX_PATH
#error "ZINST_CLANGXX_PATH must be defined by the build"
#endif

#define PLUGIN_NAME "libzinst.so"
#define RUNTIME_NAME "libzinst_rt.a"
/* Lets instrumented shared libraries, dlopen'd ones included, bind to the
 * runtime linked into the executable. */
#define EXPORT_FLAG "-Wl,--export-dynamic-symbol=__zinst_*"
/* The archive is wrapped in --whole-archive so that its place on the link
 * line does not matter: build systems put linker flags (CMake's
 * CMAKE_EXE_LINKER_FLAGS, make's LDFLAGS) before the objects, where a plain
 * archive would be scanned before anything needs it. */
#define WHOLE_ARCHIVE "-Wl,--whole-archive"
#define NO_WHOLE_ARCHIVE "-Wl,--no-whole-archive"
/* The sanitizer flags of a build configured with ZINST_SANITIZE=ON
 * (CMakeLists.txt), words separated by spaces; empty otherwise. That
 * build's runtime archive is compiled with them, so whatever links it must
 * link with them too, and programs are compiled with them as well, so that
 * their own code and the runtime's are checked alike. */
#ifndef ZINST_SANITIZE_FLAGS
#define ZINST_SANITIZE_FLAGS ""
#endif
enum { MAX_SANITIZE_WORDS = 8 };

static const char cc_help_text[] =
    "usage: zinst cc [clang arguments]\n"
    "       zinst c++ [clang++ arguments]\n"
    "\n"
    "Run the clang that matches the zinst plugin with -fpass-plugin added;\n"
    "when the command links (no -c, -S, -E, -M, -MM, -fsyntax-only, -shared),\n"
    "also link the zinst runtime and export its hooks to shared libraries.\n"
    "Every argument is passed to clang unchanged; exit status and signals\n"
    "are clang's own. Shared libraries built with -shared get no runtime:\n"
    "they use the one in the instrumented executable that loads them.\n"
    "`zinst cc --help` alone prints this text; see `zinst flags --cc` for the\n"
    "compiler whose own --help lists clang's options.\n"
    "A zinst built with ZINST_SANITIZE=ON (its runtime under AddressSanitizer\n"
    "and UBSan) also adds its sanitizer flags to every command.\n";

static const char flags_help_text[] =
    "usage: zinst flags [--compile] [--link] [--cc] [--cxx]\n"
    "\n"
    "Print, on one line, what `zinst cc` adds, for build systems:\n"
    "  --compile   compiler flags (the pass plugin, the include path of zinst.h)\n"
    "  --link      linker inputs and flags (runtime archive, -lpthread, export)\n"
    "  --cc        path of the C compiler that can load the plugin\n"
    "  --cxx       path of the C++ compiler that can load the plugin\n"
    "A zinst built with ZINST_SANITIZE=ON adds its sanitizer flags to --compile\n"
    "and --link.\n"
    "\n"
    "Makefile:  CC = $(shell zinst flags --cc)\n"
    "           CFLAGS += $(shell zinst flags --compile)\n"
    "           LDLIBS += $(shell zinst flags --link)\n"
    "CMake:     cmake -DCMAKE_C_COMPILER=\"$(zinst flags --cc)\" \\\n"
    "                 -DCMAKE_C_FLAGS=\"$(zinst flags --compile)\" \\\n"
    "                 -DCMAKE_EXE_LINKER_FLAGS=\"$(zinst flags --link)\" ...\n";

/*
 * The library directory: <directory of this executable>/../lib, resolved.
 * Returns a malloc'd path owned by the caller, or NULL after printing why.
 */
static char *library_directory(const char *command) {
  size_t capacity = 256;
  char *self = NULL;
  for (;;) {
    char *grown = realloc(self, capacity);
    if (!grown) {
      free(self);
      fprintf(stderr, "zinst %s: out of memory\n", command);
      return NULL;
    }
    self = grown;
    const ssize_t length = readlink("/proc/self/exe", self, capacity);
    if (length < 0) {
      fprintf(stderr, "zinst %s: cannot find the zinst executable (/proc/self/exe): %s\n", command,
              strerror(errno));
      free(self);
      return NULL;
    }
    if ((size_t)length < capacity) {
      self[length] = '\0';
      break;
    }
    capacity *= 2;
  }
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  char *unresolved = zinst_strdup_printf("%s/../lib", slash ? self : ".");
  free(self);
  if (!unresolved) {
    fprintf(stderr, "zinst %s: out of memory\n", command);
    return NULL;
  }
  char *resolved = realpath(unresolved, NULL);
  if (!resolved)
    fprintf(stderr, "zinst %s: library directory %s: %s\n", command, unresolved, strerror(errno));
  free(unresolved);
  return resolved;
}

/* Path of `name` in `directory`, which must exist; malloc'd, or NULL after printing why. */
static char *installed_file(const char *command, const char *directory, const char *name) {
  char *path = zinst_strdup_printf("%s/%s", directory, name);
  if (!path) {
    fprintf(stderr, "zinst %s: out of memory\n", command);
    return NULL;
  }
  if (access(path, R_OK) != 0) {
    fprintf(stderr, "zinst %s: %s: %s (is zinst completely built or installed?)\n", command, path,
            strerror(errno));
    free(path);
    return NULL;
  }
  return path;
}

struct zinst_paths { /* owns every string */
  char *plugin;
  char *runtime;
  char *include_flag; /* "-I<prefix>/include" for zinst.h; NULL if that directory is missing */
};

static void free_paths(struct zinst_paths *paths) {
  free(paths->plugin);
  free(paths->runtime);
  free(paths->include_flag);
}

static int find_paths(const char *command, bool need_runtime, struct zinst_paths *paths) {
  *paths = (struct zinst_paths){0};
  char *directory = library_directory(command);
  if (!directory)
    return -1;
  paths->plugin = installed_file(command, directory, PLUGIN_NAME);
  if (paths->plugin && need_runtime)
    paths->runtime = installed_file(command, directory, RUNTIME_NAME);
  /* zinst.h lives in ../include beside lib/ in the build and install trees,
   * so `#include <zinst.h>` works with no flag of the user's. */
  char *include = zinst_strdup_printf("%s/../include/zinst.h", directory);
  char *resolved = include ? realpath(include, NULL) : NULL;
  if (resolved) {
    *strrchr(resolved, '/') = '\0';
    paths->include_flag = zinst_strdup_printf("-I%s", resolved);
  }
  free(resolved);
  free(include);
  free(directory);
  if (!paths->plugin || (need_runtime && !paths->runtime)) {
    free_paths(paths);
    return -1;
  }
  return 0;
}

/* Split ZINST_SANITIZE_FLAGS into `words` (pointers into `storage`, a
 * buffer of sizeof ZINST_SANITIZE_FLAGS bytes the caller owns); returns how
 * many, at most MAX_SANITIZE_WORDS. */
static size_t sanitize_words(char *storage, char **words) {
  memcpy(storage, ZINST_SANITIZE_FLAGS, sizeof ZINST_SANITIZE_FLAGS);
  size_t count = 0;
  for (char *word = strtok(storage, " "); word && count < MAX_SANITIZE_WORDS;
       word = strtok(NULL, " "))
    words[count++] = word;
  return count;
}

/* Does this compiler command line produce an executable (so the runtime must be linked)? */
static bool command_links(int argc, char **argv) {
  static const char *const no_link[] = {"-c",      "-S", "-E", "-M", "-MM", "-fsyntax-only",
                                        "-shared", "-r"};
  if (argc == 0)
    return false;
  for (int i = 0; i < argc; i++)
    for (size_t k = 0; k < sizeof no_link / sizeof no_link[0]; k++)
      if (strcmp(argv[i], no_link[k]) == 0)
        return false;
  return true;
}

int zinst_cmd_cc(int argc, char **argv) {
  const char *command = argv[0];
  const bool cxx = strcmp(command, "c++") == 0;
  if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(cc_help_text, stdout);
    return ZINST_EXIT_OK;
  }
  const int user_count = argc - 1;
  char **user_args = argv + 1;
  const bool links = command_links(user_count, user_args);
  struct zinst_paths paths;
  if (find_paths(command, links, &paths) != 0)
    return ZINST_EXIT_FAILURE;
  char *plugin_flag = zinst_strdup_printf("-fpass-plugin=%s", paths.plugin);
  char sanitize_storage[sizeof ZINST_SANITIZE_FLAGS];
  char *sanitize[MAX_SANITIZE_WORDS];
  const size_t sanitize_count = sanitize_words(sanitize_storage, sanitize);
  /* compiler, plugin flag, include flag, sanitizer flags, user arguments,
   * whole-archive runtime (3), -lpthread, export flag, NULL */
  char **args = malloc(((size_t)user_count + sanitize_count + 9) * sizeof *args);
  if (!plugin_flag || !args) {
    fprintf(stderr, "zinst %s: out of memory\n", command);
    free(plugin_flag);
    free(args);
    free_paths(&paths);
    return ZINST_EXIT_FAILURE;
  }
  const char *compiler = cxx ? ZINST_CLANGXX_PATH : ZINST_CLANG_PATH;
  size_t count = 0;
  args[count++] = (char *)compiler;
  args[count++] = plugin_flag;
  if (paths.include_flag)
    args[count++] = paths.include_flag;
  for (size_t i = 0; i < sanitize_count; i++)
    args[count++] = sanitize[i];
  for (int i = 0; i < user_count; i++)
    args[count++] = user_args[i];
  if (links) {
    args[count++] = WHOLE_ARCHIVE;
    args[count++] = paths.runtime;
    args[count++] = NO_WHOLE_ARCHIVE;
    args[count++] = "-lpthread";
    args[count++] = EXPORT_FLAG;
  }
  args[count] = NULL;
  execv(compiler, args);
  /* Only reached when exec failed. */
  fprintf(stderr, "zinst %s: cannot run %s: %s\n", command, compiler, strerror(errno));
  free(plugin_flag);
  free(args);
  free_paths(&paths);
  return 127;
}

int zinst_cmd_flags(int argc, char **argv) {
  enum { OPT_HELP = 1, OPT_COMPILE, OPT_LINK, OPT_CC, OPT_CXX };
  static const struct zinst_option_spec specs[] = {
      {"help", false, OPT_HELP}, {"compile", false, OPT_COMPILE}, {"link", false, OPT_LINK},
      {"cc", false, OPT_CC},     {"cxx", false, OPT_CXX},         {NULL, false, 0},
  };
  bool compile = false, link = false, cc = false, cxx = false;
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "flags", argc, argv);
  const char *value;
  int id;
  while ((id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    switch (id) {
    case ZINST_ARG_ERROR:
      return ZINST_EXIT_USAGE;
    case OPT_HELP:
      fputs(flags_help_text, stdout);
      return ZINST_EXIT_OK;
    case OPT_COMPILE:
      compile = true;
      break;
    case OPT_LINK:
      link = true;
      break;
    case OPT_CC:
      cc = true;
      break;
    case OPT_CXX:
      cxx = true;
      break;
    case ZINST_ARG_POSITIONAL:
      return zinst_usage_error("flags", "unexpected argument '%s'", value);
    }
  }
  if (!compile && !link && !cc && !cxx)
    return zinst_usage_error("flags", "say which flags: --compile, --link, --cc or --cxx");
  struct zinst_paths paths = {0};
  if ((compile || link) && find_paths("flags", link, &paths) != 0)
    return ZINST_EXIT_FAILURE;
  const char *separator = "";
  if (cc) {
    printf("%s%s", separator, ZINST_CLANG_PATH);
    separator = " ";
  }
  if (cxx) {
    printf("%s%s", separator, ZINST_CLANGXX_PATH);
    separator = " ";
  }
  if (compile) {
    printf("%s-fpass-plugin=%s", separator, paths.plugin);
    if (paths.include_flag)
      printf(" %s", paths.include_flag);
    if (ZINST_SANITIZE_FLAGS[0])
      printf(" %s", ZINST_SANITIZE_FLAGS);
    separator = " ";
  }
  if (link) {
    printf("%s%s %s %s -lpthread %s", separator, WHOLE_ARCHIVE, paths.runtime, NO_WHOLE_ARCHIVE,
           EXPORT_FLAG);
    if (ZINST_SANITIZE_FLAGS[0])
      printf(" %s", ZINST_SANITIZE_FLAGS);
  }
  putchar('\n');
  free_paths(&paths);
  return fflush(stdout) == 0 ? ZINST_EXIT_OK : ZINST_EXIT_FAILURE;
}
