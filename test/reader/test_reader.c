/*
 * test_reader.c - the profile reader on valid, truncated, bit-flipped and
 * structurally damaged files. Also built with ASan/UBSan (test
 * reader.sanitized): every refusal must also be free of out-of-bounds reads.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "profile_builder.h"
#include "profile_model.h"
#include "profile_reader.h"
#include "test_helpers.h"

static void set_u32(unsigned char *data, size_t offset, uint32_t value) {
  memcpy(data + offset, &value, sizeof value);
}
static void set_u64(unsigned char *data, size_t offset, uint64_t value) {
  memcpy(data + offset, &value, sizeof value);
}
static uint64_t get_u64(const unsigned char *data, size_t offset) {
  uint64_t value;
  memcpy(&value, data + offset, sizeof value);
  return value;
}

/* Offset of field `field` of record `index` in section `kind`. */
#define RECORD_FIELD(data, kind, type, index, field)                                               \
  (tp_section_payload(data, kind) + (index) * sizeof(type) + offsetof(type, field))
#define ENTRY_FIELD(data, kind, field)                                                             \
  (tp_section_entry(data, kind) + offsetof(struct zinst_section_entry, field))

static void test_valid_profile_reads_back(void) {
  struct test_profile tp;
  tp_sample(&tp);
  size_t size;
  unsigned char *data = tp_serialize(&tp, &size);
  struct zinst_profile profile;
  char err[256];
  const int status = zinst_profile_parse(data, size, &profile, err, sizeof err);
  CHECK(status == 0);
  if (status != 0) {
    fprintf(stderr, "unexpected: %s\n", err);
    free(data);
    return;
  }
  CHECK(memcmp(profile.header.magic, ZINST_PROFILE_MAGIC, 8) == 0);
  CHECK_EQ_U64(profile.header.file_size, size);
  CHECK(memcmp(&profile.process, &tp.process, sizeof tp.process) == 0);
  CHECK_EQ_U64(profile.process.pid, 4242);
  CHECK_EQ_U64(profile.process.ticks_per_second, 2000000000ULL);
  CHECK_EQ_U64(profile.strings_size, tp.strings_size);
  CHECK(memcmp(profile.strings, tp.strings, tp.strings_size) == 0);
  CHECK_EQ_U64(profile.module_count, 1);
  CHECK_EQ_U64(profile.function_count, 4);
  CHECK_EQ_U64(profile.thread_count, 2);
  CHECK_EQ_U64(profile.node_count, 7);
  CHECK(memcmp(profile.modules, tp.modules, sizeof tp.modules[0] * tp.module_count) == 0);
  CHECK(memcmp(profile.functions, tp.functions, sizeof tp.functions[0] * tp.function_count) == 0);
  CHECK(memcmp(profile.threads, tp.threads, sizeof tp.threads[0] * tp.thread_count) == 0);
  CHECK(memcmp(profile.nodes, tp.nodes, sizeof tp.nodes[0] * tp.node_count) == 0);
  CHECK_STR(zinst_profile_string(&profile, profile.process.exe_path), "/opt/sample/bin/sample");
  CHECK_STR(zinst_profile_string(&profile, profile.functions[2].name), "fib");
  CHECK_STR(zinst_profile_string(&profile, profile.threads[1].name), "worker");
  CHECK_STR(zinst_profile_string(&profile, ZINST_NONE), "");
  CHECK_EQ_U64(profile.nodes[3].parent, 2);
  CHECK_EQ_U64(profile.nodes[3].calls, 20);
  CHECK_EQ_U64(profile.nodes[6].inclusive_ticks, 400);
  zinst_profile_free(&profile);
  CHECK(profile.storage == NULL && profile.nodes == NULL);
  zinst_profile_free(&profile); /* a freed profile is zeroed: freeing again is harmless */
  free(data);
}

/* A newer producer's longer records and unknown sections read the same. */
static void test_forward_compatible_layout(void) {
  struct test_profile tp;
  tp_sample(&tp);
  tp.extra_record_bytes = 16;
  tp.with_unknown_section = true;
  size_t size;
  unsigned char *data = tp_serialize(&tp, &size);
  struct zinst_profile profile;
  char err[256] = "";
  CHECK(zinst_profile_parse(data, size, &profile, err, sizeof err) == 0);
  CHECK_STR(err, "");
  CHECK_EQ_U64(profile.node_count, 7);
  CHECK(memcmp(profile.nodes, tp.nodes, sizeof tp.nodes[0] * tp.node_count) == 0);
  CHECK(memcmp(profile.functions, tp.functions, sizeof tp.functions[0] * tp.function_count) == 0);
  CHECK(memcmp(&profile.process, &tp.process, sizeof tp.process) == 0);
  zinst_profile_free(&profile);
  free(data);
}

/* A minor 0 file: its PROCESS record ends before call_cost_ps, which reads
 * back as 0 ("not measured"); everything before it is kept. */
static void test_minor0_process_record(void) {
  struct test_profile tp;
  tp_sample(&tp);
  tp.process.call_cost_ps = 1234; /* not written: the record is cut before it */
  tp.process_minor0 = true;
  size_t size;
  unsigned char *data = tp_serialize(&tp, &size);
  struct zinst_profile profile;
  char err[256] = "";
  CHECK(zinst_profile_parse(data, size, &profile, err, sizeof err) == 0);
  CHECK_STR(err, "");
  CHECK_EQ_U64(profile.process.call_cost_ps, 0);
  CHECK_EQ_U64(profile.process.pid, 4242);
  CHECK_EQ_U64(profile.process.exact_calls_per_context, 16);
  zinst_profile_free(&profile);
  free(data);
}

/* A PROCESS record of 112 bytes, as minors 1 and 2 wrote it, and as main's
 * runtime wrote it at minor 4 before the hook costs (minor 3) were merged:
 * the record ends before the hook costs, which read back as 0 ("not
 * calibrated", no correction) whatever minor the header states; readers go
 * by entry_size. call_cost_ps is kept. */
static void test_minor1_process_record(void) {
  static const uint32_t header_minors[] = {1, 2, 4};
  for (size_t m = 0; m < sizeof header_minors / sizeof header_minors[0]; m++) {
    struct test_profile tp;
    tp_sample(&tp);
    tp.process.call_cost_ps = 1234;
    tp.process.hook_untimed_pair_ps = 5600; /* not written: the record is cut before them */
    tp.process.hook_timed_pair_ps = 23000;
    tp.process.hook_timed_inner_ps = 3300;
    tp.process.hook_spread_ps = 400;
    tp.process_minor1 = true;
    size_t size;
    unsigned char *data = tp_serialize(&tp, &size);
    memcpy(data + offsetof(struct zinst_file_header, minor), &header_minors[m], sizeof(uint32_t));
    tp_fix_checksum(data, size);
    struct zinst_section_entry entry;
    memcpy(&entry, data + tp_section_entry(data, ZINST_SECTION_PROCESS), sizeof entry);
    CHECK_EQ_U64(entry.entry_size, 112);
    struct zinst_profile profile;
    char err[256] = "";
    CHECK(zinst_profile_parse(data, size, &profile, err, sizeof err) == 0);
    CHECK_STR(err, "");
    CHECK_EQ_U64(profile.process.call_cost_ps, 1234);
    CHECK_EQ_U64(profile.process.hook_untimed_pair_ps, 0);
    CHECK_EQ_U64(profile.process.hook_timed_pair_ps, 0);
    CHECK_EQ_U64(profile.process.hook_timed_inner_ps, 0);
    CHECK_EQ_U64(profile.process.hook_spread_ps, 0);
    CHECK(!zinst_profile_has_hook_costs(&profile));
    CHECK(!zinst_hook_correction(&profile, ZINST_TIMES_CORRECTED));
    zinst_profile_free(&profile);
    free(data);
  }
}

static void test_every_truncation_is_refused(void) {
  struct test_profile tp;
  tp_sample(&tp);
  size_t size;
  unsigned char *data = tp_serialize(&tp, &size);
  for (size_t length = 0; length < size; length++) {
    /* A fresh copy of exactly `length` bytes, so ASan sees any read past it. */
    unsigned char *prefix = malloc(length ? length : 1);
    memcpy(prefix, data, length);
    struct zinst_profile profile;
    char err[256] = "";
    const int status = zinst_profile_parse(prefix, length, &profile, err, sizeof err);
    CHECK(status == -1);
    CHECK(strstr(err, "offset") || strstr(err, "truncated"));
    CHECK(profile.storage == NULL);
    if (status == 0)
      zinst_profile_free(&profile);
    free(prefix);
  }
  free(data);
}

/* Both placements of the section table: at the end, and right after the
 * header as the runtime writes it. */
static void test_every_bit_flip_is_refused(bool table_first) {
  struct test_profile tp;
  tp_sample(&tp);
  tp.table_first = table_first;
  size_t size;
  unsigned char *data = tp_serialize(&tp, &size);
  for (size_t byte = 0; byte < size; byte++) {
    for (int bit = 0; bit < 8; bit++) {
      data[byte] ^= (unsigned char)(1u << bit);
      struct zinst_profile profile;
      char err[256] = "";
      /* The checksum covers the header too, so no flip anywhere parses. */
      const int status = zinst_profile_parse(data, size, &profile, err, sizeof err);
      if (status == 0) {
        fprintf(stderr, "flip of bit %d of byte %zu was accepted\n", bit, byte);
        zinst_profile_free(&profile);
      }
      CHECK(status == -1);
      CHECK(strstr(err, "offset") || strstr(err, "truncated"));
      data[byte] ^= (unsigned char)(1u << bit);
    }
  }
  free(data);
}

/* One kind of structural damage, made with the checksum recomputed afterwards. */
static void missing_sites(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, ENTRY_FIELD(d, ZINST_SECTION_SITES, kind), 77);
}
static void missing_site_counts(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, ENTRY_FIELD(d, ZINST_SECTION_SITE_COUNTS, kind), 77);
}
static void site_module_out_of_range(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_SITES, struct zinst_site_record, 1, module), 7);
}
static void site_string_out_of_range(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_SITES, struct zinst_site_record, 2, reason), 1u << 30);
}
static void site_reserved_not_zero(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_SITES, struct zinst_site_record, 0, reserved), 9);
}
static void site_cost_without_flag(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_SITES, struct zinst_site_record, 2, cost), 50);
}
static void site_entry_and_inlined(unsigned char *d, size_t *s) {
  (void)s;
  /* Site 1 is compute->square, inlined: its flags, and ENTRY. */
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_SITES, struct zinst_site_record, 1, flags),
          ZINST_SITE_INLINED | ZINST_SITE_COST | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG |
              ZINST_SITE_ENTRY);
}
static void site_count_thread_out_of_range(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_SITE_COUNTS, struct zinst_site_count_record, 1, thread),
          2);
}
static void site_count_site_out_of_range(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_SITE_COUNTS, struct zinst_site_count_record, 0, site),
          4);
}
static void site_count_of_uncounted_site(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_SITE_COUNTS, struct zinst_site_count_record, 2, site),
          3);
}
static void site_count_zero(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, RECORD_FIELD(d, ZINST_SECTION_SITE_COUNTS, struct zinst_site_count_record, 3, count),
          0);
}
static void site_counts_unsorted(unsigned char *d, size_t *s) {
  (void)s;
  /* Record 2 (thread 0, site 2) becomes a second (thread 0, site 1). */
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_SITE_COUNTS, struct zinst_site_count_record, 2, site),
          1);
}

struct damage {
  const char *what;
  void (*apply)(unsigned char *data, size_t *size);
  const char *expected; /* substring of the message */
};

static void bad_magic(unsigned char *d, size_t *s) {
  (void)s;
  d[0] = 'X';
}
static void bad_version(unsigned char *d, size_t *s) {
  (void)s;
  /* A version 1 file: this reader knows only version 2. */
  set_u32(d, offsetof(struct zinst_file_header, version), 1);
}
static void other_byte_order(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, offsetof(struct zinst_file_header, byte_order), ZINST_BYTE_ORDER_SWAPPED);
}
static void bad_byte_order_mark(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, offsetof(struct zinst_file_header, byte_order), 0x11223344);
}
static void bad_header_size(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, offsetof(struct zinst_file_header, header_size), 72);
}
static void trailing_data(unsigned char *d, size_t *s) {
  (void)d;
  *s -= 8; /* the header still names the full size: the file looks truncated */
}
static void shorter_file_size(unsigned char *d, size_t *s) {
  set_u64(d, offsetof(struct zinst_file_header, file_size), *s - 8);
}
static void reserved_not_zero(unsigned char *d, size_t *s) {
  (void)s;
  d[offsetof(struct zinst_file_header, reserved) + 3] = 1;
}
static void table_past_end(unsigned char *d, size_t *s) {
  set_u64(d, offsetof(struct zinst_file_header, section_table_offset), *s);
}
static void table_misaligned(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, offsetof(struct zinst_file_header, section_table_offset), 68);
}
static void section_offset_past_end(unsigned char *d, size_t *s) {
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_FUNCTIONS, offset), *s + 64);
}
static void section_size_past_end(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_FUNCTIONS, count), 1000);
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_FUNCTIONS, size), 1000 * 24);
}
static void section_size_overflows(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_FUNCTIONS, count), UINT64_C(1) << 62);
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_FUNCTIONS, size), 0);
}
static void section_end_overflows(unsigned char *d, size_t *s) {
  (void)s;
  /* offset + size wraps around 2^64: must not be taken for "inside". */
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_NODES, offset), 64);
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_NODES, count), (UINT64_MAX / 56));
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_NODES, size), (UINT64_MAX / 56) * 56);
}
static void size_not_count_times_entry(unsigned char *d, size_t *s) {
  (void)s;
  const size_t at = ENTRY_FIELD(d, ZINST_SECTION_NODES, size);
  set_u64(d, at, get_u64(d, at) - 8);
}
static void entry_size_too_small(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, ENTRY_FIELD(d, ZINST_SECTION_NODES, entry_size), 16);
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_NODES, size), 7 * 16);
}
static void section_misaligned(unsigned char *d, size_t *s) {
  (void)s;
  const size_t at = ENTRY_FIELD(d, ZINST_SECTION_MODULES, offset);
  set_u64(d, at, get_u64(d, at) + 4);
}
static void sections_overlap(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_FUNCTIONS, offset),
          get_u64(d, ENTRY_FIELD(d, ZINST_SECTION_MODULES, offset)));
}
static void missing_process(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, ENTRY_FIELD(d, ZINST_SECTION_PROCESS, kind), 77); /* now an unknown kind */
}
static void missing_strings(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, ENTRY_FIELD(d, ZINST_SECTION_STRINGS, kind), 77);
}
static void missing_nodes(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, ENTRY_FIELD(d, ZINST_SECTION_NODES, kind), 77);
}
static void no_process_record(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_PROCESS, count), 0);
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_PROCESS, size), 0);
}
static void duplicate_section(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, ENTRY_FIELD(d, ZINST_SECTION_THREADS, kind), ZINST_SECTION_MODULES);
}
static void empty_strings(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_STRINGS, count), 0);
  set_u64(d, ENTRY_FIELD(d, ZINST_SECTION_STRINGS, size), 0);
}
static void unterminated_strings(unsigned char *d, size_t *s) {
  (void)s;
  const size_t end = tp_section_payload(d, ZINST_SECTION_STRINGS) +
                     get_u64(d, ENTRY_FIELD(d, ZINST_SECTION_STRINGS, size));
  d[end - 1] = 'x';
}
static void string_ref_out_of_range(unsigned char *d, size_t *s) {
  (void)s;
  const uint64_t strings_size = get_u64(d, ENTRY_FIELD(d, ZINST_SECTION_STRINGS, size));
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_FUNCTIONS, struct zinst_function_record, 1, name),
          (uint32_t)strings_size);
}
static void process_string_out_of_range(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_PROCESS, struct zinst_process_record, 0, hostname),
          ZINST_NONE - 1);
}
static void bad_mode(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_PROCESS, struct zinst_process_record, 0, mode), 5);
}
static void module_range_out(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_MODULES, struct zinst_module_record, 0, function_count),
          9);
}
static void function_module_out(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_FUNCTIONS, struct zinst_function_record, 0, module), 3);
}
static void thread_range_out(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_THREADS, struct zinst_thread_record, 1, node_count), 5);
}
static void threads_overlap(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_THREADS, struct zinst_thread_record, 1, first_node), 4);
}
static void orphan_node(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_THREADS, struct zinst_thread_record, 1, node_count), 1);
}
static void parent_not_before_child(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_NODES, struct zinst_node_record, 2, parent), 3);
}
static void parent_is_self(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_NODES, struct zinst_node_record, 2, parent), 2);
}
static void parent_outside_thread(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_NODES, struct zinst_node_record, 6, parent), 0);
}
static void node_function_out(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, RECORD_FIELD(d, ZINST_SECTION_NODES, struct zinst_node_record, 1, function), 99);
}
static void timed_over_calls(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, RECORD_FIELD(d, ZINST_SECTION_NODES, struct zinst_node_record, 2, timed_calls), 11);
}
static void error_when_all_timed(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d,
          RECORD_FIELD(d, ZINST_SECTION_NODES, struct zinst_node_record, 2, inclusive_error_ticks),
          5);
}
static void no_sample_interval(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d,
          RECORD_FIELD(d, ZINST_SECTION_PROCESS, struct zinst_process_record, 0, sample_interval),
          0);
}

static const struct damage damages[] = {
    {"wrong magic", bad_magic, "offset 0: not a zinst profile (magic \"XINSTPRF\""},
    {"wrong version", bad_version, "offset 8: profile version 1, this zinst reads version 2"},
    {"other byte order", other_byte_order,
     "offset 12: the profile was written on a machine of "
     "the other byte order"},
    {"bad byte-order mark", bad_byte_order_mark, "byte-order mark 0x11223344"},
    {"header size", bad_header_size, "offset 16: header_size is 72, version 2 headers are 64"},
    {"truncated", trailing_data, "truncated: header says"},
    {"trailing data", shorter_file_size, "(trailing data)"},
    {"reserved", reserved_not_zero, "offset 51: reserved header byte is 0x01"},
    {"table past end", table_past_end, "section table (8 entries at"},
    {"table misaligned", table_misaligned, "section table offset 68 is not 8-byte aligned"},
    {"section offset past end", section_offset_past_end, "section 3 (FUNCTIONS) starts at"},
    {"section size past end", section_size_past_end,
     "section 3 (FUNCTIONS) extends to 24544, past the end of the file (1640 bytes)"},
    {"count x entry_size overflows", section_size_overflows,
     "section 3 (FUNCTIONS): count 4611686018427387904 x entry_size 24 overflows 64 bits"},
    {"offset + size overflows", section_end_overflows, "overflows 64 bits"},
    {"size != count x entry_size", size_not_count_times_entry,
     "section 5 (NODES): size 384 is not count 7 x entry_size 56"},
    {"entry_size too small", entry_size_too_small,
     "section 5 (NODES) has entry_size 16, smaller than the 56-byte record"},
    {"section misaligned", section_misaligned, "(MODULES) offset"},
    {"sections overlap", sections_overlap, "section 3 (FUNCTIONS) overlaps section 2 (MODULES)"},
    {"missing PROCESS", missing_process, "the section table has no PROCESS section"},
    {"missing STRINGS", missing_strings, "the section table has no STRINGS section"},
    {"missing NODES", missing_nodes, "the section table has no NODES section"},
    {"PROCESS count", no_process_record, "exactly one PROCESS record is required"},
    {"duplicate section", duplicate_section, "section 4 (MODULES) duplicates section 2"},
    {"empty STRINGS", empty_strings, "(STRINGS) is empty"},
    {"unterminated STRINGS", unterminated_strings, "STRINGS does not end with a NUL byte"},
    {"string ref out of range", string_ref_out_of_range, "function 1 name refers to string offset"},
    {"process string out of range", process_string_out_of_range,
     "process hostname refers to string offset 4294967294, outside STRINGS"},
    {"bad mode", bad_mode, "process mode 5 is neither time (0) nor count (1)"},
    {"module range", module_range_out, "module 0 covers functions [0, 9), past the 4 functions"},
    {"function module", function_module_out, "function 0 belongs to module 3, but MODULES has 1"},
    {"thread range", thread_range_out, "thread 1 covers nodes [5, 10), past the 7 nodes"},
    {"threads overlap", threads_overlap, "thread 1 nodes [4, 6) overlap thread 0 nodes [0, 5)"},
    {"orphan node", orphan_node, "node 6 belongs to no thread"},
    {"parent after child", parent_not_before_child,
     "node 2 has parent 3, not smaller than its own index"},
    {"parent is self", parent_is_self, "node 2 has parent 2, not smaller than its own index"},
    {"parent outside thread", parent_outside_thread,
     "node 6 has parent 0 outside its thread 1 nodes [5, 7)"},
    {"function index", node_function_out, "node 1 refers to function 99, but FUNCTIONS has 4"},
    {"timed calls", timed_over_calls, "node 2 has 11 timed calls, more than its 10 calls"},
    {"error of an exact node", error_when_all_timed,
     "node 2 has every call timed but an inclusive error of 5 ticks"},
    {"sample interval", no_sample_interval, "process sample_interval is 0 in time mode"},
    {"missing sites", missing_sites, "the section table has no SITES section"},
    {"missing site counts", missing_site_counts, "the section table has no SITE_COUNTS section"},
    {"site module", site_module_out_of_range, "site 1 belongs to module 7, but MODULES has 1"},
    {"site string", site_string_out_of_range, "site 2 reason refers to string offset"},
    {"site reserved", site_reserved_not_zero, "site 0 has nonzero reserved field 9"},
    {"site cost flag", site_cost_without_flag,
     "site 2 has cost 50 and threshold 0 but no cost flag"},
    {"site entry and inlined", site_entry_and_inlined,
     "site 1 is both an entry counter and an inlined site (flags 0x439)"},
    {"site count thread", site_count_thread_out_of_range,
     "site count 1 names thread 2, but THREADS has 2"},
    {"site count site", site_count_site_out_of_range, "site count 0 names site 4, but SITES has 4"},
    {"uncounted site", site_count_of_uncounted_site,
     "site count 2 counts site 3, which is not counted"},
    {"zero site count", site_count_zero, "site count 3 is zero"},
    {"unsorted site counts", site_counts_unsorted,
     "site count 2 (thread 0, site 1) is not after site count 1 (thread 0, site 1)"},
};

/* The sample with memory records: thread 0 nodes 1 (compute) and 4
 * (helper) and its root, thread 1 node 5 (worker's compute). */
static void memory_sample(struct test_profile *tp) {
  tp_sample(tp);
  tp_memory(tp, 0, 1, 10, 1000, 10, 1000, 400);
  tp_memory(tp, 0, 4, 3, 300, 1, 100, 300);
  tp_memory(tp, 0, ZINST_NONE, 2, 64, 0, 0, 64);
  tp_memory(tp, 1, 5, 8, 256, 8, 256, 128);
}

static void test_memory_read_back(void) {
  struct test_profile tp;
  memory_sample(&tp);
  size_t size;
  unsigned char *data = tp_serialize(&tp, &size);
  struct zinst_profile profile;
  char err[256];
  CHECK(zinst_profile_parse(data, size, &profile, err, sizeof err) == 0);
  CHECK(profile.has_memory);
  CHECK_EQ_U64(profile.memory_count, 4);
  CHECK(memcmp(profile.memory, tp.memory, sizeof tp.memory[0] * tp.memory_count) == 0);
  zinst_profile_free(&profile);
  free(data);
  /* Without the section: no memory, and that is not an error. */
  tp_sample(&tp);
  data = tp_serialize(&tp, &size);
  CHECK(zinst_profile_parse(data, size, &profile, err, sizeof err) == 0);
  CHECK(!profile.has_memory);
  CHECK_EQ_U64(profile.memory_count, 0);
  zinst_profile_free(&profile);
  free(data);
}

#define MEMORY_FIELD(d, k, field)                                                                  \
  RECORD_FIELD(d, ZINST_SECTION_MEMORY, struct zinst_memory_record, k, field)
static void memory_thread_out(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, MEMORY_FIELD(d, 3, thread), 2);
}
static void memory_node_other_thread(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, MEMORY_FIELD(d, 3, node), 2);
}
static void memory_no_allocations(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, MEMORY_FIELD(d, 2, allocations), 0);
}
static void memory_frees_over(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, MEMORY_FIELD(d, 1, frees), 4);
}
static void memory_freed_bytes_over(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, MEMORY_FIELD(d, 1, freed_bytes), 301);
}
static void memory_all_freed_bytes_differ(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, MEMORY_FIELD(d, 0, freed_bytes), 999);
}
static void memory_peak_below_live(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, MEMORY_FIELD(d, 1, peak_live_bytes), 199);
}
static void memory_peak_over_allocated(unsigned char *d, size_t *s) {
  (void)s;
  set_u64(d, MEMORY_FIELD(d, 0, peak_live_bytes), 1001);
}
static void memory_unsorted(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, MEMORY_FIELD(d, 1, node), 1);
}
static void memory_small_entry(unsigned char *d, size_t *s) {
  (void)s;
  set_u32(d, ENTRY_FIELD(d, ZINST_SECTION_MEMORY, entry_size), 40);
}

static const struct damage memory_damages[] = {
    {"memory thread", memory_thread_out, "memory record 3 names thread 2, but THREADS has 2"},
    {"memory node of another thread", memory_node_other_thread,
     "memory record 3 names node 2, outside thread 1's nodes [5, 7)"},
    {"memory without allocations", memory_no_allocations, "memory record 2 has no allocations"},
    {"memory frees", memory_frees_over, "memory record 1 has 4 frees of 3 allocations"},
    {"memory freed bytes", memory_freed_bytes_over,
     "memory record 1 has 301 freed bytes of 300 allocated"},
    {"memory all freed", memory_all_freed_bytes_differ,
     "memory record 0 freed every block but 999 of 1000 bytes"},
    {"memory peak below live", memory_peak_below_live,
     "memory record 1 has peak 199 live bytes, outside [200 live, 300 allocated]"},
    {"memory peak over allocated", memory_peak_over_allocated,
     "memory record 0 has peak 1001 live bytes, outside [0 live, 1000 allocated]"},
    {"memory unsorted", memory_unsorted,
     "memory record 1 (thread 0, node 1) is not after memory record 0 (thread 0, node 1)"},
    {"memory entry size", memory_small_entry,
     "(MEMORY) has entry_size 40, smaller than the 48-byte record"},
};

static void test_memory_damage(void) {
  struct test_profile tp;
  memory_sample(&tp);
  size_t size;
  unsigned char *pristine = tp_serialize(&tp, &size);
  for (size_t k = 0; k < sizeof memory_damages / sizeof memory_damages[0]; k++) {
    unsigned char *data = malloc(size);
    memcpy(data, pristine, size);
    size_t damaged_size = size;
    memory_damages[k].apply(data, &damaged_size);
    tp_fix_checksum(data, damaged_size);
    struct zinst_profile profile;
    char err[512] = "";
    const int status = zinst_profile_parse(data, damaged_size, &profile, err, sizeof err);
    if (status == 0 || !strstr(err, memory_damages[k].expected)) {
      fprintf(stderr, "damage '%s': status %d, message \"%s\", expected \"%s\"\n",
              memory_damages[k].what, status, err, memory_damages[k].expected);
      test_failures++;
    }
    if (status == 0)
      zinst_profile_free(&profile);
    free(data);
  }
  free(pristine);
}

static void test_sites_read_back(void) {
  struct test_profile tp;
  tp_sample(&tp);
  size_t size;
  unsigned char *data = tp_serialize(&tp, &size);
  struct zinst_profile profile;
  char err[256];
  CHECK(zinst_profile_parse(data, size, &profile, err, sizeof err) == 0);
  CHECK_EQ_U64(profile.site_count, 4);
  CHECK_EQ_U64(profile.site_count_count, 4);
  CHECK(memcmp(profile.sites, tp.sites, sizeof tp.sites[0] * tp.site_count) == 0);
  CHECK(memcmp(profile.site_counts, tp.site_counts,
               sizeof tp.site_counts[0] * tp.site_count_count) == 0);
  CHECK(strcmp(zinst_profile_string(&profile, profile.sites[1].callee), "square") == 0);
  zinst_profile_free(&profile);
  free(data);
}

static void test_structural_damage(void) {
  struct test_profile tp;
  tp_sample(&tp);
  size_t size;
  unsigned char *pristine = tp_serialize(&tp, &size);
  for (size_t k = 0; k < sizeof damages / sizeof damages[0]; k++) {
    unsigned char *data = malloc(size);
    memcpy(data, pristine, size);
    size_t damaged_size = size;
    damages[k].apply(data, &damaged_size);
    tp_fix_checksum(data, damaged_size);
    struct zinst_profile profile;
    char err[512] = "";
    const int status = zinst_profile_parse(data, damaged_size, &profile, err, sizeof err);
    if (status == 0 || !strstr(err, damages[k].expected)) {
      fprintf(stderr, "damage '%s': status %d, message \"%s\", expected \"%s\"\n", damages[k].what,
              status, err, damages[k].expected);
      test_failures++;
    }
    if (status == 0)
      zinst_profile_free(&profile);
    free(data);
  }
  free(pristine);
}

/*
 * Random damage with a valid checksum: whatever the bytes, parsing must
 * neither crash nor read out of bounds, and a profile that parses must be
 * safe for the analyses (deterministic seed: failures reproduce).
 */
static void test_random_damage_never_crashes(void) {
  struct test_profile tp;
  tp_sample(&tp);
  size_t size;
  unsigned char *pristine = tp_serialize(&tp, &size);
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  unsigned accepted = 0;
  for (int round = 0; round < 20000; round++) {
    unsigned char *data = malloc(size);
    memcpy(data, pristine, size);
    const int edits = 1 + round % 4;
    for (int e = 0; e < edits; e++) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      /* Past the header: the header's own fields are covered by the cases above. */
      const size_t at = 64 + (size_t)(state % (size - 64));
      data[at] = (unsigned char)(state >> 32);
    }
    tp_fix_checksum(data, size);
    struct zinst_profile profile;
    char err[256];
    if (zinst_profile_parse(data, size, &profile, err, sizeof err) == 0) {
      accepted++;
      struct zinst_call_tree tree;
      CHECK(zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0);
      struct zinst_flat_profile flat;
      CHECK(zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0);
      zinst_flat_profile_free(&flat);
      zinst_call_tree_free(&tree);
      zinst_profile_free(&profile);
    } else {
      CHECK(strstr(err, "offset") != NULL);
    }
    free(data);
  }
  printf("random damage: %u of 20000 damaged files still valid (counts or ticks changed)\n",
         accepted);
  free(pristine);
}

static void test_error_buffer_edge_cases(void) {
  struct zinst_profile profile;
  /* No buffer at all, and a 1-byte buffer: no overflow, still refused. */
  CHECK(zinst_profile_parse("short", 5, &profile, NULL, 0) == -1);
  char tiny[1] = {'x'};
  CHECK(zinst_profile_parse("short", 5, &profile, tiny, sizeof tiny) == -1);
  CHECK(tiny[0] == '\0');
  char err[256];
  CHECK(zinst_profile_load("/nonexistent/dir/file.zinst", &profile, err, sizeof err) == -1);
  CHECK(strstr(err, "/nonexistent/dir/file.zinst: cannot open: No such file or directory") != NULL);
}

int main(void) {
  test_valid_profile_reads_back();
  test_forward_compatible_layout();
  test_minor0_process_record();
  test_minor1_process_record();
  test_memory_read_back();
  test_memory_damage();
  test_every_truncation_is_refused();
  test_every_bit_flip_is_refused(false);
  test_every_bit_flip_is_refused(true);
  test_sites_read_back();
  test_structural_damage();
  test_random_damage_never_crashes();
  test_error_buffer_edge_cases();
  return TEST_RESULT();
}
