/*
 * api.c - runtime start-up, settings, the dump pipeline and the public API
 * of include/zinst.h.
 */
#define _GNU_SOURCE
#include "zinst.h"

#include "call_cost.h"
#include "cycle_counter.h"
#include "hook_cost.h"
#include "memory.h"
#include "module_registry.h"
#include "profile_output.h"
#include "profile_writer.h"
#include "runtime_internal.h"
#include "thread_state.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "heap.h" /* after the system headers: its macros route malloc & co */

struct zinst_config zinst_config;
ZINST_TLS_INITIAL_EXEC unsigned char zinst_tls_in_runtime;

static pthread_mutex_t runtime_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int initialized; /* the settings and the clock origin are in place */
static int exit_dump_disabled;
static int overflow_warned, lost_warned;
/* This thread holds (or waits for) the runtime lock / is writing a profile:
 * a SIGINT/SIGTERM landing now is deferred (signals.c). */
static ZINST_TLS_INITIAL_EXEC unsigned char holds_lock, dumping;
/* The last profile of the process, at exit or on a signal: only one of the
 * two is written, so that a `%m` file never gets the process twice. */
enum { FINAL_DUMP_NONE, FINAL_DUMP_RUNNING, FINAL_DUMP_DONE };
static int final_dump_state;
/* Blocks the program allocated that were live at the last profile written
 * at exit (memory tracing on): ZINST_LEAK_EXIT's test. */
static uint64_t exit_live_blocks, exit_live_bytes;

/* A shorter run than this is calibrated by spinning until it is reached.
 * The two clocks are read back to back (within ~50 ns of each other), so
 * 2 ms gives the ratio to a few parts in 10^5; a longer spin would only
 * delay the exit of short programs (it showed as 20 ms in the benchmark). */
#define CALIBRATION_NS 2000000ull
/* How long a signal handler waits for another thread to release the
 * runtime lock, or to finish the last profile, before it gives up. */
#define SIGNAL_WAIT_MS 30000u

void zinst_runtime_lock(void) {
  holds_lock = 1; /* first: a signal while this thread waits is deferred too */
  pthread_mutex_lock(&runtime_mutex);
}
void zinst_runtime_unlock(void) {
  pthread_mutex_unlock(&runtime_mutex);
  holds_lock = 0;
  zinst_signals_deliver_deferred();
}

int zinst_runtime_busy_here(void) {
  return holds_lock || dumping;
}

static void sleep_one_millisecond(void) {
  struct timespec delay = {0, 1000000};
  nanosleep(&delay, NULL);
}

/* The runtime lock from a signal handler, on a thread that does not hold it:
 * another thread may, for as long as a dump takes. Returns 0 with the lock,
 * or -1 after SIGNAL_WAIT_MS. */
static int lock_from_signal(void) {
  for (unsigned waited = 0;; waited++) {
    if (pthread_mutex_trylock(&runtime_mutex) == 0) {
      holds_lock = 1;
      return 0;
    }
    if (waited >= SIGNAL_WAIT_MS)
      return -1;
    sleep_one_millisecond();
  }
}

/* Claim the last profile of the process for this thread (nonzero), or wait
 * (up to SIGNAL_WAIT_MS) until the thread that claimed it is done (0). */
static int claim_final_dump(void) {
  int expected = FINAL_DUMP_NONE;
  if (__atomic_compare_exchange_n(&final_dump_state, &expected, FINAL_DUMP_RUNNING, 0,
                                  __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return 1;
  for (unsigned waited = 0; __atomic_load_n(&final_dump_state, __ATOMIC_ACQUIRE) != FINAL_DUMP_DONE;
       waited++) {
    if (waited >= SIGNAL_WAIT_MS) {
      static const char message[] =
          "zinst: the profile another thread is writing took too long; not waiting for it\n";
      ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
      (void)ignored;
      break;
    }
    sleep_one_millisecond();
  }
  return 0;
}

/* An unsigned environment setting in [min, max]; a bad value is reported
 * and replaced by the default. */
static uint32_t env_setting(const char *name, uint32_t fallback, uint32_t min, uint32_t max) {
  const char *text = getenv(name);
  if (!text || !*text)
    return fallback;
  char *end;
  errno = 0;
  unsigned long long value = strtoull(text, &end, 10);
  if (errno || *end || text[0] == '-' || value < min || value > max) {
    fprintf(stderr, "zinst: ignoring %s=%s: expected a number from %u to %u; using %u\n", name,
            text, min, max, fallback);
    return fallback;
  }
  return (uint32_t)value;
}

static void load_config(void) {
  const char *mode = getenv("ZINST_MODE");
  zinst_config.mode = ZINST_MODE_TIME;
  if (mode && strcmp(mode, "count") == 0)
    zinst_config.mode = ZINST_MODE_COUNT;
  else if (mode && *mode && strcmp(mode, "time") != 0)
    fprintf(stderr, "zinst: ignoring ZINST_MODE=%s: expected \"time\" or \"count\"; using time\n",
            mode);
  if (zinst_registry_inline_tree() && !zinst_registry_inline_time()) {
    /* Built with -zinst-inline-tree: the code reads no clock. */
    if (mode && strcmp(mode, "time") == 0)
      fprintf(stderr, "zinst: ignoring ZINST_MODE=time: the program was built with "
                      "-zinst-inline-tree, which counts calls and records no time\n");
    zinst_config.mode = ZINST_MODE_COUNT;
  }
  zinst_config.max_depth =
      env_setting("ZINST_MAX_DEPTH", ZINST_DEFAULT_MAX_DEPTH, 1, ZINST_LIMIT_MAX_DEPTH);
  zinst_config.max_threads =
      env_setting("ZINST_MAX_THREADS", ZINST_DEFAULT_MAX_THREADS, 0, 1u << 20);
  zinst_config.max_nodes =
      env_setting("ZINST_MAX_NODES", ZINST_DEFAULT_MAX_NODES, 1, ZINST_LIMIT_MAX_NODES);
  zinst_config.sample_interval =
      env_setting("ZINST_SAMPLE", ZINST_DEFAULT_SAMPLE_INTERVAL, 1, ZINST_LIMIT_SAMPLE_INTERVAL);
  zinst_config.sample_limit =
      env_setting("ZINST_SAMPLE_LIMIT", ZINST_DEFAULT_SAMPLE_LIMIT, 0, ZINST_LIMIT_SAMPLE_LIMIT);
  if (zinst_config.sample_limit != 0 && zinst_config.sample_limit < 64) {
    fprintf(stderr,
            "zinst: ignoring ZINST_SAMPLE_LIMIT=%u: expected 0 (no limit) or at least 64; "
            "using %u\n",
            zinst_config.sample_limit, ZINST_DEFAULT_SAMPLE_LIMIT);
    zinst_config.sample_limit = ZINST_DEFAULT_SAMPLE_LIMIT;
  }
  /* The checks come at powers of two (zinst_check_samples). */
  uint32_t power_of_two = zinst_config.sample_limit;
  while (power_of_two & (power_of_two - 1))
    power_of_two &= power_of_two - 1;
  if (power_of_two != zinst_config.sample_limit) {
    fprintf(stderr, "zinst: ZINST_SAMPLE_LIMIT=%u rounded down to %u, a power of two\n",
            zinst_config.sample_limit, power_of_two);
    zinst_config.sample_limit = power_of_two;
  }
  zinst_config.sample_error = env_setting("ZINST_SAMPLE_ERROR", ZINST_DEFAULT_SAMPLE_ERROR, 0, 100);
  zinst_config.exact_calls = ZINST_EXACT_CALLS;
  zinst_config.long_activation_ticks = ZINST_LONG_ACTIVATION_TICKS;
  zinst_config.sample_outlier =
      env_setting("ZINST_SAMPLE_OUTLIER", ZINST_DEFAULT_SAMPLE_OUTLIER, 0, 1u << 20);
  const char *verbose = getenv("ZINST_VERBOSE");
  zinst_config.verbose = verbose && strcmp(verbose, "1") == 0;
}

void zinst_config_reload(void) {
  zinst_runtime_init();
  load_config();
}

static int dump_profile(const char *path, uint32_t reason, int from_signal);

static void dump_at_exit(void) {
  if (__atomic_load_n(&exit_dump_disabled, __ATOMIC_RELAXED) || !claim_final_dump())
    return;
  int written = dump_profile(NULL, ZINST_DUMP_EXIT, 0) == 0;
  __atomic_store_n(&final_dump_state, FINAL_DUMP_DONE, __ATOMIC_RELEASE);
  int status = zinst_mem_leak_exit_status();
  if (status && written && exit_live_blocks) {
    /* Handlers registered before the runtime's and the modules' destructors
     * are skipped: a test run that leaked ends here, with its output
     * flushed. */
    fprintf(stderr,
            "zinst: %llu bytes in %llu blocks allocated by the program are live at exit "
            "(`zinst mem` lists them); exit status %d (ZINST_LEAK_EXIT)\n",
            (unsigned long long)exit_live_bytes, (unsigned long long)exit_live_blocks, status);
    fflush(NULL);
    _exit(status);
  }
}

void zinst_dump_for_signal(void) {
  /* Before initialization ends there is nothing to write, and the settings
   * may not be complete. */
  if (!__atomic_load_n(&initialized, __ATOMIC_ACQUIRE) ||
      __atomic_load_n(&exit_dump_disabled, __ATOMIC_RELAXED) || !claim_final_dump())
    return;
  zinst_heap_arena_begin();
  (void)dump_profile(NULL, ZINST_DUMP_SIGNAL, 1);
  zinst_heap_arena_end();
  __atomic_store_n(&final_dump_state, FINAL_DUMP_DONE, __ATOMIC_RELEASE);
}

static void before_fork(void) {
  zinst_runtime_lock();
}
static void after_fork_in_parent(void) {
  zinst_runtime_unlock();
}
/* The child's profile starts at the fork: it holds what the child does, so
 * the parent's and the child's files add up without counting the parent's
 * past twice (frames open at the fork stay open, and count from here). */
static void after_fork_in_child(void) {
  zinst_signals_after_fork_child();
  zinst_hook_costs_after_fork_child();
  /* A last profile the parent was writing is the parent's. */
  __atomic_store_n(&final_dump_state, FINAL_DUMP_NONE, __ATOMIC_RELAXED);
  zinst_threads_after_fork_child();
  zinst_threads_reset(zinst_read_ticks());
  zinst_runtime_unlock();
}

static void initialize(void) {
  load_config();
  /* Before the clock origin: the program's elapsed time is its own. */
  if (zinst_config.mode == ZINST_MODE_TIME)
    zinst_hook_costs_at_start(zinst_config.sample_interval);
  zinst_config.clock_flags = zinst_clock_flags();
  zinst_config.start_unix_ns = zinst_realtime_ns();
  zinst_config.start_mono_ns = zinst_monotonic_ns();
  zinst_config.start_ticks = zinst_read_ticks();
  /* Registered this early, the handler runs after the program's own atexit
   * handlers (which may still run instrumented code) and before the
   * modules' destructors unregister them. */
  if (atexit(dump_at_exit) != 0)
    fprintf(stderr,
            "zinst: cannot register the exit handler: no profile will be written at exit\n");
  pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child);
  zinst_mem_init();
  __atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
  /* Last: from here on a signal may write a profile. */
  zinst_signals_init();
}

void zinst_runtime_init(void) {
  pthread_once(&init_once, initialize);
}

__attribute__((constructor)) static void runtime_constructor(void) {
  zinst_runtime_init();
}

/* Whole contents of a small /proc file as a NUL-terminated heap string
 * (caller frees), NUL bytes inside turned into spaces and trailing ones
 * dropped; NULL if unreadable. */
static char *read_proc_text(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  size_t size = 0, capacity = 256;
  char *text = malloc(capacity);
  while (text) {
    if (size + 1 == capacity) {
      char *grown = realloc(text, capacity * 2);
      if (!grown) {
        free(text);
        text = NULL;
        break;
      }
      text = grown;
      capacity *= 2;
    }
    ssize_t n = read(fd, text + size, capacity - 1 - size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    size += (size_t)n;
  }
  close(fd);
  if (!text)
    return NULL;
  while (size > 0 && (text[size - 1] == '\0' || text[size - 1] == '\n'))
    size--;
  for (size_t i = 0; i < size; i++)
    if (text[i] == '\0')
      text[i] = ' ';
  text[size] = '\0';
  return text;
}

/* Counter frequency from the whole run (start to now); a run shorter than
 * CALIBRATION_NS first spins until that much time has passed, so that the
 * ratio rests on a long enough interval. */
static void measure_clock(struct zinst_snapshot *s, uint64_t *now_ticks) {
  uint64_t ns = zinst_monotonic_ns();
  if (zinst_config.mode == ZINST_MODE_TIME && ns - zinst_config.start_mono_ns < CALIBRATION_NS) {
    while ((ns = zinst_monotonic_ns()) - zinst_config.start_mono_ns < CALIBRATION_NS) {
    }
  }
  uint64_t ticks = zinst_read_ticks();
  s->elapsed_ns = ns - zinst_config.start_mono_ns;
  s->elapsed_ticks = ticks - zinst_config.start_ticks;
  if (zinst_config.clock_flags & ZINST_CLOCK_NANOSECONDS)
    s->ticks_per_second = 1000000000u;
  else if (s->elapsed_ns > 0)
    /* A double keeps 53 bits: ample for a frequency, and no 128-bit
     * division helper is needed from the toolchain's builtins library. */
    s->ticks_per_second = (uint64_t)((double)s->elapsed_ticks * 1e9 / (double)s->elapsed_ns);
  *now_ticks = ticks;
}

int zinst_dump_with_reason(const char *path, uint32_t reason) {
  zinst_runtime_init();
  return dump_profile(path, reason, 0);
}

/* Write a profile (zinst_dump_with_reason). From a signal handler
 * (`from_signal`), the runtime lock is waited for with a bound, and the
 * caller has switched this thread's allocations to the arena (heap.h). */
static int dump_profile(const char *path, uint32_t reason, int from_signal) {
  unsigned char was_in_runtime = zinst_tls_in_runtime, was_dumping = dumping;
  zinst_tls_in_runtime = 1;
  dumping = 1;
  int status = -1, error = 0, merge = 0;
  char target[PATH_MAX], err[PATH_MAX + 128];
  if (!path) {
    const char *pattern = zinst_output_pattern();
    merge = zinst_output_pattern_merges(pattern);
    if (zinst_expand_output_pattern(pattern, target, sizeof target, err, sizeof err) != 0) {
      error = errno;
      fprintf(stderr, "zinst: cannot write the profile: %s\n", err);
      goto out;
    }
    path = target;
  }

  char hostname[256] = "";
  if (gethostname(hostname, sizeof hostname) != 0)
    hostname[0] = '\0';
  hostname[sizeof hostname - 1] = '\0';
  char exe_buffer[PATH_MAX];
  ssize_t exe_length = readlink("/proc/self/exe", exe_buffer, sizeof exe_buffer - 1);
  exe_buffer[exe_length > 0 ? exe_length : 0] = '\0';
  char *command_line = read_proc_text("/proc/self/cmdline");

  struct zinst_snapshot snapshot = {
      .pid = (uint64_t)getpid(),
      .start_unix_ns = zinst_config.start_unix_ns,
      .exe_path = exe_buffer,
      .command_line = command_line,
      .hostname = hostname,
      .runtime_version = ZINST_RUNTIME_VERSION,
      .mode = zinst_config.mode,
      .clock_flags = zinst_config.clock_flags,
      .max_depth = zinst_config.max_depth,
      .dump_reason = reason,
      .sample_interval = zinst_config.mode == ZINST_MODE_TIME ? zinst_config.sample_interval : 0,
      /* As zinst_thread_set_sample_limit applies it. */
      .sample_limit = zinst_config.mode == ZINST_MODE_TIME && zinst_config.sample_interval > 1
                          ? zinst_config.sample_limit
                          : 0,
      .sample_error = zinst_config.mode == ZINST_MODE_TIME && zinst_config.sample_interval > 1 &&
                              zinst_config.sample_limit != 0
                          ? zinst_config.sample_error
                          : 0,
      .sample_outlier = zinst_config.mode == ZINST_MODE_TIME && zinst_config.sample_interval > 1
                            ? zinst_config.sample_outlier
                            : 0,
      .exact_calls_per_context =
          zinst_config.mode == ZINST_MODE_TIME ? zinst_config.exact_calls : 0,
  };
  void *image = NULL;
  size_t size = 0;
  uint64_t now;
  uint32_t contexts = 0;
  measure_clock(&snapshot, &now);
  snapshot.call_cost_ps = zinst_call_cost_ps(snapshot.ticks_per_second);
  if (zinst_config.mode == ZINST_MODE_TIME) {
    /* Count mode has no times to correct. */
    struct zinst_hook_costs hooks;
    zinst_hook_costs(snapshot.ticks_per_second, &hooks);
    snapshot.hook_untimed_pair_ps = hooks.untimed_pair_ps;
    snapshot.hook_timed_pair_ps = hooks.timed_pair_ps;
    snapshot.hook_timed_inner_ps = hooks.timed_inner_ps;
    snapshot.hook_spread_ps = hooks.spread_ps;
  }
  snapshot.dump_unix_ns = zinst_realtime_ns();
  if (from_signal && lock_from_signal() != 0) {
    free(command_line);
    error = EBUSY;
    fprintf(stderr,
            "zinst: cannot write profile %s: another thread held the runtime lock for %u s\n", path,
            SIGNAL_WAIT_MS / 1000);
    goto out;
  }
  if (!from_signal)
    zinst_runtime_lock();
  if (zinst_registry_fill_snapshot(&snapshot) != 0 ||
      zinst_threads_fill_snapshot(&snapshot, now) != 0) {
    snprintf(err, sizeof err, "out of memory taking the snapshot");
    error = ENOMEM;
  } else if (zinst_build_profile_image(&snapshot, &image, &size, err, sizeof err) != 0) {
    error = errno;
  }
  for (uint32_t t = 0; t < snapshot.thread_count; t++)
    contexts += snapshot.threads[t].tree.count - 1;
  if (reason == ZINST_DUMP_EXIT) {
    exit_live_blocks = exit_live_bytes = 0;
    for (uint32_t k = 0; k < snapshot.memory_count; k++) {
      exit_live_blocks += snapshot.memory[k].allocations - snapshot.memory[k].frees;
      exit_live_bytes += snapshot.memory[k].allocated_bytes - snapshot.memory[k].freed_bytes;
    }
  }
  uint32_t thread_count = snapshot.thread_count;
  uint64_t overflow = snapshot.depth_overflow_calls, lost = snapshot.lost_calls;
  zinst_threads_free_snapshot(&snapshot);
  zinst_registry_free_tables(&snapshot);
  zinst_runtime_unlock();
  free(command_line);

  if (error) {
    fprintf(stderr, "zinst: cannot write profile %s: %s\n", path, err);
    goto out;
  }
  if (overflow && !__atomic_exchange_n(&overflow_warned, 1, __ATOMIC_RELAXED))
    fprintf(stderr,
            "zinst: %llu calls ran deeper than ZINST_MAX_DEPTH=%u: they are counted "
            "under the deepest recorded frame, untimed\n",
            (unsigned long long)overflow, zinst_config.max_depth);
  if (lost && !__atomic_exchange_n(&lost_warned, 1, __ATOMIC_RELAXED))
    fprintf(stderr,
            "zinst: %llu calls were not recorded: a thread reached ZINST_MAX_NODES=%u "
            "calling contexts\n",
            (unsigned long long)lost, zinst_config.max_nodes);
  if ((merge ? zinst_merge_file_atomically(path, image, size)
             : zinst_write_file_atomically(path, image, size)) != 0) {
    error = errno;
  } else {
    status = 0;
    if (zinst_config.verbose)
      fprintf(stderr, "zinst: %s %s (%u threads, %u contexts)\n",
              merge ? "added the profile to" : "wrote", path, thread_count, contexts);
  }
  free(image);
out:
  zinst_tls_in_runtime = was_in_runtime;
  dumping = was_dumping;
  if (!was_dumping)
    zinst_signals_deliver_deferred();
  if (status != 0)
    errno = error ? error : EIO;
  return status;
}

ZINST_EXPORT int zinst_dump(const char *path) {
  int saved_errno = errno;
  int status = zinst_dump_with_reason(path, ZINST_DUMP_API);
  if (status == 0)
    errno = saved_errno;
  return status;
}

ZINST_EXPORT void zinst_reset(void) {
  zinst_runtime_init();
  unsigned char was_in_runtime = zinst_tls_in_runtime;
  zinst_tls_in_runtime = 1;
  zinst_runtime_lock();
  zinst_threads_reset(zinst_read_ticks());
  zinst_runtime_unlock();
  zinst_tls_in_runtime = was_in_runtime;
}

ZINST_EXPORT void zinst_disable_exit_dump(void) {
  __atomic_store_n(&exit_dump_disabled, 1, __ATOMIC_RELAXED);
}
