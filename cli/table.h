/*
 * table.h - aligned text tables.
 *
 * Cells are copied in; widths are computed when the table is printed, so a
 * column is exactly as wide as its widest cell (or its cap). The last column
 * is never padded: put free-length text such as function names there.
 */
#ifndef ZINST_TABLE_H
#define ZINST_TABLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define ZINST_TABLE_MAX_COLUMNS 16

struct zinst_table { /* owns cells */
  uint32_t columns;
  const char *headers[ZINST_TABLE_MAX_COLUMNS]; /* borrowed; NULL = no header line */
  bool right_aligned[ZINST_TABLE_MAX_COLUMNS];
  uint32_t max_width[ZINST_TABLE_MAX_COLUMNS]; /* 0 = no cap; longer cells overflow */
  char **cells;                                /* rows * columns strings, row-major */
  uint32_t rows;
  uint32_t capacity; /* rows allocated */
  bool failed;       /* out of memory: rows were lost */
};

/*
 * Start a table of `columns` (<= ZINST_TABLE_MAX_COLUMNS) columns. `headers`
 * (borrowed, must outlive the table) may be NULL for no header line;
 * `alignment` has one character per column, 'l' or 'r'.
 */
void zinst_table_init(struct zinst_table *table, uint32_t columns, const char *const *headers,
                      const char *alignment);

/* Append a row; `cells` holds `columns` strings, copied. Returns 0 or -1 (out of memory). */
int zinst_table_add_row(struct zinst_table *table, const char *const *cells);

/* Print header and rows, two spaces between columns. Returns -1 if rows were lost. */
int zinst_table_print(const struct zinst_table *table, FILE *out);

/* Release every cell and zero the table. */
void zinst_table_free(struct zinst_table *table);

#endif /* ZINST_TABLE_H */
