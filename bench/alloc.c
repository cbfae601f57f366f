/* Allocation-heavy workload for the memory-tracing benchmark
 * (bench/memory.py): a pool of live blocks of varied sizes, churned by
 * malloc, realloc and free from a few call paths, as an interpreter or a
 * training loop's scratch buffers would. Prints a checksum so that no
 * allocation can be optimized away. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { POOL = 4096 };
static void *pool[POOL];
static size_t sizes[POOL];
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

__attribute__((noinline)) void *small_object(size_t size) {
  char *p = malloc(size);
  p[0] = (char)size;
  return p;
}

__attribute__((noinline)) void *buffer(size_t size) {
  char *p = calloc(1, size);
  p[size - 1] = 1;
  return p;
}

__attribute__((noinline)) void *grow(void *p, size_t size) {
  char *q = realloc(p, size);
  q[0] = 2;
  return q;
}

__attribute__((noinline)) void step(long i) {
  uint64_t r = next();
  size_t slot = r % POOL;
  free(pool[slot]);
  if (r >> 60 == 0) {
    sizes[slot] = 1024 + (r >> 20) % 8192;
    pool[slot] = buffer(sizes[slot]);
  } else {
    sizes[slot] = 8 + (r >> 20) % 256;
    pool[slot] = small_object(sizes[slot]);
  }
  if ((i & 7) == 0) {
    size_t other = (r >> 32) % POOL;
    if (pool[other]) {
      sizes[other] += 32;
      pool[other] = grow(pool[other], sizes[other]);
    }
  }
}

int main(int argc, char **argv) {
  long steps = argc > 1 ? atol(argv[1]) : 5000000;
  for (long i = 0; i < steps; i++)
    step(i);
  uint64_t sum = 0;
  for (int k = 0; k < POOL; k++) {
    if (pool[k])
      sum += ((unsigned char *)pool[k])[0] + sizes[k];
    free(pool[k]);
  }
  printf("%llu\n", (unsigned long long)sum);
  return 0;
}
