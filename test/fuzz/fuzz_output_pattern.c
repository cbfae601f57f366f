/*
 * fuzz_output_pattern.c - libFuzzer target for the runtime's expansion of
 * ZINST_OUTPUT patterns (%p %h %e %%): any pattern, any output size, never
 * a write past the buffer, a result that always fits or a clear error.
 */
#include "profile_output.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  /* First byte: the output buffer's size; the rest: the pattern. */
  size_t outlen = data[0];
  char *pattern = malloc(size);
  if (!pattern)
    return 0;
  memcpy(pattern, data + 1, size - 1);
  pattern[size - 1] = '\0';
  char *out = malloc(outlen ? outlen : 1);
  char err[256];
  if (out && zinst_expand_output_pattern(pattern, out, outlen, err, sizeof err) == 0) {
    if (strlen(out) >= outlen) /* a success always fits, NUL included */
      abort();
  }
  free(out);
  free(pattern);
  return 0;
}
