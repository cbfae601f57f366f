/*
 * test_signals.c - SIGINT/SIGTERM handling of the runtime (signals.c) and
 * the arena its dump allocates from (heap.c), in forked children so that
 * each case can die of its signal:
 *
 *   - a signal that lands while the thread holds the runtime lock is
 *     deferred: the handler returns, the lock's release raises it again,
 *     and the process writes its profile (dump_reason SIGNAL) and dies of it;
 *   - a one-shot handler (sysv_signal) runs once, the next signal meets the
 *     default action: a profile, then death;
 *   - an SA_SIGINFO handler of the program gets the signal's information,
 *     with the mask it asked for;
 *   - SIG_IGN set through signal() ignores, and signal() reports the
 *     program's previous handler; other signals go to the C library's;
 *   - the arena: alignment, zeroed calloc, realloc in place and by copy,
 *     blocks larger than a chunk, and the allocation-free sort.
 *
 * Usage: test_signals WORKDIR (created if missing).
 */
#define _GNU_SOURCE
#include "heap.h"
#include "runtime_internal.h"
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *workdir;
static int report_fd = -1; /* a child's notes to its parent */

static const struct zinst_function_info functions[1] = {{"work", "work", "signals.c", 1, 0}};
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, 1, functions, "signals.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

NOINLINE static void work(void) {
  TEST_ENTER(&module, 0);
  TEST_EXIT(&module, 0);
}

static void note(const char *text) {
  ssize_t ignored = write(report_fd, text, strlen(text));
  (void)ignored;
}

/* Run `child` in a child process writing its profile to WORKDIR/NAME;
 * returns its wait status, its notes in `notes`. */
static int run_child(const char *name, void (*child)(void), char *notes, size_t size) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", workdir, name);
  unlink(path);
  setenv("ZINST_OUTPUT", path, 1);
  int pipe_fds[2];
  CHECK(pipe(pipe_fds) == 0, "pipe");
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    close(pipe_fds[0]);
    report_fd = pipe_fds[1];
    child();
    exit(0); /* the exit dump */
  }
  close(pipe_fds[1]);
  size_t used = 0;
  ssize_t n;
  while (used + 1 < size && (n = read(pipe_fds[0], notes + used, size - 1 - used)) > 0)
    used += (size_t)n;
  notes[used] = '\0';
  close(pipe_fds[0]);
  int status;
  CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
  return status;
}

/* The profile at WORKDIR/NAME is whole and was written for `reason`. */
static void check_profile(const char *name, uint32_t reason) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", workdir, name);
  static unsigned char image[1 << 16];
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0, "%s: %s", path, strerror(errno));
  ssize_t length = read(fd, image, sizeof image);
  close(fd);
  const struct zinst_file_header *header = (const void *)image;
  CHECK(length > 64 && memcmp(header->magic, ZINST_PROFILE_MAGIC, 8) == 0, "%s: magic", name);
  CHECK_EQ_U64(header->file_size, (uint64_t)length, "file size");
  CHECK_EQ_U64(header->checksum, zinst_profile_checksum(image, (uint64_t)length), "checksum");
  const struct zinst_section_entry *sections = (const void *)(image + header->section_table_offset);
  const struct zinst_process_record *process = NULL;
  for (uint32_t s = 0; s < header->section_count; s++)
    if (sections[s].kind == ZINST_SECTION_PROCESS)
      process = (const void *)(image + sections[s].offset);
  CHECK(process != NULL, "%s: no PROCESS section", name);
  CHECK_EQ_U64(process->dump_reason, reason, "dump_reason");
  unlink(path);
}

static void expect_death_by(int status, int sig, const char *what) {
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == sig, "%s: status 0x%x, expected death by %d",
        what, status, sig);
}

static void child_deferred_under_lock(void) {
  work();
  zinst_runtime_lock();
  raise(SIGTERM); /* the runtime's handler must not wait for its own lock */
  note("deferred;");
  zinst_runtime_unlock(); /* raised again here: the profile, then death */
  note("survived;");
}

static int one_shot_runs;
static void one_shot(int sig) {
  (void)sig;
  one_shot_runs++;
  note("handler;");
}

static void child_one_shot(void) {
  work();
  CHECK(sysv_signal(SIGTERM, one_shot) != SIG_ERR, "sysv_signal");
  raise(SIGTERM);
  if (one_shot_runs == 1)
    note("once;");
  raise(SIGTERM); /* the action was reset: the default one now */
  note("survived;");
}

static void with_info(int sig, siginfo_t *info, void *context) {
  (void)context;
  if (sig == SIGINT && info && info->si_signo == SIGINT && info->si_pid == getpid())
    note("info;");
  /* The program's sa_mask is in force while its handler runs. */
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  if (sigismember(&now, SIGUSR1))
    note("masked;");
}

static void child_siginfo(void) {
  work();
  struct sigaction action, back;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = with_info;
  action.sa_flags = SA_SIGINFO;
  sigemptyset(&action.sa_mask);
  sigaddset(&action.sa_mask, SIGUSR1);
  CHECK(sigaction(SIGINT, &action, NULL) == 0, "sigaction");
  CHECK(sigaction(SIGINT, NULL, &back) == 0 && (back.sa_flags & SA_SIGINFO) &&
            back.sa_sigaction == with_info,
        "the program reads back its own action");
  raise(SIGINT);
  note("returned;");
}

static void on_usr1(int sig) {
  (void)sig;
  note("usr1;");
}

static void child_ignored(void) {
  work();
  CHECK(signal(SIGINT, SIG_IGN) == SIG_DFL, "previous SIGINT handler is SIG_DFL");
  raise(SIGINT);
  CHECK(signal(SIGINT, SIG_DFL) == SIG_IGN, "previous SIGINT handler is SIG_IGN");
  note("ignored;");
  /* Other signals: the C library's signal(), untouched. */
  CHECK(signal(SIGUSR1, on_usr1) == SIG_DFL, "previous SIGUSR1 handler is SIG_DFL");
  raise(SIGUSR1);
  CHECK(signal(SIGUSR1, SIG_DFL) == on_usr1, "previous SIGUSR1 handler is on_usr1");
}

static int compare_ints(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  return (x > y) - (x < y);
}

struct triple {
  unsigned key;
  unsigned char bytes[9]; /* an odd size: elements are moved byte by byte */
};

static int compare_triples(const void *a, const void *b) {
  const struct triple *x = a, *y = b;
  return (x->key > y->key) - (x->key < y->key);
}

static void test_arena(void) {
  zinst_heap_arena_begin();
  unsigned char *a = zinst_heap_malloc(100);
  CHECK(a && ((uintptr_t)a & 15) == 0, "aligned block");
  memset(a, 0xab, 100);
  unsigned char *grown = zinst_heap_realloc(a, 5000);
  CHECK(grown == a, "the newest block grows in place");
  CHECK(a[0] == 0xab && a[99] == 0xab, "contents kept");
  uint64_t *zeros = zinst_heap_calloc(1000, sizeof *zeros);
  CHECK(zeros != NULL, "calloc");
  for (int i = 0; i < 1000; i++)
    CHECK(zeros[i] == 0, "calloc zeroed at %d", i);
  unsigned char *moved = zinst_heap_realloc(a, 9000); /* no longer the newest: copied */
  CHECK(moved && moved != a && moved[0] == 0xab && moved[99] == 0xab, "copied on growth");
  char *big = zinst_heap_malloc((size_t)40 << 20); /* larger than a chunk */
  CHECK(big != NULL, "a block larger than a chunk");
  big[((size_t)40 << 20) - 1] = 1;
  char *copy = zinst_heap_strdup("arena");
  CHECK(copy && strcmp(copy, "arena") == 0, "strdup");
  zinst_heap_free(copy); /* nothing to do in the arena */
  CHECK(zinst_heap_calloc(SIZE_MAX / 2, 4) == NULL && errno == ENOMEM, "calloc overflow");
  zinst_heap_arena_end();
  /* Off again: malloc's blocks. */
  void *plain = zinst_heap_malloc(10);
  CHECK(plain != NULL, "malloc after the arena");
  zinst_heap_free(plain);

  uint64_t state = 88172645463325252ull;
  for (size_t count = 0; count <= 300; count += 7) {
    int values[300];
    long long sum = 0;
    for (size_t i = 0; i < count; i++) {
      state ^= state << 13, state ^= state >> 7, state ^= state << 17;
      values[i] = (int)(state % 50) - 25; /* many equal keys */
      sum += values[i];
    }
    zinst_heap_sort(values, count, sizeof *values, compare_ints);
    for (size_t i = 0; i < count; i++) {
      sum -= values[i];
      CHECK(i == 0 || values[i - 1] <= values[i], "sorted at %zu of %zu", i, count);
    }
    CHECK(sum == 0, "the sorted array holds the same values");
  }
  struct triple triples[64];
  for (unsigned i = 0; i < 64; i++) {
    triples[i].key = (i * 37) % 64;
    memset(triples[i].bytes, (int)triples[i].key, sizeof triples[i].bytes);
  }
  zinst_heap_sort(triples, 64, sizeof *triples, compare_triples);
  for (unsigned i = 0; i < 64; i++)
    CHECK(triples[i].key == i && triples[i].bytes[8] == i, "element %u moved whole", i);
}

int main(int argc, char **argv) {
  CHECK(argc == 2, "usage: test_signals WORKDIR");
  workdir = argv[1];
  mkdir(workdir, 0777);
  char notes[256];

  int status = run_child("deferred.zinst", child_deferred_under_lock, notes, sizeof notes);
  expect_death_by(status, SIGTERM, "signal under the runtime lock");
  CHECK(strcmp(notes, "deferred;") == 0, "notes: %s", notes);
  check_profile("deferred.zinst", ZINST_DUMP_SIGNAL);

  status = run_child("one-shot.zinst", child_one_shot, notes, sizeof notes);
  expect_death_by(status, SIGTERM, "one-shot handler, then the default action");
  CHECK(strcmp(notes, "handler;once;") == 0, "notes: %s", notes);
  check_profile("one-shot.zinst", ZINST_DUMP_SIGNAL);

  status = run_child("siginfo.zinst", child_siginfo, notes, sizeof notes);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "SA_SIGINFO child: status 0x%x", status);
  CHECK(strcmp(notes, "info;masked;returned;") == 0, "notes: %s", notes);
  check_profile("siginfo.zinst", ZINST_DUMP_EXIT);

  status = run_child("ignored.zinst", child_ignored, notes, sizeof notes);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "ignored SIGINT: status 0x%x", status);
  CHECK(strcmp(notes, "ignored;usr1;") == 0, "notes: %s", notes);
  check_profile("ignored.zinst", ZINST_DUMP_EXIT);

  test_arena();
  zinst_disable_exit_dump();
  printf("signals: ok\n");
  return 0;
}
