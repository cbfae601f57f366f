/*
 * heap.h - the one allocator of the runtime's cold paths.
 *
 * Outside a signal handler these are malloc, calloc, realloc and free. A
 * profile written from a SIGINT/SIGTERM handler (signals.c) may have
 * interrupted malloc itself on the same thread, where calling malloc again
 * can deadlock on the allocator's lock or corrupt its lists. For that dump
 * the thread switches to a private arena: memory mapped with mmap, handed
 * out in order, never reused, and unmapped as a whole when the dump ends.
 * The mode is per thread, so other threads keep using malloc meanwhile.
 *
 * Every runtime file that allocates includes this header after the system
 * headers: the macros below route its calls here, so no call is missed.
 * The profile library shared with the command (cli/profile_reader.c and the
 * merge, compiled into the runtime for `%m` outputs) does the same when
 * built with ZINST_RUNTIME_HEAP. qsort is routed too: glibc's may call
 * malloc for large arrays.
 */
#ifndef ZINST_HEAP_H
#define ZINST_HEAP_H

/* Included first, so that the macros below cannot rename their
 * declarations when a file includes them after this header. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

void *zinst_heap_malloc(size_t size);
void *zinst_heap_calloc(size_t count, size_t size);
void *zinst_heap_realloc(void *pointer, size_t size);
void zinst_heap_free(void *pointer);
char *zinst_heap_strdup(const char *text);
/* An in-place heap sort with qsort's contract (not stable); no allocation. */
void zinst_heap_sort(void *base, size_t count, size_t size,
                     int (*compare)(const void *, const void *));

/* Until zinst_heap_arena_end(), this thread's allocations come from a
 * private arena (see above); free() of its blocks does nothing. Blocks
 * allocated before stay valid but are not freed while the arena is on. */
void zinst_heap_arena_begin(void);
/* Unmap the whole arena: every block it gave out becomes invalid. */
void zinst_heap_arena_end(void);

#ifndef ZINST_HEAP_IMPLEMENTATION
#define malloc(size) zinst_heap_malloc(size)
#define calloc(count, size) zinst_heap_calloc(count, size)
#define realloc(pointer, size) zinst_heap_realloc(pointer, size)
#define free(pointer) zinst_heap_free(pointer)
#define strdup(text) zinst_heap_strdup(text)
#define qsort(base, count, size, compare) zinst_heap_sort(base, count, size, compare)
#endif

#endif /* ZINST_HEAP_H */
