/*
 * json_writer.h - a small streaming JSON writer.
 *
 * The writer tracks nesting and commas; callers emit keys and values in
 * order. Strings are escaped per RFC 8259: quote, backslash and control
 * characters are escaped, valid UTF-8 passes through unchanged, and bytes
 * that are not valid UTF-8 become U+FFFD so the output is always valid JSON
 * whatever a profile's strings hold.
 */
#ifndef ZINST_JSON_WRITER_H
#define ZINST_JSON_WRITER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct zinst_json {
  FILE *out;         /* borrowed, not closed */
  uint32_t depth;    /* open containers */
  bool after_key;    /* the next value follows "key": on the same line */
  bool *has_items;   /* owned; per open container: has it a member yet? */
  uint32_t capacity; /* entries in has_items */
  bool failed;       /* out of memory: output after that point is invalid */
};

/* Start writing to `out` (borrowed for the writer's lifetime). */
void zinst_json_init(struct zinst_json *json, FILE *out);

/* Release the nesting stack. Returns -1 if the output is incomplete (out of
 * memory, containers left open, or a write error on `out`), else 0. */
int zinst_json_finish(struct zinst_json *json);

void zinst_json_begin_object(struct zinst_json *json);
void zinst_json_end_object(struct zinst_json *json);
void zinst_json_begin_array(struct zinst_json *json);
void zinst_json_end_array(struct zinst_json *json);
/* The key of the next member of the current object. */
void zinst_json_key(struct zinst_json *json, const char *key);
void zinst_json_string(struct zinst_json *json, const char *value);
void zinst_json_uint(struct zinst_json *json, uint64_t value);
/* Finite values as numbers with up to 6 decimals; NaN and infinities as null. */
void zinst_json_double(struct zinst_json *json, double value);
void zinst_json_null(struct zinst_json *json);
void zinst_json_bool(struct zinst_json *json, bool value);

/* Write `text` as a JSON string literal (with quotes) to `out`. */
void zinst_json_write_string(FILE *out, const char *text);

#endif /* ZINST_JSON_WRITER_H */
