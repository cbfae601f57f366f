/*
 * cmd_dump.c - `zinst dump`: every record of a profile as stored, for
 * debugging the writer and the reader. The file is validated first; the
 * section table is printed from the same bytes that were validated.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "json_writer.h"

static const char help_text[] =
    "usage: zinst dump PROFILE\n"
    "\n"
    "Print every raw record of the profile: header fields, section table,\n"
    "process record, modules, functions, threads and nodes with their\n"
    "parent and function indices. PROFILE '-' reads standard input.\n"
    "\n"
    "options:\n"
    "  -h, --help       this text\n";

/* Index or "-" for ZINST_NONE, into `buffer` (>= 12 bytes). */
static const char *index_text(uint32_t index, char *buffer, size_t size) {
  if (index == ZINST_NONE)
    snprintf(buffer, size, "-");
  else
    snprintf(buffer, size, "%" PRIu32, index);
  return buffer;
}

/* A string reference: its offset and its text, quoted and escaped like JSON. */
static void print_string(FILE *out, const char *label, const struct zinst_profile *profile,
                         uint32_t offset) {
  if (offset == ZINST_NONE) {
    fprintf(out, " %s=-", label);
    return;
  }
  fprintf(out, " %s=@%" PRIu32, label, offset);
  zinst_json_write_string(out, zinst_profile_string(profile, offset));
}

static void dump_header(FILE *out, const struct zinst_profile *profile) {
  const struct zinst_file_header *h = &profile->header;
  fprintf(out, "header:\n");
  fprintf(out, "  magic                 %.8s\n", h->magic);
  fprintf(out, "  version               %" PRIu32 ".%" PRIu32 "\n", h->version, h->minor);
  fprintf(out, "  byte_order            0x%08" PRIx32 "\n", h->byte_order);
  fprintf(out, "  header_size           %" PRIu32 "\n", h->header_size);
  fprintf(out, "  section_count         %" PRIu32 "\n", h->section_count);
  fprintf(out, "  section_table_offset  %" PRIu64 "\n", h->section_table_offset);
  fprintf(out, "  file_size             %" PRIu64 "\n", h->file_size);
  fprintf(out, "  checksum              0x%08" PRIx32 "\n", h->checksum);
}

static void dump_sections(FILE *out, const unsigned char *data,
                          const struct zinst_file_header *header) {
  fprintf(out, "sections:\n");
  fprintf(out, "  %3s  %-10s %10s %10s %10s %10s\n", "#", "kind", "offset", "size", "count",
          "entry_size");
  for (uint32_t i = 0; i < header->section_count; i++) {
    struct zinst_section_entry entry;
    memcpy(&entry, data + header->section_table_offset + (uint64_t)i * sizeof entry, sizeof entry);
    const char *name = zinst_section_kind_name(entry.kind);
    char unknown[32];
    if (!name) {
      snprintf(unknown, sizeof unknown, "kind %" PRIu32 " (skipped)", entry.kind);
      name = unknown;
    }
    fprintf(out, "  %3" PRIu32 "  %-10s %10" PRIu64 " %10" PRIu64 " %10" PRIu64 " %10" PRIu32 "\n",
            i, name, entry.offset, entry.size, entry.count, entry.entry_size);
  }
}

static void dump_process(FILE *out, const struct zinst_profile *profile) {
  const struct zinst_process_record *p = &profile->process;
  fprintf(out, "process:\n");
  fprintf(out, "  pid                   %" PRIu64 "\n", p->pid);
  fprintf(out, "  start_unix_ns         %" PRIu64 "\n", p->start_unix_ns);
  fprintf(out, "  dump_unix_ns          %" PRIu64 "\n", p->dump_unix_ns);
  fprintf(out, "  ticks_per_second      %" PRIu64 "\n", p->ticks_per_second);
  fprintf(out, "  elapsed_ticks         %" PRIu64 "\n", p->elapsed_ticks);
  fprintf(out, "  elapsed_ns            %" PRIu64 "\n", p->elapsed_ns);
  fprintf(out, "  depth_overflow_calls  %" PRIu64 "\n", p->depth_overflow_calls);
  fprintf(out, "  lost_calls            %" PRIu64 "\n", p->lost_calls);
  fprintf(out, " ");
  print_string(out, "exe_path", profile, p->exe_path);
  print_string(out, "command_line", profile, p->command_line);
  fprintf(out, "\n ");
  print_string(out, "hostname", profile, p->hostname);
  print_string(out, "runtime_version", profile, p->runtime_version);
  fprintf(out, "\n");
  fprintf(out, "  mode                  %" PRIu32 " (%s)\n", p->mode,
          p->mode == ZINST_MODE_COUNT ? "count" : "time");
  fprintf(out, "  clock_flags           0x%" PRIx32 "\n", p->clock_flags);
  fprintf(out, "  max_depth             %" PRIu32 "\n", p->max_depth);
  fprintf(out, "  dump_reason           %" PRIu32 "\n", p->dump_reason);
  fprintf(out, "  sample_interval       %" PRIu32 "\n", p->sample_interval);
  fprintf(out, "  sample_limit          %" PRIu32 "\n", p->sample_limit);
  fprintf(out, "  sample_error          %" PRIu32 "\n", p->sample_error);
  fprintf(out, "  sample_outlier        %" PRIu32 "\n", p->sample_outlier);
  fprintf(out, "  exact_calls_per_context %" PRIu32 "\n", p->exact_calls_per_context);
  fprintf(out, "  call_cost_ps          %" PRIu32 "\n", p->call_cost_ps);
  fprintf(out, "  hook_untimed_pair_ps  %" PRIu32 "\n", p->hook_untimed_pair_ps);
  fprintf(out, "  hook_timed_pair_ps    %" PRIu32 "\n", p->hook_timed_pair_ps);
  fprintf(out, "  hook_timed_inner_ps   %" PRIu32 "\n", p->hook_timed_inner_ps);
  fprintf(out, "  hook_spread_ps        %" PRIu32 "\n", p->hook_spread_ps);
}

static void dump_records(FILE *out, const struct zinst_profile *profile) {
  char a[16], b[16];
  fprintf(out, "strings: %" PRIu64 " bytes\n", profile->strings_size);
  fprintf(out, "modules: %" PRIu32 "\n", profile->module_count);
  for (uint32_t i = 0; i < profile->module_count; i++) {
    const struct zinst_module_record *m = &profile->modules[i];
    fprintf(out, "  [%" PRIu32 "]", i);
    print_string(out, "name", profile, m->name);
    fprintf(out, " first_function=%" PRIu32 " function_count=%" PRIu32 " flags=0x%" PRIx32 "\n",
            m->first_function, m->function_count, m->flags);
  }
  fprintf(out, "functions: %" PRIu32 "\n", profile->function_count);
  for (uint32_t i = 0; i < profile->function_count; i++) {
    const struct zinst_function_record *f = &profile->functions[i];
    fprintf(out, "  [%" PRIu32 "]", i);
    print_string(out, "name", profile, f->name);
    print_string(out, "linkage_name", profile, f->linkage_name);
    print_string(out, "file", profile, f->file);
    fprintf(out, " line=%" PRIu32 " module=%" PRIu32 " flags=0x%" PRIx32 "\n", f->line, f->module,
            f->flags);
  }
  fprintf(out, "threads: %" PRIu32 "\n", profile->thread_count);
  for (uint32_t i = 0; i < profile->thread_count; i++) {
    const struct zinst_thread_record *t = &profile->threads[i];
    fprintf(out, "  [%" PRIu32 "] tid=%" PRIu64, i, t->tid);
    print_string(out, "name", profile, t->name);
    fprintf(out,
            " flags=0x%" PRIx32 " first_node=%" PRIu32 " node_count=%" PRIu32
            " thread_count=%" PRIu32 "\n",
            t->flags, t->first_node, t->node_count, t->thread_count);
  }
  fprintf(out, "nodes: %" PRIu32 "\n", profile->node_count);
  for (uint32_t i = 0; i < profile->node_count; i++) {
    const struct zinst_node_record *n = &profile->nodes[i];
    fprintf(out,
            "  [%" PRIu32 "] parent=%s function=%s calls=%" PRIu64 " inclusive=%" PRIu64
            " exclusive=%" PRIu64 "  %s\n",
            i, index_text(n->parent, a, sizeof a), index_text(n->function, b, sizeof b), n->calls,
            n->inclusive_ticks, n->exclusive_ticks, zinst_function_name(profile, n->function));
    fprintf(out,
            "      timed_calls=%" PRIu64 " inclusive_error=%" PRIu64 " exclusive_error=%" PRIu64
            "\n",
            n->timed_calls, n->inclusive_error_ticks, n->exclusive_error_ticks);
  }
  if (!profile->has_memory)
    return;
  fprintf(out, "memory: %" PRIu32 "\n", profile->memory_count);
  for (uint32_t i = 0; i < profile->memory_count; i++) {
    const struct zinst_memory_record *m = &profile->memory[i];
    fprintf(out,
            "  [%" PRIu32 "] thread=%" PRIu32 " node=%s allocations=%" PRIu64
            " allocated_bytes=%" PRIu64 " frees=%" PRIu64 " freed_bytes=%" PRIu64
            " peak_live_bytes=%" PRIu64 "\n",
            i, m->thread, index_text(m->node, a, sizeof a), m->allocations, m->allocated_bytes,
            m->frees, m->freed_bytes, m->peak_live_bytes);
  }
}

int zinst_cmd_dump(int argc, char **argv) {
  enum { OPT_HELP = 1 };
  static const struct zinst_option_spec specs[] = {{"help", false, OPT_HELP}, {NULL, false, 0}};
  struct zinst_arg_parser parser;
  zinst_args_init(&parser, "dump", argc, argv);
  const char *path = NULL;
  const char *value;
  int id;
  while ((id = zinst_args_next(&parser, specs, &value)) != ZINST_ARG_END) {
    if (id == ZINST_ARG_ERROR)
      return ZINST_EXIT_USAGE;
    if (id == OPT_HELP) {
      fputs(help_text, stdout);
      return ZINST_EXIT_OK;
    }
    if (zinst_take_profile_argument("dump", &path, value) != ZINST_EXIT_OK)
      return ZINST_EXIT_USAGE;
  }
  if (!path)
    return zinst_usage_error("dump", "missing PROFILE");

  void *data;
  size_t size;
  char message[1024];
  const char *real_path = strcmp(path, "-") == 0 ? "/dev/stdin" : path;
  if (zinst_read_file(real_path, &data, &size, message, sizeof message) != 0) {
    fprintf(stderr, "zinst: %s\n", message);
    return ZINST_EXIT_FAILURE;
  }
  struct zinst_profile profile;
  if (zinst_profile_parse(data, size, &profile, message, sizeof message) != 0) {
    fprintf(stderr, "zinst: %s: %s\n", path, message);
    free(data);
    return ZINST_EXIT_FAILURE;
  }
  printf("file: %s (%zu bytes)\n", path, size);
  dump_header(stdout, &profile);
  dump_sections(stdout, data, &profile.header);
  dump_process(stdout, &profile);
  dump_records(stdout, &profile);
  free(data);
  zinst_profile_free(&profile);
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "zinst dump: output error\n");
    return ZINST_EXIT_FAILURE;
  }
  return ZINST_EXIT_OK;
}
