/*
 * fuzz_reader.c - libFuzzer target for everything that reads a profile.
 *
 * Any byte string goes through zinst_profile_parse(); what it accepts must
 * also survive the analyses every command runs on it (the merged call tree,
 * per-thread trees, the flat profile). Built with ASan and UBSan, so a read
 * out of bounds or undefined arithmetic is a crash the fuzzer keeps.
 */
#include "profile_model.h"
#include "profile_reader.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Parses `data` and runs the analyses on what is accepted. */
static void parse_and_analyze(const uint8_t *data, size_t size) {
  struct zinst_profile profile;
  char err[512];
  if (zinst_profile_parse(data, size, &profile, err, sizeof err) != 0)
    return;
  struct zinst_call_tree tree;
  if (zinst_call_tree_build(&profile, NULL, 0, ZINST_TIMES_CORRECTED, &tree) == 0) {
    struct zinst_flat_profile flat;
    if (zinst_flat_profile_build(&tree, profile.function_count, &flat) == 0)
      zinst_flat_profile_free(&flat);
    zinst_call_tree_free(&tree);
  }
  for (uint32_t t = 0; t < profile.thread_count; t++) {
    if (zinst_call_tree_build(&profile, &t, 1, ZINST_TIMES_RAW, &tree) == 0)
      zinst_call_tree_free(&tree);
  }
  /* Sites: inlined code placed on the tree (what tree and flame show) and
   * the count-only functions (what report lists), over every thread. */
  uint32_t *threads = malloc((profile.thread_count ? profile.thread_count : 1) * sizeof *threads);
  if (threads) {
    for (uint32_t t = 0; t < profile.thread_count; t++)
      threads[t] = t;
    struct zinst_shown_tree shown;
    if (zinst_shown_tree_build(&profile, threads, profile.thread_count, true, ZINST_TIMES_CORRECTED,
                               &shown) == 0)
      zinst_shown_tree_free(&shown);
    uint64_t *counts = zinst_site_counts_sum(&profile, threads, profile.thread_count);
    struct zinst_count_only_function *count_only;
    uint32_t count_only_count;
    if (counts && zinst_count_only_functions(&profile, counts, &count_only, &count_only_count) == 0)
      free(count_only);
    free(counts);
    free(threads);
  }
  for (uint32_t s = 0; s < profile.function_count; s++)
    (void)zinst_profile_string(&profile, profile.functions[s].name);
  zinst_profile_free(&profile);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  parse_and_analyze(data, size);
  /* Nearly every mutation breaks the checksum, which the reader checks
   * before the structure: parse a copy whose header agrees with its size
   * and contents too, so that the structural checks and the analyses are
   * what the fuzzer explores. */
  if (size < sizeof(struct zinst_file_header))
    return 0;
  uint8_t *copy = malloc(size);
  if (!copy)
    return 0;
  memcpy(copy, data, size);
  struct zinst_file_header header;
  memcpy(&header, copy, sizeof header);
  header.file_size = size;
  memcpy(copy, &header, sizeof header);
  header.checksum = zinst_profile_checksum(copy, size);
  memcpy(copy, &header, sizeof header);
  parse_and_analyze(copy, size);
  free(copy);
  return 0;
}
