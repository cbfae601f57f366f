/*
 * units.h - human-readable numbers for tables: counts with K/M/G suffixes,
 * durations in ns/us/ms/s, percentages. Three significant digits above the
 * exact range, so columns stay narrow and comparable.
 */
#ifndef ZINST_UNITS_H
#define ZINST_UNITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Large enough for every string these functions produce. */
#define ZINST_UNIT_BUFFER 32

/*
 * `count` exact below 10000 ("9999"), then three significant digits with a
 * decimal suffix: "10.0K", "123K", "1.23M", ... up to "18.4E". Writes into
 * `buf` (caller-owned, `size` bytes, ZINST_UNIT_BUFFER suffices) and returns it.
 */
const char *zinst_format_count(uint64_t count, char *buf, size_t size);

/*
 * A duration of `ns` nanoseconds: "812 ns", "3.40 us", "1.23 ms", "4.56 s",
 * seconds beyond 1000 as "1234 s". Negative or NaN input gives "-".
 * Writes into `buf` and returns it.
 */
const char *zinst_format_duration(double ns, char *buf, size_t size);

/*
 * A size of `bytes`: exact below 10000 ("812 B", "9999 B"), then three
 * significant digits in binary units: "10.0 KiB", "1.23 MiB", ... "16.0 EiB".
 * Writes into `buf` and returns it.
 */
const char *zinst_format_bytes(uint64_t bytes, char *buf, size_t size);

/* `percent` with one decimal: "12.3%", "100.0%", "0.0%". Writes into `buf`, returns it. */
const char *zinst_format_percent(double percent, char *buf, size_t size);

/*
 * The 95% interval (1.96 standard errors) of an estimated total as a share
 * of it: "±0.4%", "±12%", "±<0.1%"; "exact" when `error` is 0; "±?" when the
 * total is 0 but not its error. Writes into `buf` and returns it.
 */
const char *zinst_format_error(uint64_t error, uint64_t total, bool all_timed, char *buf,
                               size_t size);

#endif /* ZINST_UNITS_H */
