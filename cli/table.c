/*
 * table.c - aligned text tables. Widths count bytes; names are ASCII in
 * practice, and a multi-byte name only shifts its own row's later columns.
 */
#include "table.h"

#include <stdlib.h>
#include <string.h>

void zinst_table_init(struct zinst_table *table, uint32_t columns, const char *const *headers,
                      const char *alignment) {
  memset(table, 0, sizeof *table);
  table->columns = columns > ZINST_TABLE_MAX_COLUMNS ? ZINST_TABLE_MAX_COLUMNS : columns;
  for (uint32_t c = 0; c < table->columns; c++) {
    table->headers[c] = headers ? headers[c] : NULL;
    table->right_aligned[c] = alignment && alignment[c] == 'r';
  }
}

int zinst_table_add_row(struct zinst_table *table, const char *const *cells) {
  if (table->rows == table->capacity) {
    const uint32_t capacity = table->capacity ? table->capacity * 2 : 64;
    char **grown = realloc(table->cells, (size_t)capacity * table->columns * sizeof *grown);
    if (!grown) {
      table->failed = true;
      return -1;
    }
    table->cells = grown;
    table->capacity = capacity;
  }
  char **row = &table->cells[(size_t)table->rows * table->columns];
  for (uint32_t c = 0; c < table->columns; c++) {
    row[c] = strdup(cells[c] ? cells[c] : "");
    if (!row[c]) {
      for (uint32_t k = 0; k < c; k++)
        free(row[k]);
      table->failed = true;
      return -1;
    }
  }
  table->rows++;
  return 0;
}

/* Columns `text` occupies: UTF-8 continuation bytes take none (cells such as
 * "\u00b10.4%" hold non-ASCII characters). */
static size_t display_width(const char *text) {
  size_t width = 0;
  for (const unsigned char *p = (const unsigned char *)text; *p; p++)
    if ((*p & 0xC0) != 0x80)
      width++;
  return width;
}

static void print_cell(FILE *out, const char *text, size_t width, bool right, bool last) {
  const size_t length = display_width(text);
  const size_t pad = length < width ? width - length : 0;
  if (right)
    fprintf(out, "%*s", (int)pad, "");
  fputs(text, out);
  if (!right && !last)
    fprintf(out, "%*s", (int)pad, "");
}

static void print_row(const struct zinst_table *table, FILE *out, const char *const *cells,
                      const size_t *width) {
  for (uint32_t c = 0; c < table->columns; c++) {
    const bool last = c + 1 == table->columns;
    print_cell(out, cells[c], width[c], table->right_aligned[c], last);
    if (!last)
      fputs("  ", out);
  }
  fputc('\n', out);
}

int zinst_table_print(const struct zinst_table *table, FILE *out) {
  size_t width[ZINST_TABLE_MAX_COLUMNS] = {0};
  bool has_header = false;
  for (uint32_t c = 0; c < table->columns; c++) {
    if (table->headers[c]) {
      has_header = true;
      width[c] = display_width(table->headers[c]);
    }
    for (uint32_t r = 0; r < table->rows; r++) {
      const size_t length = display_width(table->cells[(size_t)r * table->columns + c]);
      if (length > width[c] && (table->max_width[c] == 0 || length <= table->max_width[c]))
        width[c] = length;
    }
    if (table->max_width[c] && width[c] > table->max_width[c])
      width[c] = table->max_width[c];
  }
  if (has_header) {
    const char *headers[ZINST_TABLE_MAX_COLUMNS];
    for (uint32_t c = 0; c < table->columns; c++)
      headers[c] = table->headers[c] ? table->headers[c] : "";
    print_row(table, out, headers, width);
  }
  for (uint32_t r = 0; r < table->rows; r++)
    print_row(table, out, (const char *const *)&table->cells[(size_t)r * table->columns], width);
  return table->failed ? -1 : 0;
}

void zinst_table_free(struct zinst_table *table) {
  for (size_t i = 0; i < (size_t)table->rows * table->columns; i++)
    free(table->cells[i]);
  free(table->cells);
  memset(table, 0, sizeof *table);
}
