/*
 * profile_image.c - reader-form profile -> file bytes.
 */
#include "profile_image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef ZINST_RUNTIME_HEAP
#include "heap.h" /* the runtime's build (`%m` outputs): allocations safe in a signal handler */
#endif

enum { SECTION_COUNT = ZINST_IMAGE_SECTION_COUNT };

static uint64_t align8(uint64_t value) {
  return (value + 7) & ~(uint64_t)7;
}

int zinst_profile_image_build(const struct zinst_profile *p, void **image_out, size_t *size_out,
                              char *err, size_t errlen) {
  *image_out = NULL;
  *size_out = 0;
  struct zinst_section_entry sections[SECTION_COUNT] = {
      {ZINST_SECTION_STRINGS, 1, 0, 0, p->strings_size},
      {ZINST_SECTION_PROCESS, sizeof(struct zinst_process_record), 0, 0, 1},
      {ZINST_SECTION_MODULES, sizeof(struct zinst_module_record), 0, 0, p->module_count},
      {ZINST_SECTION_FUNCTIONS, sizeof(struct zinst_function_record), 0, 0, p->function_count},
      {ZINST_SECTION_THREADS, sizeof(struct zinst_thread_record), 0, 0, p->thread_count},
      {ZINST_SECTION_NODES, sizeof(struct zinst_node_record), 0, 0, p->node_count},
      {ZINST_SECTION_SITES, sizeof(struct zinst_site_record), 0, 0, p->site_count},
      {ZINST_SECTION_SITE_COUNTS, sizeof(struct zinst_site_count_record), 0, 0,
       p->site_count_count},
      {ZINST_SECTION_MEMORY, sizeof(struct zinst_memory_record), 0, 0, p->memory_count},
  };
  const void *payloads[SECTION_COUNT] = {p->strings,   &p->process,    p->modules,
                                         p->functions, p->threads,     p->nodes,
                                         p->sites,     p->site_counts, p->memory};
  const int section_count = p->has_memory ? SECTION_COUNT : SECTION_COUNT - 1;
  uint64_t offset = sizeof(struct zinst_file_header) +
                    (uint64_t)section_count * sizeof(struct zinst_section_entry);
  for (int i = 0; i < section_count; i++) {
    offset = align8(offset);
    sections[i].offset = offset;
    sections[i].size = sections[i].count * sections[i].entry_size;
    offset += sections[i].size;
  }
  const uint64_t file_size = offset;
  unsigned char *image = file_size <= SIZE_MAX ? calloc(1, (size_t)file_size) : NULL;
  if (!image) {
    snprintf(err, errlen, "out of memory for a %llu-byte profile", (unsigned long long)file_size);
    return -1;
  }
  for (int i = 0; i < section_count; i++)
    if (sections[i].size)
      memcpy(image + sections[i].offset, payloads[i], (size_t)sections[i].size);
  memcpy(image + sizeof(struct zinst_file_header), sections,
         (size_t)section_count * sizeof(struct zinst_section_entry));
  struct zinst_file_header header = {
      .version = ZINST_PROFILE_VERSION,
      .byte_order = ZINST_BYTE_ORDER_MARK,
      .header_size = sizeof header,
      .section_count = (uint32_t)section_count,
      .section_table_offset = sizeof header,
      .file_size = file_size,
      .minor = ZINST_PROFILE_MINOR,
  };
  memcpy(header.magic, ZINST_PROFILE_MAGIC, ZINST_PROFILE_MAGIC_SIZE);
  memcpy(image, &header, sizeof header);
  header.checksum = zinst_profile_checksum(image, file_size);
  memcpy(image, &header, sizeof header);

  /* What we write, we can read: checked by the reader itself. */
  struct zinst_profile check;
  char problem[512];
  if (zinst_profile_parse(image, (size_t)file_size, &check, problem, sizeof problem) != 0) {
    snprintf(err, errlen, "internal error, the profile built is invalid: %s", problem);
    free(image);
    return -1;
  }
  zinst_profile_free(&check);
  *image_out = image;
  *size_out = (size_t)file_size;
  return 0;
}
