/*
 * units.c - human units. The thresholds are chosen on the rounded value, so
 * 999.96 ns prints as "1.00 us", never "1000 ns", and 99999 as "100K".
 */
#include "units.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>

/* Three significant digits of `value` in [1, 1000): "1.23", "12.3", "123". */
static int three_digits(char *buf, size_t size, double value, const char *suffix) {
  if (value < 9.995)
    return snprintf(buf, size, "%.2f%s", value, suffix);
  if (value < 99.95)
    return snprintf(buf, size, "%.1f%s", value, suffix);
  return snprintf(buf, size, "%.0f%s", value, suffix);
}

const char *zinst_format_count(uint64_t count, char *buf, size_t size) {
  if (count < 10000) {
    snprintf(buf, size, "%" PRIu64, count);
    return buf;
  }
  static const char *const suffixes[] = {"K", "M", "G", "T", "P", "E"};
  double value = (double)count;
  size_t unit = 0;
  value /= 1000.0;
  /* Move up while the value would round to 1000 or more in this unit. */
  while (value >= 999.5 && unit + 1 < sizeof suffixes / sizeof suffixes[0]) {
    value /= 1000.0;
    unit++;
  }
  three_digits(buf, size, value, suffixes[unit]);
  return buf;
}

const char *zinst_format_duration(double ns, char *buf, size_t size) {
  if (isnan(ns) || ns < 0) {
    snprintf(buf, size, "-");
    return buf;
  }
  if (ns < 999.5) {
    snprintf(buf, size, "%.0f ns", ns);
    return buf;
  }
  static const char *const units[] = {" us", " ms", " s"};
  double value = ns / 1000.0;
  size_t unit = 0;
  while (value >= 999.5 && unit + 1 < sizeof units / sizeof units[0]) {
    value /= 1000.0;
    unit++;
  }
  if (value >= 999.5) /* seconds: no larger unit */
    snprintf(buf, size, "%.0f%s", value, units[unit]);
  else
    three_digits(buf, size, value, units[unit]);
  return buf;
}

const char *zinst_format_bytes(uint64_t bytes, char *buf, size_t size) {
  if (bytes < 10000) {
    snprintf(buf, size, "%" PRIu64 " B", bytes);
    return buf;
  }
  static const char *const units[] = {" KiB", " MiB", " GiB", " TiB", " PiB", " EiB"};
  double value = (double)bytes / 1024.0;
  size_t unit = 0;
  while (value >= 999.5 && unit + 1 < sizeof units / sizeof units[0]) {
    value /= 1024.0;
    unit++;
  }
  three_digits(buf, size, value, units[unit]);
  return buf;
}

const char *zinst_format_percent(double percent, char *buf, size_t size) {
  if (isnan(percent))
    snprintf(buf, size, "-");
  else
    snprintf(buf, size, "%.1f%%", percent);
  return buf;
}

const char *zinst_format_error(uint64_t error, uint64_t total, bool all_timed, char *buf,
                               size_t size) {
  if (error == 0 && all_timed)
    snprintf(buf, size, "exact");
  else if (total == 0 || error == 0)
    snprintf(buf, size, "\u00b1?");
  else {
    const double percent = 196.0 * (double)error / (double)total;
    if (percent < 0.05)
      snprintf(buf, size, "\u00b1<0.1%%");
    else if (percent < 9.95)
      snprintf(buf, size, "\u00b1%.1f%%", percent);
    else
      snprintf(buf, size, "\u00b1%.0f%%", percent);
  }
  return buf;
}
