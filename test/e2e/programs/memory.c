/* Known allocation patterns for memory tracing (ZINST_MEMORY=1), each in
 * its own function so that its counts are exact per calling context. Every
 * function uses what it allocated after the call (no tail call, and the
 * compiler cannot drop an unused malloc/free pair). Exits 1 with a message
 * if the C library's behaviour is not what the C standard and glibc
 * promise (alignment, errno). Modes: "patterns" (default), "fork",
 * "clean" (frees everything), "reset" (zinst_reset() between allocations
 * and their frees). */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zinst.h>

static volatile uintptr_t observed; /* every block's address lands here */
static void *kept[8];               /* the planted leaks (still reachable) */

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "memory.c: %s\n", what);
    exit(1);
  }
}

static void touch(void *p) {
  observed += (uintptr_t)p;
}

/* 10 blocks of 100 bytes, all live at once, then freed: peak 1000. */
__attribute__((noinline)) void alloc_many(void) {
  void *blocks[10];
  for (int i = 0; i < 10; i++) {
    blocks[i] = malloc(100);
    touch(blocks[i]);
  }
  for (int i = 0; i < 10; i++)
    free(blocks[i]);
}

/* 5 times one block of 64 bytes: peak 64. */
__attribute__((noinline)) void churn(void) {
  for (int i = 0; i < 5; i++) {
    char *p = malloc(64);
    touch(p);
    free(p);
  }
}

/* calloc(4, 25): 100 zeroed bytes; an overflowing calloc fails with ENOMEM
 * and allocates nothing. */
__attribute__((noinline)) void zeroed(void) {
  unsigned char *p = calloc(4, 25);
  check(p != NULL, "calloc(4, 25) failed");
  for (int i = 0; i < 100; i++)
    check(p[i] == 0, "calloc memory is not zero");
  touch(p);
  free(p);
  /* Through a pointer: the compiler assumes calloc leaves errno alone and
   * would fold the test below. */
  void *(*volatile opaque_calloc)(size_t, size_t) = calloc;
  errno = 0;
  void *q = opaque_calloc(SIZE_MAX / 2, 4);
  check(q == NULL && errno == ENOMEM, "an overflowing calloc did not fail with ENOMEM");
  touch(q);
}

/* realloc from NULL (10), grow (1000), shrink (5), to zero (freed): 3
 * allocations of 1015 bytes, 3 frees of 1015 bytes, peak 1000. */
__attribute__((noinline)) void realloc_chain(void) {
  char *p = realloc(NULL, 10);
  check(p != NULL, "realloc(NULL, 10) failed");
  memcpy(p, "0123456789", 10);
  p = realloc(p, 1000);
  check(p != NULL && memcmp(p, "0123456789", 10) == 0, "realloc grow lost the contents");
  p = realloc(p, 5);
  check(p != NULL && memcmp(p, "01234", 5) == 0, "realloc shrink lost the contents");
  touch(p);
  p = realloc(p, 0);
  touch(p);
}

/* Four aligned blocks (100 + 512 + 48 + 10 bytes), each freed; invalid
 * alignments rejected as glibc does. */
__attribute__((noinline)) void aligned(void) {
  void *a = NULL;
  check(posix_memalign(&a, 64, 100) == 0 && ((uintptr_t)a & 63) == 0, "posix_memalign(64)");
  void *b = aligned_alloc(256, 512);
  check(b && ((uintptr_t)b & 255) == 0, "aligned_alloc(256)");
  void *c = memalign(32, 48);
  check(c && ((uintptr_t)c & 31) == 0, "memalign(32)");
  void *d = valloc(10);
  check(d && ((uintptr_t)d & (uintptr_t)(sysconf(_SC_PAGESIZE) - 1)) == 0, "valloc");
  void *e = NULL;
  check(posix_memalign(&e, 24, 8) == EINVAL && e == NULL, "posix_memalign(24) not EINVAL");
  touch(a);
  touch(b);
  touch(c);
  touch(d);
  memset(b, 1, 512);
  free(a);
  free(b);
  free(c);
  free(d);
}

/* strdup (7 bytes) and strndup (4 bytes), freed. */
__attribute__((noinline)) void strings(void) {
  char *s = strdup("abcdef");
  char *t = strndup("abcdef", 3);
  check(s && t && strcmp(s, "abcdef") == 0 && strcmp(t, "abc") == 0, "strdup/strndup");
  touch(s);
  touch(t);
  free(s);
  free(t);
}

/* The planted leaks: 123 bytes here, 2 x 50 bytes in leak_more. */
__attribute__((noinline)) void leak_more(void) {
  for (int i = 1; i < 3; i++) {
    kept[i] = malloc(50);
    touch(kept[i]);
  }
}
__attribute__((noinline)) void leak(void) {
  kept[0] = malloc(123);
  leak_more();
  touch(kept[0]); /* after the call: leak_more is not a tail call */
}

/* 8 blocks of 32 bytes allocated here, freed by another thread. */
static void *handed[8];
__attribute__((noinline)) void produce(void) {
  for (int i = 0; i < 8; i++) {
    handed[i] = malloc(32);
    touch(handed[i]);
  }
}
static void *consume(void *arg) {
  for (int i = 0; i < 8; i++)
    free(handed[i]);
  return arg;
}
__attribute__((noinline)) void cross_thread(void) {
  produce();
  pthread_t thread;
  check(pthread_create(&thread, NULL, consume, NULL) == 0, "pthread_create");
  check(pthread_join(thread, NULL) == 0, "pthread_join");
}

/* In the fork child: 77 bytes allocated and freed, 33 leaked. */
__attribute__((noinline)) void child_work(void) {
  void *p = malloc(77);
  touch(p);
  free(p);
  kept[3] = malloc(33);
  touch(kept[3]);
}

/* Before the reset: 10 blocks of 100 bytes live at once (peak 1000), 8
 * freed, 2 kept. */
__attribute__((noinline)) void keep_some(void) {
  void *blocks[10];
  for (int i = 0; i < 10; i++) {
    blocks[i] = malloc(100);
    touch(blocks[i]);
  }
  for (int i = 0; i < 8; i++)
    free(blocks[i]);
  kept[4] = blocks[8];
  kept[5] = blocks[9];
}

/* A thread that has exited by the reset: 2 blocks of 50 bytes, 1 kept. */
static void *keeper(void *arg) {
  void *p = malloc(50);
  kept[6] = malloc(50);
  touch(p);
  touch(kept[6]);
  free(p);
  return arg;
}

/* zinst_reset() with blocks live: they stay live (as allocations of their
 * contexts), what was freed before is forgotten, the counts restart. */
static void reset_mode(void) {
  keep_some();
  churn();
  pthread_t thread;
  check(pthread_create(&thread, NULL, keeper, NULL) == 0, "pthread_create");
  check(pthread_join(thread, NULL) == 0, "pthread_join");
  zinst_reset();
  free(kept[4]); /* keep_some's, from main */
  free(kept[6]); /* the exited thread's */
  churn();
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "reset") == 0) {
    reset_mode();
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "clean") == 0) {
    alloc_many();
    churn();
    return 0;
  }
  if (argc > 1 && strcmp(argv[1], "fork") == 0) {
    alloc_many();
    pid_t pid = fork();
    check(pid >= 0, "fork");
    if (pid == 0) {
      child_work();
      exit(0);
    }
    int status;
    check(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the fork child failed");
    churn();
    return 0;
  }
  alloc_many();
  churn();
  zeroed();
  realloc_chain();
  aligned();
  strings();
  leak();
  cross_thread();
  return 0;
}
