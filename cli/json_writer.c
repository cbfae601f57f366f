/*
 * json_writer.c - indented JSON output, two spaces per level.
 */
#include "json_writer.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

void zinst_json_init(struct zinst_json *json, FILE *out) {
  *json = (struct zinst_json){.out = out};
}

int zinst_json_finish(struct zinst_json *json) {
  const int status = json->failed || json->depth != 0 || ferror(json->out) ? -1 : 0;
  free(json->has_items);
  json->has_items = NULL;
  json->capacity = 0;
  return status;
}

static void indent(struct zinst_json *json) {
  fputc('\n', json->out);
  for (uint32_t i = 0; i < json->depth; i++)
    fputs("  ", json->out);
}

/* Separator and indentation before a value or a key. */
static void before_item(struct zinst_json *json) {
  if (json->after_key) {
    json->after_key = false;
    return;
  }
  if (json->depth == 0)
    return;
  if (json->failed)
    return;
  bool *has_items = &json->has_items[json->depth];
  if (*has_items)
    fputc(',', json->out);
  *has_items = true;
  indent(json);
}

static void open_container(struct zinst_json *json, char bracket) {
  before_item(json);
  fputc(bracket, json->out);
  if (json->failed)
    return;
  if (json->depth + 1 >= json->capacity) {
    const uint32_t capacity = json->capacity ? json->capacity * 2 : 32;
    bool *grown = realloc(json->has_items, capacity * sizeof *grown);
    if (!grown) {
      json->failed = true;
      return;
    }
    json->has_items = grown;
    json->capacity = capacity;
  }
  json->depth++;
  json->has_items[json->depth] = false;
}

static void close_container(struct zinst_json *json, char bracket) {
  if (json->depth == 0 || json->failed)
    return;
  const bool had_items = json->has_items[json->depth];
  json->depth--;
  if (had_items)
    indent(json);
  fputc(bracket, json->out);
  if (json->depth == 0)
    fputc('\n', json->out);
}

void zinst_json_begin_object(struct zinst_json *json) {
  open_container(json, '{');
}
void zinst_json_end_object(struct zinst_json *json) {
  close_container(json, '}');
}
void zinst_json_begin_array(struct zinst_json *json) {
  open_container(json, '[');
}
void zinst_json_end_array(struct zinst_json *json) {
  close_container(json, ']');
}

void zinst_json_key(struct zinst_json *json, const char *key) {
  before_item(json);
  zinst_json_write_string(json->out, key);
  fputs(": ", json->out);
  json->after_key = true;
}

void zinst_json_string(struct zinst_json *json, const char *value) {
  before_item(json);
  zinst_json_write_string(json->out, value);
}

void zinst_json_uint(struct zinst_json *json, uint64_t value) {
  before_item(json);
  fprintf(json->out, "%" PRIu64, value);
}

void zinst_json_double(struct zinst_json *json, double value) {
  before_item(json);
  if (!isfinite(value)) {
    fputs("null", json->out);
    return;
  }
  /* %.6f then trim trailing zeros: 12.5 rather than 12.500000. */
  char text[64];
  int length = snprintf(text, sizeof text, "%.6f", value);
  if (length > 0 && length < (int)sizeof text) {
    while (length > 1 && text[length - 1] == '0')
      length--;
    if (text[length - 1] == '.')
      length--;
    text[length] = '\0';
  }
  fputs(text, json->out);
}

void zinst_json_null(struct zinst_json *json) {
  before_item(json);
  fputs("null", json->out);
}

void zinst_json_bool(struct zinst_json *json, bool value) {
  before_item(json);
  fputs(value ? "true" : "false", json->out);
}

/* Length of the valid UTF-8 sequence at `s`, or 0 if it is not valid
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static int utf8_sequence_length(const unsigned char *s) {
  const unsigned char c = s[0];
  int length;
  uint32_t code_point;
  if (c >= 0xc2 && c <= 0xdf) {
    length = 2;
    code_point = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    length = 3;
    code_point = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    length = 4;
    code_point = c & 0x07;
  } else {
    return 0;
  }
  for (int i = 1; i < length; i++) {
    if ((s[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
      return 0;
    code_point = (code_point << 6) | (s[i] & 0x3f);
  }
  if ((length == 3 && code_point < 0x800) || (length == 4 && code_point < 0x10000) ||
      (code_point >= 0xd800 && code_point <= 0xdfff) || code_point > 0x10ffff)
    return 0;
  return length;
}

void zinst_json_write_string(FILE *out, const char *text) {
  const unsigned char *s = (const unsigned char *)text;
  fputc('"', out);
  while (*s) {
    const unsigned char c = *s;
    if (c == '"' || c == '\\') {
      fputc('\\', out);
      fputc(c, out);
      s++;
    } else if (c < 0x20) {
      switch (c) {
      case '\n':
        fputs("\\n", out);
        break;
      case '\t':
        fputs("\\t", out);
        break;
      case '\r':
        fputs("\\r", out);
        break;
      case '\b':
        fputs("\\b", out);
        break;
      case '\f':
        fputs("\\f", out);
        break;
      default:
        fprintf(out, "\\u%04x", c);
      }
      s++;
    } else if (c < 0x80) {
      fputc(c, out);
      s++;
    } else {
      const int length = utf8_sequence_length(s);
      if (length == 0) {
        fputs("\\ufffd", out);
        s++;
      } else {
        fwrite(s, 1, (size_t)length, out);
        s += length;
      }
    }
  }
  fputc('"', out);
}
