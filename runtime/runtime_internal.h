/*
 * runtime_internal.h - what the runtime's files share and nobody else sees.
 *
 * Every symbol here has hidden visibility (the runtime is compiled with
 * -fvisibility=hidden); only the hooks of zinst_abi.h and the API of zinst.h
 * are exported.
 */
#ifndef ZINST_RUNTIME_INTERNAL_H
#define ZINST_RUNTIME_INTERNAL_H

#include <stdint.h>

#define ZINST_EXPORT __attribute__((visibility("default")))
#define ZINST_LIKELY(x) __builtin_expect(!!(x), 1)
#define ZINST_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* An initial-exec TLS variable is one %fs-relative load: no __tls_get_addr,
 * which may call malloc on first use and so recurse into the hooks. */
#define ZINST_TLS_INITIAL_EXEC __thread __attribute__((tls_model("initial-exec")))

#define ZINST_RUNTIME_VERSION "zinst 0.1.0"

/* Defaults and bounds of the environment settings (docs: runtime/README.md). */
#define ZINST_DEFAULT_MAX_DEPTH 1024u
#define ZINST_DEFAULT_MAX_THREADS 64u
#define ZINST_DEFAULT_MAX_NODES (1u << 20)
#define ZINST_LIMIT_MAX_DEPTH (1u << 20)
#define ZINST_LIMIT_MAX_NODES (1u << 26)
/* Time mode samples activations (hooks.c): the first ZINST_EXACT_CALLS calls
 * of every context are timed, then 1 in ZINST_SAMPLE on average. */
#define ZINST_DEFAULT_SAMPLE_INTERVAL 16u
#define ZINST_LIMIT_SAMPLE_INTERVAL (1u << 24)
#define ZINST_EXACT_CALLS 16u
/* A context's sampling interval doubles, and its samples count half, once
 * its mean is known well enough (thread_state.h: zinst_check_samples): at
 * the first power of two of its samples, from ZINST_FIRST_SAMPLE_CHECK on,
 * where the mean's 95% interval is within ZINST_SAMPLE_ERROR percent of it,
 * and at ZINST_SAMPLE_LIMIT samples (a power of two) at the latest. The
 * context then keeps between half that many and that many samples' worth.
 * ZINST_SAMPLE_LIMIT=0 keeps 1 in R for ever; ZINST_SAMPLE_ERROR=0 waits for
 * the limit. */
#define ZINST_DEFAULT_SAMPLE_LIMIT 4096u
#define ZINST_LIMIT_SAMPLE_LIMIT (1u << 30)
#define ZINST_DEFAULT_SAMPLE_ERROR 5u
#define ZINST_FIRST_SAMPLE_CHECK 256u
/* A context's exact stratum goes on past ZINST_EXACT_CALLS calls while its
 * activations average at least this many ticks (~3 us at 2.6 GHz; two
 * clock reads, ~50 ticks, cost them under 1%). Sampling a few such long,
 * uneven activations (thread joins, I/O) gave errors near 100%. */
#define ZINST_LONG_ACTIVATION_TICKS 8192u
/* ZINST_SAMPLE_OUTLIER's default (thread_state.h, zinst_sample_part), and
 * the samples a context's mean is taken from once it has them (its exact
 * stratum's before). */
#define ZINST_DEFAULT_SAMPLE_OUTLIER 64u
#define ZINST_OUTLIER_MEAN_SAMPLES 16u
/* Counted sites per process (inline and call sites, runtime/site_counters.h):
 * each thread reserves 8 bytes of virtual memory per site, touched as used. */
#define ZINST_MAX_SITES (1u << 20)

/* Settings and clock origin, fixed by zinst_runtime_init() before any
 * thread state exists and read-only afterwards. */
struct zinst_config {
  uint32_t mode;            /* ZINST_MODE_* from ZINST_MODE */
  uint32_t max_depth;       /* ZINST_MAX_DEPTH: shadow-stack frames per thread */
  uint32_t max_threads;     /* ZINST_MAX_THREADS: exited threads kept separate */
  uint32_t max_nodes;       /* ZINST_MAX_NODES: contexts per thread */
  uint32_t clock_flags;     /* ZINST_CLOCK_* */
  uint32_t sample_interval; /* ZINST_SAMPLE: R, 1 = time every activation */
  uint32_t exact_calls;     /* K: the first K calls of each context are timed */
  uint32_t sample_limit;    /* ZINST_SAMPLE_LIMIT, a power of two: samples before R doubles */
  uint32_t sample_error;    /* ZINST_SAMPLE_ERROR: percent, or 0 (R doubles at the limit only) */
  /* Mean ticks of a context's activations that extend its exact stratum
   * (ZINST_LONG_ACTIVATION_TICKS; tests change it). */
  uint32_t long_activation_ticks;
  /* ZINST_SAMPLE_OUTLIER: a sampled activation longer than this many times
   * its context's mean counts its excess once (zinst_sample_part); 0 = never. */
  uint32_t sample_outlier;
  int verbose;          /* ZINST_VERBOSE=1 */
  uint64_t start_ticks; /* zinst_read_ticks() at start */
  uint64_t start_mono_ns;
  uint64_t start_unix_ns;
};
extern struct zinst_config zinst_config;

/* Read the environment and record the clock origin, once per process (any
 * later call returns at once). Registers the exit dump and the fork
 * handlers. Called by the runtime's constructor and by every cold entry. */
void zinst_runtime_init(void);

/* Re-read the settings from the environment. Only for unit tests, before any
 * thread has produced an event. */
void zinst_config_reload(void);

/* The one mutex of every cold path: module registry, thread lists, dumps.
 * Never taken on the hot path. */
void zinst_runtime_lock(void);
void zinst_runtime_unlock(void);

/* Write a profile of every thread to `path` (NULL: the ZINST_OUTPUT
 * pattern) with dump_reason `reason` (ZINST_DUMP_*). Returns 0, or -1 with
 * errno set after one message on stderr. The program's state is only read. */
int zinst_dump_with_reason(const char *path, uint32_t reason);

/* Nonzero while this thread holds (or waits for) the runtime lock or writes
 * a profile: a SIGINT/SIGTERM handler must not write one now. */
int zinst_runtime_busy_here(void);

/* From the SIGINT/SIGTERM handler when the program's action is the default
 * one, with both signals blocked, on a thread where
 * zinst_runtime_busy_here() is 0: write the profile (dump_reason
 * ZINST_DUMP_SIGNAL) with this thread's allocations in the arena (heap.h),
 * unless the exit dump is disabled or the last profile was written already
 * (an exit dump; a signal on another thread). Returns when done. */
void zinst_dump_for_signal(void);

/* signals.c. Install the SIGINT/SIGTERM handlers (the end of start-up). */
void zinst_signals_init(void);
/* Raise again a signal this thread deferred because it was busy in the
 * runtime, once it no longer is. Called at every release of the lock and at
 * the end of every dump. */
void zinst_signals_deliver_deferred(void);
/* In a fork child: forget what the parent deferred. */
void zinst_signals_after_fork_child(void);

/* Nonzero while this thread executes runtime code that may take the runtime
 * lock (dump, reset, thread retirement): cold paths reached from hooks in
 * that window (an instrumented malloc, say) must neither create state nor
 * lock, and drop the event instead. */
extern ZINST_TLS_INITIAL_EXEC unsigned char zinst_tls_in_runtime;

#endif /* ZINST_RUNTIME_INTERNAL_H */
