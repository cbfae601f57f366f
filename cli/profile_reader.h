/*
 * profile_reader.h - load and validate a zinst profile (format/zinst_format.h).
 *
 * The reader trusts nothing in the file. A profile that parses has been
 * checked completely: every offset, size, count, index and string reference
 * lies inside the file or the arrays below, every node's parent precedes it
 * inside its own thread, and the checksum matches. Code that walks a parsed
 * profile therefore needs no further bounds checks.
 *
 * Records are copied into normalized arrays of the record types this reader
 * knows; a newer producer's longer records (larger entry_size) lose their tail.
 */
#ifndef ZINST_PROFILE_READER_H
#define ZINST_PROFILE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zinst_format.h"

struct zinst_profile { /* owns every array and string below */
  struct zinst_file_header header;
  struct zinst_process_record process;
  const char *strings; /* strings_size bytes, the last one NUL */
  uint64_t strings_size;
  struct zinst_module_record *modules;
  uint32_t module_count;
  struct zinst_function_record *functions;
  uint32_t function_count;
  struct zinst_thread_record *threads;
  uint32_t thread_count;
  struct zinst_node_record *nodes;
  uint32_t node_count;
  struct zinst_site_record *sites; /* inline and call sites (format version 2) */
  uint32_t site_count;
  struct zinst_site_count_record *site_counts; /* sorted by (thread, site) */
  uint32_t site_count_count;
  /* Minor 4: heap memory per context, present only when the program ran with
   * memory tracing on (has_memory); sorted by (thread, node), ZINST_NONE
   * (no instrumented function) last in each thread. */
  bool has_memory;
  struct zinst_memory_record *memory;
  uint32_t memory_count;
  void *storage; /* private: the one allocation behind the arrays */
};

/*
 * Parse and validate `size` bytes at `data` (any alignment). The caller keeps
 * ownership of `data`; nothing in `out` points into it. On success returns 0
 * and fills `out`, which the caller releases with zinst_profile_free. On
 * failure returns -1, leaves `out` zeroed (zinst_profile_free on it is a
 * no-op) and writes a message naming the byte offset and the problem into
 * `err` (truncated to errlen; err may be NULL when errlen is 0).
 */
int zinst_profile_parse(const void *data, size_t size, struct zinst_profile *out, char *err,
                        size_t errlen);

/*
 * Read the whole file at `path` and parse it. Same contract as
 * zinst_profile_parse; error messages start with the path.
 */
int zinst_profile_load(const char *path, struct zinst_profile *out, char *err, size_t errlen);

/*
 * Read the whole file at `path` into a new malloc'd buffer (*data, *size),
 * looping on short reads and EINTR. The caller frees *data. Returns 0, or -1
 * with "PATH: what failed: strerror" in err and *data == NULL.
 */
int zinst_read_file(const char *path, void **data, size_t *size, char *err, size_t errlen);

/* Release everything `profile` owns and zero it. Safe on a zeroed profile. */
void zinst_profile_free(struct zinst_profile *profile);

/*
 * The string at `offset` in STRINGS: "" for ZINST_NONE; never NULL for a
 * profile that parsed (an offset outside STRINGS, which a parsed profile
 * never holds, also gives ""). Valid until zinst_profile_free.
 */
const char *zinst_profile_string(const struct zinst_profile *profile, uint32_t offset);

/* Printable name of a section kind ("FUNCTIONS"), or NULL if unknown. */
const char *zinst_section_kind_name(uint32_t kind);

#endif /* ZINST_PROFILE_READER_H */
