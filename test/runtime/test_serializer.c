/*
 * test_serializer.c - a hand-built snapshot serialized into memory through
 * the write callback, then checked byte by byte against the format: header,
 * checksum, section table, every record and string. Deliberately does not
 * use the CLI's reader.
 */
#include "profile_writer.h"
#include "test_support.h"

#include <errno.h>

struct memory_sink {
  unsigned char *data;
  size_t size;
  int calls;
};

static int write_to_memory(void *ctx, const void *buf, size_t n) {
  struct memory_sink *sink = ctx;
  unsigned char *grown = realloc(sink->data, sink->size + n);
  if (!grown)
    return -1;
  memcpy(grown + sink->size, buf, n);
  sink->data = grown;
  sink->size += n;
  sink->calls++;
  return 0;
}

static const struct zinst_section_entry *find_section(const unsigned char *file, uint32_t kind) {
  const struct zinst_file_header *header = (const void *)file;
  const struct zinst_section_entry *table = (const void *)(file + header->section_table_offset);
  const struct zinst_section_entry *found = NULL;
  for (uint32_t i = 0; i < header->section_count; i++) {
    if (table[i].kind == kind) {
      CHECK(found == NULL, "section kind %u twice", kind);
      found = &table[i];
    }
  }
  CHECK(found != NULL, "section kind %u missing", kind);
  return found;
}

static const char *string_at(const unsigned char *file, uint32_t offset) {
  const struct zinst_section_entry *strings = find_section(file, ZINST_SECTION_STRINGS);
  CHECK(offset < strings->size, "string offset %u outside %llu bytes", offset,
        (unsigned long long)strings->size);
  return (const char *)file + strings->offset + offset;
}

#define CHECK_STRING(file, offset, expected)                                                       \
  do {                                                                                             \
    const char *actual_string = string_at((file), (offset));                                       \
    CHECK(strcmp(actual_string, (expected)) == 0, "string \"%s\", expected \"%s\"", actual_string, \
          (expected));                                                                             \
  } while (0)

int main(void) {
  zinst_disable_exit_dump();
  static const struct zinst_snapshot_module modules[] = {
      {"m1.c", 0, 2, 0},
      {"m2.c", 2, 1, ZINST_MODULE_UNLOADED},
  };
  static const struct zinst_snapshot_function functions[] = {
      {"alpha", "_Z5alphav", "a.c", 10, 0, ZINST_FUNCTION_DEBUG_INFO},
      {"beta", "beta", "a.c", 20, 0, 0},
      {"gamma", NULL, "b.c", 0, 1, 0},
  };
  static const struct zinst_snapshot_site sites[] = {
      {"alpha", "_Z5alphav", "beta", "beta", "a.c", "", 12, 7, 0,
       ZINST_SITE_INLINED | ZINST_SITE_COST | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG, 45, 225, 9, 0,
       0, 0},
      {"alpha", "_Z5alphav", "gamma", NULL, "a.c", "noinline function attribute", 13, 3, 0,
       ZINST_SITE_NEVER | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG, 0, 0, 4, 0, 0, 0},
      {"gamma", NULL, "beta", "beta", NULL, "too costly to inline", 0, 0, 1, ZINST_SITE_COST, 400,
       225, 30, 0, 0, 0},
      /* Counted from the tree: the calls of beta's contexts under gamma's. */
      {"gamma", NULL, "beta", "beta", "b.c", "noinline function attribute", 5, 2, 1,
       ZINST_SITE_NEVER | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG | ZINST_SITE_TREE, 0, 0, 30,
       .tree_caller = 2, .tree_callee = 1},
  };
  struct zinst_snapshot_thread threads[2] = {
      {.tid = 100, .name = "main", .flags = ZINST_THREAD_MAIN, .thread_count = 1},
      {.tid = 0,
       .name = "3 exited threads",
       .flags = ZINST_THREAD_EXITED | ZINST_THREAD_MERGED,
       .thread_count = 3},
  };
  /* Thread 0: alpha(1, 1000) -> beta(5, 300), alpha -> gamma(2, 200).
   * Thread 1: gamma(7, 70) -> beta(1, 100): a child longer than its parent
   * (clock skew) must floor the parent's exclusive time at 0. */
  CHECK(zinst_tree_init(&threads[0].tree, 4) == 0, "init");
  uint32_t alpha = zinst_tree_append(&threads[0].tree, 0, 1, 1, 1000);
  zinst_tree_append(&threads[0].tree, alpha, 2, 5, 300);
  zinst_tree_append(&threads[0].tree, alpha, 3, 2, 200);
  CHECK(zinst_tree_init(&threads[1].tree, 4) == 0, "init");
  uint32_t gamma = zinst_tree_append(&threads[1].tree, 0, 3, 7, 70);
  zinst_tree_append(&threads[1].tree, gamma, 2, 1, 100);

  /* Thread 0 counted site 0 five times and site 1 twice, and has no entry
   * for site 3 (shorter arrays mean 0); thread 1 counted site 1 once. Site
   * 3's counts are its tree's (thread 1: gamma -> beta once, thread 0:
   * none), whatever its slot holds. */
  uint64_t thread0_sites[3] = {5, 2, 0};
  uint64_t thread1_sites[4] = {0, 1, 0, 9};
  threads[0].sites = (struct zinst_site_counts){thread0_sites, 3};
  threads[1].sites = (struct zinst_site_counts){thread1_sites, 4};

  struct zinst_snapshot snapshot = {
      .pid = 4242,
      .start_unix_ns = 1000,
      .dump_unix_ns = 2000,
      .ticks_per_second = 2600000000u,
      .elapsed_ticks = 555,
      .elapsed_ns = 777,
      .depth_overflow_calls = 3,
      .lost_calls = 4,
      .exe_path = "/bin/prog",
      .command_line = "prog -x a.c",
      .hostname = "host",
      .runtime_version = "zinst 0.1.0",
      .mode = ZINST_MODE_TIME,
      .clock_flags = ZINST_CLOCK_TSC | ZINST_CLOCK_TSC_INVARIANT,
      .max_depth = 1024,
      .dump_reason = ZINST_DUMP_API,
      .sample_interval = 16,
      .sample_limit = 4096,
      .sample_error = 5,
      .sample_outlier = 64,
      .exact_calls_per_context = 16,
      .call_cost_ps = 1100,
      .hook_untimed_pair_ps = 5600,
      .hook_timed_pair_ps = 23000,
      .hook_timed_inner_ps = 3300,
      .hook_spread_ps = 400,
      .functions = functions,
      .function_count = 3,
      .modules = modules,
      .module_count = 2,
      .threads = threads,
      .thread_count = 2,
      .sites = sites,
      .site_count = 4,
  };
  struct memory_sink sink = {0};
  CHECK(zinst_write_profile(&snapshot, write_to_memory, &sink) == 0, "serialize");
  const unsigned char *file = sink.data;

  /* Header. */
  const struct zinst_file_header *header = (const void *)file;
  CHECK(sink.size >= sizeof *header, "file too short: %zu", sink.size);
  CHECK(memcmp(header->magic, ZINST_PROFILE_MAGIC, ZINST_PROFILE_MAGIC_SIZE) == 0, "magic");
  CHECK_EQ_U64(header->version, ZINST_PROFILE_VERSION, "version");
  CHECK_EQ_U64(header->minor, ZINST_PROFILE_MINOR, "minor");
  CHECK_EQ_U64(header->byte_order, ZINST_BYTE_ORDER_MARK, "byte order");
  CHECK_EQ_U64(header->header_size, 64, "header size");
  CHECK_EQ_U64(header->file_size, sink.size, "file size");
  /* Version 2: SITES and SITE_COUNTS join the six sections of version 1. */
  CHECK_EQ_U64(header->section_count, 8, "section count");
  CHECK_EQ_U64(header->section_table_offset, 64, "section table offset");
  CHECK_EQ_U64(header->checksum, zinst_profile_checksum(file, sink.size), "checksum");
  for (int i = 0; i < 16; i++)
    CHECK(header->reserved[i] == 0, "reserved byte %d", i);

  /* Section table: aligned, inside the file, sizes consistent, no overlap. */
  const struct zinst_section_entry *table = (const void *)(file + header->section_table_offset);
  uint64_t previous_end = header->section_table_offset + 8 * sizeof *table;
  for (uint32_t i = 0; i < header->section_count; i++) {
    CHECK(table[i].offset % 8 == 0, "section %u offset %llu unaligned", i,
          (unsigned long long)table[i].offset);
    CHECK(table[i].offset >= previous_end, "section %u overlaps", i);
    CHECK(table[i].offset + table[i].size <= sink.size, "section %u past the end", i);
    CHECK_EQ_U64(table[i].size, table[i].count * table[i].entry_size, "section size");
    previous_end = table[i].offset + table[i].size;
  }
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_PROCESS)->count, 1, "process records");
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_PROCESS)->entry_size, 136, "process size");
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_NODES)->entry_size, 56, "node size");
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_MODULES)->count, 2, "modules");
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_FUNCTIONS)->count, 3, "functions");
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_THREADS)->count, 2, "threads");
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_NODES)->count, 5, "nodes");
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_STRINGS)->entry_size, 1, "string entry size");
  const struct zinst_section_entry *strings = find_section(file, ZINST_SECTION_STRINGS);
  CHECK(file[strings->offset] == '\0', "string 0 is empty");
  CHECK(file[strings->offset + strings->size - 1] == '\0', "strings end with NUL");

  /* Process. */
  const struct zinst_process_record *process =
      (const void *)(file + find_section(file, ZINST_SECTION_PROCESS)->offset);
  CHECK_EQ_U64(process->pid, 4242, "pid");
  CHECK_EQ_U64(process->start_unix_ns, 1000, "start");
  CHECK_EQ_U64(process->dump_unix_ns, 2000, "dump");
  CHECK_EQ_U64(process->ticks_per_second, 2600000000u, "frequency");
  CHECK_EQ_U64(process->elapsed_ticks, 555, "elapsed ticks");
  CHECK_EQ_U64(process->elapsed_ns, 777, "elapsed ns");
  CHECK_EQ_U64(process->depth_overflow_calls, 3, "overflow");
  CHECK_EQ_U64(process->lost_calls, 4, "lost");
  CHECK_STRING(file, process->exe_path, "/bin/prog");
  CHECK_STRING(file, process->command_line, "prog -x a.c");
  CHECK_STRING(file, process->hostname, "host");
  CHECK_STRING(file, process->runtime_version, "zinst 0.1.0");
  CHECK_EQ_U64(process->mode, ZINST_MODE_TIME, "mode");
  CHECK_EQ_U64(process->clock_flags, ZINST_CLOCK_TSC | ZINST_CLOCK_TSC_INVARIANT, "clock");
  CHECK_EQ_U64(process->max_depth, 1024, "max depth");
  CHECK_EQ_U64(process->dump_reason, ZINST_DUMP_API, "reason");
  CHECK_EQ_U64(process->sample_interval, 16, "sample interval");
  CHECK_EQ_U64(process->sample_limit, 4096, "sample limit");
  CHECK_EQ_U64(process->sample_error, 5, "sample error");
  CHECK_EQ_U64(process->sample_outlier, 64, "sample outlier");
  CHECK_EQ_U64(process->exact_calls_per_context, 16, "exact calls per context");
  CHECK_EQ_U64(process->call_cost_ps, 1100, "call cost");
  CHECK_EQ_U64(process->hook_untimed_pair_ps, 5600, "untimed pair");
  CHECK_EQ_U64(process->hook_timed_pair_ps, 23000, "timed pair");
  CHECK_EQ_U64(process->hook_timed_inner_ps, 3300, "timed inner");
  CHECK_EQ_U64(process->hook_spread_ps, 400, "spread");

  /* Modules and functions; equal strings are stored once. */
  const struct zinst_module_record *module =
      (const void *)(file + find_section(file, ZINST_SECTION_MODULES)->offset);
  CHECK_STRING(file, module[0].name, "m1.c");
  CHECK_EQ_U64(module[0].first_function, 0, "m1 first");
  CHECK_EQ_U64(module[0].function_count, 2, "m1 count");
  CHECK_EQ_U64(module[0].flags, 0, "m1 flags");
  CHECK_STRING(file, module[1].name, "m2.c");
  CHECK_EQ_U64(module[1].first_function, 2, "m2 first");
  CHECK_EQ_U64(module[1].function_count, 1, "m2 count");
  CHECK_EQ_U64(module[1].flags, ZINST_MODULE_UNLOADED, "m2 flags");
  const struct zinst_function_record *function =
      (const void *)(file + find_section(file, ZINST_SECTION_FUNCTIONS)->offset);
  CHECK_STRING(file, function[0].name, "alpha");
  CHECK_STRING(file, function[0].linkage_name, "_Z5alphav");
  CHECK_STRING(file, function[0].file, "a.c");
  CHECK_EQ_U64(function[0].line, 10, "alpha line");
  CHECK_EQ_U64(function[0].module, 0, "alpha module");
  CHECK_EQ_U64(function[0].flags, ZINST_FUNCTION_DEBUG_INFO, "alpha flags");
  CHECK_STRING(file, function[1].name, "beta");
  CHECK_EQ_U64(function[1].name, function[1].linkage_name, "\"beta\" stored once");
  CHECK_EQ_U64(function[0].file, function[1].file, "\"a.c\" stored once");
  CHECK_EQ_U64(function[1].line, 20, "beta line");
  CHECK_STRING(file, function[2].name, "gamma");
  CHECK_EQ_U64(function[2].linkage_name, 0, "NULL string is offset 0");
  CHECK_STRING(file, function[2].file, "b.c");
  CHECK_EQ_U64(function[2].module, 1, "gamma module");

  /* Threads and nodes: roots dropped, parents renumbered, exclusive times. */
  const struct zinst_thread_record *thread =
      (const void *)(file + find_section(file, ZINST_SECTION_THREADS)->offset);
  CHECK_EQ_U64(thread[0].tid, 100, "tid");
  CHECK_STRING(file, thread[0].name, "main");
  CHECK_EQ_U64(thread[0].flags, ZINST_THREAD_MAIN, "thread flags");
  CHECK_EQ_U64(thread[0].first_node, 0, "first node");
  CHECK_EQ_U64(thread[0].node_count, 3, "node count");
  CHECK_EQ_U64(thread[0].thread_count, 1, "thread count");
  CHECK_EQ_U64(thread[1].tid, 0, "merged tid");
  CHECK_STRING(file, thread[1].name, "3 exited threads");
  CHECK_EQ_U64(thread[1].flags, ZINST_THREAD_EXITED | ZINST_THREAD_MERGED, "merged flags");
  CHECK_EQ_U64(thread[1].first_node, 3, "merged first node");
  CHECK_EQ_U64(thread[1].node_count, 2, "merged node count");
  CHECK_EQ_U64(thread[1].thread_count, 3, "merged thread count");
  const struct zinst_node_record *node =
      (const void *)(file + find_section(file, ZINST_SECTION_NODES)->offset);
  /* {parent, function, calls, inclusive, exclusive}: appended nodes are all
   * in the exact stratum, so every call is timed and no error is stated. */
#define NODE(p, f, c, i, e)                                                                        \
  {.parent = (p), .function = (f), .calls = (c), .inclusive_ticks = (i), .exclusive_ticks = (e)}
  static const struct zinst_node_record expected[5] = {
      NODE(ZINST_NONE, 0, 1, 1000, 500), NODE(0, 1, 5, 300, 300), NODE(0, 2, 2, 200, 200),
      NODE(ZINST_NONE, 2, 7, 70, 0),     NODE(3, 1, 1, 100, 100),
  };
#undef NODE
  for (int i = 0; i < 5; i++) {
    CHECK_EQ_U64(node[i].parent, expected[i].parent, "node parent");
    CHECK_EQ_U64(node[i].function, expected[i].function, "node function");
    CHECK_EQ_U64(node[i].calls, expected[i].calls, "node calls");
    CHECK_EQ_U64(node[i].inclusive_ticks, expected[i].inclusive_ticks, "node inclusive");
    CHECK_EQ_U64(node[i].exclusive_ticks, expected[i].exclusive_ticks, "node exclusive");
    CHECK_EQ_U64(node[i].timed_calls, expected[i].calls, "every call timed");
    CHECK_EQ_U64(node[i].inclusive_error_ticks, 0, "exact inclusive");
    CHECK_EQ_U64(node[i].exclusive_error_ticks, 0, "exact exclusive");
  }

  /* Sites, and only the nonzero counts, sorted by (thread, site). */
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_SITES)->count, 4, "sites");
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_SITES)->entry_size, 56, "site size");
  const struct zinst_site_record *site =
      (const void *)(file + find_section(file, ZINST_SECTION_SITES)->offset);
  CHECK_STRING(file, site[0].caller, "alpha");
  CHECK_STRING(file, site[0].caller_linkage, "_Z5alphav");
  CHECK_STRING(file, site[0].callee, "beta");
  CHECK_STRING(file, site[0].file, "a.c");
  CHECK_EQ_U64(site[0].reason, 0, "empty reason is offset 0");
  CHECK_EQ_U64(site[0].line, 12, "site line");
  CHECK_EQ_U64(site[0].column, 7, "site column");
  CHECK_EQ_U64(site[0].flags,
               ZINST_SITE_INLINED | ZINST_SITE_COST | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG,
               "site flags");
  CHECK_EQ_U64(site[0].cost, 45, "site cost");
  CHECK_EQ_U64(site[0].threshold, 225, "site threshold");
  CHECK_EQ_U64(site[0].callee_instructions, 9, "site callee size");
  CHECK_EQ_U64(site[0].reserved, 0, "site reserved");
  CHECK_STRING(file, site[1].reason, "noinline function attribute");
  CHECK_EQ_U64(site[1].callee_linkage, 0, "NULL callee linkage is offset 0");
  CHECK_EQ_U64(site[2].module, 1, "site module");
  CHECK_EQ_U64(site[2].cost, 400, "site 2 cost");
  CHECK_EQ_U64(site[3].flags,
               ZINST_SITE_NEVER | ZINST_SITE_COUNTED | ZINST_SITE_DEBUG | ZINST_SITE_TREE,
               "tree-counted site flags");
  CHECK_EQ_U64(find_section(file, ZINST_SECTION_SITE_COUNTS)->count, 4, "site counts");
  const struct zinst_site_count_record *count =
      (const void *)(file + find_section(file, ZINST_SECTION_SITE_COUNTS)->offset);
  CHECK(count[0].thread == 0 && count[0].site == 0 && count[0].count == 5, "count 0");
  CHECK(count[1].thread == 0 && count[1].site == 1 && count[1].count == 2, "count 1");
  CHECK(count[2].thread == 1 && count[2].site == 1 && count[2].count == 1, "count 2");
  CHECK(count[3].thread == 1 && count[3].site == 3 && count[3].count == 1,
        "count 3 (from the tree): thread %u site %u count %llu", count[3].thread, count[3].site,
        (unsigned long long)count[3].count);

  /* A site that shares another's counter (the pass's shareCounters: two
   * sites of one block) is written with that site's count in every thread;
   * its own slot is never counted. Site 2 shares site 0's: thread 0's 5,
   * and nothing for thread 1, which counted site 0 zero times. */
  struct zinst_snapshot_site shared_sites[4];
  memcpy(shared_sites, sites, sizeof shared_sites);
  shared_sites[2].flags |= ZINST_SITE_COUNTED;
  shared_sites[2].shared_counter = 1;
  uint64_t shared_thread0[3] = {5, 2, 7}; /* a stray 7 in site 2's own slot */
  threads[0].sites = (struct zinst_site_counts){shared_thread0, 3};
  snapshot.sites = shared_sites;
  struct memory_sink shared_sink = {0};
  CHECK(zinst_write_profile(&snapshot, write_to_memory, &shared_sink) == 0, "serialize shared");
  const unsigned char *shared_file = shared_sink.data;
  CHECK_EQ_U64(find_section(shared_file, ZINST_SECTION_SITE_COUNTS)->count, 5,
               "site counts with a shared counter");
  count =
      (const void *)(shared_file + find_section(shared_file, ZINST_SECTION_SITE_COUNTS)->offset);
  CHECK(count[0].thread == 0 && count[0].site == 0 && count[0].count == 5, "shared: count 0");
  CHECK(count[1].thread == 0 && count[1].site == 1 && count[1].count == 2, "shared: count 1");
  CHECK(count[2].thread == 0 && count[2].site == 2 && count[2].count == 5,
        "shared: site 2 has site 0's count: thread %u site %u count %llu", count[2].thread,
        count[2].site, (unsigned long long)count[2].count);
  CHECK(count[3].thread == 1 && count[3].site == 1 && count[3].count == 1, "shared: count 3");
  CHECK(count[4].thread == 1 && count[4].site == 3 && count[4].count == 1, "shared: count 4");
  free(shared_sink.data);
  /* A share of a counter that is not a site's own is refused: the
   * tree-counted site 3 has none, and site 2 cannot share itself. */
  char shared_err[200] = "";
  void *refused = NULL;
  size_t refused_size = 0;
  shared_sites[2].shared_counter = 4;
  CHECK(zinst_build_profile_image(&snapshot, &refused, &refused_size, shared_err,
                                  sizeof shared_err) == -1 &&
            refused == NULL,
        "a share of the tree-counted site is refused");
  CHECK(strstr(shared_err, "site 2 shares the counter of site 3") != NULL, "message: %s",
        shared_err);
  shared_sites[2].shared_counter = 3;
  CHECK(zinst_build_profile_image(&snapshot, &refused, &refused_size, shared_err,
                                  sizeof shared_err) == -1,
        "a share of itself is refused");
  snapshot.sites = sites;
  threads[0].sites = (struct zinst_site_counts){thread0_sites, 3};

  /* An inconsistent snapshot is refused with a message, not written. */
  zinst_tree_append(&threads[1].tree, gamma, 9, 1, 1);
  void *image = NULL;
  size_t size = 0;
  char err[200] = "";
  errno = 0;
  CHECK(zinst_build_profile_image(&snapshot, &image, &size, err, sizeof err) == -1, "refused");
  CHECK(errno == EINVAL && image == NULL, "EINVAL and no image");
  CHECK(strstr(err, "function id 9") != NULL, "message names the bad id: %s", err);

  zinst_tree_free(&threads[0].tree);
  zinst_tree_free(&threads[1].tree);
  free(sink.data);
  printf("serializer: ok (%zu bytes)\n", sink.size);
  return 0;
}
