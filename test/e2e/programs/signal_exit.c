/* Ended by SIGINT or SIGTERM from the test. Each mode first does finished
 * work with exact counts (warm: 1000 calls), prints "ready", then runs a hot
 * loop until a signal ends it:
 *
 *   spin     no handler of its own: the default action ends the process.
 *   handler  installs (after the runtime started) a SIGINT handler with
 *            sigaction that prints a marker and sets a flag, and ignores
 *            SIGTERM with signal(); when the flag is set the loop ends,
 *            after_interrupt() runs once and main returns 3.
 *   early    a constructor that runs before the runtime's installs a
 *            SIGTERM handler like the one above; main waits for it, then
 *            after_interrupt() runs once and main returns 4.
 *   churn    the loop allocates and frees memory and starts a short thread
 *            every 100 rounds (whose exit takes the runtime's lock), so that
 *            the signal often lands inside malloc or inside the runtime.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted, handler_runs;
static volatile unsigned long sink;

__attribute__((noinline)) void warm(unsigned long i) {
  sink += i * 7;
}
__attribute__((noinline)) void spin(unsigned long i) {
  sink += (i * 2654435761u) >> 9;
}
__attribute__((noinline)) void after_interrupt(void) {
  sink++;
}

__attribute__((noinline)) void churn(unsigned long round) {
  void *blocks[32];
  for (int k = 0; k < 32; k++) {
    blocks[k] = malloc(16 + (round * 131 + (unsigned long)k * 977) % 4000);
    if (blocks[k])
      memset(blocks[k], k, 16);
  }
  for (int k = 31; k >= 0; k--)
    free(blocks[k]);
}

__attribute__((noinline)) void *thread_work(void *arg) {
  spin((unsigned long)arg);
  return NULL;
}

static void on_interrupt(int sig) {
  (void)sig;
  handler_runs++;
  interrupted = 1;
  static const char marker[] = "marker: handler ran\n";
  ssize_t ignored = write(STDOUT_FILENO, marker, sizeof marker - 1);
  (void)ignored;
}

/* Priority 101 runs before constructors without one, the runtime's too. */
__attribute__((constructor(101))) static void install_early(void) {
  const char *mode = getenv("SIGNAL_EXIT_EARLY");
  if (mode && strcmp(mode, "1") == 0)
    signal(SIGTERM, on_interrupt);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "spin";
  for (unsigned long i = 0; i < 1000; i++)
    warm(i);
  if (strcmp(mode, "handler") == 0) {
    struct sigaction action, old, now;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGINT, &action, &old) != 0 || signal(SIGTERM, SIG_IGN) == SIG_ERR)
      return 10;
    /* The program sees its own actions, not the runtime's. */
    if (sigaction(SIGINT, NULL, &now) != 0)
      return 11;
    printf("old SIGINT action: %s\n", old.sa_handler == SIG_DFL ? "default" : "other");
    printf("SIGINT action now: %s\n", now.sa_handler == on_interrupt ? "the program's" : "other");
    printf("ready\n");
    fflush(stdout);
    for (unsigned long i = 0; !interrupted; i++)
      spin(i);
    after_interrupt();
    printf("handler runs: %d\n", (int)handler_runs);
    return 3;
  }
  if (strcmp(mode, "early") == 0) {
    printf("ready\n");
    fflush(stdout);
    for (unsigned long i = 0; !interrupted; i++)
      spin(i);
    after_interrupt();
    printf("handler runs: %d\n", (int)handler_runs);
    return 4;
  }
  for (unsigned long i = 0;; i++) {
    if (strcmp(mode, "churn") == 0) {
      churn(i);
      if (i % 100 == 0) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, thread_work, (void *)i) == 0)
          pthread_join(thread, NULL);
      }
    } else {
      spin(i);
    }
    /* After one round: a signal sent on "ready" finds the loop's work
     * counted at least once (on a busy machine the loop may not have
     * started for a while after the line was printed). */
    if (i == 0) {
      printf("ready\n");
      fflush(stdout);
    }
  }
}
