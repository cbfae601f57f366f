/*
 * profile_builder.c - see profile_builder.h.
 */
#include "profile_builder.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tp_init(struct test_profile *tp) {
  memset(tp, 0, sizeof *tp);
  tp->strings_size = 1; /* offset 0: the empty string */
  tp->process.exe_path = ZINST_NONE;
  tp->process.command_line = ZINST_NONE;
  tp->process.hostname = ZINST_NONE;
  tp->process.runtime_version = ZINST_NONE;
  tp->process.mode = ZINST_MODE_TIME;
  tp->process.sample_interval = 1; /* every activation timed: the nodes below are exact */
  tp->process.exact_calls_per_context = 16;
}

uint32_t tp_string(struct test_profile *tp, const char *text) {
  const size_t length = strlen(text) + 1;
  assert(tp->strings_size + length <= TP_MAX_STRINGS);
  const uint32_t offset = tp->strings_size;
  memcpy(tp->strings + offset, text, length);
  tp->strings_size += (uint32_t)length;
  return offset;
}

uint32_t tp_module(struct test_profile *tp, const char *name) {
  assert(tp->module_count < TP_MAX_RECORDS);
  tp->modules[tp->module_count] = (struct zinst_module_record){
      .name = tp_string(tp, name), .first_function = tp->function_count};
  return tp->module_count++;
}

uint32_t tp_function(struct test_profile *tp, const char *name, const char *file, uint32_t line) {
  assert(tp->module_count > 0 && tp->function_count < TP_MAX_RECORDS);
  const uint32_t module = tp->module_count - 1;
  tp->functions[tp->function_count] = (struct zinst_function_record){
      .name = tp_string(tp, name),
      .linkage_name = tp_string(tp, name),
      .file = tp_string(tp, file),
      .line = line,
      .module = module,
      .flags = ZINST_FUNCTION_DEBUG_INFO,
  };
  tp->modules[module].function_count++;
  return tp->function_count++;
}

uint32_t tp_thread(struct test_profile *tp, uint64_t tid, const char *name, uint32_t flags) {
  assert(tp->thread_count < TP_MAX_RECORDS);
  tp->threads[tp->thread_count] = (struct zinst_thread_record){
      .tid = tid,
      .name = tp_string(tp, name),
      .flags = flags,
      .first_node = tp->node_count,
      .thread_count = 1,
  };
  return tp->thread_count++;
}

uint32_t tp_node(struct test_profile *tp, uint32_t parent, uint32_t function, uint64_t calls,
                 uint64_t inclusive, uint64_t exclusive) {
  assert(tp->thread_count > 0 && tp->node_count < TP_MAX_RECORDS);
  tp->nodes[tp->node_count] = (struct zinst_node_record){
      .parent = parent,
      .function = function,
      .calls = calls,
      .timed_calls = calls,
      .inclusive_ticks = inclusive,
      .exclusive_ticks = exclusive,
  };
  tp->threads[tp->thread_count - 1].node_count++;
  return tp->node_count++;
}

static size_t align8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

struct layout {
  uint32_t kind;
  const void *records;
  uint32_t count;
  uint32_t record_size;
  uint32_t entry_size;
};

unsigned char *tp_serialize(const struct test_profile *tp, size_t *size) {
  const uint32_t extra = tp->extra_record_bytes;
  static const uint64_t unknown_payload = 0x0123456789abcdefULL;
  const uint32_t process_size = tp->process_minor0   ? ZINST_PROCESS_RECORD_SIZE_2_0
                                : tp->process_minor1 ? ZINST_PROCESS_RECORD_SIZE_2_1
                                                     : (uint32_t)sizeof tp->process;
  struct layout sections[] = {
      {ZINST_SECTION_STRINGS, tp->strings, tp->strings_size, 1, 1},
      {ZINST_SECTION_PROCESS, &tp->process, 1, process_size, process_size + extra},
      {ZINST_SECTION_MODULES, tp->modules, tp->module_count, sizeof tp->modules[0],
       sizeof tp->modules[0] + extra},
      {ZINST_SECTION_FUNCTIONS, tp->functions, tp->function_count, sizeof tp->functions[0],
       sizeof tp->functions[0] + extra},
      {ZINST_SECTION_THREADS, tp->threads, tp->thread_count, sizeof tp->threads[0],
       sizeof tp->threads[0] + extra},
      {ZINST_SECTION_NODES, tp->nodes, tp->node_count, sizeof tp->nodes[0],
       sizeof tp->nodes[0] + extra},
      {ZINST_SECTION_SITES, tp->sites, tp->site_count, sizeof tp->sites[0],
       sizeof tp->sites[0] + extra},
      {ZINST_SECTION_SITE_COUNTS, tp->site_counts, tp->site_count_count, sizeof tp->site_counts[0],
       sizeof tp->site_counts[0] + extra},
      {ZINST_SECTION_MEMORY, tp->memory, tp->memory_count, sizeof tp->memory[0],
       sizeof tp->memory[0] + extra},
      {TP_UNKNOWN_KIND, &unknown_payload, 1, 8, 8},
  };
  /* The optional sections go last; MEMORY is left out unless asked for. */
  uint32_t section_count = 8;
  if (tp->with_memory)
    section_count++;
  else
    sections[8] = sections[9];
  if (tp->with_unknown_section)
    section_count++;
  const size_t table_size = section_count * sizeof(struct zinst_section_entry);
  size_t offsets[10];
  size_t cursor = sizeof(struct zinst_file_header) + (tp->table_first ? table_size : 0);
  for (uint32_t s = 0; s < section_count; s++) {
    offsets[s] = cursor;
    cursor = align8(cursor + (size_t)sections[s].count * sections[s].entry_size);
  }
  const size_t table = tp->table_first ? sizeof(struct zinst_file_header) : cursor;
  const size_t total = tp->table_first ? cursor : cursor + table_size;
  unsigned char *data = calloc(1, total);
  assert(data);
  for (uint32_t s = 0; s < section_count; s++) {
    const struct layout *l = &sections[s];
    for (uint32_t i = 0; i < l->count; i++)
      memcpy(data + offsets[s] + (size_t)i * l->entry_size,
             (const unsigned char *)l->records + (size_t)i * l->record_size, l->record_size);
    struct zinst_section_entry entry = {
        .kind = l->kind,
        .entry_size = l->entry_size,
        .offset = offsets[s],
        .size = (uint64_t)l->count * l->entry_size,
        .count = l->count,
    };
    memcpy(data + table + s * sizeof entry, &entry, sizeof entry);
  }
  struct zinst_file_header header = {
      .version = ZINST_PROFILE_VERSION,
      .byte_order = ZINST_BYTE_ORDER_MARK,
      .header_size = sizeof header,
      .section_count = section_count,
      .section_table_offset = table,
      .file_size = total,
      .minor = ZINST_PROFILE_MINOR,
  };
  memcpy(header.magic, ZINST_PROFILE_MAGIC, ZINST_PROFILE_MAGIC_SIZE);
  memcpy(data, &header, sizeof header);
  tp_fix_checksum(data, total);
  *size = total;
  return data;
}

void tp_fix_checksum(unsigned char *data, size_t size) {
  struct zinst_file_header header;
  memcpy(&header, data, sizeof header);
  header.checksum = zinst_profile_checksum(data, size);
  memcpy(data, &header, sizeof header);
}

size_t tp_section_entry(const unsigned char *data, uint32_t kind) {
  struct zinst_file_header header;
  memcpy(&header, data, sizeof header);
  for (uint32_t s = 0; s < header.section_count; s++) {
    const size_t at = header.section_table_offset + s * sizeof(struct zinst_section_entry);
    uint32_t found;
    memcpy(&found, data + at, sizeof found);
    if (found == kind)
      return at;
  }
  return 0;
}

size_t tp_section_payload(const unsigned char *data, uint32_t kind) {
  struct zinst_section_entry entry;
  memcpy(&entry, data + tp_section_entry(data, kind), sizeof entry);
  return entry.offset;
}

void tp_sample(struct test_profile *tp) {
  tp_init(tp);
  tp->process = (struct zinst_process_record){
      .pid = 4242,
      .start_unix_ns = 1700000000000000000ULL,
      .dump_unix_ns = 1700000001000000000ULL,
      .ticks_per_second = 2000000000ULL,
      .elapsed_ticks = 2000,
      .elapsed_ns = 1000,
      .exe_path = tp_string(tp, "/opt/sample/bin/sample"),
      .command_line = tp_string(tp, "sample --iterations 10"),
      .hostname = tp_string(tp, "testhost"),
      .runtime_version = tp_string(tp, "zinst 0.1.0"),
      .mode = ZINST_MODE_TIME,
      .clock_flags = ZINST_CLOCK_TSC | ZINST_CLOCK_TSC_INVARIANT,
      .max_depth = 256,
      .dump_reason = ZINST_DUMP_EXIT,
      .sample_interval = 1,
      .exact_calls_per_context = 16,
  };
  tp_module(tp, "sample.c");
  const uint32_t main_fn = tp_function(tp, "main", "sample.c", 10);
  const uint32_t compute = tp_function(tp, "compute", "sample.c", 20);
  const uint32_t fib = tp_function(tp, "fib", "sample.c", 30);
  const uint32_t helper = tp_function(tp, "helper", "sample.c", 40);

  tp_thread(tp, 1001, "main", ZINST_THREAD_MAIN);
  const uint32_t n_main = tp_node(tp, ZINST_NONE, main_fn, 1, 1000, 100);
  const uint32_t n_compute = tp_node(tp, n_main, compute, 10, 600, 200);
  const uint32_t n_fib = tp_node(tp, n_compute, fib, 10, 400, 150);
  tp_node(tp, n_fib, fib, 20, 250, 250);
  tp_node(tp, n_main, helper, 5, 300, 300);

  tp_thread(tp, 1002, "worker", ZINST_THREAD_EXITED);
  const uint32_t w_compute = tp_node(tp, ZINST_NONE, compute, 3, 500, 100);
  tp_node(tp, w_compute, fib, 4, 400, 400);

  const uint32_t counted = ZINST_SITE_COUNTED | ZINST_SITE_DEBUG;
  const uint32_t s_helper = tp_site(tp, "main", "helper", 12, counted | ZINST_SITE_COST, 300, 225,
                                    "too costly to inline");
  const uint32_t s_square = tp_site(tp, "compute", "square", 22,
                                    counted | ZINST_SITE_COST | ZINST_SITE_INLINED, 15, 225, "");
  const uint32_t s_fib =
      tp_site(tp, "fib", "fib", 31, counted | ZINST_SITE_NEVER, 0, 0, "recursive call");
  tp_site(tp, "compute", "log_error", 25, ZINST_SITE_DEBUG | ZINST_SITE_NEVER, 0, 0,
          "noinline function attribute");
  tp_site_count(tp, 0, s_helper, 5);
  tp_site_count(tp, 0, s_square, 40);
  tp_site_count(tp, 0, s_fib, 20);
  tp_site_count(tp, 1, s_square, 12);
}

uint32_t tp_site(struct test_profile *tp, const char *caller, const char *callee, uint32_t line,
                 uint32_t flags, int32_t cost, int32_t threshold, const char *reason) {
  assert(tp->site_count < TP_MAX_RECORDS && tp->module_count > 0);
  uint32_t caller_name = tp_string(tp, caller);
  uint32_t callee_name = tp_string(tp, callee);
  tp->sites[tp->site_count] = (struct zinst_site_record){
      .caller = caller_name,
      .caller_linkage = caller_name,
      .callee = callee_name,
      .callee_linkage = callee_name,
      .file = tp_string(tp, "sample.c"),
      .reason = tp_string(tp, reason),
      .line = line,
      .column = 3,
      .module = tp->module_count - 1,
      .flags = flags,
      .cost = cost,
      .threshold = threshold,
      .callee_instructions = 12,
  };
  return tp->site_count++;
}

void tp_memory(struct test_profile *tp, uint32_t thread, uint32_t node, uint64_t allocations,
               uint64_t allocated_bytes, uint64_t frees, uint64_t freed_bytes, uint64_t peak) {
  assert(tp->memory_count < TP_MAX_RECORDS);
  tp->with_memory = true;
  tp->memory[tp->memory_count++] = (struct zinst_memory_record){.thread = thread,
                                                                .node = node,
                                                                .allocations = allocations,
                                                                .allocated_bytes = allocated_bytes,
                                                                .frees = frees,
                                                                .freed_bytes = freed_bytes,
                                                                .peak_live_bytes = peak};
}

void tp_site_count(struct test_profile *tp, uint32_t thread, uint32_t site, uint64_t count) {
  assert(tp->site_count_count < TP_MAX_RECORDS);
  tp->site_counts[tp->site_count_count++] =
      (struct zinst_site_count_record){.thread = thread, .site = site, .count = count};
}

/* See profile_builder.h. */
void tp_library_sample(struct test_profile *tp) {
  tp_init(tp);
  tp->process.ticks_per_second = 1000000000;
  tp_module(tp, "main.zig");
  const char *std = "/opt/zig/lib/std/";
  char path[4][64];
  const char *files[4] = {"start.zig", "sort.zig", "mem.zig", "fmt.zig"};
  for (int i = 0; i < 4; i++)
    snprintf(path[i], sizeof path[i], "%s%s", std, files[i]);
  const uint32_t call_main = tp_function(tp, "start.callMain", path[0], 600);
  const uint32_t main_fn = tp_function(tp, "main", "main.zig", 5);
  const uint32_t sort = tp_function(tp, "std.sort.insertion", path[1], 10);
  const uint32_t less_than = tp_function(tp, "lessThan", "main.zig", 20);
  const uint32_t swap = tp_function(tp, "std.mem.swap", path[2], 30);
  const uint32_t work = tp_function(tp, "work", "main.zig", 12);
  const uint32_t format = tp_function(tp, "std.fmt.format", path[3], 40);
  const uint32_t library[] = {call_main, sort, swap, format};
  for (size_t i = 0; i < sizeof library / sizeof library[0]; i++)
    tp->functions[library[i]].flags |= ZINST_FUNCTION_LIBRARY;
  tp_thread(tp, 7001, "main", ZINST_THREAD_MAIN);
  const uint32_t n_start = tp_node(tp, ZINST_NONE, call_main, 1, 1000, 100);
  const uint32_t n_main = tp_node(tp, n_start, main_fn, 1, 900, 100);
  const uint32_t n_sort = tp_node(tp, n_main, sort, 2, 500, 150);
  tp_node(tp, n_sort, less_than, 40, 200, 200);
  tp_node(tp, n_sort, swap, 30, 150, 150);
  const uint32_t n_work = tp_node(tp, n_main, work, 4, 300, 200);
  const uint32_t n_format = tp_node(tp, n_work, format, 4, 100, 60);
  tp_node(tp, n_format, swap, 8, 40, 40);
  const uint32_t counted = ZINST_SITE_INLINED | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG;
  const uint32_t square = tp_site(tp, "work", "square", 14, counted, 0, 0, "");
  const uint32_t order = tp_site(tp, "std.sort.insertion", "std.math.order", 11, counted, 0, 0, "");
  const uint32_t tiny = tp_site(tp, "helper", "tiny", 50, counted, 0, 0, "");
  tp_site_count(tp, 0, square, 12);
  tp_site_count(tp, 0, order, 70);
  tp_site_count(tp, 0, tiny, 5);
}

/* See profile_builder.h. */
void tp_count_only_sample(struct test_profile *tp) {
  tp_init(tp);
  tp->process.ticks_per_second = 1000000000;
  tp_module(tp, "co.c");
  const uint32_t main_fn = tp_function(tp, "main", "co.c", 10);
  const uint32_t work = tp_function(tp, "work", "co.c", 20);
  tp_thread(tp, 3001, "main", ZINST_THREAD_MAIN);
  const uint32_t n_main = tp_node(tp, ZINST_NONE, main_fn, 1, 1000, 800);
  tp_node(tp, n_main, work, 2, 200, 200);
  tp_thread(tp, 3002, "worker", 0);
  tp_node(tp, ZINST_NONE, work, 3, 300, 300);
  const uint32_t entry = ZINST_SITE_ENTRY | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG;
  const uint32_t tiny = tp_site(tp, "tiny", "tiny", 5, entry, 0, 0, "count-only function");
  tp->sites[tiny].column = 0;
  const uint32_t unused = tp_site(tp, "unused", "unused", 7, entry, 0, 0, "count-only function");
  tp->sites[unused].column = 0;
  const uint32_t counted = ZINST_SITE_COUNTED | ZINST_SITE_DEBUG;
  const uint32_t call = tp_site(tp, "work", "tiny", 21, counted | ZINST_SITE_NEVER, 0, 0,
                                "noinline function attribute");
  const uint32_t inlined = tp_site(tp, "main", "tiny", 12, counted | ZINST_SITE_INLINED, 0, 0, "");
  const uint32_t square = tp_site(tp, "tiny", "square", 6, counted | ZINST_SITE_INLINED, 0, 0, "");
  const uint32_t eql =
      tp_site(tp, "std.mem.eql", "std.mem.eql", 40,
              entry | ZINST_SITE_LIBRARY | ZINST_SITE_CALLEE_LIBRARY, 0, 0, "count-only function");
  tp->sites[eql].column = 0;
  const uint32_t file = tp_string(tp, "co.c");
  for (uint32_t k = 0; k < tp->site_count; k++)
    tp->sites[k].file = file;
  tp_site_count(tp, 0, tiny, 30);
  tp_site_count(tp, 0, call, 30);
  tp_site_count(tp, 0, inlined, 5);
  tp_site_count(tp, 0, square, 42);
  tp_site_count(tp, 0, eql, 3);
  tp_site_count(tp, 1, tiny, 12);
}
