/*
 * test_helpers.h - minimal checking macros for the C unit tests: a failed
 * check prints where and what, and the test exits non-zero at the end.
 */
#ifndef ZINST_TEST_HELPERS_H
#define ZINST_TEST_HELPERS_H

#include <stdio.h>
#include <string.h>

static int test_failures;

#define CHECK(condition)                                                                           \
  do {                                                                                             \
    if (!(condition)) {                                                                            \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition);                \
      test_failures++;                                                                             \
    }                                                                                              \
  } while (0)

#define CHECK_EQ_U64(actual, expected)                                                             \
  do {                                                                                             \
    const unsigned long long actual_value = (actual), expected_value = (expected);                 \
    if (actual_value != expected_value) {                                                          \
      fprintf(stderr, "%s:%d: %s is %llu, expected %llu\n", __FILE__, __LINE__, #actual,           \
              actual_value, expected_value);                                                       \
      test_failures++;                                                                             \
    }                                                                                              \
  } while (0)

#define CHECK_STR(actual, expected)                                                                \
  do {                                                                                             \
    const char *actual_text = (actual), *expected_text = (expected);                               \
    if (strcmp(actual_text, expected_text) != 0) {                                                 \
      fprintf(stderr, "%s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #actual,       \
              actual_text, expected_text);                                                         \
      test_failures++;                                                                             \
    }                                                                                              \
  } while (0)

#define TEST_RESULT()                                                                              \
  (test_failures ? (fprintf(stderr, "%d check(s) failed\n", test_failures), 1)                     \
                 : (printf("all checks passed\n"), 0))

#endif /* ZINST_TEST_HELPERS_H */
