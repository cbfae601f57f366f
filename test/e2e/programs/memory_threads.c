/* 20 threads, one after another, each allocating one 100-byte block in
 * make(); main frees the first 10 after the threads exited. Run with
 * ZINST_MAX_THREADS=2: the first two threads keep their own records, the
 * other 18 are summed into one, and frees after a thread's exit still
 * reach the context that allocated. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

static void *blocks[20];
static volatile uintptr_t observed;

__attribute__((noinline)) void *make(void) {
  void *p = malloc(100);
  observed += (uintptr_t)p;
  return p;
}

static void *worker(void *arg) {
  blocks[(intptr_t)arg] = make();
  observed++;
  return NULL;
}

int main(void) {
  for (intptr_t i = 0; i < 20; i++) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, (void *)i) != 0 || pthread_join(thread, NULL) != 0)
      return 2;
  }
  for (int i = 0; i < 10; i++)
    free(blocks[i]);
  return 0;
}
