/*
 * signals.c - a profile for programs ended by SIGINT or SIGTERM.
 *
 * The runtime installs its handler for both signals at start-up (unless
 * ZINST_SIGNALS=0, or the signal is ignored: an inherited SIG_IGN stays).
 * Programs usually install their own handlers later, so the runtime, which
 * is linked into the executable, defines sigaction(), signal() and their
 * BSD/System V variants: the executable's calls reach these definitions
 * before the C library's. For SIGINT and SIGTERM they record the program's
 * action, keep the runtime's handler installed (with the program's mask and
 * flags), and answer with the action the program set, so the program sees
 * what it would see without zinst. Every other signal goes straight to the
 * C library's sigaction (found with dlsym(RTLD_NEXT)).
 *
 * When a signal arrives:
 *   - the program's action is a handler: it is called, and that is all. The
 *     program decides whether and how to end; exit() writes the profile.
 *   - the program's action is SIG_DFL: the profile is written
 *     (ZINST_DUMP_SIGNAL), SIG_DFL is restored and the signal raised again,
 *     so the process dies of it as it would have without zinst.
 *
 * Writing from a handler (api.c, zinst_dump_for_signal): while the signal
 * lands on a thread that holds the runtime lock or is already writing a
 * profile, the handler only notes it and returns; the lock's release (or
 * the end of that write) raises it again. Allocations come from a private
 * arena (heap.h), so a signal that interrupted malloc does no harm.
 */
#define _GNU_SOURCE
#include "runtime_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*sigaction_function)(int, const struct sigaction *, struct sigaction *);

/* glibc exports it; the fallback for a link where dlsym finds nothing
 * (a static executable). */
extern int __sigaction(int, const struct sigaction *, struct sigaction *) __attribute__((weak));

enum { MANAGED_SIGNALS = 2 };

/* Per managed signal. Written under writer_lock with both signals blocked
 * in the writing thread; read by handlers through `sequence` (a seqlock:
 * odd while a writer is changing the entries). */
struct managed_signal {
  struct sigaction program; /* the program's action: SIG_DFL until it sets one */
  int ours;                 /* the runtime's handler is the installed one */
};

static sigaction_function real_sigaction;
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;
static int managing; /* set once the handlers are in place */
static struct managed_signal managed[MANAGED_SIGNALS];
static unsigned sequence;
static int writer_lock;

/* A signal that landed while this thread could not write a profile (it
 * holds the runtime lock, or is writing one): raised again by
 * zinst_signals_deliver_deferred(). */
static ZINST_TLS_INITIAL_EXEC int deferred_signal;

static void on_signal(int sig, siginfo_t *info, void *context);

static int managed_index(int sig) {
  return sig == SIGINT ? 0 : sig == SIGTERM ? 1 : -1;
}

/* The C library's signal() and its variants, for the signals the runtime
 * leaves alone: their flags (glibc's signal() honours siginterrupt()) stay
 * exactly the library's. NULL where not found: built on sigaction instead. */
enum { SIGNAL_BSD, SIGNAL_BSD_ALIAS, SIGNAL_SYSV, SIGNAL_SYSV_INTERNAL, SIGNAL_VARIANTS };
static const char *const signal_names[SIGNAL_VARIANTS] = {"signal", "bsd_signal", "sysv_signal",
                                                          "__sysv_signal"};
static sighandler_t (*real_signal[SIGNAL_VARIANTS])(int, sighandler_t);

/* Everything at once, outside any signal handler: dlsym may allocate, and
 * signal() may be called from a handler. */
static void resolve_real_sigaction(void) {
  real_sigaction = (sigaction_function)dlsym(RTLD_NEXT, "sigaction");
  if (!real_sigaction)
    real_sigaction = __sigaction;
  for (int k = 0; k < SIGNAL_VARIANTS; k++)
    real_signal[k] = (sighandler_t(*)(int, sighandler_t))dlsym(RTLD_NEXT, signal_names[k]);
}

static int call_real_sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  pthread_once(&resolve_once, resolve_real_sigaction);
  if (!real_sigaction) {
    errno = ENOSYS;
    return -1;
  }
  return real_sigaction(sig, act, old);
}

/* Block SIGINT and SIGTERM in this thread (previous mask into `saved`), so
 * that the runtime's handler cannot interrupt what follows here. */
static void block_managed(sigset_t *saved) {
  sigset_t both;
  sigemptyset(&both);
  sigaddset(&both, SIGINT);
  sigaddset(&both, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &both, saved);
}

/* Tell the core that this is a spin loop (x86: no memory-order penalty on
 * exit, the sibling hyperthread gets the pipeline). */
static void spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void lock_writers(void) {
  while (__atomic_exchange_n(&writer_lock, 1, __ATOMIC_ACQUIRE))
    spin_pause();
}

static void unlock_writers(void) {
  __atomic_store_n(&writer_lock, 0, __ATOMIC_RELEASE);
}

/* Replace entry `index` (caller holds writer_lock with the signals blocked). */
static void publish(int index, const struct sigaction *program, int ours) {
  __atomic_store_n(&sequence, sequence + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  if (program)
    memcpy(&managed[index].program, program, sizeof *program);
  managed[index].ours = ours;
  __atomic_store_n(&sequence, sequence + 1, __ATOMIC_RELEASE);
}

/* The program's action for entry `index`, consistent even while another
 * thread changes it. Async-signal-safe. */
static void read_program_action(int index, struct sigaction *out) {
  for (;;) {
    unsigned before = __atomic_load_n(&sequence, __ATOMIC_ACQUIRE);
    if (!(before & 1)) {
      memcpy(out, &managed[index].program, sizeof *out);
      __atomic_thread_fence(__ATOMIC_ACQUIRE);
      if (__atomic_load_n(&sequence, __ATOMIC_RELAXED) == before)
        return;
    }
    spin_pause();
  }
}

/* Install the runtime's handler for `sig` with the mask and the flags the
 * program asked for (`program`), SA_SIGINFO added and SA_RESETHAND taken
 * over by the handler (the kernel would otherwise drop the runtime's
 * handler too). */
static int install_ours(int sig, const struct sigaction *program) {
  struct sigaction ours;
  memset(&ours, 0, sizeof ours);
  ours.sa_sigaction = on_signal;
  ours.sa_mask = program->sa_mask;
  ours.sa_flags = (program->sa_flags & ~SA_RESETHAND) | SA_SIGINFO;
  return call_real_sigaction(sig, &ours, NULL);
}

static int is_ours(const struct sigaction *action) {
  return (action->sa_flags & SA_SIGINFO) && action->sa_sigaction == on_signal;
}

void zinst_signals_init(void) {
  const char *setting = getenv("ZINST_SIGNALS");
  if (setting && strcmp(setting, "0") == 0)
    return;
  if (setting && *setting && strcmp(setting, "1") != 0)
    fprintf(stderr, "zinst: ignoring ZINST_SIGNALS=%s: expected 0 or 1; using 1\n", setting);
  pthread_once(&resolve_once, resolve_real_sigaction);
  if (!real_sigaction) {
    fprintf(stderr, "zinst: the C library's sigaction() was not found: no profile will be "
                    "written when SIGINT or SIGTERM ends the program\n");
    return;
  }
  sigset_t saved;
  block_managed(&saved);
  lock_writers();
  for (int index = 0; index < MANAGED_SIGNALS; index++) {
    int sig = index == 0 ? SIGINT : SIGTERM;
    struct sigaction current;
    if (real_sigaction(sig, NULL, &current) != 0)
      continue;
    /* An ignored signal stays ignored (nohup, a shell's background job);
     * a handler installed before the runtime started becomes the program's. */
    int ours =
        current.sa_handler != SIG_IGN && !is_ours(&current) && install_ours(sig, &current) == 0;
    publish(index, &current, ours);
  }
  __atomic_store_n(&managing, 1, __ATOMIC_RELEASE);
  unlock_writers();
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
}

ZINST_EXPORT int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  zinst_runtime_init();
  int index = managed_index(sig);
  if (index < 0 || !__atomic_load_n(&managing, __ATOMIC_ACQUIRE))
    return call_real_sigaction(sig, act, old);
  int saved_errno = errno;
  sigset_t saved;
  block_managed(&saved);
  lock_writers();
  struct sigaction previous = managed[index].program;
  int status = 0, error = 0;
  if (act && is_ours(act)) {
    /* The runtime's own handler handed back (by code that saw it through
     * the C library): the program's action stays what it was. */
    status = call_real_sigaction(sig, act, NULL);
    error = errno;
    if (status == 0)
      publish(index, NULL, 1);
  } else if (act) {
    int ours = act->sa_handler != SIG_IGN;
    status = ours ? install_ours(sig, act) : call_real_sigaction(sig, act, NULL);
    error = errno;
    if (status == 0)
      publish(index, act, ours);
  }
  unlock_writers();
  pthread_sigmask(SIG_SETMASK, &saved, NULL);
  if (status != 0) {
    errno = error;
    return -1;
  }
  if (old)
    *old = previous;
  errno = saved_errno;
  return 0;
}

/* signal() and its variants: the C library's own for the signals the
 * runtime leaves alone; for SIGINT and SIGTERM built on the sigaction()
 * above as glibc builds them (its flags). */
static sighandler_t set_handler(int variant, int sig, sighandler_t handler, int flags,
                                int mask_self) {
  pthread_once(&resolve_once, resolve_real_sigaction);
  if ((managed_index(sig) < 0 || !__atomic_load_n(&managing, __ATOMIC_ACQUIRE)) &&
      real_signal[variant])
    return real_signal[variant](sig, handler);
  if (handler == SIG_ERR) {
    errno = EINVAL;
    return SIG_ERR;
  }
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  act.sa_flags = flags;
  sigemptyset(&act.sa_mask);
  if (mask_self && sig > 0 && sig < NSIG)
    sigaddset(&act.sa_mask, sig);
  if (sigaction(sig, &act, &old) != 0)
    return SIG_ERR;
  return old.sa_handler;
}

ZINST_EXPORT sighandler_t signal(int sig, sighandler_t handler) {
  return set_handler(SIGNAL_BSD, sig, handler, SA_RESTART, 1);
}

ZINST_EXPORT sighandler_t bsd_signal(int sig, sighandler_t handler) {
  return set_handler(SIGNAL_BSD_ALIAS, sig, handler, SA_RESTART, 1);
}

ZINST_EXPORT sighandler_t sysv_signal(int sig, sighandler_t handler) {
  return set_handler(SIGNAL_SYSV, sig, handler, SA_RESETHAND | SA_NODEFER, 0);
}

/* What signal() is with glibc in strict ISO C modes (-std=c11). */
ZINST_EXPORT sighandler_t __sysv_signal(int sig, sighandler_t handler) {
  return set_handler(SIGNAL_SYSV_INTERNAL, sig, handler, SA_RESETHAND | SA_NODEFER, 0);
}

/* End the process by `sig` with its default action (terminate), which the
 * caller has blocked in this thread. Does not return. */
static void die_of(int sig) {
  struct sigaction default_action;
  memset(&default_action, 0, sizeof default_action);
  default_action.sa_handler = SIG_DFL;
  sigemptyset(&default_action.sa_mask);
  call_real_sigaction(sig, &default_action, NULL);
  raise(sig);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, sig);
  pthread_sigmask(SIG_UNBLOCK, &only, NULL); /* the pending signal ends the process here */
  _exit(128 + sig);
}

static void on_signal(int sig, siginfo_t *info, void *context) {
  int index = managed_index(sig);
  if (index < 0)
    return;
  struct sigaction program;
  read_program_action(index, &program);
  if (program.sa_handler == SIG_IGN)
    return; /* set while this signal was on its way */
  if (program.sa_handler != SIG_DFL) {
    if (program.sa_flags & SA_RESETHAND) {
      /* One-shot: the next one meets the default action (and a profile). */
      struct sigaction reset;
      memset(&reset, 0, sizeof reset);
      reset.sa_handler = SIG_DFL;
      sigset_t saved;
      block_managed(&saved);
      lock_writers();
      publish(index, &reset, 1);
      unlock_writers();
      pthread_sigmask(SIG_SETMASK, &saved, NULL);
    }
    if (program.sa_flags & SA_SIGINFO)
      program.sa_sigaction(sig, info, context);
    else
      program.sa_handler(sig);
    return;
  }
  int saved_errno = errno;
  if (zinst_runtime_busy_here()) {
    deferred_signal = sig;
    errno = saved_errno;
    return;
  }
  sigset_t saved;
  block_managed(&saved);
  zinst_dump_for_signal();
  die_of(sig);
}

void zinst_signals_deliver_deferred(void) {
  int sig = deferred_signal;
  if (sig && !zinst_runtime_busy_here()) {
    deferred_signal = 0;
    int saved_errno = errno;
    raise(sig);
    errno = saved_errno;
  }
}

void zinst_signals_after_fork_child(void) {
  deferred_signal = 0; /* it was the parent's */
}
