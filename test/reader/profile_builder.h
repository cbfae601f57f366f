/*
 * profile_builder.h - hand-written profile files for the reader's tests.
 *
 * Independent of the runtime's serializer on purpose: the tests check the
 * reader against the format header, not against another implementation.
 * Fixed-size arrays keep the builder trivial; tests stay far below them.
 */
#ifndef ZINST_TEST_PROFILE_BUILDER_H
#define ZINST_TEST_PROFILE_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zinst_format.h"

#define TP_MAX_STRINGS 4096
#define TP_MAX_RECORDS 64
#define TP_UNKNOWN_KIND 99u

struct test_profile {
  struct zinst_process_record process;
  char strings[TP_MAX_STRINGS];
  uint32_t strings_size;
  struct zinst_module_record modules[TP_MAX_RECORDS];
  uint32_t module_count;
  struct zinst_function_record functions[TP_MAX_RECORDS];
  uint32_t function_count;
  struct zinst_thread_record threads[TP_MAX_RECORDS];
  uint32_t thread_count;
  struct zinst_node_record nodes[TP_MAX_RECORDS];
  uint32_t node_count;
  struct zinst_site_record sites[TP_MAX_RECORDS];
  uint32_t site_count;
  struct zinst_site_count_record site_counts[TP_MAX_RECORDS];
  uint32_t site_count_count;
  struct zinst_memory_record memory[TP_MAX_RECORDS];
  uint32_t memory_count;
  bool with_memory;            /* write a MEMORY section (set by tp_memory) */
  uint32_t extra_record_bytes; /* appended to every array record: a newer producer */
  bool with_unknown_section;   /* add a section of kind TP_UNKNOWN_KIND */
  bool table_first;            /* section table right after the header (else at the end) */
  bool process_minor0;         /* PROCESS as a minor 0 producer wrote it (no call_cost_ps) */
  bool process_minor1;         /* PROCESS as a minor 1 or 2 producer wrote it (no hook costs) */
};

/* Empty profile: STRINGS holds "" at offset 0, a time-mode process record
 * with sample_interval 1 (exact) and exact_calls_per_context 16. */
void tp_init(struct test_profile *tp);
/* Append a string; returns its offset. */
uint32_t tp_string(struct test_profile *tp, const char *text);
uint32_t tp_module(struct test_profile *tp, const char *name);
/* A function of the last module (whose function range grows); returns its index. */
uint32_t tp_function(struct test_profile *tp, const char *name, const char *file, uint32_t line);
/* Start a thread; the nodes added next belong to it. Returns its index. */
uint32_t tp_thread(struct test_profile *tp, uint64_t tid, const char *name, uint32_t flags);
/* Append a node to the last thread; returns its absolute index. Every call
 * is timed (timed_calls = calls) and the errors are 0; tests of sampled
 * profiles set the other fields on tp->nodes[index] afterwards. */
uint32_t tp_node(struct test_profile *tp, uint32_t parent, uint32_t function, uint64_t calls,
                 uint64_t inclusive, uint64_t exclusive);

/* A site of the last module (file "sample.c", column 3, callee of 12
 * instructions; caller and callee names double as linkage names). Returns
 * its index. */
uint32_t tp_site(struct test_profile *tp, const char *caller, const char *callee, uint32_t line,
                 uint32_t flags, int32_t cost, int32_t threshold, const char *reason);
/* Append a SITE_COUNTS record; tests add them in (thread, site) order. */
void tp_site_count(struct test_profile *tp, uint32_t thread, uint32_t site, uint64_t count);
/* Append a MEMORY record (and make the profile carry the section). */
void tp_memory(struct test_profile *tp, uint32_t thread, uint32_t node, uint64_t allocations,
               uint64_t allocated_bytes, uint64_t frees, uint64_t freed_bytes, uint64_t peak);

/*
 * Serialize: header, sections (STRINGS, PROCESS, MODULES, FUNCTIONS, THREADS,
 * NODES, SITES, SITE_COUNTS[, unknown]) each 8-aligned, and the section table after them (or
 * right after the header with table_first). Returns a
 * malloc'd buffer the caller frees; *size receives its length.
 */
unsigned char *tp_serialize(const struct test_profile *tp, size_t *size);

/* Recompute header.checksum after the test damaged the contents. */
void tp_fix_checksum(unsigned char *data, size_t size);

/* File offset of the section table entry for `kind`, or 0 if absent. */
size_t tp_section_entry(const unsigned char *data, uint32_t kind);
/* File offset of the payload of section `kind`. */
size_t tp_section_payload(const unsigned char *data, uint32_t kind);

/*
 * The sample used across tests and by the command tests:
 *   module "sample.c"; functions main, compute, fib, helper;
 *   thread 1001 "main":   main(1, 1000/100) -> compute(10, 600/200) -> fib(10, 400/150)
 *                           -> fib(20, 250/250); main -> helper(5, 300/300)
 *   thread 1002 "worker": compute(3, 500/100) -> fib(4, 400/400)
 * (calls, inclusive/exclusive ticks); 2 GHz ticks.
 * Sites (file sample.c, column 3):
 *   0 main->helper line 12, not inlined, cost 300 of 225 ("too costly to
 *     inline"): counts thread 0: 5
 *   1 compute->square line 22, inlined, cost 15 of 225: thread 0: 40, thread 1: 12
 *   2 fib->fib line 31, never ("recursive call"): thread 0: 20
 *   3 compute->log_error line 25, never ("noinline function attribute"), not counted
 */
void tp_sample(struct test_profile *tp);

/*
 * Library code (flag ZINST_FUNCTION_LIBRARY) around and inside user code;
 * one thread 7001, 1 GHz ticks (calls, inclusive/exclusive ticks):
 *   start.callMain [lib] (1, 1000/100)
 *     main (1, 900/100)
 *       std.sort.insertion [lib] (2, 500/150)
 *         lessThan (40, 200/200)            a user callback from library code
 *         std.mem.swap [lib] (30, 150/150)
 *       work (4, 300/200)
 *         std.fmt.format [lib] (4, 100/60)
 *           std.mem.swap [lib] (8, 40/40)
 * Inlined sites (counted, thread 0): work <- square 12 (line 14),
 * std.sort.insertion <- std.math.order 70 (library code), and
 * helper <- tiny 5 (helper has no record: inlined everywhere itself).
 */
void tp_library_sample(struct test_profile *tp);

/*
 * Count-only functions (ZINST_SITE_ENTRY sites, minor 5) beside hooked ones,
 * in module co.c, 1 GHz ticks (calls, inclusive/exclusive ticks):
 *   thread 3001 "main":   main (1, 1000/800) > work (2, 200/200)
 *   thread 3002 "worker": work (3, 300/300)
 * Sites (column 3 unless said):
 *   0 tiny entry (co.c:5, column 0): thread 0: 30, thread 1: 12
 *   1 unused entry (co.c:7, column 0), counted, never ran
 *   2 work->tiny line 21, not inlined, never: thread 0: 30
 *   3 main->tiny line 12, inlined: thread 0: 5
 *   4 tiny->square line 6, inlined (in the count-only tiny): thread 0: 42
 *   5 std.mem.eql entry (co.c:40, column 0), library code (LIBRARY and
 *     CALLEE_LIBRARY): thread 0: 3
 */
void tp_count_only_sample(struct test_profile *tp);

#endif /* ZINST_TEST_PROFILE_BUILDER_H */
