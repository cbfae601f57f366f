/*
 * cmd_zig.c - `zinst zig`: build an instrumented Zig executable.
 *
 * Zig bundles its own, statically linked LLVM, which cannot load pass
 * plugins. So the Zig code takes a detour through the system LLVM that the
 * plugin was built for:
 *
 *   1. zig build-exe ... -fno-emit-bin --verbose-llvm-bc=app.bc
 *        Zig's UNOPTIMIZED bitcode (with the chosen mode's semantics: safety
 *        checks or not), the whole program in one module: std, start code,
 *        panic handler. build-exe rather than build-obj: only an executable's
 *        module carries the start code that exports `main`/`_start`.
 *   2. opt -load-pass-plugin=libzinst.so -passes='default<O3>'  (the mode's level)
 *   3. llc -filetype=obj                                        (the mode's level)
 *   4. zig build-exe app.o <runtime sources> -lc ...
 *        linked by Zig, because Zig code needs Zig's compiler_rt; the runtime
 *        is compiled by `zig cc` for the user's target, so cross builds work.
 *
 * Steps 2-3 are also a subcommand of their own, `zinst zig lower`, which the
 * zig-integration build.zig package runs as a build step.
 *
 * The system LLVM must read Zig's bitcode: an LLVM reads bitcode of its own
 * and older majors only. The pairing is checked before opt runs, naming both
 * versions.
 *
 * Paths: the plugin is <prefix>/lib/libzinst.so and the runtime's sources
 * <prefix>/share/zinst/runtime/, with <prefix> the parent of the directory
 * holding this executable (the build tree and the install tree alike).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"

#ifndef ZINST_OPT_PATH
#error "ZINST_OPT_PATH must be defined by the build"
#endif
#ifndef ZINST_LLC_PATH
#error "ZINST_LLC_PATH must be defined by the build"
#endif
#ifndef ZINST_LLVM_VERSION_FULL
#error "ZINST_LLVM_VERSION_FULL must be defined by the build"
#endif

#define PLUGIN_RELATIVE_PATH "lib/libzinst.so"
#define RUNTIME_RELATIVE_DIR "share/zinst/runtime"
#define RUNTIME_FILE_LIST "sources.txt" /* one runtime .c file name per line */
/* The Zig API module and the zinst_config it imports (zig-integration/). */
#define ZIG_API_RELATIVE_PATH "share/zinst/zig/zinst.zig"
#define ZIG_CONFIG_RELATIVE_PATH "share/zinst/zig/config/enabled.zig"

static const char help_text[] =
    "usage: zinst zig [--zig PATH] [--verbose] build-exe [zig build-exe arguments]\n"
    "       zinst zig [--zig PATH] [--verbose] lower [-O MODE] [--plugin=PATH] IN.bc -o OUT.o\n"
    "       zinst zig paths\n"
    "\n"
    "build-exe: build an instrumented Zig executable. Every argument is zig build-exe's\n"
    "own (root source, -O mode, -target, -mcpu, -lc, --name, -femit-bin=, C sources,\n"
    "objects, libraries). zinst compiles the Zig code to unoptimized bitcode, runs\n"
    "the zinst plugin through the system opt at the optimization level of the\n"
    "mode (Debug: O0, ReleaseSafe and ReleaseFast: O3, ReleaseSmall: Oz), generates\n"
    "code with llc and links with Zig plus the zinst runtime. The program is\n"
    "always linked with libc (-lc), which the runtime needs.\n"
    "\n"
    "lower: steps 2-3 alone, for build systems (the zig-integration build.zig\n"
    "package): Zig bitcode in, instrumented object out.\n"
    "paths: the plugin, the runtime's directory and sources, as key=value lines.\n"
    "\n"
    "  --zig PATH     the zig to run (default: $ZINST_ZIG, else `zig` on PATH)\n"
    "  --verbose      print every command before running it\n"
    "\n"
    "Functions from Zig's lib directory (std, compiler_rt) are marked as library\n"
    "functions in the profile.\n"
    "\n"
    "The LLVM that Zig bundles must not be newer than the one this zinst was built\n"
    "with (" ZINST_LLVM_VERSION_FULL "): Zig 0.14 (LLVM 19) works with LLVM 19 and 22,\n"
    "Zig 0.17 (LLVM 22) with LLVM 22.\n";

/* ---- growable argument vectors ---- */

/* An argv under construction. Owns every string (copies) and the array. */
struct arg_list {
  char **items; /* count entries + a NULL terminator */
  size_t count;
  size_t capacity;
  bool failed; /* an allocation failed; later pushes are ignored */
};

static void args_free(struct arg_list *list) {
  for (size_t i = 0; i < list->count; i++)
    free(list->items[i]);
  free(list->items);
  *list = (struct arg_list){0};
}

/* Appends a copy of `text`; on allocation failure sets list->failed. */
static void args_push(struct arg_list *list, const char *text) {
  if (list->failed)
    return;
  if (list->count + 2 > list->capacity) {
    size_t capacity = list->capacity ? list->capacity * 2 : 16;
    char **grown = realloc(list->items, capacity * sizeof *grown);
    if (!grown) {
      list->failed = true;
      return;
    }
    list->items = grown;
    list->capacity = capacity;
  }
  char *copy = strdup(text);
  if (!copy) {
    list->failed = true;
    return;
  }
  list->items[list->count++] = copy;
  list->items[list->count] = NULL;
}

/* Appends a string built by printf; on failure sets list->failed. */
static void args_pushf(struct arg_list *list, const char *fmt, const char *value) {
  char *text = zinst_strdup_printf(fmt, value);
  if (!text) {
    list->failed = true;
    return;
  }
  args_push(list, text);
  free(text);
}

/* ---- running tools ---- */

struct zig_context {
  const char *zig; /* path or name of the zig executable (borrowed) */
  bool verbose;
};

static void print_command(char *const *argv) {
  fputs("+", stderr);
  for (size_t i = 0; argv[i]; i++)
    fprintf(stderr, " %s", argv[i]);
  fputc('\n', stderr);
}

/*
 * Runs argv (argv[0] searched on PATH) and waits. With `output` non-NULL the
 * child's standard output is returned in *output (malloc'd, NUL-terminated,
 * owned by the caller). Returns the exit status, or -1 after printing why
 * the program could not run or what killed it.
 */
static int run_tool(const struct zig_context *ctx, char *const *argv, char **output) {
  if (ctx->verbose && !output)
    print_command(argv);
  int pipe_fds[2] = {-1, -1};
  if (output && pipe(pipe_fds) != 0) {
    fprintf(stderr, "zinst zig: pipe: %s\n", strerror(errno));
    return -1;
  }
  fflush(stdout);
  fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "zinst zig: fork: %s\n", strerror(errno));
    if (output) {
      close(pipe_fds[0]);
      close(pipe_fds[1]);
    }
    return -1;
  }
  if (pid == 0) {
    if (output) {
      dup2(pipe_fds[1], STDOUT_FILENO);
      close(pipe_fds[0]);
      close(pipe_fds[1]);
    }
    execvp(argv[0], argv);
    fprintf(stderr, "zinst zig: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  bool read_failed = false;
  if (output) {
    close(pipe_fds[1]);
    size_t size = 0, capacity = 4096;
    char *text = malloc(capacity);
    for (;;) {
      if (text && size + 1 >= capacity) {
        char *grown = realloc(text, capacity * 2);
        if (!grown) {
          free(text);
          text = NULL;
        } else {
          text = grown;
          capacity *= 2;
        }
      }
      char discard[4096];
      char *into = text ? text + size : discard;
      const size_t room = text ? capacity - size - 1 : sizeof discard;
      const ssize_t got = read(pipe_fds[0], into, room);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0)
        break;
      if (text)
        size += (size_t)got;
    }
    close(pipe_fds[0]);
    if (text)
      text[size] = '\0';
    else
      read_failed = true;
    *output = text;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "zinst zig: waitpid: %s\n", strerror(errno));
      return -1;
    }
  }
  if (read_failed) {
    fprintf(stderr, "zinst zig: out of memory reading the output of %s\n", argv[0]);
    return -1;
  }
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "zinst zig: %s was killed by signal %d\n", argv[0], WTERMSIG(status));
    return -1;
  }
  return WEXITSTATUS(status);
}

/* Runs a tool and captures its standard output; NULL after printing why. Caller frees. */
static char *capture_tool(const struct zig_context *ctx, const char *what, char *const *argv) {
  char *output = NULL;
  const int status = run_tool(ctx, argv, &output);
  if (status != 0) {
    if (status > 0)
      fprintf(stderr, "zinst zig: `%s` failed (exit status %d)\n", what, status);
    free(output);
    return NULL;
  }
  return output;
}

/* ---- the installation: plugin and runtime sources ---- */

/* <prefix> = the parent of this executable's directory, resolved. Malloc'd; NULL after printing
 * why. */
static char *installation_prefix(void) {
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof self - 1);
  if (length < 0) {
    fprintf(stderr, "zinst zig: cannot find the zinst executable (/proc/self/exe): %s\n",
            strerror(errno));
    return NULL;
  }
  self[length] = '\0';
  char *slash = strrchr(self, '/');
  if (slash)
    *slash = '\0';
  char *unresolved = zinst_strdup_printf("%s/..", slash ? self : ".");
  char *resolved = unresolved ? realpath(unresolved, NULL) : NULL;
  if (!resolved)
    fprintf(stderr, "zinst zig: installation directory %s: %s\n", unresolved ? unresolved : "?",
            strerror(errno));
  free(unresolved);
  return resolved;
}

/* <prefix>/<relative> if it exists; malloc'd, NULL after printing why. */
static char *installed_path(const char *prefix, const char *relative) {
  char *path = zinst_strdup_printf("%s/%s", prefix, relative);
  if (!path) {
    fputs("zinst zig: out of memory\n", stderr);
    return NULL;
  }
  if (access(path, R_OK) != 0) {
    fprintf(stderr, "zinst zig: %s: %s (is zinst completely built or installed?)\n", path,
            strerror(errno));
    free(path);
    return NULL;
  }
  return path;
}

/*
 * Appends what compiles the runtime into the link: the flags for its C
 * files, then each file of <dir>/sources.txt. Returns -1 after printing why.
 */
static int push_runtime_sources(struct arg_list *link, const char *runtime_dir) {
  char *list_path = zinst_strdup_printf("%s/%s", runtime_dir, RUNTIME_FILE_LIST);
  FILE *list = list_path ? fopen(list_path, "r") : NULL;
  if (!list) {
    fprintf(stderr, "zinst zig: %s: %s\n", list_path ? list_path : RUNTIME_FILE_LIST,
            strerror(errno));
    free(list_path);
    return -1;
  }
  args_pushf(link, "-I%s", runtime_dir);
  /* The flags of runtime/CMakeLists.txt. The runtime is never instrumented
   * and is built optimized in every mode; Zig's Debug mode would otherwise
   * add UBSan traps to it. */
  args_push(link, "-cflags");
  static const char *const cflags[] = {"-std=gnu11",           "-O2",
                                       "-fvisibility=hidden",  "-fno-omit-frame-pointer",
                                       "-fno-stack-protector", "-fno-sanitize=all",
                                       "-fno-math-errno",      "-DZINST_RUNTIME_HEAP"};
  for (size_t i = 0; i < sizeof cflags / sizeof cflags[0]; i++)
    args_push(link, cflags[i]);
  args_push(link, "--");
  char line[256];
  int count = 0;
  while (fgets(line, sizeof line, list)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (line[0] == '\0')
      continue;
    char *source = zinst_strdup_printf("%s/%s", runtime_dir, line);
    if (source)
      args_push(link, source);
    else
      link->failed = true;
    free(source);
    count++;
  }
  fclose(list);
  if (count == 0) {
    fprintf(stderr, "zinst zig: %s lists no runtime source\n", list_path);
    free(list_path);
    return -1;
  }
  free(list_path);
  return 0;
}

/* ---- Zig's toolchain: version, bundled LLVM, lib directory ---- */

struct llvm_version {
  unsigned major, minor, patch;
};

struct zig_toolchain { /* owns every string */
  char *version;       /* `zig version` */
  char *lib_dir;       /* from `zig env` */
  char *llvm_text;     /* "22.1.8" */
  struct llvm_version llvm;
};

static void toolchain_free(struct zig_toolchain *toolchain) {
  free(toolchain->version);
  free(toolchain->lib_dir);
  free(toolchain->llvm_text);
  *toolchain = (struct zig_toolchain){0};
}

/* Parses "X.Y.Z" at the start of text (Y and Z optional); 0 on success. */
static int parse_llvm_version(const char *text, struct llvm_version *out) {
  unsigned parts[3] = {0, 0, 0};
  int count = 0;
  const char *p = text;
  while (count < 3 && *p >= '0' && *p <= '9') {
    char *end;
    const unsigned long value = strtoul(p, &end, 10);
    if (value > 100000)
      return -1;
    parts[count++] = (unsigned)value;
    p = end;
    if (*p != '.')
      break;
    p++;
  }
  if (count == 0)
    return -1;
  *out = (struct llvm_version){parts[0], parts[1], parts[2]};
  return 0;
}

/*
 * The value of the key `lib_dir` in `zig env`'s output: JSON up to Zig 0.14
 * (`"lib_dir": "..."`), ZON later (`.lib_dir = "..."`). Malloc'd; NULL if
 * absent. Backslash escapes are undone.
 */
static char *env_lib_dir(const char *env) {
  const char *key = strstr(env, "lib_dir");
  if (!key)
    return NULL;
  const char *open = strchr(key + strlen("lib_dir") + 1, '"');
  if (!open)
    return NULL;
  char *value = malloc(strlen(open));
  if (!value)
    return NULL;
  size_t length = 0;
  for (const char *p = open + 1; *p && *p != '"'; p++) {
    if (*p == '\\' && p[1] != '\0')
      p++;
    value[length++] = *p;
  }
  value[length] = '\0';
  return value;
}

/* Asks zig for its version, LLVM and lib directory; -1 after printing why. */
static int query_toolchain(const struct zig_context *ctx, struct zig_toolchain *toolchain) {
  *toolchain = (struct zig_toolchain){0};
  char *const version_argv[] = {(char *)ctx->zig, "version", NULL};
  char *const cc_argv[] = {(char *)ctx->zig, "cc", "--version", NULL};
  char *const env_argv[] = {(char *)ctx->zig, "env", NULL};
  toolchain->version = capture_tool(ctx, "zig version", version_argv);
  if (!toolchain->version) {
    fprintf(stderr, "zinst zig: no usable zig at '%s': pass --zig PATH or set ZINST_ZIG\n",
            ctx->zig);
    goto fail;
  }
  toolchain->version[strcspn(toolchain->version, "\r\n")] = '\0';
  char *cc_version = capture_tool(ctx, "zig cc --version", cc_argv);
  if (!cc_version)
    goto fail;
  /* "clang version 22.1.8" or "clang version 19.1.7 (https://...)" */
  const char *marker = strstr(cc_version, "clang version ");
  if (!marker || parse_llvm_version(marker + strlen("clang version "), &toolchain->llvm) != 0) {
    fprintf(stderr, "zinst zig: cannot tell which LLVM Zig %s bundles: `zig cc --version` says\n%s",
            toolchain->version, cc_version);
    free(cc_version);
    goto fail;
  }
  free(cc_version);
  char buffer[64];
  snprintf(buffer, sizeof buffer, "%u.%u.%u", toolchain->llvm.major, toolchain->llvm.minor,
           toolchain->llvm.patch);
  toolchain->llvm_text = strdup(buffer);
  char *env = capture_tool(ctx, "zig env", env_argv);
  if (!env)
    goto fail;
  toolchain->lib_dir = env_lib_dir(env);
  free(env);
  if (!toolchain->lib_dir || !toolchain->llvm_text) {
    fprintf(stderr, "zinst zig: cannot find Zig's lib directory in the output of `zig env`\n");
    goto fail;
  }
  return 0;
fail:
  toolchain_free(toolchain);
  return -1;
}

/*
 * The system LLVM reads bitcode of its own release and older ones, never
 * newer. Returns -1 after naming both versions when Zig's LLVM is newer.
 */
static int check_llvm_pairing(const struct zig_toolchain *toolchain) {
  struct llvm_version ours;
  if (parse_llvm_version(ZINST_LLVM_VERSION_FULL, &ours) != 0) {
    fprintf(stderr, "zinst zig: bad LLVM version in this build: %s\n", ZINST_LLVM_VERSION_FULL);
    return -1;
  }
  const struct llvm_version *zig = &toolchain->llvm;
  const bool newer =
      zig->major > ours.major || (zig->major == ours.major && zig->minor > ours.minor);
  if (!newer)
    return 0;
  fprintf(stderr,
          "zinst zig: Zig %s bundles LLVM %s, newer than LLVM %s of this zinst build:\n"
          "  %s cannot read the bitcode Zig writes. Use a zinst built with LLVM %u or newer\n"
          "  (cmake -DZINST_LLVM_VERSION=...), or a Zig whose LLVM is at most %u (Zig 0.14\n"
          "  bundles LLVM 19, Zig 0.17 LLVM 22).\n",
          toolchain->version, toolchain->llvm_text, ZINST_LLVM_VERSION_FULL, ZINST_OPT_PATH,
          zig->major, ours.major);
  return -1;
}

/* ---- optimization modes ---- */

enum zig_mode { MODE_DEBUG, MODE_RELEASE_SAFE, MODE_RELEASE_FAST, MODE_RELEASE_SMALL };

/* -1 if `name` is not a mode of Zig's. The short names are the spelling of
 * Zig 0.17's build system (`@tagName` of std.lang.Optimize), for the
 * zig-integration package. */
static int parse_mode(const char *name) {
  static const char *const names[] = {"Debug", "ReleaseSafe", "ReleaseFast", "ReleaseSmall"};
  static const char *const short_names[] = {"debug", "safe", "fast", "small"};
  for (int i = 0; i < 4; i++)
    if (strcmp(name, names[i]) == 0 || strcmp(name, short_names[i]) == 0)
      return i;
  return -1;
}

/* The levels Zig itself gives LLVM for each mode (its own opt pipeline and codegen). */
static const char *opt_pipeline(enum zig_mode mode) {
  switch (mode) {
  case MODE_DEBUG:
    return "-passes=default<O0>";
  case MODE_RELEASE_SMALL:
    return "-passes=default<Oz>";
  default:
    return "-passes=default<O3>";
  }
}

static const char *llc_level(enum zig_mode mode) {
  switch (mode) {
  case MODE_DEBUG:
    return "-O0";
  case MODE_RELEASE_SMALL:
    return "-O2";
  default:
    return "-O3";
  }
}

/* ---- lowering: bitcode -> instrumented object ---- */

/* A private directory for intermediate files; malloc'd path, NULL after printing why. */
static char *make_temp_dir(void) {
  const char *tmp = getenv("TMPDIR");
  char *pattern = zinst_strdup_printf("%s/zinst-zig-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!pattern || !mkdtemp(pattern)) {
    fprintf(stderr, "zinst zig: cannot create a temporary directory: %s\n", strerror(errno));
    free(pattern);
    return NULL;
  }
  return pattern;
}

/* Removes the files this command put in dir, then dir. */
static void remove_temp_dir(const char *dir, const char *const *names, size_t count) {
  for (size_t i = 0; i < count; i++) {
    char *path = zinst_strdup_printf("%s/%s", dir, names[i]);
    if (path)
      unlink(path);
    free(path);
  }
  rmdir(dir);
}

/*
 * opt with the plugin, then llc: `bitcode` -> `object`. The intermediate
 * instrumented bitcode goes to `scratch`. Returns 0, or -1 after the tool's
 * own message.
 */
static int lower_bitcode(const struct zig_context *ctx, const struct zig_toolchain *toolchain,
                         enum zig_mode mode, const char *plugin, const char *bitcode,
                         const char *scratch, const char *object) {
  if (check_llvm_pairing(toolchain) != 0)
    return -1;
  struct arg_list opt = {0};
  args_push(&opt, ZINST_OPT_PATH);
  args_pushf(&opt, "-load-pass-plugin=%s", plugin);
  args_push(&opt, opt_pipeline(mode));
  /* Everything under Zig's lib directory (std, compiler_rt, the start code)
   * is library code: reports group it unless asked to show it. */
  args_pushf(&opt, "-zinst-library-dir=%s", toolchain->lib_dir);
  args_push(&opt, bitcode);
  args_push(&opt, "-o");
  args_push(&opt, scratch);
  struct arg_list llc = {0};
  args_push(&llc, ZINST_LLC_PATH);
  args_push(&llc, llc_level(mode));
  args_push(&llc, "-filetype=obj");
  /* Position-independent code links into PIE and non-PIE executables alike. */
  args_push(&llc, "-relocation-model=pic");
  args_push(&llc, scratch);
  args_push(&llc, "-o");
  args_push(&llc, object);
  int result = -1;
  if (opt.failed || llc.failed)
    fputs("zinst zig: out of memory\n", stderr);
  else if (run_tool(ctx, opt.items, NULL) != 0)
    fprintf(stderr, "zinst zig: %s failed on %s\n", ZINST_OPT_PATH, bitcode);
  else if (run_tool(ctx, llc.items, NULL) != 0)
    fprintf(stderr, "zinst zig: %s failed\n", ZINST_LLC_PATH);
  else
    result = 0;
  args_free(&opt);
  args_free(&llc);
  return result;
}

static int cmd_lower(const struct zig_context *ctx, int argc, char **argv) {
  const char *mode_name = "ReleaseFast", *plugin = NULL, *input = NULL, *output = NULL;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "-O") == 0 && i + 1 < argc)
      mode_name = argv[++i];
    else if (strncmp(arg, "-O", 2) == 0 && arg[2] != '\0')
      mode_name = arg + 2;
    else if (strncmp(arg, "--plugin=", 9) == 0)
      plugin = arg + 9;
    else if (strcmp(arg, "-o") == 0 && i + 1 < argc)
      output = argv[++i];
    else if (arg[0] == '-')
      return zinst_usage_error("zig", "lower: unknown or incomplete option '%s'", arg);
    else if (!input)
      input = arg;
    else
      return zinst_usage_error("zig", "lower: a second input '%s'", arg);
  }
  const int mode = parse_mode(mode_name);
  if (mode < 0)
    return zinst_usage_error("zig",
                             "lower: unknown mode '%s' (Debug, ReleaseSafe, ReleaseFast, "
                             "ReleaseSmall)",
                             mode_name);
  if (!input || !output)
    return zinst_usage_error("zig", "lower needs IN.bc and -o OUT.o");
  struct zig_toolchain toolchain;
  if (query_toolchain(ctx, &toolchain) != 0)
    return ZINST_EXIT_FAILURE;
  char *prefix = NULL, *found_plugin = NULL;
  if (!plugin) {
    prefix = installation_prefix();
    found_plugin = prefix ? installed_path(prefix, PLUGIN_RELATIVE_PATH) : NULL;
    plugin = found_plugin;
  }
  char *scratch = zinst_strdup_printf("%s.inst.bc", output);
  int status = ZINST_EXIT_FAILURE;
  if (plugin && scratch &&
      lower_bitcode(ctx, &toolchain, (enum zig_mode)mode, plugin, input, scratch, output) == 0)
    status = ZINST_EXIT_OK;
  if (scratch)
    unlink(scratch);
  free(scratch);
  free(found_plugin);
  free(prefix);
  toolchain_free(&toolchain);
  return status;
}

/* ---- build-exe ---- */

static bool ends_with(const char *text, const char *suffix) {
  const size_t a = strlen(text), b = strlen(suffix);
  return a >= b && strcmp(text + a - b, suffix) == 0;
}

/* Inputs that only the link needs: C/C++/assembly sources, objects, libraries. */
static bool is_link_input(const char *arg) {
  static const char *const suffixes[] = {".c",  ".cc", ".cpp", ".cxx", ".C", ".m",
                                         ".mm", ".s",  ".S",   ".o",   ".a", ".so"};
  if (arg[0] == '-')
    return false;
  for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
    if (ends_with(arg, suffixes[i]))
      return true;
  return strstr(arg, ".so.") != NULL;
}

/* Options with a separate value that both steps need (target, mode, libraries). */
static bool is_shared_option_with_value(const char *arg) {
  static const char *const names[] = {"-O", "-target", "-mcpu",  "-mcmodel",         "-l",
                                      "-L", "--name",  "-rpath", "--dynamic-linker", "--sysroot"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (strcmp(arg, names[i]) == 0)
      return true;
  return false;
}

/* Flags that both steps need (they decide the target, the libc, the code model). */
static bool is_shared_flag(const char *arg) {
  static const char *const prefixes[] = {"-O",
                                         "-mcpu=",
                                         "-mcmodel=",
                                         "-l",
                                         "-L",
                                         "-fPIE",
                                         "-fno-PIE",
                                         "-fPIC",
                                         "-fno-PIC",
                                         "-static",
                                         "-dynamic",
                                         "-fsingle-threaded",
                                         "-fno-single-threaded",
                                         "-fstrip",
                                         "-fno-strip",
                                         "-rdynamic"};
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
    if (strncmp(arg, prefixes[i], strlen(prefixes[i])) == 0)
      return true;
  return false;
}

/* Flags that only the link needs. */
static bool is_link_flag(const char *arg) {
  return strncmp(arg, "-femit-bin=", 11) == 0 || strncmp(arg, "-Wl,", 4) == 0 ||
         strcmp(arg, "-z") == 0 || strcmp(arg, "-T") == 0 || strcmp(arg, "--script") == 0;
}

/* Basename of `path` without its last extension; malloc'd or NULL. */
static char *stem(const char *path) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  char *copy = strdup(base);
  if (copy) {
    char *dot = strrchr(copy, '.');
    if (dot && dot != copy)
      *dot = '\0';
  }
  return copy;
}

/* `--dep zinst -M<stem>=<root> --dep zinst_config -Mzinst=... -Mzinst_config=...`:
 * the program's root module, able to @import("zinst"). 0, or -1 after a
 * message. */
static int push_root_with_api(struct arg_list *compile, const char *prefix, const char *root) {
  char *api = installed_path(prefix, ZIG_API_RELATIVE_PATH);
  char *config = api ? installed_path(prefix, ZIG_CONFIG_RELATIVE_PATH) : NULL;
  char *name = config ? stem(root) : NULL;
  if (name) {
    args_push(compile, "--dep");
    args_push(compile, "zinst");
    char *module = zinst_strdup_printf("-M%s=%s", name, root);
    args_push(compile, module ? module : "");
    compile->failed |= module == NULL;
    free(module);
    args_push(compile, "--dep");
    args_push(compile, "zinst_config");
    args_pushf(compile, "-Mzinst=%s", api);
    args_pushf(compile, "-Mzinst_config=%s", config);
  } else if (config) {
    fputs("zinst zig: out of memory\n", stderr);
  }
  free(name);
  free(config);
  free(api);
  return name ? 0 : -1;
}

static int cmd_build_exe(const struct zig_context *ctx, int argc, char **argv) {
  struct arg_list compile = {0}, link = {0};
  args_push(&compile, ctx->zig);
  args_push(&compile, "build-exe");
  args_push(&link, ctx->zig);
  args_push(&link, "build-exe");
  const char *mode_name = "Debug"; /* Zig's default */
  const char *root = NULL;
  bool has_libc = false, has_name = false, has_output = false, has_modules = false;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "-fno-emit-bin") == 0 || strncmp(arg, "-femit-llvm-bc", 14) == 0 ||
        strncmp(arg, "-femit-llvm-ir", 14) == 0 || strncmp(arg, "-femit-asm", 10) == 0) {
      args_free(&compile);
      args_free(&link);
      return zinst_usage_error("zig", "'%s' is not supported: zinst zig builds the executable",
                               arg);
    }
    if (strcmp(arg, "-cflags") == 0) {
      /* "-cflags ... --" applies to the C sources after it: link step only. */
      int end = i + 1;
      while (end < argc && strcmp(argv[end], "--") != 0)
        end++;
      if (end == argc) {
        args_free(&compile);
        args_free(&link);
        return zinst_usage_error("zig", "-cflags without its closing '--'");
      }
      for (; i <= end; i++)
        args_push(&link, argv[i]);
      i = end;
      continue;
    }
    if (is_shared_option_with_value(arg)) {
      if (i + 1 == argc) {
        args_free(&compile);
        args_free(&link);
        return zinst_usage_error("zig", "'%s' needs a value", arg);
      }
      const char *value = argv[++i];
      if (strcmp(arg, "-O") == 0)
        mode_name = value;
      if (strcmp(arg, "-l") == 0 && strcmp(value, "c") == 0)
        has_libc = true;
      if (strcmp(arg, "--name") == 0)
        has_name = true;
      args_push(&compile, arg);
      args_push(&compile, value);
      args_push(&link, arg);
      args_push(&link, value);
    } else if (is_link_input(arg) || is_link_flag(arg)) {
      if (strncmp(arg, "-femit-bin=", 11) == 0)
        has_output = true;
      args_push(&link, arg);
      /* -z and -T take a value. */
      if ((strcmp(arg, "-z") == 0 || strcmp(arg, "-T") == 0 || strcmp(arg, "--script") == 0) &&
          i + 1 < argc)
        args_push(&link, argv[++i]);
    } else if (is_shared_flag(arg)) {
      if (strncmp(arg, "-O", 2) == 0 && arg[2] != '\0')
        mode_name = arg + 2;
      if (strcmp(arg, "-lc") == 0)
        has_libc = true;
      args_push(&compile, arg);
      args_push(&link, arg);
    } else if (arg[0] != '-' && ends_with(arg, ".zig") && !root) {
      root = arg; /* goes last, as a module (below) */
    } else {
      if (strncmp(arg, "-M", 2) == 0)
        has_modules = true;
      args_push(&compile, arg);
    }
  }
  const int mode = parse_mode(mode_name);
  if (mode < 0) {
    args_free(&compile);
    args_free(&link);
    return zinst_usage_error(
        "zig", "unknown mode '%s' (Debug, ReleaseSafe, ReleaseFast, ReleaseSmall)", mode_name);
  }
  if (!root) {
    args_free(&compile);
    args_free(&link);
    return zinst_usage_error("zig", "build-exe needs a root source file (main.zig)");
  }
  if (has_modules) {
    args_free(&compile);
    args_free(&link);
    return zinst_usage_error("zig", "-M modules are not supported: give the root source file "
                                    "(main.zig) and use zig-integration's build.zig for more");
  }
  /* The runtime needs libc, and the libc choice must be the same in the
   * bitcode (start code) and the link. */
  if (!has_libc) {
    args_push(&compile, "-lc");
    args_push(&link, "-lc");
  }
  /* The link has no root source to name the executable after. */
  if (!has_name && !has_output) {
    char *name = stem(root);
    if (!name)
      link.failed = true;
    else {
      args_push(&link, "--name");
      args_push(&link, name);
      args_push(&compile, "--name");
      args_push(&compile, name);
    }
    free(name);
  }

  int status = ZINST_EXIT_FAILURE;
  struct zig_toolchain toolchain = {0};
  char *prefix = NULL, *plugin = NULL, *runtime_dir = NULL, *temp = NULL;
  char *bitcode = NULL, *scratch = NULL, *object = NULL;
  static const char *const temp_names[] = {"app.bc", "app.inst.bc", "app.o"};
  if (compile.failed || link.failed) {
    fputs("zinst zig: out of memory\n", stderr);
    goto done;
  }
  if (query_toolchain(ctx, &toolchain) != 0)
    goto done;
  /* Before compiling anything: a mismatched pair fails fast. */
  if (check_llvm_pairing(&toolchain) != 0)
    goto done;
  prefix = installation_prefix();
  if (!prefix || !(plugin = installed_path(prefix, PLUGIN_RELATIVE_PATH)) ||
      !(runtime_dir = installed_path(prefix, RUNTIME_RELATIVE_DIR)))
    goto done;
  if (!(temp = make_temp_dir()))
    goto done;
  bitcode = zinst_strdup_printf("%s/%s", temp, temp_names[0]);
  scratch = zinst_strdup_printf("%s/%s", temp, temp_names[1]);
  object = zinst_strdup_printf("%s/%s", temp, temp_names[2]);
  if (!bitcode || !scratch || !object) {
    fputs("zinst zig: out of memory\n", stderr);
    goto done;
  }
  /* --verbose-llvm-bc, not -femit-llvm-bc: with Zig 0.17 the latter is
   * the bitcode after Zig's own LLVM optimized it (inlining included), and
   * zinst must see the code before any inlining. -fllvm: without an emit
   * option asking for LLVM, Zig 0.17 compiles Debug builds with its own
   * backend and writes no bitcode at all. */
  args_push(&compile, "-fno-emit-bin");
  args_push(&compile, "-fllvm");
  args_pushf(&compile, "--verbose-llvm-bc=%s", bitcode);
  /* The root as a module named after its file, as Zig names it, so that
   * it can import the zinst API. Last: Zig's per-module flags (-O...)
   * apply to the next -M, which must be the user's module. */
  if (push_root_with_api(&compile, prefix, root) != 0)
    goto done;
  args_push(&link, object);
  if (push_runtime_sources(&link, runtime_dir) != 0)
    goto done;
  if (compile.failed || link.failed) {
    fputs("zinst zig: out of memory\n", stderr);
    goto done;
  }
  int tool_status = run_tool(ctx, compile.items, NULL);
  if (tool_status != 0) {
    /* Zig printed the compile errors. Keep its exit status. */
    status = tool_status > 0 ? tool_status : ZINST_EXIT_FAILURE;
    goto done;
  }
  struct stat written;
  if (stat(bitcode, &written) != 0) {
    fprintf(stderr, "zinst zig: %s build-exe succeeded but wrote no bitcode to %s\n", ctx->zig,
            bitcode);
    goto done;
  }
  if (lower_bitcode(ctx, &toolchain, (enum zig_mode)mode, plugin, bitcode, scratch, object) != 0)
    goto done;
  tool_status = run_tool(ctx, link.items, NULL);
  status = tool_status == 0 ? ZINST_EXIT_OK : (tool_status > 0 ? tool_status : ZINST_EXIT_FAILURE);
done:
  if (temp)
    remove_temp_dir(temp, (const char *const *)temp_names,
                    sizeof temp_names / sizeof temp_names[0]);
  free(temp);
  free(bitcode);
  free(scratch);
  free(object);
  free(plugin);
  free(runtime_dir);
  free(prefix);
  toolchain_free(&toolchain);
  args_free(&compile);
  args_free(&link);
  return status;
}

/*
 * `zinst zig paths`: what a build system needs to link the runtime itself,
 * one `key=value` per line: plugin=, runtime-dir=, and one runtime-source=
 * per C file (relative to runtime-dir). The zig-integration package reads it.
 */
static int cmd_paths(void) {
  char *prefix = installation_prefix();
  char *plugin = prefix ? installed_path(prefix, PLUGIN_RELATIVE_PATH) : NULL;
  char *runtime_dir = prefix ? installed_path(prefix, RUNTIME_RELATIVE_DIR) : NULL;
  char *list_path =
      runtime_dir ? zinst_strdup_printf("%s/%s", runtime_dir, RUNTIME_FILE_LIST) : NULL;
  FILE *list = list_path ? fopen(list_path, "r") : NULL;
  int status = ZINST_EXIT_FAILURE;
  if (list_path && !list)
    fprintf(stderr, "zinst zig: %s: %s\n", list_path, strerror(errno));
  if (list) {
    printf("plugin=%s\nruntime-dir=%s\n", plugin, runtime_dir);
    char line[256];
    while (fgets(line, sizeof line, list)) {
      line[strcspn(line, "\r\n")] = '\0';
      if (line[0] != '\0')
        printf("runtime-source=%s\n", line);
    }
    fclose(list);
    status = fflush(stdout) == 0 ? ZINST_EXIT_OK : ZINST_EXIT_FAILURE;
  }
  free(list_path);
  free(runtime_dir);
  free(plugin);
  free(prefix);
  return status;
}

int zinst_cmd_zig(int argc, char **argv) {
  struct zig_context ctx = {.zig = getenv("ZINST_ZIG"), .verbose = false};
  if (!ctx.zig || !*ctx.zig)
    ctx.zig = "zig";
  int i = 1;
  for (; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(help_text, stdout);
      return ZINST_EXIT_OK;
    }
    if (strcmp(arg, "--verbose") == 0)
      ctx.verbose = true;
    else if (strcmp(arg, "--zig") == 0 && i + 1 < argc)
      ctx.zig = argv[++i];
    else if (strncmp(arg, "--zig=", 6) == 0)
      ctx.zig = arg + 6;
    else
      break;
  }
  if (i == argc)
    return zinst_usage_error("zig", "say what to do: build-exe or lower");
  const char *verb = argv[i];
  if (strcmp(verb, "build-exe") == 0)
    return cmd_build_exe(&ctx, argc - i - 1, argv + i + 1);
  if (strcmp(verb, "lower") == 0)
    return cmd_lower(&ctx, argc - i - 1, argv + i + 1);
  if (strcmp(verb, "paths") == 0 && i + 1 == argc)
    return cmd_paths();
  return zinst_usage_error("zig", "unknown verb or option '%s' (build-exe, lower, paths)", verb);
}
