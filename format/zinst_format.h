/*
 * zinst_format.h - the zinst profile file format, version 2.
 *
 * The one definition shared by the writer (runtime/profile_writer.c) and the
 * reader (cli/profile_reader.c). docs/profile-format.md explains every field.
 *
 * Layout of a file:
 *
 *   offset 0                 struct zinst_file_header (64 bytes)
 *   header.section_table     section_count x struct zinst_section_entry
 *   each section's offset    its payload, 8-byte aligned
 *
 * All integers are in the producer's byte order, recorded in
 * header.byte_order; a reader on a machine of the other byte order refuses
 * the file with a message rather than guessing. Every string is stored once
 * in the STRINGS section and referenced by its byte offset there.
 *
 * A file is self-describing: function names, source files and lines, thread
 * identities and the counter frequency are inside it, so reading it needs
 * neither the binary nor a symbolizer.
 *
 * Compatibility rule: array sections carry their entry_size. A producer may
 * append fields to a record (and bump ZINST_PROFILE_MINOR); a reader
 * accepts entry_size >= the size it knows and ignores the tail. Any other
 * change bumps ZINST_PROFILE_VERSION, which readers check exactly.
 */
#ifndef ZINST_FORMAT_H
#define ZINST_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define ZINST_PROFILE_MAGIC "ZINSTPRF" /* 8 bytes, no NUL stored */
#define ZINST_PROFILE_MAGIC_SIZE 8
#define ZINST_PROFILE_VERSION 2u
/* 1: PROCESS call_cost_ps; 2: zones, library sites; 3: PROCESS hook costs;
 * 4: the MEMORY section; 5: entry sites (ZINST_SITE_ENTRY, count-only functions);
 * 6: module flags ZINST_MODULE_INLINE_CODE and ZINST_MODULE_INLINE_TIMING;
 * 7: PROCESS sample_limit; 8: PROCESS sample_error; 9: sites counted from the
 * call tree (ZINST_SITE_TREE); 10: PROCESS sample_outlier */
#define ZINST_PROFILE_MINOR 10u
/* Written as a native uint32_t: reads back as this value only when the
 * reader has the producer's byte order. */
#define ZINST_BYTE_ORDER_MARK 0x01020304u
#define ZINST_BYTE_ORDER_SWAPPED 0x04030201u

/* Index value meaning "none" (no parent, no string). */
#define ZINST_NONE UINT32_MAX

struct zinst_file_header {
  char magic[ZINST_PROFILE_MAGIC_SIZE];
  uint32_t version;       /* ZINST_PROFILE_VERSION */
  uint32_t byte_order;    /* ZINST_BYTE_ORDER_MARK, native order */
  uint32_t header_size;   /* sizeof(struct zinst_file_header) */
  uint32_t section_count; /* entries in the section table */
  uint64_t section_table_offset;
  uint64_t file_size;   /* total size; a shorter file is truncated */
  uint32_t checksum;    /* zinst_profile_checksum(): the whole file, this field as 0 */
  uint32_t minor;       /* ZINST_PROFILE_MINOR of the producer */
  uint8_t reserved[16]; /* zero */
};

enum zinst_section_kind {
  ZINST_SECTION_STRINGS = 1,     /* NUL-terminated strings, referenced by offset */
  ZINST_SECTION_PROCESS = 2,     /* exactly one struct zinst_process_record */
  ZINST_SECTION_MODULES = 3,     /* struct zinst_module_record[] */
  ZINST_SECTION_FUNCTIONS = 4,   /* struct zinst_function_record[] */
  ZINST_SECTION_THREADS = 5,     /* struct zinst_thread_record[] */
  ZINST_SECTION_NODES = 6,       /* struct zinst_node_record[] */
  ZINST_SECTION_SITES = 7,       /* struct zinst_site_record[] (version 2) */
  ZINST_SECTION_SITE_COUNTS = 8, /* struct zinst_site_count_record[] (version 2) */
  ZINST_SECTION_MEMORY = 9,      /* struct zinst_memory_record[] (minor 4), optional */
};

struct zinst_section_entry {
  uint32_t kind;       /* enum zinst_section_kind; unknown kinds are skipped */
  uint32_t entry_size; /* bytes per record; 1 for STRINGS */
  uint64_t offset;     /* from the start of the file, 8-byte aligned */
  uint64_t size;       /* bytes; == count * entry_size */
  uint64_t count;      /* records; == size for STRINGS */
};

/* clock_flags */
#define ZINST_CLOCK_TSC 0x1u             /* ticks are x86 rdtsc cycles */
#define ZINST_CLOCK_TSC_INVARIANT 0x2u   /* CPUID says the TSC is invariant */
#define ZINST_CLOCK_NANOSECONDS 0x4u     /* ticks are CLOCK_MONOTONIC ns (fallback) */
#define ZINST_CLOCK_VIRTUAL_COUNTER 0x8u /* ticks are the aarch64 virtual counter */

/* mode */
#define ZINST_MODE_TIME 0u  /* counts and cycle totals */
#define ZINST_MODE_COUNT 1u /* counts only; all cycle fields are zero */

/* dump_reason */
#define ZINST_DUMP_EXIT 0u   /* normal exit: return from main or exit() */
#define ZINST_DUMP_API 1u    /* zinst_dump() called by the program */
#define ZINST_DUMP_SIGNAL 2u /* SIGINT/SIGTERM handler */

struct zinst_process_record {
  uint64_t pid;
  uint64_t start_unix_ns;        /* CLOCK_REALTIME when the runtime started */
  uint64_t dump_unix_ns;         /* CLOCK_REALTIME when this file was produced */
  uint64_t ticks_per_second;     /* calibrated counter frequency; 0 = unknown */
  uint64_t elapsed_ticks;        /* counter ticks from start to dump */
  uint64_t elapsed_ns;           /* CLOCK_MONOTONIC ns from start to dump */
  uint64_t depth_overflow_calls; /* calls made deeper than max_depth */
  uint64_t lost_calls;           /* calls not recorded (node arena exhausted) */
  uint32_t exe_path;             /* string offset */
  uint32_t command_line;         /* string offset; arguments separated by spaces */
  uint32_t hostname;             /* string offset */
  uint32_t runtime_version;      /* string offset, e.g. "zinst 0.1.0" */
  uint32_t mode;                 /* ZINST_MODE_* */
  uint32_t clock_flags;          /* ZINST_CLOCK_* */
  uint32_t max_depth;            /* shadow stack bound in force */
  uint32_t dump_reason;          /* ZINST_DUMP_* */
  /* Time mode: 1 in sample_interval activations (on average) beyond the
   * first exact_calls_per_context calls of each context is timed; 1 = every
   * activation (exact). Both 0 in count mode. */
  uint32_t sample_interval;
  uint32_t exact_calls_per_context;
  /* Minor 1 (absent, read as 0, in minor 0 files; ZINST_PROCESS_RECORD_SIZE_2_0
   * bytes). What one call that stays a call costs on this machine (call,
   * return, the callee's prologue and epilogue), measured by the runtime at
   * the dump, in picoseconds; 0 = not measured. The inline report prices
   * non-inlined calls with it. */
  uint32_t call_cost_ps;
  /* Minor 7 (zero before). Time mode: a context's sampling interval
   * doubles each time it has sample_limit samples, and its sampled sums
   * are halved then, so that every sample weighs in proportion to the calls
   * it stands for; the estimates and errors of NODES are the weighted ones.
   * 0 = the interval stays sample_interval. */
  uint32_t sample_limit;
  /* Minor 3 (absent, read as 0, in records of ZINST_PROCESS_RECORD_SIZE_2_1
   * bytes: minors 1 and 2; readers go by the section's entry_size, not by
   * the minor). What the hooks themselves cost, calibrated by the runtime on
   * the real hooks at start-up and at every dump, in picoseconds; all 0 = not
   * calibrated (count mode, or an older runtime). The node records stay as
   * measured: readers
   * subtract these when they show times (docs/profile-format.md):
   *   - hook_untimed_pair_ps: an instrumented call whose activation is not
   *     timed, its enter and exit hooks whole (call, hook, return): all of
   *     it inside the caller's measured interval;
   *   - hook_timed_pair_ps: the same for a timed activation (two clock
   *     reads more);
   *   - hook_timed_inner_ps: of a timed pair, the part inside the callee's
   *     own interval (its enter hook after the clock read, its exit hook
   *     before it);
   *   - hook_spread_ps: how far the calibration's rounds spread (the
   *     largest of the three costs' median minus minimum): its noise. */
  uint32_t hook_untimed_pair_ps;
  uint32_t hook_timed_pair_ps;
  uint32_t hook_timed_inner_ps;
  uint32_t hook_spread_ps;
  /* Minor 8 (absent, read as 0, in records of ZINST_PROCESS_RECORD_SIZE_2_3
   * bytes). Time mode with a sample_limit: a context's interval doubles
   * earlier, at the first power of two of its samples (from 256 on) where
   * the 95% interval of its activations' mean is within sample_error
   * percent of the mean; each context then keeps that limit as its own.
   * 0 = at sample_limit only. */
  uint32_t sample_error;
  /* Minor 10 (zero before: the word was reserved). Time mode: a sampled
   * activation longer than sample_outlier times its context's mean (and
   * than 8192 ticks) counted as a sample of that length, its excess once,
   * as measured; the sum of squares kept its whole length. 0 = none. */
  uint32_t sample_outlier;
};
/* PROCESS records of minor 0 end before call_cost_ps. */
#define ZINST_PROCESS_RECORD_SIZE_2_0 104u
/* PROCESS records of minors 1 and 2 end before hook_untimed_pair_ps. */
#define ZINST_PROCESS_RECORD_SIZE_2_1 112u
/* PROCESS records of minors 3 to 7 end before sample_error; from minor 8 on
 * they are sizeof(struct zinst_process_record), 136 bytes. */
#define ZINST_PROCESS_RECORD_SIZE_2_3 128u

/* module flags */
#define ZINST_MODULE_UNLOADED 0x1u /* dlclose'd before the dump */
/* How the module was instrumented (set from minor 6 on; 0: the hooks). */
#define ZINST_MODULE_INLINE_CODE 0x2u   /* -zinst-inline-tree: no hooks, inline code */
#define ZINST_MODULE_INLINE_TIMING 0x4u /* -zinst-inline-time: and timed by inline code */

struct zinst_module_record {
  uint32_t name;           /* string offset: source file the module was compiled from */
  uint32_t first_function; /* index into FUNCTIONS */
  uint32_t function_count;
  uint32_t flags; /* ZINST_MODULE_* */
};

/* function flags */
#define ZINST_FUNCTION_DEBUG_INFO 0x1u /* file and line come from debug info */
#define ZINST_FUNCTION_LIBRARY 0x2u    /* library code (Zig's std): reports group it */
#define ZINST_FUNCTION_ZONE 0x4u       /* minor 2: a zone the program marked (zinst.h) */

struct zinst_function_record {
  uint32_t name;         /* string offset: display name (demangled) */
  uint32_t linkage_name; /* string offset: symbol name */
  uint32_t file;         /* string offset: source path; module source if no debug info */
  uint32_t line;         /* 0 = unknown */
  uint32_t module;       /* index into MODULES */
  uint32_t flags;        /* ZINST_FUNCTION_* */
};

/* thread flags */
#define ZINST_THREAD_EXITED 0x1u /* the thread had ended before the dump */
#define ZINST_THREAD_MERGED 0x2u /* several exited threads summed into one tree */
#define ZINST_THREAD_MAIN 0x4u   /* the process's main thread */

struct zinst_thread_record {
  uint64_t tid;          /* kernel thread id (gettid); 0 for a merged record */
  uint32_t name;         /* string offset; thread name if known */
  uint32_t flags;        /* ZINST_THREAD_* */
  uint32_t first_node;   /* index into NODES */
  uint32_t node_count;   /* this thread's nodes are [first_node, first_node + node_count) */
  uint32_t thread_count; /* threads summed into this record (1 unless MERGED) */
  uint32_t reserved;
};

/*
 * One calling context: the function `function` called along the path
 * parent -> ... -> root. `parent` is an absolute NODES index inside the same
 * thread's range and smaller than this node's own index, or ZINST_NONE for a
 * call made with nothing instrumented on the stack.
 *
 * calls is exact. timed_calls of them were timed (the first
 * exact_calls_per_context, then a random 1 in sample_interval, sparser
 * once the context has enough samples: see the PROCESS record);
 * inclusive_ticks estimates the time of all calls, children included, from
 * the timed ones (exact when timed_calls == calls); frames still open when
 * the file is written count up to that moment. exclusive_ticks =
 * inclusive_ticks - sum of the children's inclusive_ticks (floored at 0).
 * The *_error_ticks are one standard error of the estimates, 0 when exact
 * (always 0 when timed_calls == calls). Every tick field and timed_calls
 * are 0 in ZINST_MODE_COUNT.
 */
struct zinst_node_record {
  uint32_t parent;
  uint32_t function; /* index into FUNCTIONS */
  uint64_t calls;
  uint64_t timed_calls; /* <= calls */
  uint64_t inclusive_ticks;
  uint64_t exclusive_ticks;
  uint64_t inclusive_error_ticks;
  uint64_t exclusive_error_ticks;
};

/* site flags (the bits of runtime/zinst_abi.h's ZINST_SITE_INFO_*) */
#define ZINST_SITE_INLINED 0x1u          /* the callee's body was inlined at this site */
#define ZINST_SITE_ALWAYS 0x2u           /* the always-inline rule decided (cost=always) */
#define ZINST_SITE_NEVER 0x4u            /* never inlinable (cost=never) */
#define ZINST_SITE_COST 0x8u             /* cost and threshold are the inliner's numbers */
#define ZINST_SITE_COUNTED 0x10u         /* the program counted this site */
#define ZINST_SITE_DEBUG 0x20u           /* file, line and column come from debug info */
#define ZINST_SITE_UNSUCCESSFUL 0x40u    /* inlining was recommended but failed */
#define ZINST_SITE_DEFERRED 0x80u        /* not inlined so that the caller can be */
#define ZINST_SITE_LIBRARY 0x100u        /* minor 2: the call is in library code (Zig's std) */
#define ZINST_SITE_CALLEE_LIBRARY 0x200u /* minor 2: the callee is library code */
#define ZINST_SITE_ENTRY 0x400u          /* minor 5: a count-only function's entry counter */
#define ZINST_SITE_TREE 0x800u /* minor 9: counted, from the call tree, not by a counter */
#define ZINST_SITE_KNOWN_FLAGS 0xFFFu

/*
 * One call site the inliner decided about (a site of an always_inline callee
 * included). With ZINST_SITE_COUNTED its SITE_COUNTS records give, per
 * thread, the executions of the callee's body inlined here (INLINED) or the
 * calls made through the site (otherwise). The same source site can appear
 * in several records: once per copy of the call the inliner decided about
 * (a caller inlined into several functions, an unrolled loop).
 *
 * Minor 5: a record with ZINST_SITE_ENTRY is no call site but a count-only
 * function (built with ZINST_COUNT_ONLY: no hooks, hence no FUNCTIONS
 * record and no node): caller and callee both name it, file and line
 * locate its definition, column is 0, and its counts are the function's
 * calls from anywhere.
 */
struct zinst_site_record {
  uint32_t caller;              /* string: display name of the function holding the call */
  uint32_t caller_linkage;      /* string: its symbol name */
  uint32_t callee;              /* string: display name of the called function */
  uint32_t callee_linkage;      /* string: its symbol name */
  uint32_t file;                /* string: source file of the call; "" if unknown */
  uint32_t reason;              /* string: the inliner's reason ("" for cost-based decisions) */
  uint32_t line;                /* 0 = unknown */
  uint32_t column;              /* 0 = unknown */
  uint32_t module;              /* index into MODULES */
  uint32_t flags;               /* ZINST_SITE_* */
  int32_t cost;                 /* inline cost (ZINST_SITE_COST), else 0 */
  int32_t threshold;            /* inline threshold (ZINST_SITE_COST), else 0 */
  uint32_t callee_instructions; /* IR instructions of the callee when decided */
  uint32_t reserved;            /* zero */
};

/* One nonzero count of one site in one thread; sorted by (thread, site),
 * each pair at most once. */
struct zinst_site_count_record {
  uint32_t thread; /* index into THREADS */
  uint32_t site;   /* index into SITES; the site has ZINST_SITE_COUNTED */
  uint64_t count;  /* > 0 */
};

/*
 * Minor 4. Heap memory of one calling context of one thread: the blocks
 * the program allocated (malloc and its family, C++ new, the Zig tracking
 * allocator) while `node` was the innermost open context of `thread`, and
 * the frees of those blocks, by whichever thread freed them. The section is
 * present only when the program ran with memory tracing on (ZINST_MEMORY=1);
 * then it holds one record per context with allocations, sorted by
 * (thread, node) with node ZINST_NONE last in its thread, each pair once.
 *
 * Live bytes at the dump are allocated_bytes - freed_bytes in
 * (allocations - frees) blocks; in a profile written at exit, those are the
 * context's leaks. A realloc that moves or resizes a block counts as a free
 * of the old block (in its context) and an allocation of the new size.
 * peak_live_bytes is the highest live byte count the context reached, seen
 * at its allocations: allocated_bytes - freed_bytes <= peak_live_bytes <=
 * allocated_bytes.
 */
struct zinst_memory_record {
  uint32_t thread; /* index into THREADS */
  uint32_t node;   /* index into NODES, inside the thread's range; ZINST_NONE: no
                      instrumented function was on the stack */
  uint64_t allocations;
  uint64_t allocated_bytes; /* requested sizes */
  uint64_t frees;           /* <= allocations */
  uint64_t freed_bytes;     /* <= allocated_bytes */
  uint64_t peak_live_bytes;
};

#ifdef __cplusplus
#define ZINST_FORMAT_ASSERT static_assert
#else
#define ZINST_FORMAT_ASSERT _Static_assert
#endif
ZINST_FORMAT_ASSERT(sizeof(struct zinst_file_header) == 64, "header is 64 bytes");
ZINST_FORMAT_ASSERT(sizeof(struct zinst_section_entry) == 32, "section entry is 32 bytes");
ZINST_FORMAT_ASSERT(sizeof(struct zinst_process_record) == 136, "process record is 136 bytes");
ZINST_FORMAT_ASSERT(offsetof(struct zinst_process_record, sample_error) ==
                        ZINST_PROCESS_RECORD_SIZE_2_3,
                    "minor 8 appends sample_error to the minor 3 record");
ZINST_FORMAT_ASSERT(offsetof(struct zinst_process_record, call_cost_ps) ==
                        ZINST_PROCESS_RECORD_SIZE_2_0,
                    "minor 1 appends call_cost_ps to the minor 0 record");
ZINST_FORMAT_ASSERT(offsetof(struct zinst_process_record, hook_untimed_pair_ps) ==
                        ZINST_PROCESS_RECORD_SIZE_2_1,
                    "minor 3 appends the hook costs to the minor 1 record");
ZINST_FORMAT_ASSERT(sizeof(struct zinst_module_record) == 16, "module record is 16 bytes");
ZINST_FORMAT_ASSERT(sizeof(struct zinst_function_record) == 24, "function record is 24 bytes");
ZINST_FORMAT_ASSERT(sizeof(struct zinst_thread_record) == 32, "thread record is 32 bytes");
ZINST_FORMAT_ASSERT(sizeof(struct zinst_node_record) == 56, "node record is 56 bytes");
ZINST_FORMAT_ASSERT(sizeof(struct zinst_site_record) == 56, "site record is 56 bytes");
ZINST_FORMAT_ASSERT(sizeof(struct zinst_site_count_record) == 16, "site count record is 16 bytes");
ZINST_FORMAT_ASSERT(sizeof(struct zinst_memory_record) == 48, "memory record is 48 bytes");

/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320). Start with crc = 0; feed
 * chunks in order. Defined in format/crc32.c. */
uint32_t zinst_crc32(uint32_t crc, const void *data, uint64_t size);

/* header.checksum of a profile image of `size` bytes (size >= the header):
 * the CRC-32 of the whole image with the checksum field read as zero, so the
 * header's own fields are protected too. */
uint32_t zinst_profile_checksum(const void *image, uint64_t size);

#endif /* ZINST_FORMAT_H */
