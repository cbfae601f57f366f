/* An instrumented library closed while the profile still refers to it
 * (dlclose_lib.c), then opened again:
 *   - thread "finisher" used it and exited;
 *   - thread "parked" used it and waits in the program's own code;
 *   - thread "inside" is blocked inside two of its functions (it never
 *     returns into the unmapped code: the program exits around it; main
 *     closes the library only once the kernel shows the thread asleep in
 *     its futex wait, since a thread still running the library's code when
 *     dlclose unmaps it would crash the program, profiled or not);
 *   - main left three frames, two of them the library's, by longjmp from a
 *     callback, so they are still on its shadow stack.
 * After dlclose (checked: the library is really unmapped) main writes a
 * profile with zinst_dump(FIRST), calls after_close() (whose entry closes
 * the abandoned frames), opens the library again, uses it and exits with
 * the two threads still blocked: the exit profile.
 *
 * usage: dlclose_main LIBRARY FIRST_PROFILE */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zinst.h>

static void *library;
static sem_t ready, never;
static jmp_buf back;
static volatile long sink;
static volatile long inside_tid;

static void *symbol(const char *name) {
  void *address = dlsym(library, name);
  if (!address) {
    fprintf(stderr, "dlsym %s: %s\n", name, dlerror());
    exit(2);
  }
  return address;
}

__attribute__((noinline)) static void *finisher_main(void *arg) {
  long (*sum)(long) = (long (*)(long))arg;
  sink += sum(100);
  return NULL;
}

__attribute__((noinline)) void park(void) {
  sem_post(&ready);
  while (sem_wait(&never) != 0)
    continue;
}

__attribute__((noinline)) static void *parked_main(void *arg) {
  long (*sum)(long) = (long (*)(long))arg;
  sink += sum(100);
  park();
  return NULL;
}

__attribute__((noinline)) static void *inside_main(void *arg) {
  long (*block)(sem_t *, sem_t *) = (long (*)(sem_t *, sem_t *))arg;
  inside_tid = syscall(SYS_gettid);
  sink += block(&ready, &never);
  return NULL;
}

__attribute__((noinline)) void jump_back(long x) {
  sink += x;
  longjmp(back, 1);
}

__attribute__((noinline)) void after_close(void) {
  sink += 1;
}

/* Wait until thread `tid` sleeps in the futex system call on `word` (its
 * /proc/self/task/TID/syscall line names the call and its first argument
 * while it is blocked in one). Exits the program after 30 s. */
static void wait_until_asleep(long tid, const void *word) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%ld/syscall", tid);
  for (int tries = 0; tries < 30000; tries++) {
    FILE *file = fopen(path, "r");
    if (!file) {
      perror(path);
      exit(2);
    }
    long number = -1;
    unsigned long first = 0;
    int fields = fscanf(file, "%ld %lx", &number, &first);
    fclose(file);
    if (fields == 2 && number == SYS_futex && first == (unsigned long)word)
      return;
    nanosleep(&(struct timespec){0, 1000000}, NULL);
  }
  fprintf(stderr, "thread %ld never went to sleep in the library\n", tid);
  exit(2);
}

static void open_library(const char *path) {
  library = dlopen(path, RTLD_NOW);
  if (!library) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s LIBRARY FIRST_PROFILE\n", argv[0]);
    return 2;
  }
  if (sem_init(&ready, 0, 0) != 0 || sem_init(&never, 0, 0) != 0)
    return 2;
  open_library(argv[1]);
  pthread_t finisher, parked, inside;
  if (pthread_create(&finisher, NULL, finisher_main, symbol("lib_sum")) != 0 ||
      pthread_create(&parked, NULL, parked_main, symbol("lib_sum")) != 0 ||
      pthread_create(&inside, NULL, inside_main, symbol("lib_block")) != 0)
    return 2;
  pthread_join(finisher, NULL);
  for (int k = 0; k < 2; k++)
    while (sem_wait(&ready) != 0)
      continue;
  wait_until_asleep(inside_tid, &never);
  long (*run_callback)(void (*)(long), long) =
      (long (*)(void (*)(long), long))symbol("lib_run_callback");
  if (setjmp(back) == 0)
    sink += run_callback(jump_back, 5);

  if (dlclose(library) != 0) {
    fprintf(stderr, "dlclose: %s\n", dlerror());
    return 2;
  }
  if (dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) != NULL) {
    puts("the library is still loaded after dlclose");
    return 3;
  }
  puts("unloaded");
  fflush(stdout);
  if (zinst_dump(argv[2]) != 0)
    return 4;
  after_close();

  open_library(argv[1]);
  long (*sum)(long) = (long (*)(long))symbol("lib_sum");
  sink += sum(50);
  puts("reopened");
  fflush(stdout);
  exit(0); /* "parked" and "inside" are still blocked */
}
