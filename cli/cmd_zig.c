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
 * Step 1 and steps 2-3 are also subcommands of their own, `zinst zig
 * bitcode` and `zinst zig lower`, which the zig-integration build.zig
 * package runs as build steps.
 *
 * The system LLVM must read Zig's bitcode: an LLVM reads bitcode of its own
 * and older majors only. The pairing is checked before opt runs, naming both
 * versions.
 *
 * Paths: the plugin is <prefix>/lib/libzinst.so and the runtime's sources
 * <prefix>/share/zinst/runtime/, with <prefix> the parent of the directory
 * holding this executable (the build tree and the install tree alike).
 */
/* nftw(), to delete the private Zig cache of `zinst zig bitcode`. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
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
    "       zinst zig [--zig PATH] [--verbose] bitcode --depfile=FILE -o OUT.bc -- [zig build-exe "
    "arguments]\n"
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
    "bitcode: step 1 alone, for build systems (the zig-integration build.zig\n"
    "package): Zig's unoptimized bitcode to OUT.bc, and to FILE a Makefile depfile\n"
    "naming every file Zig read for it.\n"
    "lower: steps 2-3 alone, for build systems: Zig bitcode in, instrumented\n"
    "object out.\n"
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

struct zig_toolchain {    /* owns every string */
  char *version;          /* `zig version` */
  char *lib_dir;          /* from `zig env` */
  char *global_cache_dir; /* from `zig env` */
  char *llvm_text;        /* "22.1.8" */
  struct llvm_version llvm;
};

static void toolchain_free(struct zig_toolchain *toolchain) {
  free(toolchain->version);
  free(toolchain->lib_dir);
  free(toolchain->global_cache_dir);
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
 * The string value of `key` in `zig env`'s output: JSON up to Zig 0.14
 * (`"lib_dir": "..."`), ZON later (`.lib_dir = "..."`). Malloc'd; NULL if
 * absent. Backslash escapes are undone.
 */
static char *env_value(const char *env, const char *key) {
  char json_key[64], zon_key[64];
  snprintf(json_key, sizeof json_key, "\"%s\"", key);
  snprintf(zon_key, sizeof zon_key, ".%s ", key);
  const char *found = strstr(env, json_key);
  if (!found)
    found = strstr(env, zon_key);
  if (!found)
    return NULL;
  /* Both spellings of the key are its length + 2 bytes long. */
  const char *open = strchr(found + strlen(key) + 2, '"');
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
  toolchain->lib_dir = env_value(env, "lib_dir");
  toolchain->global_cache_dir = env_value(env, "global_cache_dir");
  free(env);
  if (!toolchain->lib_dir || !toolchain->global_cache_dir || !toolchain->llvm_text) {
    fprintf(stderr, "zinst zig: cannot find Zig's lib and global cache directories in the output "
                    "of `zig env`\n");
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

/* ---- bitcode: Zig's unoptimized bitcode and the files it was made from ---- */

/*
 * `zinst zig bitcode --depfile=D -o OUT.bc -- ARGS` is the compile step of
 * the zig-integration package. A Compile step of the build system cannot
 * give unoptimized bitcode: its -femit-llvm-bc is the module after Zig's own
 * LLVM optimized it (Zig 0.17), and the build system passes no
 * --verbose-llvm-bc. So the package runs this as a Run step:
 *
 *   zig build-exe ARGS -fno-emit-bin -fllvm --verbose-llvm-bc=OUT.bc
 *
 * with a private, empty local cache, so that Zig really compiles. A Run step
 * is rerun only when an input it knows of changes, and the Zig files a
 * compile reads are known only to Zig: they come from Zig's compiler protocol
 * (--listen=-, the file_system_inputs message the build runner itself uses
 * for --watch) and go to D, a Makefile depfile the Run step reads.
 */

/* The whole file at `path`, NUL-terminated; malloc'd, NULL after printing why. */
static char *read_text_file(const char *path) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "zinst zig: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  size_t size = 0, capacity = 1 << 16;
  char *text = malloc(capacity);
  while (text) {
    size += fread(text + size, 1, capacity - size - 1, file);
    if (size + 1 < capacity)
      break;
    char *grown = realloc(text, capacity * 2);
    if (!grown) {
      free(text);
      text = NULL;
    } else {
      text = grown;
      capacity *= 2;
    }
  }
  const bool failed = ferror(file);
  fclose(file);
  if (!text || failed) {
    fprintf(stderr, "zinst zig: cannot read %s: %s\n", path, text ? "read error" : "out of memory");
    free(text);
    return NULL;
  }
  text[size] = '\0';
  return text;
}

struct enum_field {
  char name[32];
  long value;
};

/*
 * The fields of the Zig enum that `declaration` opens (its first occurrence
 * in the Zig source `text`, e.g. "pub const Tag = enum(u32) {"), in order,
 * with their values: an explicit `= N`, else the previous value + 1. The
 * fields end at the closing brace, the non-exhaustive `_`, or the first line
 * that is not a field. Returns their number (at most `capacity`), or -1 if
 * the enum is missing or a field is not a plain `name,` or `name = N,`.
 */
static int zig_enum_fields(const char *text, const char *declaration, struct enum_field *fields,
                           int capacity) {
  const char *at = strstr(text, declaration);
  if (!at)
    return -1;
  const char *line = at + strlen(declaration);
  long next = 0;
  int count = 0;
  while (*line) {
    const char *end = strchr(line, '\n');
    if (!end)
      end = line + strlen(line);
    /* The line without its comment and surrounding blanks: [first, last). */
    const char *first = line, *last = end;
    for (const char *p = line; p + 1 < end; p++)
      if (p[0] == '/' && p[1] == '/') {
        last = p;
        break;
      }
    while (first < last && (*first == ' ' || *first == '\t'))
      first++;
    while (last > first && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\r'))
      last--;
    line = *end ? end + 1 : end;
    if (first == last)
      continue;
    if (*first == '}' || last[-1] != ',' || (last - first == 2 && first[0] == '_'))
      break;
    const char *name_end = first;
    while (name_end < last &&
           (*name_end == '_' || (*name_end >= 'a' && *name_end <= 'z') ||
            (*name_end >= 'A' && *name_end <= 'Z') || (*name_end >= '0' && *name_end <= '9')))
      name_end++;
    const char *rest = name_end;
    while (rest < last && *rest == ' ')
      rest++;
    if (name_end == first || (size_t)(name_end - first) >= sizeof fields[0].name ||
        count == capacity)
      return -1;
    if (*rest == '=') {
      char *number_end;
      const long value = strtol(rest + 1, &number_end, 0);
      while (number_end < last && *number_end == ' ')
        number_end++;
      if (number_end == rest + 1 || number_end != last - 1)
        return -1;
      next = value;
    } else if (rest != last - 1) {
      return -1;
    }
    memcpy(fields[count].name, first, (size_t)(name_end - first));
    fields[count].name[name_end - first] = '\0';
    fields[count].value = next++;
    count++;
  }
  return count;
}

/* The value of field `name` among `count` fields, -1 if absent. */
static long enum_value(const struct enum_field *fields, int count, const char *name) {
  for (int i = 0; i < count; i++)
    if (strcmp(fields[i].name, name) == 0)
      return fields[i].value;
  return -1;
}

#define PROTOCOL_MAX_PREFIXES 8

/* What this zinst needs of Zig's compiler protocol. */
struct zig_protocol {
  long update, exit;                                  /* client -> compiler */
  long error_bundle, emit_digest, file_system_inputs; /* compiler -> client */
  /* The names of std.zig.Server.Message.PathPrefix, by value. */
  char prefixes[PROTOCOL_MAX_PREFIXES][32];
  int prefix_count;
};

/*
 * Reads the protocol's message numbers and path prefixes from the Zig that
 * runs (<lib>/std/zig/Client.zig and Server.zig): they change between Zig
 * releases (0.17 added messages before file_system_inputs, and a prefix).
 * Returns 0, or -1 after printing why.
 */
static int load_protocol(const char *lib_dir, struct zig_protocol *protocol) {
  char *client_path = zinst_strdup_printf("%s/std/zig/Client.zig", lib_dir);
  char *server_path = zinst_strdup_printf("%s/std/zig/Server.zig", lib_dir);
  char *client = client_path ? read_text_file(client_path) : NULL;
  char *server = client && server_path ? read_text_file(server_path) : NULL;
  int status = -1;
  if (server) {
    struct enum_field fields[64];
    const int count = sizeof fields / sizeof fields[0];
    int n = zig_enum_fields(client, "pub const Tag = enum(u32) {", fields, count);
    protocol->update = enum_value(fields, n, "update");
    protocol->exit = enum_value(fields, n, "exit");
    n = zig_enum_fields(server, "pub const Tag = enum(u32) {", fields, count);
    protocol->error_bundle = enum_value(fields, n, "error_bundle");
    protocol->emit_digest = enum_value(fields, n, "emit_digest");
    protocol->file_system_inputs = enum_value(fields, n, "file_system_inputs");
    n = zig_enum_fields(server, "pub const PathPrefix = enum(u8) {", fields, count);
    bool prefixes_ok = n > 0 && n <= PROTOCOL_MAX_PREFIXES;
    for (int i = 0; prefixes_ok && i < n; i++) {
      prefixes_ok = fields[i].value == i;
      memcpy(protocol->prefixes[i], fields[i].name, sizeof fields[i].name);
    }
    protocol->prefix_count = prefixes_ok ? n : 0;
    if (protocol->update >= 0 && protocol->exit >= 0 && protocol->error_bundle >= 0 &&
        protocol->emit_digest >= 0 && protocol->file_system_inputs >= 0 && prefixes_ok)
      status = 0;
    else
      fprintf(stderr,
              "zinst zig: cannot read Zig's compiler protocol from %s and %s: the messages "
              "update, exit, error_bundle, emit_digest and file_system_inputs, and the enum "
              "PathPrefix, are expected there\n",
              client_path, server_path);
  } else if (!client_path || !server_path) {
    fputs("zinst zig: out of memory\n", stderr);
  }
  free(server);
  free(client);
  free(server_path);
  free(client_path);
  return status;
}

/* `path` made absolute against `cwd`; malloc'd, NULL if out of memory. */
static char *absolute_path(const char *path, const char *cwd) {
  return path[0] == '/' ? strdup(path) : zinst_strdup_printf("%s/%s", cwd, path);
}

/* Reads exactly `size` bytes unless the stream ends first; returns the bytes read, -1 on error. */
static ssize_t read_fully(int fd, void *buffer, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t got = read(fd, (char *)buffer + done, size - done);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      return -1;
    if (got == 0)
      break;
    done += (size_t)got;
  }
  return (ssize_t)done;
}

/* Sends a message without a body: its tag and a zero length, little-endian. */
static int send_bodyless(int fd, long tag) {
  unsigned char header[8] = {0};
  for (int i = 0; i < 4; i++)
    header[i] = (unsigned char)((unsigned long)tag >> (8 * i));
  size_t done = 0;
  while (done < sizeof header) {
    const ssize_t put = write(fd, header + done, sizeof header - done);
    if (put < 0 && errno == EINTR)
      continue;
    if (put <= 0)
      return -1;
    done += (size_t)put;
  }
  return 0;
}

enum update_result { UPDATE_FAILED = -1, UPDATE_OK = 0, UPDATE_COMPILE_ERRORS = 1 };

/*
 * Runs `argv`, a zig compile with --listen=-, for one update of the
 * compiler protocol. On UPDATE_OK, *inputs holds the body of the
 * file_system_inputs message (malloc'd, owned by the caller, *inputs_size
 * bytes; NULL if Zig sent none). UPDATE_COMPILE_ERRORS: Zig sent an error
 * bundle (not printed). UPDATE_FAILED: printed why.
 */
static enum update_result run_compiler_update(const struct zig_context *ctx,
                                              const struct zig_protocol *protocol,
                                              char *const *argv, char **inputs,
                                              size_t *inputs_size) {
  *inputs = NULL;
  *inputs_size = 0;
  if (ctx->verbose)
    print_command(argv);
  int to_zig[2], from_zig[2];
  if (pipe(to_zig) != 0) {
    fprintf(stderr, "zinst zig: pipe: %s\n", strerror(errno));
    return UPDATE_FAILED;
  }
  if (pipe(from_zig) != 0) {
    fprintf(stderr, "zinst zig: pipe: %s\n", strerror(errno));
    close(to_zig[0]);
    close(to_zig[1]);
    return UPDATE_FAILED;
  }
  fflush(stdout);
  fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "zinst zig: fork: %s\n", strerror(errno));
    close(to_zig[0]);
    close(to_zig[1]);
    close(from_zig[0]);
    close(from_zig[1]);
    return UPDATE_FAILED;
  }
  if (pid == 0) {
    dup2(to_zig[0], STDIN_FILENO);
    dup2(from_zig[1], STDOUT_FILENO);
    close(to_zig[0]);
    close(to_zig[1]);
    close(from_zig[0]);
    close(from_zig[1]);
    execvp(argv[0], argv);
    fprintf(stderr, "zinst zig: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(to_zig[0]);
  close(from_zig[1]);
  /* A zig that exits early must not kill this process with SIGPIPE. */
  struct sigaction ignore = {.sa_handler = SIG_IGN}, previous;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &previous);

  enum update_result result = UPDATE_FAILED;
  const char *problem = "zig ended the protocol before the compile's result";
  if (send_bodyless(to_zig[1], protocol->update) != 0) {
    problem = "cannot send the update message to zig";
  } else {
    for (;;) {
      unsigned char header[8];
      if (read_fully(from_zig[0], header, sizeof header) != (ssize_t)sizeof header)
        break;
      unsigned long tag = 0, length = 0;
      for (int i = 3; i >= 0; i--) {
        tag = tag << 8 | header[i];
        length = length << 8 | header[4 + i];
      }
      char *body = malloc(length + 1);
      if (!body) {
        problem = "out of memory reading zig's messages";
        break;
      }
      if (read_fully(from_zig[0], body, length) != (ssize_t)length) {
        free(body);
        break;
      }
      if ((long)tag == protocol->file_system_inputs) {
        free(*inputs);
        *inputs = body;
        *inputs_size = length;
        continue;
      }
      free(body);
      if ((long)tag == protocol->error_bundle) {
        result = UPDATE_COMPILE_ERRORS;
        break;
      }
      if ((long)tag == protocol->emit_digest) {
        result = UPDATE_OK;
        break;
      }
      /* Other messages (zig_version, time reports...) are of no use here. */
    }
  }
  /* Let zig exit, and read what it still writes so that it never blocks. */
  send_bodyless(to_zig[1], protocol->exit);
  close(to_zig[1]);
  char discard[4096];
  for (;;) {
    const ssize_t got = read(from_zig[0], discard, sizeof discard);
    if (got > 0 || (got < 0 && errno == EINTR))
      continue;
    break;
  }
  close(from_zig[0]);
  sigaction(SIGPIPE, &previous, NULL);
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "zinst zig: waitpid: %s\n", strerror(errno));
      status = -1;
      break;
    }
  }
  const bool exited_ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (result == UPDATE_OK && !exited_ok) {
    problem = "zig failed after reporting a successful compile";
    result = UPDATE_FAILED;
  }
  if (result == UPDATE_FAILED) {
    if (status != -1 && WIFSIGNALED(status))
      fprintf(stderr, "zinst zig: %s (zig was killed by signal %d)\n", problem, WTERMSIG(status));
    else if (status != -1 && WIFEXITED(status))
      fprintf(stderr, "zinst zig: %s (zig exit status %d)\n", problem, WEXITSTATUS(status));
    else
      fprintf(stderr, "zinst zig: %s\n", problem);
    free(*inputs);
    *inputs = NULL;
    *inputs_size = 0;
  }
  return result;
}

/*
 * Writes a depfile: `target` depends on every file of `inputs` (the body of a
 * file_system_inputs message: NUL-terminated paths, each behind one byte,
 * its prefix + 1), made absolute with `prefix_dirs` (by prefix value; NULL:
 * leave the file out). Returns the number of files listed, or -1 after
 * printing why.
 */
static int write_depfile(const char *depfile, const char *target, const char *inputs, size_t size,
                         char *const *prefix_dirs, const struct zig_protocol *protocol) {
  FILE *out = fopen(depfile, "w");
  if (!out) {
    fprintf(stderr, "zinst zig: %s: %s\n", depfile, strerror(errno));
    return -1;
  }
  /* The target: '\' escapes a blank, '#' and '\'; '$' doubles. */
  for (const char *p = target; *p; p++) {
    if (*p == ' ' || *p == '\t' || *p == '#' || *p == '\\')
      fputc('\\', out);
    if (*p == '$')
      fputc('$', out);
    fputc(*p, out);
  }
  fputc(':', out);
  int count = 0;
  const char *bad = NULL;
  for (size_t at = 0; at < size && !bad;) {
    const char *entry = inputs + at;
    const size_t length = strnlen(entry, size - at);
    at += length + 1;
    if (length < 2)
      continue;
    const int prefix = (unsigned char)entry[0] - 1;
    if (prefix < 0 || prefix >= protocol->prefix_count) {
      bad = "a file under a path prefix this zinst does not know";
      break;
    }
    if (!prefix_dirs[prefix])
      continue;
    const char *path = entry + 1;
    if (strpbrk(path, "\"\n\r")) {
      bad = "a file whose name has a quote or a line break, which a depfile cannot list";
      break;
    }
    /* Quoted when it has a blank or a '\': no escapes inside quotes. */
    const bool quote = strpbrk(path, " \t\\") != NULL;
    const char *dir = path[0] == '/' ? "" : prefix_dirs[prefix];
    fprintf(out, " \\\n  %s%s%s%s%s", quote ? "\"" : "", dir, *dir ? "/" : "", path,
            quote ? "\"" : "");
    count++;
  }
  fputc('\n', out);
  const bool write_failed = ferror(out) != 0;
  if (fclose(out) != 0 || write_failed) {
    fprintf(stderr, "zinst zig: cannot write %s\n", depfile);
    return -1;
  }
  if (bad) {
    fprintf(stderr, "zinst zig: Zig reported %s; %s is incomplete\n", bad, depfile);
    return -1;
  }
  return count;
}

/* nftw callback: removes each entry, children first. */
static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *walk) {
  (void)info;
  (void)type;
  (void)walk;
  return remove(path) == 0 ? 0 : -1;
}

static int cmd_bitcode(const struct zig_context *ctx, int argc, char **argv) {
  const char *depfile = NULL, *output = NULL;
  int i = 0;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strncmp(argv[i], "--depfile=", 10) == 0)
      depfile = argv[i] + 10;
    else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
      output = argv[++i];
    else
      return zinst_usage_error("zig", "bitcode: unknown or incomplete option '%s'", argv[i]);
  }
  if (!depfile || !output || i + 1 >= argc)
    return zinst_usage_error("zig", "bitcode needs --depfile=FILE, -o OUT.bc, '--' and the "
                                    "arguments of zig build-exe");
  const int zig_argc = argc - i - 1;
  char **zig_argv = argv + i + 1;

  int status = ZINST_EXIT_FAILURE;
  struct zig_toolchain toolchain;
  struct zig_protocol protocol;
  struct arg_list compile = {0};
  char *cwd = NULL, *lib_dir = NULL, *global_cache = NULL, *temp = NULL, *inputs = NULL;
  if (query_toolchain(ctx, &toolchain) != 0)
    return ZINST_EXIT_FAILURE;
  if (check_llvm_pairing(&toolchain) != 0 || load_protocol(toolchain.lib_dir, &protocol) != 0)
    goto done;
  cwd = getcwd(NULL, 0);
  if (!cwd) {
    fprintf(stderr, "zinst zig: the current directory: %s\n", strerror(errno));
    goto done;
  }
  lib_dir = absolute_path(toolchain.lib_dir, cwd);
  global_cache = absolute_path(toolchain.global_cache_dir, cwd);
  /* The directory of each path prefix; the private local cache is left out
   * (it is deleted below). */
  char *prefix_dirs[PROTOCOL_MAX_PREFIXES] = {0};
  bool build_root = false;
  for (int k = 0; k < protocol.prefix_count; k++) {
    const char *name = protocol.prefixes[k];
    if (strcmp(name, "cwd") == 0)
      prefix_dirs[k] = cwd;
    else if (strcmp(name, "zig_lib") == 0)
      prefix_dirs[k] = lib_dir;
    else if (strcmp(name, "global_cache") == 0)
      prefix_dirs[k] = global_cache;
    else if (strcmp(name, "build_root") == 0) {
      prefix_dirs[k] = cwd; /* given to zig below */
      build_root = true;
    } else if (strcmp(name, "local_cache") != 0) {
      fprintf(stderr,
              "zinst zig: Zig's compiler protocol has a path prefix '%s' unknown to "
              "this zinst\n",
              name);
      goto done;
    }
  }
  if (!lib_dir || !global_cache || !(temp = make_temp_dir()))
    goto done;

  args_push(&compile, ctx->zig);
  args_push(&compile, "build-exe");
  for (int k = 0; k < zig_argc; k++)
    args_push(&compile, zig_argv[k]);
  /* -fllvm: without it Zig 0.17 compiles Debug builds with its own backend
   * and writes no bitcode. */
  args_push(&compile, "-fno-emit-bin");
  args_push(&compile, "-fllvm");
  args_pushf(&compile, "--verbose-llvm-bc=%s", output);
  args_push(&compile, "--cache-dir");
  args_pushf(&compile, "%s/cache", temp);
  args_push(&compile, "--global-cache-dir");
  args_push(&compile, global_cache);
  if (build_root) {
    args_push(&compile, "--build-root");
    args_push(&compile, cwd);
  }
  args_push(&compile, "--listen=-"); /* last: dropped to print compile errors */
  if (compile.failed) {
    fputs("zinst zig: out of memory\n", stderr);
    goto done;
  }
  size_t inputs_size = 0;
  switch (run_compiler_update(ctx, &protocol, compile.items, &inputs, &inputs_size)) {
  case UPDATE_FAILED:
    goto done;
  case UPDATE_COMPILE_ERRORS: {
    /* The protocol carries the errors in binary form: the same compile
     * without it prints them. */
    free(compile.items[compile.count - 1]);
    compile.items[--compile.count] = NULL;
    const int tool_status = run_tool(ctx, compile.items, NULL);
    if (tool_status > 0)
      status = tool_status;
    else if (tool_status == 0)
      fprintf(stderr, "zinst zig: zig reported compile errors, then compiled without them\n");
    goto done;
  }
  case UPDATE_OK:
    break;
  }
  struct stat written;
  if (stat(output, &written) != 0 || written.st_size == 0) {
    fprintf(stderr, "zinst zig: %s build-exe succeeded but wrote no bitcode to %s\n", ctx->zig,
            output);
    goto done;
  }
  if (!inputs) {
    fprintf(stderr,
            "zinst zig: %s sent no list of the files it compiled: the build could not "
            "tell when to compile again\n",
            ctx->zig);
    goto done;
  }
  const int listed = write_depfile(depfile, output, inputs, inputs_size, prefix_dirs, &protocol);
  if (listed == 0)
    fprintf(stderr, "zinst zig: %s listed no file it compiled\n", ctx->zig);
  else if (listed > 0)
    status = ZINST_EXIT_OK;
done:
  if (temp && nftw(temp, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
    fprintf(stderr, "zinst zig: warning: cannot remove the temporary directory %s\n", temp);
  free(inputs);
  free(temp);
  free(global_cache);
  free(lib_dir);
  free(cwd);
  args_free(&compile);
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
    return zinst_usage_error("zig", "say what to do: build-exe, bitcode, lower or paths");
  const char *verb = argv[i];
  if (strcmp(verb, "build-exe") == 0)
    return cmd_build_exe(&ctx, argc - i - 1, argv + i + 1);
  if (strcmp(verb, "lower") == 0)
    return cmd_lower(&ctx, argc - i - 1, argv + i + 1);
  if (strcmp(verb, "bitcode") == 0)
    return cmd_bitcode(&ctx, argc - i - 1, argv + i + 1);
  if (strcmp(verb, "paths") == 0 && i + 1 == argc)
    return cmd_paths();
  return zinst_usage_error("zig", "unknown verb or option '%s' (build-exe, bitcode, lower, paths)",
                           verb);
}
