/*
 * memory.c - the malloc family interposed, and per-context heap counters
 * (memory.h).
 *
 * The runtime is linked into the executable, so its malloc, free, calloc,
 * realloc, reallocarray, posix_memalign, aligned_alloc, memalign, valloc,
 * pvalloc, malloc_usable_size, strdup and strndup are the ones the whole
 * process calls: the program, the C library's own calls, libstdc++'s
 * operator new and delete, and shared libraries (the linker exports them).
 * The real work is done by the C library's allocator under its exported
 * names __libc_malloc, __libc_calloc, __libc_realloc, __libc_memalign and
 * __libc_free, which are safe to call at any time (dlsym could allocate).
 *
 * Why a header and not malloc_usable_size or a side table: a free must
 * know the block's requested size (usable sizes are rounded, so counts
 * would not be exact) and which thread and context allocated it (a free
 * in another thread is credited there). 16 bytes in front of the block
 * keep malloc's 16-byte alignment and make both a load; a side table would
 * need a concurrent hash map on every call. An aligned block (alignment A >
 * 16) is taken A bytes into a block aligned to A; the header's shift field
 * says how far back the C library's block starts.
 *
 * The decision (ZINST_MEMORY) is made at the process's first allocation,
 * before constructors may have run, and never changes: with tracing off no
 * block has a header, with it on every block has one. Blocks allocated
 * before the runtime started, by the runtime itself (heap.c), inside a
 * hook, or by the C library and the dynamic loader for themselves (stdio
 * buffers, thread-local storage: the caller's address lies in their code)
 * carry slot 0: they are not attributed, and their frees are not counted.
 * strdup and strndup are defined here so that they count as the caller's.
 *
 * Hot path (tracing on): one TLS load, the shadow stack's top node, four
 * stores into the thread's own counters; a free by the owner thread the
 * same; a free by another thread two atomic adds. No lock, no syscall
 * (except mapping a thread's counter array at its first allocation).
 */
#define _GNU_SOURCE
#include "memory.h"
#include "module_registry.h"

#include "runtime_internal.h"
#include "thread_state.h"
#include "zinst.h"
#include "zinst_format.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The runtime's heap by its own names (not heap.h's macros, which would
 * rename the functions defined here): the cold paths below may run in a
 * signal handler's dump, where heap.c uses its private arena. */
#define ZINST_HEAP_IMPLEMENTATION
#include "heap.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
extern char **__environ;

#define RELAXED_STORE(lvalue, value) __atomic_store_n(&(lvalue), (value), __ATOMIC_RELAXED)
#define RELAXED_LOAD(lvalue) __atomic_load_n(&(lvalue), __ATOMIC_RELAXED)

/* In front of every block while tracing is on. */
struct block_header {
  uint64_t size_shift; /* requested size | log2(offset to the C library's block) << 56 */
  uint32_t slot;       /* the allocating thread's slot; 0: not attributed */
  uint32_t node;       /* the allocating context in that thread */
};
#define HEADER_BYTES ((size_t)sizeof(struct block_header))
#define PLAIN_SHIFT 4u /* the header alone: 16 bytes */
#define SIZE_MASK ((UINT64_C(1) << 56) - 1)

enum { MODE_UNDECIDED, MODE_OFF, MODE_ON };
static void *zinst_malloc_impl(size_t size);
static int not_interposed; /* another allocator's malloc won the link */
static int mode;
/* Attribution starts once the runtime's settings are in place. */
static int ready;
static int leak_exit_status;

/* Address ranges of the C library's and the dynamic loader's code. */
enum { MAX_LIBRARY_RANGES = 8 };
static uintptr_t library_low[MAX_LIBRARY_RANGES], library_high[MAX_LIBRARY_RANGES];
static int library_ranges;

/* Threads that allocated, by slot (1-based); kept for the process's life. */
enum { MAX_SLOTS = 1 << 16 };
enum { SLOT_LIVE = 1, SLOT_RETIRED, SLOT_MERGED, SLOT_ORPHAN };

/* What a context had freed at the last zinst_reset(): snapshots subtract
 * it from both its allocations and its frees (see zinst_mem_reset_slot). */
struct reset_baseline {
  uint64_t frees;
  uint64_t freed_bytes;
};

struct slot {
  struct zinst_mem_counters *counters; /* capacity entries, indexed by node */
  uint32_t capacity;
  uint32_t state;
  /* SLOT_MERGED: node -> node of the merged tree (ZINST_NONE: none). */
  uint32_t *merged_map;
  uint32_t merged_count;
  /* Runtime heap, baseline_count entries by node (later nodes: none);
   * NULL until zinst_reset(). */
  struct reset_baseline *baseline;
  uint32_t baseline_count;
};
static struct slot slots[MAX_SLOTS];
static uint32_t next_slot = 1;
static int slots_warned;

/* Set while this thread's allocations must not be attributed: inside this
 * file's own slow path (creating the thread's state may allocate). */
static ZINST_TLS_INITIAL_EXEC unsigned char in_memory_slow_path;

/* ---- the decision ---- */

/* ZINST_MEMORY's value from an environment block of `size` bytes ("A=B\0..."). */
static int memory_from_block(const char *block, size_t size) {
  static const char key[] = "ZINST_MEMORY=";
  for (size_t at = 0; at < size;) {
    const char *entry = block + at;
    size_t length = strnlen(entry, size - at);
    if (length >= sizeof key - 1 && memcmp(entry, key, sizeof key - 1) == 0)
      return strcmp(entry + sizeof key - 1, "1") == 0 ? MODE_ON : MODE_OFF;
    at += length + 1;
  }
  return MODE_OFF;
}

/* Cold: decide once. The C library may not have set __environ yet at the
 * very first allocation; /proc/self/environ then has the same block. */
static __attribute__((noinline, cold)) int decide_mode(void) {
  int decided = MODE_OFF;
  if (__environ) {
    for (char **e = __environ; *e; e++)
      if (strncmp(*e, "ZINST_MEMORY=", 13) == 0)
        decided = strcmp(*e + 13, "1") == 0 ? MODE_ON : MODE_OFF;
  } else {
    char block[16384];
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = read(fd, block, sizeof block);
      close(fd);
      if (n > 0)
        decided = memory_from_block(block, (size_t)n);
    }
  }
  int expected = MODE_UNDECIDED;
  __atomic_compare_exchange_n(&mode, &expected, decided, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return __atomic_load_n(&mode, __ATOMIC_RELAXED);
}

static inline __attribute__((always_inline)) int tracing(void) {
  int m = __atomic_load_n(&mode, __ATOMIC_RELAXED);
  if (ZINST_UNLIKELY(m == MODE_UNDECIDED))
    m = decide_mode();
  return m == MODE_ON;
}

int zinst_mem_enabled(void) {
  return tracing() && !not_interposed;
}

int zinst_mem_leak_exit_status(void) {
  return leak_exit_status;
}

static int find_libraries(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  const char *name = info->dlpi_name ? info->dlpi_name : "";
  const char *base = strrchr(name, '/');
  base = base ? base + 1 : name;
  if (strncmp(base, "libc.so", 7) != 0 && strncmp(base, "ld-linux", 8) != 0 &&
      strncmp(base, "ld.so", 5) != 0)
    return 0;
  for (int k = 0; k < info->dlpi_phnum && library_ranges < MAX_LIBRARY_RANGES; k++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[k];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
      continue;
    library_low[library_ranges] = info->dlpi_addr + ph->p_vaddr;
    library_high[library_ranges] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
    library_ranges++;
  }
  return 0;
}

void zinst_mem_init(void) {
  const char *text = getenv("ZINST_LEAK_EXIT");
  if (text && *text) {
    char *end;
    long value = strtol(text, &end, 10);
    if (*end || value < 1 || value > 255)
      fprintf(stderr, "zinst: ignoring ZINST_LEAK_EXIT=%s: expected an exit status from 1 to 255\n",
              text);
    else
      leak_exit_status = (int)value;
  }
  const char *setting = getenv("ZINST_MEMORY");
  if (setting && *setting && strcmp(setting, "0") != 0 && strcmp(setting, "1") != 0)
    fprintf(stderr, "zinst: ignoring ZINST_MEMORY=%s: expected 0 or 1; memory is not traced\n",
            setting);
  if (!tracing()) {
    if (leak_exit_status)
      fprintf(stderr, "zinst: ZINST_LEAK_EXIT needs ZINST_MEMORY=1; leaks are not checked\n");
    leak_exit_status = 0;
    return;
  }
  /* Asked of the dynamic linker: the compiler treats malloc's address as
   * a builtin's and may fold the comparison. */
  if (dlsym(RTLD_DEFAULT, "malloc") != (void *)zinst_malloc_impl) {
    not_interposed = 1;
    leak_exit_status = 0;
    fprintf(stderr, "zinst: another allocator replaces malloc in this program (a sanitizer?): "
                    "memory is not traced\n");
    return;
  }
  dl_iterate_phdr(find_libraries, NULL);
  __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
}

static inline __attribute__((always_inline)) int from_library(uintptr_t caller) {
  for (int k = 0; k < library_ranges; k++)
    if (caller - library_low[k] < library_high[k] - library_low[k])
      return 1;
  return 0;
}

/* ---- attribution ---- */

/* Map this thread's counter array and give it a slot. Cold. */
static __attribute__((noinline, cold)) int attach_thread(struct zinst_thread_state *ts) {
  uint32_t slot = __atomic_fetch_add(&next_slot, 1, __ATOMIC_RELAXED);
  if (slot >= MAX_SLOTS) {
    if (!__atomic_exchange_n(&slots_warned, 1, __ATOMIC_RELAXED))
      fprintf(stderr,
              "zinst: more than %u threads allocated memory: the allocations of later "
              "threads are not attributed\n",
              MAX_SLOTS - 1);
    ts->mem_slot = UINT32_MAX; /* do not try again */
    return -1;
  }
  uint32_t capacity = zinst_config.max_nodes + 2; /* nodes, the root and the sink */
  size_t bytes = (size_t)capacity * sizeof(struct zinst_mem_counters);
  void *array =
      mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (array == MAP_FAILED) {
    ts->mem_slot = UINT32_MAX;
    return -1;
  }
  slots[slot].capacity = capacity;
  slots[slot].state = SLOT_LIVE;
  __atomic_store_n(&slots[slot].counters, (struct zinst_mem_counters *)array, __ATOMIC_RELEASE);
  ts->mem = array;
  ts->mem_slot = slot;
  return 0;
}

/* The context to credit an allocation of `size` bytes made from `caller`
 * with, counted there: *slot and *node (0, 0: not attributed). The current
 * context, or with `wrapper_frame` nonzero and the top frame's canonical
 * frame address equal to it, the one below: the frame of an instrumented
 * allocator wrapper (zinst_memory_alloc) is not where the memory is wanted. */
static inline __attribute__((always_inline)) void attribute_context(size_t size, uintptr_t caller,
                                                                    uintptr_t wrapper_frame,
                                                                    uint32_t *slot_out,
                                                                    uint32_t *node_out) {
  *slot_out = 0;
  *node_out = 0;
  if (ZINST_UNLIKELY(!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) || in_memory_slow_path ||
      zinst_tls_in_runtime || from_library(caller))
    return;
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ZINST_UNLIKELY(ts == NULL || ts->mem == NULL)) {
    in_memory_slow_path = 1;
    int saved_errno = errno;
    if (ts == NULL)
      ts = zinst_thread_state_create();
    if (ts && ts->mem == NULL && ts->mem_slot == 0 && !ts->busy)
      attach_thread(ts);
    errno = saved_errno;
    in_memory_slow_path = 0;
    if (ts == NULL || ts->mem == NULL)
      return;
  }
  if (ts->busy)
    return; /* inside a hook or a thread's retirement */
  uint32_t node;
  if (zinst_registry_inline_tree()) {
    /* No frames to compare: the wrapper's context is the current one. */
    node = zinst_context_index(ts, __zinst_context);
    if (wrapper_frame != 0 && node != 0 && node != ts->sink_node)
      node = ts->nodes[node].parent;
  } else {
    uint32_t top = ts->depth - 1;
    if (wrapper_frame != 0 && top > 0 && ts->frames[top].frame_address == wrapper_frame)
      top--;
    node = ts->frames[top].node;
  }
  struct zinst_mem_counters *c = &ts->mem[node];
  uint64_t allocated = c->allocated_bytes + size;
  RELAXED_STORE(c->allocations, c->allocations + 1);
  RELAXED_STORE(c->allocated_bytes, allocated);
  uint64_t live = allocated - c->freed_bytes - RELAXED_LOAD(c->remote_freed_bytes);
  if (live > c->peak_live_bytes)
    RELAXED_STORE(c->peak_live_bytes, live);
  *slot_out = ts->mem_slot;
  *node_out = node;
}

/* Credit an allocation of `size` bytes made from `caller` to the current
 * context; fills the header's slot and node (0, 0: not attributed). */
static inline __attribute__((always_inline)) void attribute(struct block_header *header,
                                                            size_t size, uintptr_t caller) {
  attribute_context(size, caller, 0, &header->slot, &header->node);
}

/* Credit the free of a block of `size` bytes to context `node` of thread
 * slot `slot` (0: not attributed, nothing to do). */
static inline __attribute__((always_inline)) void credit_free_to(uint32_t slot, uint32_t node,
                                                                 uint64_t size) {
  if (slot == 0)
    return;
  struct zinst_thread_state *ts = zinst_tls_state;
  if (ts && ts->mem_slot == slot) {
    struct zinst_mem_counters *c = &ts->mem[node];
    RELAXED_STORE(c->frees, c->frees + 1);
    RELAXED_STORE(c->freed_bytes, c->freed_bytes + size);
    return;
  }
  struct zinst_mem_counters *c = &__atomic_load_n(&slots[slot].counters, __ATOMIC_ACQUIRE)[node];
  __atomic_fetch_add(&c->remote_frees, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&c->remote_freed_bytes, size, __ATOMIC_RELAXED);
}

/* Credit the free of the block behind `header` to its allocating context. */
static inline __attribute__((always_inline)) void credit_free(const struct block_header *header) {
  credit_free_to(header->slot, header->node, header->size_shift & SIZE_MASK);
}

static inline __attribute__((always_inline)) struct block_header *header_of(void *pointer) {
  return (struct block_header *)pointer - 1;
}

static inline __attribute__((always_inline)) void *finish_block(void *real, unsigned shift,
                                                                size_t size, uintptr_t caller) {
  void *user = (char *)real + ((size_t)1 << shift);
  struct block_header *header = header_of(user);
  header->size_shift = (uint64_t)size | (uint64_t)shift << 56;
  attribute(header, size, caller);
  return user;
}

static inline __attribute__((always_inline)) void *base_of(void *user) {
  return (char *)user - ((size_t)1 << (header_of(user)->size_shift >> 56));
}

/* ---- the traced allocator ---- */

static void *traced_malloc(size_t size, uintptr_t caller) {
  if (size > SIZE_MASK - HEADER_BYTES) {
    errno = ENOMEM;
    return NULL;
  }
  void *real = __libc_malloc(size + HEADER_BYTES);
  return real ? finish_block(real, PLAIN_SHIFT, size, caller) : NULL;
}

/* An aligned block: `alignment` a power of two. */
static void *traced_aligned(size_t alignment, size_t size, uintptr_t caller) {
  if (alignment <= HEADER_BYTES)
    return traced_malloc(size, caller);
  if (size > SIZE_MASK - alignment) {
    errno = ENOMEM;
    return NULL;
  }
  void *real = __libc_memalign(alignment, size + alignment);
  return real ? finish_block(real, (unsigned)__builtin_ctzll(alignment), size, caller) : NULL;
}

static void traced_free(void *pointer) {
  credit_free(header_of(pointer));
  __libc_free(base_of(pointer));
}

/* ---- the interposed functions ---- */

#define CALLER() ((uintptr_t)__builtin_return_address(0))

static void *zinst_malloc_impl(size_t size) {
  if (!tracing())
    return __libc_malloc(size);
  return traced_malloc(size, CALLER());
}

static void zinst_free_impl(void *pointer) {
  if (!tracing()) {
    __libc_free(pointer);
    return;
  }
  if (pointer)
    traced_free(pointer);
}

static void *zinst_calloc_impl(size_t count, size_t size) {
  if (!tracing())
    return __libc_calloc(count, size);
  size_t total;
  if (__builtin_mul_overflow(count, size, &total) || total > SIZE_MASK - HEADER_BYTES) {
    errno = ENOMEM;
    return NULL;
  }
  void *real = __libc_calloc(1, total + HEADER_BYTES);
  return real ? finish_block(real, PLAIN_SHIFT, total, CALLER()) : NULL;
}

static void *traced_realloc(void *pointer, size_t size, uintptr_t caller) {
  if (!pointer)
    return traced_malloc(size, caller);
  if (size == 0) { /* glibc frees the block and returns NULL */
    traced_free(pointer);
    return NULL;
  }
  struct block_header old = *header_of(pointer);
  uint64_t old_size = old.size_shift & SIZE_MASK;
  if ((old.size_shift >> 56) != PLAIN_SHIFT) {
    /* An aligned block: realloc would not keep the alignment's offset. */
    void *moved = traced_malloc(size, caller);
    if (!moved)
      return NULL;
    memcpy(moved, pointer, old_size < size ? (size_t)old_size : size);
    traced_free(pointer);
    return moved;
  }
  if (size > SIZE_MASK - HEADER_BYTES) {
    errno = ENOMEM;
    return NULL;
  }
  void *real = __libc_realloc(header_of(pointer), size + HEADER_BYTES);
  if (!real)
    return NULL; /* the old block is untouched */
  credit_free(&old);
  return finish_block(real, PLAIN_SHIFT, size, caller);
}

static void *zinst_realloc_impl(void *pointer, size_t size) {
  if (!tracing())
    return __libc_realloc(pointer, size);
  return traced_realloc(pointer, size, CALLER());
}

static void *zinst_reallocarray_impl(void *pointer, size_t count, size_t size) {
  size_t total;
  if (__builtin_mul_overflow(count, size, &total)) {
    errno = ENOMEM;
    return NULL;
  }
  if (!tracing())
    return __libc_realloc(pointer, total);
  return traced_realloc(pointer, total, CALLER());
}

static int power_of_two(size_t value) {
  return value != 0 && (value & (value - 1)) == 0;
}

/* glibc's memalign: small alignments are malloc's; others are rounded up
 * to a power of two. */
static void *any_memalign(size_t alignment, size_t size, uintptr_t caller) {
  if (!power_of_two(alignment)) {
    if (alignment > SIZE_MAX / 2 + 1) {
      errno = EINVAL;
      return NULL;
    }
    size_t rounded = 1;
    while (rounded < alignment)
      rounded <<= 1;
    alignment = rounded;
  }
  if (!tracing())
    return __libc_memalign(alignment, size);
  return traced_aligned(alignment, size, caller);
}

static void *zinst_memalign_impl(size_t alignment, size_t size) {
  return any_memalign(alignment, size, CALLER());
}

static int zinst_posix_memalign_impl(void **out, size_t alignment, size_t size) {
  if (!power_of_two(alignment) || alignment % sizeof(void *) != 0)
    return EINVAL;
  int saved_errno = errno;
  void *block = any_memalign(alignment, size, CALLER());
  if (!block) {
    errno = saved_errno;
    return ENOMEM;
  }
  *out = block;
  return 0;
}

/* As glibc 2.38: the alignment must be a power of two. */
static void *zinst_aligned_alloc_impl(size_t alignment, size_t size) {
  if (!power_of_two(alignment)) {
    errno = EINVAL;
    return NULL;
  }
  return any_memalign(alignment, size, CALLER());
}

static size_t page_size(void) {
  long page = sysconf(_SC_PAGESIZE);
  return page > 0 ? (size_t)page : 4096u;
}

static void *zinst_valloc_impl(size_t size) {
  return any_memalign(page_size(), size, CALLER());
}

static void *zinst_pvalloc_impl(size_t size) {
  size_t page = page_size();
  if (size > SIZE_MAX - page) {
    errno = ENOMEM;
    return NULL;
  }
  size_t rounded = size == 0 ? page : (size + page - 1) / page * page;
  return any_memalign(page, rounded, CALLER());
}

static size_t zinst_malloc_usable_size_impl(void *pointer) {
  if (!tracing()) {
    /* The C library's own, found once (dlsym may allocate: fine here). */
    static size_t (*real)(void *);
    if (!real)
      real = (size_t(*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
    return real ? real(pointer) : 0;
  }
  /* The requested size: writing past it would also escape the counts. */
  return pointer ? (size_t)(header_of(pointer)->size_shift & SIZE_MASK) : 0;
}

/* Through malloc (whichever the link chose: see the aliases below), so
 * that the block is attributed as the caller's and freed by the same
 * allocator. */
static char *copy_string(const char *text, size_t length) {
  char *copy = malloc(length + 1);
  if (copy) {
    memcpy(copy, text, length);
    copy[length] = '\0';
  }
  return copy;
}

static char *zinst_strdup_impl(const char *text) {
  return copy_string(text, strlen(text));
}

static char *zinst_libc__strdup_impl(const char *text) {
  return copy_string(text, strlen(text));
}

static char *zinst_strndup_impl(const char *text, size_t limit) {
  return copy_string(text, strnlen(text, limit));
}

static char *zinst_libc__strndup_impl(const char *text, size_t limit) {
  return copy_string(text, strnlen(text, limit));
}

/* The public names, weak: an allocator linked into the executable (a
 * sanitizer's runtime, -fsanitize=leak) takes precedence whole, and then
 * zinst_mem_init() finds its malloc is not this file's and traces nothing. */
ZINST_EXPORT void *malloc(size_t size) __attribute__((weak, alias("zinst_malloc_impl")));
ZINST_EXPORT void free(void *pointer) __attribute__((weak, alias("zinst_free_impl")));
ZINST_EXPORT void *calloc(size_t count, size_t size)
    __attribute__((weak, alias("zinst_calloc_impl")));
ZINST_EXPORT void *realloc(void *pointer, size_t size)
    __attribute__((weak, alias("zinst_realloc_impl")));
ZINST_EXPORT void *reallocarray(void *pointer, size_t count, size_t size)
    __attribute__((weak, alias("zinst_reallocarray_impl")));
ZINST_EXPORT void *memalign(size_t alignment, size_t size)
    __attribute__((weak, alias("zinst_memalign_impl")));
ZINST_EXPORT int posix_memalign(void **out, size_t alignment, size_t size)
    __attribute__((weak, alias("zinst_posix_memalign_impl")));
ZINST_EXPORT void *aligned_alloc(size_t alignment, size_t size)
    __attribute__((weak, alias("zinst_aligned_alloc_impl")));
ZINST_EXPORT void *valloc(size_t size) __attribute__((weak, alias("zinst_valloc_impl")));
ZINST_EXPORT void *pvalloc(size_t size) __attribute__((weak, alias("zinst_pvalloc_impl")));
ZINST_EXPORT size_t malloc_usable_size(void *pointer)
    __attribute__((weak, alias("zinst_malloc_usable_size_impl")));
ZINST_EXPORT char *strdup(const char *text) __attribute__((weak, alias("zinst_strdup_impl")));
ZINST_EXPORT char *__strdup(const char *text)
    __attribute__((weak, alias("zinst_libc__strdup_impl")));
ZINST_EXPORT char *strndup(const char *text, size_t limit)
    __attribute__((weak, alias("zinst_strndup_impl")));
ZINST_EXPORT char *__strndup(const char *text, size_t limit)
    __attribute__((weak, alias("zinst_libc__strndup_impl")));

/* ---- other allocators (include/zinst.h): the Zig tracking allocator ---- */

/* A tag is (slot << 32) | node, 0 when the block is not attributed: what
 * the allocator keeps with the block (zinst.zig: 8 bytes after it) so that
 * its free is credited to the allocating context, from any thread. */

ZINST_EXPORT int zinst_memory_tracing(void) {
  return tracing();
}

ZINST_EXPORT uint64_t zinst_memory_alloc(size_t size, uintptr_t wrapper_frame) {
  if (!tracing())
    return 0;
  uint32_t slot, node;
  /* The caller is the allocator's code, never the C library's. */
  attribute_context(size, 0, wrapper_frame, &slot, &node);
  return (uint64_t)slot << 32 | node;
}

ZINST_EXPORT void zinst_memory_free(uint64_t tag, size_t size) {
  uint32_t slot = (uint32_t)(tag >> 32);
  if (slot == 0 || slot >= MAX_SLOTS || !tracing())
    return;
  /* A tag the runtime never made (a trailer overwritten by the program)
   * must not write outside the counters. */
  const struct slot *s = &slots[slot];
  if (!__atomic_load_n(&s->counters, __ATOMIC_ACQUIRE) || (uint32_t)tag >= s->capacity)
    return;
  credit_free_to(slot, (uint32_t)tag, size);
}

/* ---- cold paths: retirement, fork, snapshots ---- */

int zinst_mem_slot_used(uint32_t slot) {
  /* A thread's array is mapped by its first attributed allocation. */
  return slot != 0 && slot < MAX_SLOTS && slots[slot].state != SLOT_ORPHAN &&
         __atomic_load_n(&slots[slot].counters, __ATOMIC_ACQUIRE) != NULL;
}

/* The index of (parent, function) among `tree`'s nodes, through the hash
 * `slots_of` (open addressing, `mask` + 1 entries, node + 1; 0 empty). */
static uint64_t merge_key(uint32_t parent, uint32_t function) {
  return ((uint64_t)parent << 32) | function;
}
static uint32_t merge_hash(uint64_t key, uint32_t mask) {
  return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

int zinst_mem_slot_retired(uint32_t slot, const struct zinst_tree *tree, int merged,
                           const struct zinst_tree *merged_tree) {
  if (slot == 0 || slot >= MAX_SLOTS || !slots[slot].counters)
    return 0;
  if (!merged) {
    slots[slot].state = SLOT_RETIRED;
    return 0;
  }
  /* Map each node of the thread's tree to the merged node with the same
   * path: the merged tree holds every path of `tree` after the merge. */
  uint32_t size = 16;
  while (size < 2 * merged_tree->count)
    size *= 2;
  uint32_t *hash = zinst_heap_calloc(size, sizeof *hash);
  uint32_t *map = zinst_heap_malloc((size_t)tree->count * sizeof *map);
  if (!hash || !map) {
    zinst_heap_free(hash);
    zinst_heap_free(map);
    slots[slot].state = SLOT_ORPHAN;
    fprintf(stderr, "zinst: out of memory: the memory of an exited thread is lost\n");
    return -1;
  }
  for (uint32_t n = 1; n < merged_tree->count; n++) {
    uint64_t key = merge_key(merged_tree->nodes[n].parent, merged_tree->nodes[n].function);
    uint32_t at = merge_hash(key, size - 1);
    while (hash[at])
      at = (at + 1) & (size - 1);
    hash[at] = n + 1;
  }
  map[0] = 0;
  for (uint32_t n = 1; n < tree->count; n++) {
    uint32_t parent = map[tree->nodes[n].parent];
    uint64_t key = merge_key(parent, tree->nodes[n].function);
    map[n] = ZINST_NONE;
    if (parent == ZINST_NONE)
      continue;
    for (uint32_t at = merge_hash(key, size - 1); hash[at]; at = (at + 1) & (size - 1)) {
      const struct zinst_tree_node *m = &merged_tree->nodes[hash[at] - 1];
      if (m->parent == parent && m->function == tree->nodes[n].function) {
        map[n] = hash[at] - 1;
        break;
      }
    }
  }
  zinst_heap_free(hash);
  slots[slot].merged_map = map;
  slots[slot].merged_count = tree->count;
  slots[slot].state = SLOT_MERGED;
  return 0;
}

void zinst_mem_slot_orphaned(uint32_t slot) {
  if (slot != 0 && slot < MAX_SLOTS)
    slots[slot].state = SLOT_ORPHAN;
}

static int records_grow(struct zinst_mem_records *out) {
  if (out->count < out->capacity)
    return 0;
  uint32_t capacity = out->capacity ? out->capacity * 2 : 64;
  struct zinst_snapshot_memory *grown = zinst_heap_realloc(out->items, capacity * sizeof *grown);
  if (!grown)
    return -1;
  out->items = grown;
  out->capacity = capacity;
  return 0;
}

static uint64_t minus_floor(uint64_t value, uint64_t baseline) {
  return value > baseline ? value - baseline : 0;
}

/* The counters of node `node` of slot `s` as a snapshot record of
 * `thread` numbered `as_node` (frees merged, the reset baseline taken
 * off). */
static struct zinst_snapshot_memory read_counters(const struct slot *s, uint32_t node,
                                                  uint32_t thread, uint32_t as_node) {
  const struct zinst_mem_counters *c = &s->counters[node];
  struct zinst_snapshot_memory r = {
      .thread = thread,
      .node = as_node,
      .allocations = RELAXED_LOAD(c->allocations),
      .allocated_bytes = RELAXED_LOAD(c->allocated_bytes),
      .frees = RELAXED_LOAD(c->frees) + RELAXED_LOAD(c->remote_frees),
      .freed_bytes = RELAXED_LOAD(c->freed_bytes) + RELAXED_LOAD(c->remote_freed_bytes),
      .peak_live_bytes = RELAXED_LOAD(c->peak_live_bytes),
  };
  if (node < s->baseline_count) {
    const struct reset_baseline *b = &s->baseline[node];
    r.allocations = minus_floor(r.allocations, b->frees);
    r.frees = minus_floor(r.frees, b->frees);
    r.allocated_bytes = minus_floor(r.allocated_bytes, b->freed_bytes);
    r.freed_bytes = minus_floor(r.freed_bytes, b->freed_bytes);
  }
  return r;
}

/* Keep a record's fields consistent when a free raced with the reads (a
 * block freed between reading its allocation and its free), as the format
 * wants them: a reader refuses a profile that breaks them. */
static void make_consistent(struct zinst_snapshot_memory *r) {
  if (r->frees > r->allocations)
    r->frees = r->allocations;
  if (r->freed_bytes > r->allocated_bytes)
    r->freed_bytes = r->allocated_bytes;
  if (r->frees == r->allocations)
    r->freed_bytes = r->allocated_bytes; /* every block freed: every byte */
  if (r->peak_live_bytes > r->allocated_bytes)
    r->peak_live_bytes = r->allocated_bytes;
  if (r->peak_live_bytes < r->allocated_bytes - r->freed_bytes)
    r->peak_live_bytes = r->allocated_bytes - r->freed_bytes;
}

/* Append `node`'s record (tree index; the root last, see the format). */
static int append_node(struct zinst_mem_records *out, const struct slot *s, uint32_t thread,
                       uint32_t node) {
  struct zinst_snapshot_memory r = read_counters(s, node, thread, node);
  if (r.allocations == 0)
    return 0;
  make_consistent(&r);
  if (records_grow(out) != 0)
    return -1;
  out->items[out->count++] = r;
  return 0;
}

int zinst_mem_collect_slot(struct zinst_mem_records *out, uint32_t thread, uint32_t slot,
                           uint32_t node_count) {
  if (slot == 0 || slot >= MAX_SLOTS || slots[slot].state == SLOT_ORPHAN)
    return 0;
  const struct zinst_mem_counters *c = __atomic_load_n(&slots[slot].counters, __ATOMIC_ACQUIRE);
  if (!c)
    return 0;
  uint32_t count = node_count < slots[slot].capacity ? node_count : slots[slot].capacity;
  for (uint32_t n = 1; n < count; n++)
    if (append_node(out, &slots[slot], thread, n) != 0)
      return -1;
  return count > 0 ? append_node(out, &slots[slot], thread, 0) : 0;
}

int zinst_mem_merged_used(void) {
  uint32_t end = __atomic_load_n(&next_slot, __ATOMIC_RELAXED);
  for (uint32_t s = 1; s < end && s < MAX_SLOTS; s++)
    if (slots[s].state == SLOT_MERGED && zinst_mem_slot_used(s))
      return 1;
  return 0;
}

int zinst_mem_collect_merged(struct zinst_mem_records *out, uint32_t thread, uint32_t node_count) {
  if (node_count == 0)
    return 0;
  struct zinst_snapshot_memory *sum = zinst_heap_calloc(node_count, sizeof *sum);
  if (!sum)
    return -1;
  uint32_t end = __atomic_load_n(&next_slot, __ATOMIC_RELAXED);
  for (uint32_t s = 1; s < end && s < MAX_SLOTS; s++) {
    if (slots[s].state != SLOT_MERGED)
      continue;
    for (uint32_t n = 0; n < slots[s].merged_count; n++) {
      uint32_t to = slots[s].merged_map[n];
      if (to == ZINST_NONE || to >= node_count)
        continue;
      struct zinst_snapshot_memory r = read_counters(&slots[s], n, thread, to);
      make_consistent(&r);
      /* Threads summed: their peaks add up to a bound of the sum's peak. */
      sum[to].allocations += r.allocations;
      sum[to].allocated_bytes += r.allocated_bytes;
      sum[to].frees += r.frees;
      sum[to].freed_bytes += r.freed_bytes;
      sum[to].peak_live_bytes += r.peak_live_bytes;
    }
  }
  int status = 0;
  for (uint32_t k = 1; k <= node_count && status == 0; k++) {
    uint32_t n = k == node_count ? 0 : k; /* the root last */
    if (sum[n].allocations == 0)
      continue;
    sum[n].thread = thread;
    sum[n].node = n;
    if (records_grow(out) != 0)
      status = -1;
    else
      out->items[out->count++] = sum[n];
  }
  zinst_heap_free(sum);
  return status;
}

/* ---- zinst_reset() ---- */

/*
 * What a reset means for memory, and why this way: live bytes and peaks
 * must stay true (a leak from before the reset is still a leak), while
 * counts restart. So a context forgets the blocks freed before the reset
 * (their allocations and their frees: the baseline, subtracted at each
 * snapshot), keeps the blocks still live as allocations (as if allocated
 * at the reset), and its peak restarts from the bytes live then. The
 * counters themselves are never rewritten but the peak: the owner thread
 * updates them without atomic read-modify-writes. A peak stored here while
 * its owner allocates may lose that allocation's update (the next one
 * repairs it, and a snapshot never shows a peak below the live bytes).
 */
static void reset_slot(uint32_t slot, uint32_t node_count) {
  struct slot *s = &slots[slot];
  struct zinst_mem_counters *c = __atomic_load_n(&s->counters, __ATOMIC_ACQUIRE);
  if (!c || s->state == SLOT_ORPHAN)
    return;
  uint32_t count = node_count < s->capacity ? node_count : s->capacity;
  if (count > s->baseline_count || !s->baseline) {
    struct reset_baseline *grown =
        zinst_heap_realloc(s->baseline, (size_t)(count ? count : 1) * sizeof *grown);
    if (!grown) {
      fprintf(stderr, "zinst: out of memory: a thread's memory counters are not reset\n");
      return;
    }
    s->baseline = grown;
  }
  s->baseline_count = count;
  for (uint32_t n = 0; n < count; n++) {
    const uint64_t frees = RELAXED_LOAD(c[n].frees) + RELAXED_LOAD(c[n].remote_frees);
    const uint64_t freed = RELAXED_LOAD(c[n].freed_bytes) + RELAXED_LOAD(c[n].remote_freed_bytes);
    s->baseline[n] = (struct reset_baseline){frees, freed};
    RELAXED_STORE(c[n].peak_live_bytes, minus_floor(RELAXED_LOAD(c[n].allocated_bytes), freed));
  }
}

void zinst_mem_reset_slot(uint32_t slot, uint32_t node_count) {
  if (slot != 0 && slot < MAX_SLOTS)
    reset_slot(slot, node_count);
}

void zinst_mem_reset_merged(void) {
  uint32_t end = __atomic_load_n(&next_slot, __ATOMIC_RELAXED);
  for (uint32_t s = 1; s < end && s < MAX_SLOTS; s++)
    if (slots[s].state == SLOT_MERGED)
      reset_slot(s, slots[s].merged_count);
}
