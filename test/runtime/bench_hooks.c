/*
 * bench_hooks.c - cost of the hooks per instrumented call on a call-dense
 * recursion (fib). Runs fib without hooks, then with hooks in the mode given
 * by ZINST_MODE, several times each interleaved, and prints the medians:
 *
 *   taskset -c 1 bench_hooks [n]                  time mode, sampled (R = 16)
 *   ZINST_SAMPLE=1 taskset -c 1 bench_hooks [n]   time mode, every activation timed
 *   ZINST_MODE=count taskset -c 1 bench_hooks [n]
 */
#include "cycle_counter.h"
#include "zinst.h"
#include "zinst_abi.h"

#include <stdio.h>
#include <stdlib.h>

static const struct zinst_function_info functions[1] = {{"fib", "fib", "bench.c", 1, 0}};
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, 1, functions, "bench.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

__attribute__((noinline)) static long fib_plain(int n) {
  __asm__ __volatile__("" ::: "memory"); /* keep the calls real */
  return n < 2 ? n : fib_plain(n - 1) + fib_plain(n - 2);
}

/* The canonical frame address the pass passes the hooks (pass/
 * FunctionInstrumenter.cpp): on x86-64 the address of the return address
 * slot, which clang spells _AddressOfReturnAddress under -fms-extensions;
 * on AArch64 the stack pointer at entry. */
#if defined(__x86_64__)
void *_AddressOfReturnAddress(void);
#define FRAME_ADDRESS() _AddressOfReturnAddress()
#elif defined(__aarch64__)
#define FRAME_ADDRESS() __builtin_sponentry()
#else
#error "zinst's hooks support x86-64 and AArch64"
#endif

__attribute__((noinline)) static long fib_hooked(int n) {
  __zinst_enter(&module, 0, FRAME_ADDRESS());
  long result = n < 2 ? n : fib_hooked(n - 1) + fib_hooked(n - 2);
  __zinst_exit(&module, 0, FRAME_ADDRESS());
  return result;
}

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

enum { RUNS = 9 };

int main(int argc, char **argv) {
  zinst_disable_exit_dump();
  int n = argc > 1 ? atoi(argv[1]) : 30;
  double calls = 0;
  for (long a = 0, b = 1, i = 0; i <= n; i++) { /* fib calls: 2 fib(n+1) - 1 */
    calls = 2.0 * (double)b - 1;
    long next = a + b;
    a = b;
    b = next;
  }
  double plain[RUNS], hooked[RUNS];
  volatile long result = 0;
  for (int run = 0; run < RUNS; run++) {
    uint64_t t0 = zinst_monotonic_ns();
    result += fib_plain(n);
    uint64_t t1 = zinst_monotonic_ns();
    result += fib_hooked(n);
    uint64_t t2 = zinst_monotonic_ns();
    plain[run] = (double)(t1 - t0) / calls;
    hooked[run] = (double)(t2 - t1) / calls;
  }
  qsort(plain, RUNS, sizeof *plain, compare);
  qsort(hooked, RUNS, sizeof *hooked, compare);
  const char *mode = getenv("ZINST_MODE");
  const char *sample = getenv("ZINST_SAMPLE");
  printf("fib(%d), %.0f calls, mode %s (ZINST_SAMPLE=%s): plain %.2f ns/call, hooked %.2f ns/call, "
         "added %.2f "
         "ns/call (medians of %d)\n",
         n, calls, mode ? mode : "time", sample ? sample : "default", plain[RUNS / 2],
         hooked[RUNS / 2], hooked[RUNS / 2] - plain[RUNS / 2], RUNS);
  return result == 0;
}
