/*
 * heap.c - malloc, or a private arena while a thread dumps from a signal
 * handler (heap.h explains why).
 */
#define _GNU_SOURCE
#define ZINST_HEAP_IMPLEMENTATION
#include "heap.h"

#include "runtime_internal.h"

#include <errno.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* One mapping of the arena; blocks follow the header. */
struct chunk {
  struct chunk *next; /* the previously mapped chunk */
  size_t size;        /* bytes mapped, header included */
  size_t used;        /* bytes handed out, header included */
  size_t unused;
};

/* Before each arena block: its size, for realloc. 16 bytes keep blocks
 * aligned as malloc's are. */
struct block {
  size_t size;
  size_t unused;
};

#define ARENA_ALIGN 16u
/* A dump of a large profile takes tens of MiB in a few hundred blocks;
 * chunks of 16 MiB keep the number of mappings small. */
#define CHUNK_BYTES ((size_t)16 << 20)

static ZINST_TLS_INITIAL_EXEC unsigned char arena_on;
static ZINST_TLS_INITIAL_EXEC struct chunk *arena_chunks; /* newest first */

static size_t round_up(size_t value, size_t to) {
  return (value + to - 1) / to * to;
}

/* A block of `size` bytes from the arena, zero-filled (mappings start zero
 * and nothing is reused); NULL with errno ENOMEM. */
static void *arena_alloc(size_t size) {
  if (size > SIZE_MAX / 2) {
    errno = ENOMEM;
    return NULL;
  }
  size_t need = round_up(sizeof(struct block) + size, ARENA_ALIGN);
  struct chunk *chunk = arena_chunks;
  if (!chunk || chunk->size - chunk->used < need) {
    size_t header = round_up(sizeof(struct chunk), ARENA_ALIGN);
    size_t bytes = need + header > CHUNK_BYTES ? need + header : CHUNK_BYTES;
    long page = sysconf(_SC_PAGESIZE);
    bytes = round_up(bytes, page > 0 ? (size_t)page : 4096u);
    void *mapping = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) {
      errno = ENOMEM;
      return NULL;
    }
    chunk = mapping;
    chunk->next = arena_chunks;
    chunk->size = bytes;
    chunk->used = header;
    arena_chunks = chunk;
  }
  struct block *block = (struct block *)((char *)chunk + chunk->used);
  block->size = size;
  chunk->used += need;
  return block + 1;
}

/* The arena block at `pointer`, or NULL if the arena did not give it out. */
static struct block *arena_block(void *pointer) {
  for (struct chunk *chunk = arena_chunks; chunk; chunk = chunk->next)
    if ((char *)pointer > (char *)chunk && (char *)pointer < (char *)chunk + chunk->used)
      return (struct block *)pointer - 1;
  return NULL;
}

/* The runtime's own blocks are not the program's: memory.c does not
 * attribute what is allocated while zinst_tls_in_runtime is set. The
 * fences keep the flag's stores: the compiler assumes malloc reads no
 * program memory and would otherwise drop them as dead. */
#define QUIETLY(type, call)                                                                        \
  do {                                                                                             \
    unsigned char was_in_runtime = zinst_tls_in_runtime;                                           \
    zinst_tls_in_runtime = 1;                                                                      \
    __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                       \
    type result = call;                                                                            \
    __atomic_signal_fence(__ATOMIC_SEQ_CST);                                                       \
    zinst_tls_in_runtime = was_in_runtime;                                                         \
    return result;                                                                                 \
  } while (0)

void *zinst_heap_malloc(size_t size) {
  if (arena_on)
    return arena_alloc(size);
  QUIETLY(void *, malloc(size));
}

void *zinst_heap_calloc(size_t count, size_t size) {
  if (!arena_on)
    QUIETLY(void *, calloc(count, size));
  if (size && count > SIZE_MAX / size) {
    errno = ENOMEM;
    return NULL;
  }
  return arena_alloc(count * size);
}

void *zinst_heap_realloc(void *pointer, size_t size) {
  if (!arena_on)
    QUIETLY(void *, realloc(pointer, size));
  if (!pointer)
    return arena_alloc(size);
  struct block *block = arena_block(pointer);
  if (!block) {
    /* malloc'd before the arena was on: its size is unknown here, and
     * nothing in the dump grows memory it did not allocate. */
    errno = ENOMEM;
    return NULL;
  }
  struct chunk *chunk = arena_chunks;
  size_t old_need = round_up(sizeof(struct block) + block->size, ARENA_ALIGN);
  if (size <= SIZE_MAX / 2 && (char *)block + old_need == (char *)chunk + chunk->used) {
    /* The newest block grows in place (the common case: one array grown
     * again and again). */
    size_t need = round_up(sizeof(struct block) + size, ARENA_ALIGN);
    size_t start = (size_t)((char *)block - (char *)chunk);
    if (need <= chunk->size - start) {
      if (size < block->size)
        memset((char *)pointer + size, 0, block->size - size); /* keep calloc's zeros */
      block->size = size;
      chunk->used = start + need;
      return pointer;
    }
  }
  void *grown = arena_alloc(size);
  if (grown)
    memcpy(grown, pointer, block->size < size ? block->size : size);
  return grown;
}

void zinst_heap_free(void *pointer) {
  if (!arena_on)
    free(pointer);
  /* Arena blocks go with the arena; a malloc'd block freed now would need
   * malloc, which is what the arena avoids: it is left as it is. */
}

char *zinst_heap_strdup(const char *text) {
  size_t length = strlen(text) + 1;
  char *copy = zinst_heap_malloc(length);
  if (copy)
    memcpy(copy, text, length);
  return copy;
}

void zinst_heap_arena_begin(void) {
  arena_on = 1;
}

void zinst_heap_arena_end(void) {
  while (arena_chunks) {
    struct chunk *next = arena_chunks->next;
    munmap(arena_chunks, arena_chunks->size);
    arena_chunks = next;
  }
  arena_on = 0;
}

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size) {
  while (size--) {
    unsigned char t = *a;
    *a++ = *b;
    *b++ = t;
  }
}

/* Move the element at `root` down the max-heap of `count` elements. */
static void sift_down(unsigned char *base, size_t root, size_t count, size_t size,
                      int (*compare)(const void *, const void *)) {
  for (;;) {
    size_t child = 2 * root + 1;
    if (child >= count)
      return;
    if (child + 1 < count && compare(base + child * size, base + (child + 1) * size) < 0)
      child++;
    if (compare(base + root * size, base + child * size) >= 0)
      return;
    swap_bytes(base + root * size, base + child * size, size);
    root = child;
  }
}

void zinst_heap_sort(void *base, size_t count, size_t size,
                     int (*compare)(const void *, const void *)) {
  unsigned char *bytes = base;
  if (count < 2 || size == 0)
    return;
  for (size_t k = count / 2; k-- > 0;)
    sift_down(bytes, k, count, size, compare);
  for (size_t end = count - 1; end > 0; end--) {
    swap_bytes(bytes, bytes + end * size, size);
    sift_down(bytes, 0, end, size, compare);
  }
}
