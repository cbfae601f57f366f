/*
 * profile_reader.c - the only code in zinst that reads untrusted bytes.
 *
 * Validation runs in the order in which later checks depend on earlier ones:
 * header (size, magic, byte order, version, sizes, checksum), then the
 * section table and every section's placement, then the records and every
 * reference between them. Every check happens before the value is used, all
 * arithmetic on file values is done in 64 bits with explicit overflow tests,
 * and all reads go through memcpy so the input needs no alignment.
 */
#include "profile_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef ZINST_RUNTIME_HEAP
#include "heap.h" /* the runtime's build (`%m` outputs): allocations safe in a signal handler */
#endif

#define HEADER_SIZE ((uint32_t)sizeof(struct zinst_file_header))
#define SECTION_ENTRY_SIZE ((uint64_t)sizeof(struct zinst_section_entry))
#define KIND_LIMIT (ZINST_SECTION_MEMORY + 1)

struct parse_context {
  const unsigned char *data;
  size_t size;
  char *err;
  size_t errlen;
};

/* One known section as found in the table. */
struct section_slot {
  bool present;
  uint32_t table_index;        /* position in the section table */
  uint64_t table_entry_offset; /* file offset of its table entry, for messages */
  struct zinst_section_entry entry;
};

/* The smallest record of each section this reader accepts: the size in the
 * oldest minor revision of this version. Fields appended later read as 0
 * from a file whose records end before them (copy_records). */
static const uint32_t minimum_record_size[KIND_LIMIT] = {
    [ZINST_SECTION_STRINGS] = 1,
    [ZINST_SECTION_PROCESS] = ZINST_PROCESS_RECORD_SIZE_2_0,
    [ZINST_SECTION_MODULES] = sizeof(struct zinst_module_record),
    [ZINST_SECTION_FUNCTIONS] = sizeof(struct zinst_function_record),
    [ZINST_SECTION_THREADS] = sizeof(struct zinst_thread_record),
    [ZINST_SECTION_NODES] = sizeof(struct zinst_node_record),
    [ZINST_SECTION_SITES] = sizeof(struct zinst_site_record),
    [ZINST_SECTION_SITE_COUNTS] = sizeof(struct zinst_site_count_record),
    [ZINST_SECTION_MEMORY] = sizeof(struct zinst_memory_record),
};

const char *zinst_section_kind_name(uint32_t kind) {
  switch (kind) {
  case ZINST_SECTION_STRINGS:
    return "STRINGS";
  case ZINST_SECTION_PROCESS:
    return "PROCESS";
  case ZINST_SECTION_MODULES:
    return "MODULES";
  case ZINST_SECTION_FUNCTIONS:
    return "FUNCTIONS";
  case ZINST_SECTION_THREADS:
    return "THREADS";
  case ZINST_SECTION_NODES:
    return "NODES";
  case ZINST_SECTION_SITES:
    return "SITES";
  case ZINST_SECTION_SITE_COUNTS:
    return "SITE_COUNTS";
  case ZINST_SECTION_MEMORY:
    return "MEMORY";
  default:
    return NULL;
  }
}

static void write_message(char *err, size_t errlen, const char *prefix, const char *fmt,
                          va_list args) {
  if (!err || errlen == 0)
    return;
  int used = snprintf(err, errlen, "%s", prefix);
  if (used < 0 || (size_t)used >= errlen)
    return;
  vsnprintf(err + used, errlen - (size_t)used, fmt, args);
}

/* Report a problem at a byte offset of the file. Always returns -1. */
static int fail_at(struct parse_context *ctx, uint64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(struct parse_context *ctx, uint64_t offset, const char *fmt, ...) {
  char prefix[40];
  snprintf(prefix, sizeof prefix, "offset %" PRIu64 ": ", offset);
  va_list args;
  va_start(args, fmt);
  write_message(ctx->err, ctx->errlen, prefix, fmt, args);
  va_end(args);
  return -1;
}

/* Report a problem that has no single offset (truncation, memory). Returns -1. */
static int fail(struct parse_context *ctx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(struct parse_context *ctx, const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  write_message(ctx->err, ctx->errlen, "", fmt, args);
  va_end(args);
  return -1;
}

static bool host_is_little_endian(void) {
  const uint32_t probe = 1;
  unsigned char first;
  memcpy(&first, &probe, 1);
  return first == 1;
}

static int check_header(struct parse_context *ctx, struct zinst_file_header *header) {
  if (ctx->size < HEADER_SIZE)
    return fail(ctx, "truncated: the file has %zu bytes, less than the %" PRIu32 "-byte header",
                ctx->size, HEADER_SIZE);
  memcpy(header, ctx->data, sizeof *header);

  if (memcmp(header->magic, ZINST_PROFILE_MAGIC, ZINST_PROFILE_MAGIC_SIZE) != 0) {
    char shown[ZINST_PROFILE_MAGIC_SIZE * 4 + 1];
    size_t used = 0;
    for (int i = 0; i < ZINST_PROFILE_MAGIC_SIZE; i++) {
      unsigned char c = (unsigned char)header->magic[i];
      if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
        shown[used++] = (char)c;
      else
        used += (size_t)snprintf(shown + used, sizeof shown - used, "\\x%02x", c);
    }
    shown[used] = '\0';
    return fail_at(ctx, 0, "not a zinst profile (magic \"%s\", expected \"%s\")", shown,
                   ZINST_PROFILE_MAGIC);
  }
  /* Byte order before version: in the other order the version reads as garbage. */
  if (header->byte_order == ZINST_BYTE_ORDER_SWAPPED) {
    const char *host = host_is_little_endian() ? "little" : "big";
    const char *writer = host_is_little_endian() ? "big" : "little";
    return fail_at(ctx, offsetof(struct zinst_file_header, byte_order),
                   "the profile was written on a machine of the other byte order (%s-endian; "
                   "this one is %s-endian); read it on a %s-endian machine",
                   writer, host, writer);
  }
  if (header->byte_order != ZINST_BYTE_ORDER_MARK)
    return fail_at(ctx, offsetof(struct zinst_file_header, byte_order),
                   "byte-order mark 0x%08" PRIx32 " is neither 0x%08x nor 0x%08x",
                   header->byte_order, ZINST_BYTE_ORDER_MARK, ZINST_BYTE_ORDER_SWAPPED);
  if (header->version != ZINST_PROFILE_VERSION)
    return fail_at(ctx, offsetof(struct zinst_file_header, version),
                   "profile version %" PRIu32 ", this zinst reads version %u", header->version,
                   ZINST_PROFILE_VERSION);
  if (header->header_size != HEADER_SIZE)
    return fail_at(ctx, offsetof(struct zinst_file_header, header_size),
                   "header_size is %" PRIu32 ", version %u headers are %" PRIu32 " bytes",
                   header->header_size, ZINST_PROFILE_VERSION, HEADER_SIZE);
  if (header->file_size > ctx->size)
    return fail(ctx, "truncated: header says %" PRIu64 " bytes, file has %zu", header->file_size,
                ctx->size);
  if (header->file_size < ctx->size)
    return fail_at(ctx, offsetof(struct zinst_file_header, file_size),
                   "header says the file has %" PRIu64 " bytes, but it has %zu (trailing data)",
                   header->file_size, ctx->size);
  for (size_t i = 0; i < sizeof header->reserved; i++)
    if (header->reserved[i] != 0)
      return fail_at(ctx, offsetof(struct zinst_file_header, reserved) + i,
                     "reserved header byte is 0x%02x, must be zero", header->reserved[i]);
  uint32_t crc = zinst_profile_checksum(ctx->data, ctx->size);
  if (crc != header->checksum)
    return fail_at(ctx, offsetof(struct zinst_file_header, checksum),
                   "checksum mismatch: header says 0x%08" PRIx32 ", the contents give 0x%08" PRIx32
                   " (the file is damaged)",
                   header->checksum, crc);
  return 0;
}

/* Is [offset, offset + size) inside the file? Overflow-safe. */
static bool range_in_file(const struct parse_context *ctx, uint64_t offset, uint64_t size) {
  return offset <= ctx->size && size <= ctx->size - offset;
}

static int check_section_table(struct parse_context *ctx, const struct zinst_file_header *header,
                               struct section_slot slots[KIND_LIMIT]) {
  const uint64_t table = header->section_table_offset;
  const uint64_t table_offset_field = offsetof(struct zinst_file_header, section_table_offset);
  if (table % 8 != 0)
    return fail_at(ctx, table_offset_field,
                   "section table offset %" PRIu64 " is not 8-byte aligned", table);
  if (table < HEADER_SIZE)
    return fail_at(ctx, table_offset_field,
                   "section table offset %" PRIu64 " lies inside the %" PRIu32 "-byte header",
                   table, HEADER_SIZE);
  /* section_count is 32-bit, so count * 32 cannot overflow 64 bits. */
  const uint64_t table_size = (uint64_t)header->section_count * SECTION_ENTRY_SIZE;
  if (!range_in_file(ctx, table, table_size))
    return fail_at(ctx, table_offset_field,
                   "section table (%" PRIu32 " entries at %" PRIu64
                   ") extends past the end of the file (%zu bytes)",
                   header->section_count, table, ctx->size);

  for (uint32_t i = 0; i < header->section_count; i++) {
    const uint64_t at = table + i * SECTION_ENTRY_SIZE;
    struct zinst_section_entry entry;
    memcpy(&entry, ctx->data + at, sizeof entry);
    const char *name = zinst_section_kind_name(entry.kind);
    if (!name)
      continue; /* a newer producer's section: skipped by design */
    struct section_slot *slot = &slots[entry.kind];
    if (slot->present)
      return fail_at(ctx, at, "section %" PRIu32 " (%s) duplicates section %" PRIu32, i, name,
                     slot->table_index);
    const uint32_t known = minimum_record_size[entry.kind];
    if (entry.kind == ZINST_SECTION_STRINGS && entry.entry_size != 1)
      return fail_at(ctx, at, "section %" PRIu32 " (%s) has entry_size %" PRIu32 ", must be 1", i,
                     name, entry.entry_size);
    if (entry.entry_size < known)
      return fail_at(ctx, at,
                     "section %" PRIu32 " (%s) has entry_size %" PRIu32
                     ", smaller than the %" PRIu32 "-byte record this zinst reads",
                     i, name, entry.entry_size, known);
    if (entry.count > UINT64_MAX / entry.entry_size)
      return fail_at(ctx, at,
                     "section %" PRIu32 " (%s): count %" PRIu64 " x entry_size %" PRIu32
                     " overflows 64 bits",
                     i, name, entry.count, entry.entry_size);
    if (entry.count * entry.entry_size != entry.size)
      return fail_at(ctx, at,
                     "section %" PRIu32 " (%s): size %" PRIu64 " is not count %" PRIu64
                     " x entry_size %" PRIu32,
                     i, name, entry.size, entry.count, entry.entry_size);
    if (entry.offset % 8 != 0)
      return fail_at(ctx, at, "section %" PRIu32 " (%s) offset %" PRIu64 " is not 8-byte aligned",
                     i, name, entry.offset);
    if (entry.offset < HEADER_SIZE)
      return fail_at(ctx, at, "section %" PRIu32 " (%s) starts at %" PRIu64 ", inside the header",
                     i, name, entry.offset);
    if (entry.offset > ctx->size)
      return fail_at(ctx, at,
                     "section %" PRIu32 " (%s) starts at %" PRIu64
                     ", past the end of the file (%zu bytes)",
                     i, name, entry.offset, ctx->size);
    if (entry.size > ctx->size - entry.offset) {
      if (entry.size > UINT64_MAX - entry.offset)
        return fail_at(ctx, at,
                       "section %" PRIu32 " (%s): offset %" PRIu64 " + size %" PRIu64
                       " overflows 64 bits",
                       i, name, entry.offset, entry.size);
      return fail_at(ctx, at,
                     "section %" PRIu32 " (%s) extends to %" PRIu64
                     ", past the end of the file (%zu bytes)",
                     i, name, entry.offset + entry.size, ctx->size);
    }
    /* Indices are 32-bit and ZINST_NONE is reserved, so arrays stay below it. */
    if (entry.kind != ZINST_SECTION_STRINGS && entry.count >= ZINST_NONE)
      return fail_at(ctx, at,
                     "section %" PRIu32 " (%s) has %" PRIu64
                     " records, more than 32-bit indices allow",
                     i, name, entry.count);
    const bool overlaps_table =
        entry.size > 0 && entry.offset < table + table_size && table < entry.offset + entry.size;
    if (overlaps_table)
      return fail_at(ctx, at, "section %" PRIu32 " (%s) overlaps the section table", i, name);
    for (uint32_t other = 1; other < KIND_LIMIT; other++) {
      const struct section_slot *seen = &slots[other];
      if (!seen->present || seen->entry.size == 0 || entry.size == 0)
        continue;
      if (entry.offset < seen->entry.offset + seen->entry.size &&
          seen->entry.offset < entry.offset + entry.size)
        return fail_at(ctx, at, "section %" PRIu32 " (%s) overlaps section %" PRIu32 " (%s)", i,
                       name, seen->table_index, zinst_section_kind_name(other));
    }
    slot->present = true;
    slot->table_index = i;
    slot->table_entry_offset = at;
    slot->entry = entry;
  }

  /* Every known section is required, empty or not: a missing one means a
   * damaged table (the header, section count included, is outside the CRC).
   * MEMORY is the exception: present only when memory was traced. */
  for (uint32_t kind = 1; kind < KIND_LIMIT; kind++)
    if (!slots[kind].present && kind != ZINST_SECTION_MEMORY)
      return fail_at(ctx, table, "the section table has no %s section",
                     zinst_section_kind_name(kind));
  const struct section_slot *process = &slots[ZINST_SECTION_PROCESS];
  if (process->entry.count != 1)
    return fail_at(ctx, process->table_entry_offset,
                   "section %" PRIu32 " (PROCESS) holds %" PRIu64
                   " records; exactly one PROCESS record is required",
                   process->table_index, process->entry.count);
  const struct section_slot *strings = &slots[ZINST_SECTION_STRINGS];
  if (strings->entry.size == 0)
    return fail_at(ctx, strings->table_entry_offset,
                   "section %" PRIu32 " (STRINGS) is empty; it must hold at least one NUL",
                   strings->table_index);
  const uint64_t last = strings->entry.offset + strings->entry.size - 1;
  if (ctx->data[last] != '\0')
    return fail_at(ctx, last, "STRINGS does not end with a NUL byte (unterminated string)");
  return 0;
}

/* Copy a section's records into an array of `record_size`-byte records: the
 * file's records are entry_size bytes apart; a newer producer's longer
 * record loses its tail, an older producer's shorter one (never below
 * minimum_record_size) gets its missing fields as 0. */
static void copy_records(const struct parse_context *ctx, const struct section_slot *slot,
                         void *dest, size_t record_size) {
  if (!slot->present)
    return;
  unsigned char *out = dest;
  const size_t kept = slot->entry.entry_size < record_size ? slot->entry.entry_size : record_size;
  for (uint64_t i = 0; i < slot->entry.count; i++) {
    memcpy(out + i * record_size, ctx->data + slot->entry.offset + i * slot->entry.entry_size,
           kept);
    memset(out + i * record_size + kept, 0, record_size - kept);
  }
}

/* File offset of field `field_offset` in record `index` of a section. */
static uint64_t field_at(const struct section_slot *slot, uint64_t index, size_t field_offset) {
  return slot->entry.offset + index * slot->entry.entry_size + field_offset;
}

static int check_string(struct parse_context *ctx, const struct zinst_profile *profile,
                        uint64_t offset, uint32_t ref, const char *owner, uint32_t index,
                        const char *field) {
  if (ref == ZINST_NONE || ref < profile->strings_size)
    return 0;
  if (index == ZINST_NONE)
    return fail_at(ctx, offset,
                   "%s %s refers to string offset %" PRIu32 ", outside STRINGS (%" PRIu64 " bytes)",
                   owner, field, ref, profile->strings_size);
  return fail_at(ctx, offset,
                 "%s %" PRIu32 " %s refers to string offset %" PRIu32 ", outside STRINGS (%" PRIu64
                 " bytes)",
                 owner, index, field, ref, profile->strings_size);
}

#define CHECK_STRING(slot, index, label, type, record, field, owner)                               \
  do {                                                                                             \
    if (check_string(ctx, profile, field_at(slot, index, offsetof(type, field)), (record).field,   \
                     owner, label, #field) != 0)                                                   \
      return -1;                                                                                   \
  } while (0)

static int check_process(struct parse_context *ctx, const struct zinst_profile *profile,
                         const struct section_slot *slot) {
  const struct zinst_process_record *p = &profile->process;
  typedef struct zinst_process_record rec;
  /* One record: messages name no index. */
  CHECK_STRING(slot, 0, ZINST_NONE, rec, *p, exe_path, "process");
  CHECK_STRING(slot, 0, ZINST_NONE, rec, *p, command_line, "process");
  CHECK_STRING(slot, 0, ZINST_NONE, rec, *p, hostname, "process");
  CHECK_STRING(slot, 0, ZINST_NONE, rec, *p, runtime_version, "process");
  if (p->mode != ZINST_MODE_TIME && p->mode != ZINST_MODE_COUNT)
    return fail_at(ctx, field_at(slot, 0, offsetof(rec, mode)),
                   "process mode %" PRIu32 " is neither time (0) nor count (1)", p->mode);
  if (p->mode == ZINST_MODE_TIME && p->sample_interval == 0)
    return fail_at(ctx, field_at(slot, 0, offsetof(rec, sample_interval)),
                   "process sample_interval is 0 in time mode (1 means every activation timed)");
  return 0;
}

static int check_modules_and_functions(struct parse_context *ctx,
                                       const struct zinst_profile *profile,
                                       const struct section_slot *modules,
                                       const struct section_slot *functions) {
  for (uint32_t i = 0; i < profile->module_count; i++) {
    const struct zinst_module_record *m = &profile->modules[i];
    CHECK_STRING(modules, i, i, struct zinst_module_record, *m, name, "module");
    if (m->first_function > profile->function_count ||
        m->function_count > profile->function_count - m->first_function)
      return fail_at(ctx,
                     field_at(modules, i, offsetof(struct zinst_module_record, first_function)),
                     "module %" PRIu32 " covers functions [%" PRIu32 ", %" PRIu64
                     "), past the %" PRIu32 " functions in FUNCTIONS",
                     i, m->first_function, (uint64_t)m->first_function + m->function_count,
                     profile->function_count);
  }
  for (uint32_t i = 0; i < profile->function_count; i++) {
    const struct zinst_function_record *f = &profile->functions[i];
    CHECK_STRING(functions, i, i, struct zinst_function_record, *f, name, "function");
    CHECK_STRING(functions, i, i, struct zinst_function_record, *f, linkage_name, "function");
    CHECK_STRING(functions, i, i, struct zinst_function_record, *f, file, "function");
    if (f->module >= profile->module_count)
      return fail_at(ctx, field_at(functions, i, offsetof(struct zinst_function_record, module)),
                     "function %" PRIu32 " belongs to module %" PRIu32 ", but MODULES has %" PRIu32,
                     i, f->module, profile->module_count);
  }
  return 0;
}

/* A thread's node range, sorted by start for the overlap check. */
struct thread_range {
  uint32_t first_node;
  uint32_t node_count;
  uint32_t thread;
};

static int compare_thread_range(const void *a, const void *b) {
  const struct thread_range *ra = a, *rb = b;
  if (ra->first_node != rb->first_node)
    return ra->first_node < rb->first_node ? -1 : 1;
  if (ra->node_count != rb->node_count)
    return ra->node_count < rb->node_count ? -1 : 1;
  return ra->thread < rb->thread ? -1 : ra->thread > rb->thread;
}

/*
 * Threads and nodes. The caller owns the scratch arrays: `ranges` has
 * thread_count entries, `owner` node_count.
 */
static int check_threads_and_nodes(struct parse_context *ctx, const struct zinst_profile *profile,
                                   const struct section_slot *threads,
                                   const struct section_slot *nodes, struct thread_range *ranges,
                                   uint32_t *owner_of) {
  for (uint32_t i = 0; i < profile->thread_count; i++) {
    const struct zinst_thread_record *t = &profile->threads[i];
    CHECK_STRING(threads, i, i, struct zinst_thread_record, *t, name, "thread");
    if (t->first_node > profile->node_count || t->node_count > profile->node_count - t->first_node)
      return fail_at(ctx, field_at(threads, i, offsetof(struct zinst_thread_record, first_node)),
                     "thread %" PRIu32 " covers nodes [%" PRIu32 ", %" PRIu64 "), past the %" PRIu32
                     " nodes in NODES",
                     i, t->first_node, (uint64_t)t->first_node + t->node_count,
                     profile->node_count);
    ranges[i] = (struct thread_range){t->first_node, t->node_count, i};
  }

  /* Sorted by start, each non-empty range must begin at or after the previous one's end. */
  qsort(ranges, profile->thread_count, sizeof *ranges, compare_thread_range);
  const struct thread_range *previous = NULL;
  for (uint32_t k = 0; k < profile->thread_count; k++) {
    const struct thread_range *r = &ranges[k];
    if (r->node_count == 0)
      continue;
    if (previous && previous->first_node + previous->node_count > r->first_node) {
      const struct thread_range *a = previous->thread < r->thread ? previous : r;
      const struct thread_range *b = previous->thread < r->thread ? r : previous;
      return fail_at(ctx,
                     field_at(threads, b->thread, offsetof(struct zinst_thread_record, first_node)),
                     "thread %" PRIu32 " nodes [%" PRIu32 ", %" PRIu32 ") overlap thread %" PRIu32
                     " nodes [%" PRIu32 ", %" PRIu32 ")",
                     b->thread, b->first_node, b->first_node + b->node_count, a->thread,
                     a->first_node, a->first_node + a->node_count);
    }
    previous = r;
  }

  /* Owner of every node; ranges no longer overlap, so each node has at most one. */
  for (uint32_t n = 0; n < profile->node_count; n++)
    owner_of[n] = ZINST_NONE;
  for (uint32_t i = 0; i < profile->thread_count; i++) {
    const struct zinst_thread_record *t = &profile->threads[i];
    for (uint32_t n = t->first_node; n < t->first_node + t->node_count; n++)
      owner_of[n] = i;
  }
  for (uint32_t n = 0; n < profile->node_count; n++) {
    const struct zinst_node_record *node = &profile->nodes[n];
    const uint32_t owner = owner_of[n];
    if (owner == ZINST_NONE)
      return fail_at(ctx, field_at(nodes, n, 0), "node %" PRIu32 " belongs to no thread", n);
    const struct zinst_thread_record *t = &profile->threads[owner];
    const uint64_t parent_at = field_at(nodes, n, offsetof(struct zinst_node_record, parent));
    if (node->parent != ZINST_NONE) {
      if (node->parent >= n)
        return fail_at(ctx, parent_at,
                       "node %" PRIu32 " has parent %" PRIu32
                       ", not smaller than its own index (parents come first)",
                       n, node->parent);
      if (node->parent < t->first_node)
        return fail_at(ctx, parent_at,
                       "node %" PRIu32 " has parent %" PRIu32 " outside its thread %" PRIu32
                       " nodes [%" PRIu32 ", %" PRIu32 ")",
                       n, node->parent, owner, t->first_node, t->first_node + t->node_count);
    }
    if (node->function >= profile->function_count)
      return fail_at(ctx, field_at(nodes, n, offsetof(struct zinst_node_record, function)),
                     "node %" PRIu32 " refers to function %" PRIu32 ", but FUNCTIONS has %" PRIu32,
                     n, node->function, profile->function_count);
    if (node->timed_calls > node->calls)
      return fail_at(ctx, field_at(nodes, n, offsetof(struct zinst_node_record, timed_calls)),
                     "node %" PRIu32 " has %" PRIu64 " timed calls, more than its %" PRIu64
                     " calls",
                     n, node->timed_calls, node->calls);
    /* Every call timed: the inclusive total is measured, so it has no error
     * (the exclusive one may: it subtracts the children's estimates). */
    if (node->timed_calls == node->calls && node->inclusive_error_ticks != 0)
      return fail_at(
          ctx, field_at(nodes, n, offsetof(struct zinst_node_record, inclusive_error_ticks)),
          "node %" PRIu32 " has every call timed but an inclusive error of %" PRIu64 " ticks", n,
          node->inclusive_error_ticks);
  }
  return 0;
}

/* Sites and their per-thread counts. */
static int check_sites(struct parse_context *ctx, const struct zinst_profile *profile,
                       const struct section_slot *sites, const struct section_slot *counts) {
  typedef struct zinst_site_record rec;
  for (uint32_t i = 0; i < profile->site_count; i++) {
    const rec *site = &profile->sites[i];
    CHECK_STRING(sites, i, i, rec, *site, caller, "site");
    CHECK_STRING(sites, i, i, rec, *site, caller_linkage, "site");
    CHECK_STRING(sites, i, i, rec, *site, callee, "site");
    CHECK_STRING(sites, i, i, rec, *site, callee_linkage, "site");
    CHECK_STRING(sites, i, i, rec, *site, file, "site");
    CHECK_STRING(sites, i, i, rec, *site, reason, "site");
    if (site->module >= profile->module_count)
      return fail_at(ctx, field_at(sites, i, offsetof(rec, module)),
                     "site %" PRIu32 " belongs to module %" PRIu32 ", but MODULES has %" PRIu32, i,
                     site->module, profile->module_count);
    if (site->reserved != 0)
      return fail_at(ctx, field_at(sites, i, offsetof(rec, reserved)),
                     "site %" PRIu32 " has nonzero reserved field %" PRIu32, i, site->reserved);
    if ((site->flags & ZINST_SITE_COST) == 0 && (site->cost != 0 || site->threshold != 0))
      return fail_at(ctx, field_at(sites, i, offsetof(rec, cost)),
                     "site %" PRIu32 " has cost %" PRId32 " and threshold %" PRId32
                     " but no cost flag",
                     i, site->cost, site->threshold);
  }
  typedef struct zinst_site_count_record count_rec;
  for (uint32_t i = 0; i < profile->site_count_count; i++) {
    const count_rec *c = &profile->site_counts[i];
    if (c->thread >= profile->thread_count)
      return fail_at(ctx, field_at(counts, i, offsetof(count_rec, thread)),
                     "site count %" PRIu32 " names thread %" PRIu32 ", but THREADS has %" PRIu32, i,
                     c->thread, profile->thread_count);
    if (c->site >= profile->site_count)
      return fail_at(ctx, field_at(counts, i, offsetof(count_rec, site)),
                     "site count %" PRIu32 " names site %" PRIu32 ", but SITES has %" PRIu32, i,
                     c->site, profile->site_count);
    if ((profile->sites[c->site].flags & ZINST_SITE_COUNTED) == 0)
      return fail_at(ctx, field_at(counts, i, offsetof(count_rec, site)),
                     "site count %" PRIu32 " counts site %" PRIu32 ", which is not counted", i,
                     c->site);
    if (c->count == 0)
      return fail_at(ctx, field_at(counts, i, offsetof(count_rec, count)),
                     "site count %" PRIu32 " is zero (only nonzero counts are stored)", i);
    if (i > 0) {
      const count_rec *prev = &profile->site_counts[i - 1];
      if (prev->thread > c->thread || (prev->thread == c->thread && prev->site >= c->site))
        return fail_at(ctx, field_at(counts, i, 0),
                       "site count %" PRIu32 " (thread %" PRIu32 ", site %" PRIu32
                       ") is not after site count %" PRIu32 " (thread %" PRIu32 ", site %" PRIu32
                       "): records must be sorted and unique",
                       i, c->thread, c->site, i - 1, prev->thread, prev->site);
    }
  }
  return 0;
}

/* Memory records: indices in range, counts consistent, sorted. */
static int check_memory(struct parse_context *ctx, const struct zinst_profile *profile,
                        const struct section_slot *slot) {
  typedef struct zinst_memory_record rec;
  for (uint32_t i = 0; i < profile->memory_count; i++) {
    const rec *m = &profile->memory[i];
    if (m->thread >= profile->thread_count)
      return fail_at(ctx, field_at(slot, i, offsetof(rec, thread)),
                     "memory record %" PRIu32 " names thread %" PRIu32 ", but THREADS has %" PRIu32,
                     i, m->thread, profile->thread_count);
    const struct zinst_thread_record *t = &profile->threads[m->thread];
    if (m->node != ZINST_NONE &&
        (m->node < t->first_node || m->node - t->first_node >= t->node_count))
      return fail_at(ctx, field_at(slot, i, offsetof(rec, node)),
                     "memory record %" PRIu32 " names node %" PRIu32 ", outside thread %" PRIu32
                     "'s nodes [%" PRIu32 ", %" PRIu32 ")",
                     i, m->node, m->thread, t->first_node, t->first_node + t->node_count);
    if (m->allocations == 0)
      return fail_at(ctx, field_at(slot, i, offsetof(rec, allocations)),
                     "memory record %" PRIu32 " has no allocations (only contexts that "
                     "allocated are stored)",
                     i);
    if (m->frees > m->allocations)
      return fail_at(ctx, field_at(slot, i, offsetof(rec, frees)),
                     "memory record %" PRIu32 " has %" PRIu64 " frees of %" PRIu64 " allocations",
                     i, m->frees, m->allocations);
    if (m->freed_bytes > m->allocated_bytes)
      return fail_at(ctx, field_at(slot, i, offsetof(rec, freed_bytes)),
                     "memory record %" PRIu32 " has %" PRIu64 " freed bytes of %" PRIu64
                     " allocated",
                     i, m->freed_bytes, m->allocated_bytes);
    if (m->frees == m->allocations && m->freed_bytes != m->allocated_bytes)
      return fail_at(ctx, field_at(slot, i, offsetof(rec, freed_bytes)),
                     "memory record %" PRIu32 " freed every block but %" PRIu64 " of %" PRIu64
                     " bytes",
                     i, m->freed_bytes, m->allocated_bytes);
    const uint64_t live = m->allocated_bytes - m->freed_bytes;
    if (m->peak_live_bytes < live || m->peak_live_bytes > m->allocated_bytes)
      return fail_at(ctx, field_at(slot, i, offsetof(rec, peak_live_bytes)),
                     "memory record %" PRIu32 " has peak %" PRIu64 " live bytes, outside [%" PRIu64
                     " live, %" PRIu64 " allocated]",
                     i, m->peak_live_bytes, live, m->allocated_bytes);
    if (i > 0) {
      const rec *p = &profile->memory[i - 1];
      /* ZINST_NONE is the largest index, so it sorts last as it should. */
      if (p->thread > m->thread || (p->thread == m->thread && p->node >= m->node))
        return fail_at(ctx, field_at(slot, i, 0),
                       "memory record %" PRIu32 " (thread %" PRIu32 ", node %" PRIu32
                       ") is not after memory record %" PRIu32 " (thread %" PRIu32 ", node %" PRIu32
                       "): records must be sorted and unique",
                       i, m->thread, m->node, i - 1, p->thread, p->node);
    }
  }
  return 0;
}

static uint64_t round_up_8(uint64_t n) {
  return (n + 7) & ~(uint64_t)7;
}

int zinst_profile_parse(const void *data, size_t size, struct zinst_profile *out, char *err,
                        size_t errlen) {
  struct parse_context context = {.data = data, .size = size, .err = err, .errlen = errlen};
  struct parse_context *ctx = &context;
  memset(out, 0, sizeof *out);
  if (err && errlen)
    err[0] = '\0';
  if (!data && size != 0)
    return fail(ctx, "no data");

  struct zinst_file_header header;
  if (check_header(ctx, &header) != 0)
    return -1;
  struct section_slot slots[KIND_LIMIT];
  memset(slots, 0, sizeof slots);
  if (check_section_table(ctx, &header, slots) != 0)
    return -1;

  const uint64_t strings_size = slots[ZINST_SECTION_STRINGS].entry.size;
  const uint32_t module_count = (uint32_t)slots[ZINST_SECTION_MODULES].entry.count;
  const uint32_t function_count = (uint32_t)slots[ZINST_SECTION_FUNCTIONS].entry.count;
  const uint32_t thread_count = (uint32_t)slots[ZINST_SECTION_THREADS].entry.count;
  const uint32_t node_count = (uint32_t)slots[ZINST_SECTION_NODES].entry.count;
  const uint32_t site_count = (uint32_t)slots[ZINST_SECTION_SITES].entry.count;
  const uint32_t site_count_count = (uint32_t)slots[ZINST_SECTION_SITE_COUNTS].entry.count;
  const uint32_t memory_count = (uint32_t)slots[ZINST_SECTION_MEMORY].entry.count;

  /* One block: strings, then the arrays, each 8-aligned. Every count is
   * bounded by the file size, so the sum cannot overflow 64 bits. */
  const uint64_t strings_bytes = round_up_8(strings_size);
  const uint64_t modules_bytes = (uint64_t)module_count * sizeof(struct zinst_module_record);
  const uint64_t functions_bytes = (uint64_t)function_count * sizeof(struct zinst_function_record);
  const uint64_t threads_bytes = (uint64_t)thread_count * sizeof(struct zinst_thread_record);
  const uint64_t nodes_bytes = (uint64_t)node_count * sizeof(struct zinst_node_record);
  const uint64_t sites_bytes = (uint64_t)site_count * sizeof(struct zinst_site_record);
  const uint64_t site_counts_bytes =
      (uint64_t)site_count_count * sizeof(struct zinst_site_count_record);
  const uint64_t memory_bytes = (uint64_t)memory_count * sizeof(struct zinst_memory_record);
  const uint64_t total = strings_bytes + modules_bytes + functions_bytes + threads_bytes +
                         nodes_bytes + sites_bytes + site_counts_bytes + memory_bytes;
  if (total > SIZE_MAX)
    return fail(ctx,
                "the profile needs %" PRIu64 " bytes of memory, more than this machine can address",
                total);
  unsigned char *storage = malloc(total ? (size_t)total : 1);
  struct thread_range *ranges = malloc(thread_count ? thread_count * sizeof *ranges : 1);
  uint32_t *owner_of = malloc(node_count ? node_count * sizeof *owner_of : 1);
  if (!storage || !ranges || !owner_of) {
    free(storage);
    free(ranges);
    free(owner_of);
    return fail(ctx, "out of memory reading a profile of %zu bytes", size);
  }

  struct zinst_profile profile = {.header = header, .storage = storage};
  unsigned char *cursor = storage;
  memcpy(cursor, ctx->data + slots[ZINST_SECTION_STRINGS].entry.offset, (size_t)strings_size);
  profile.strings = (const char *)cursor;
  profile.strings_size = strings_size;
  cursor += strings_bytes;
  profile.modules = (struct zinst_module_record *)cursor;
  profile.module_count = module_count;
  copy_records(ctx, &slots[ZINST_SECTION_MODULES], cursor, sizeof(struct zinst_module_record));
  cursor += modules_bytes;
  profile.functions = (struct zinst_function_record *)cursor;
  profile.function_count = function_count;
  copy_records(ctx, &slots[ZINST_SECTION_FUNCTIONS], cursor, sizeof(struct zinst_function_record));
  cursor += functions_bytes;
  profile.threads = (struct zinst_thread_record *)cursor;
  profile.thread_count = thread_count;
  copy_records(ctx, &slots[ZINST_SECTION_THREADS], cursor, sizeof(struct zinst_thread_record));
  cursor += threads_bytes;
  profile.nodes = (struct zinst_node_record *)cursor;
  profile.node_count = node_count;
  copy_records(ctx, &slots[ZINST_SECTION_NODES], cursor, sizeof(struct zinst_node_record));
  cursor += nodes_bytes;
  profile.sites = (struct zinst_site_record *)cursor;
  profile.site_count = site_count;
  copy_records(ctx, &slots[ZINST_SECTION_SITES], cursor, sizeof(struct zinst_site_record));
  cursor += sites_bytes;
  profile.site_counts = (struct zinst_site_count_record *)cursor;
  profile.site_count_count = site_count_count;
  copy_records(ctx, &slots[ZINST_SECTION_SITE_COUNTS], cursor,
               sizeof(struct zinst_site_count_record));
  cursor += site_counts_bytes;
  profile.has_memory = slots[ZINST_SECTION_MEMORY].present;
  profile.memory = (struct zinst_memory_record *)cursor;
  profile.memory_count = memory_count;
  copy_records(ctx, &slots[ZINST_SECTION_MEMORY], cursor, sizeof(struct zinst_memory_record));
  copy_records(ctx, &slots[ZINST_SECTION_PROCESS], &profile.process,
               sizeof(struct zinst_process_record));

  int status = check_process(ctx, &profile, &slots[ZINST_SECTION_PROCESS]);
  if (status == 0)
    status = check_modules_and_functions(ctx, &profile, &slots[ZINST_SECTION_MODULES],
                                         &slots[ZINST_SECTION_FUNCTIONS]);
  if (status == 0)
    status = check_threads_and_nodes(ctx, &profile, &slots[ZINST_SECTION_THREADS],
                                     &slots[ZINST_SECTION_NODES], ranges, owner_of);
  if (status == 0)
    status =
        check_sites(ctx, &profile, &slots[ZINST_SECTION_SITES], &slots[ZINST_SECTION_SITE_COUNTS]);
  if (status == 0)
    status = check_memory(ctx, &profile, &slots[ZINST_SECTION_MEMORY]);
  free(ranges);
  free(owner_of);
  if (status != 0) {
    free(storage);
    return -1;
  }
  *out = profile;
  return 0;
}

int zinst_read_file(const char *path, void **data, size_t *size, char *err, size_t errlen) {
  *data = NULL;
  *size = 0;
  int fd;
  do
    fd = open(path, O_RDONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    if (err && errlen)
      snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  struct stat st;
  size_t capacity = 64 * 1024;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0 &&
      (uint64_t)st.st_size < SIZE_MAX)
    capacity = (size_t)st.st_size + 1; /* +1: see EOF without growing */
  unsigned char *buffer = malloc(capacity);
  size_t used = 0;
  const char *failed = NULL;
  int saved_errno = 0;
  while (buffer) {
    if (used == capacity) {
      size_t grown = capacity > SIZE_MAX / 2 ? SIZE_MAX : capacity * 2;
      unsigned char *bigger = grown > capacity ? realloc(buffer, grown) : NULL;
      if (!bigger) {
        failed = "out of memory";
        saved_errno = ENOMEM;
        break;
      }
      buffer = bigger;
      capacity = grown;
    }
    ssize_t got = read(fd, buffer + used, capacity - used);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      failed = "read failed";
      saved_errno = errno;
      break;
    }
    if (got == 0)
      break;
    used += (size_t)got;
  }
  if (!buffer) {
    failed = "out of memory";
    saved_errno = ENOMEM;
  }
  close(fd);
  if (failed) {
    free(buffer);
    if (err && errlen)
      snprintf(err, errlen, "%s: %s: %s", path, failed, strerror(saved_errno));
    return -1;
  }
  *data = buffer;
  *size = used;
  return 0;
}

int zinst_profile_load(const char *path, struct zinst_profile *out, char *err, size_t errlen) {
  memset(out, 0, sizeof *out);
  void *data;
  size_t size;
  if (zinst_read_file(path, &data, &size, err, errlen) != 0)
    return -1;
  char message[512];
  int status = zinst_profile_parse(data, size, out, message, sizeof message);
  free(data);
  if (status != 0 && err && errlen)
    snprintf(err, errlen, "%s: %s", path, message);
  return status;
}

void zinst_profile_free(struct zinst_profile *profile) {
  if (!profile)
    return;
  free(profile->storage);
  memset(profile, 0, sizeof *profile);
}

const char *zinst_profile_string(const struct zinst_profile *profile, uint32_t offset) {
  if (offset == ZINST_NONE || !profile->strings || offset >= profile->strings_size)
    return "";
  return profile->strings + offset;
}
