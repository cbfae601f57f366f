// An exception that unwinds through a frame with a cleanup leaves through
// `resume`: that frame's exit hook runs, and the frame that catches the
// exception exits normally later. Every enter is paired with an exit.
// RUN: %clang -O2 -c -I %zinst_runtime_dir %S/Inputs/stub_runtime.c -o %t.stub.o
// RUN: env ZINST_INLINE_TREE=0 %clang -x c++ -O2 -fpass-plugin=%plugin %s -x none %t.stub.o -lstdc++ -o %t.exe
// RUN: %t.exe | FileCheck %s

#include <cstdio>

struct Guard {
  int *counter;
  ~Guard() { ++*counter; }
};

__attribute__((noinline)) void thrower(int x) {
  if (x > 2)
    throw x;
}

// Has a landing pad that runs ~Guard and resumes: the exit before `resume`.
__attribute__((noinline)) void with_cleanup(int x, int *cleanups) {
  Guard g{cleanups};
  thrower(x);
}

// Catches: continues in the function and returns normally.
__attribute__((noinline)) int catcher(int x, int *cleanups) {
  try {
    with_cleanup(x, cleanups);
  } catch (int) {
    return 1;
  }
  return 0;
}

int main() {
  int cleanups = 0, caught = 0;
  for (int i = 0; i < 6; ++i)
    caught += catcher(i, &cleanups);
  std::printf("caught=%d cleanups=%d\n", caught, cleanups);
  return 0;
}

// thrower's exception leaves it with no landing pad: no hook runs, and three
// of its frames stay open (the real runtime closes them by stack pointer;
// the stub only counts).
// CHECK: register functions=4
// CHECK-NEXT: caught=3 cleanups=6
// CHECK-NEXT: thrower(int)|_Z7throweri|{{.*}}|enter=6|exit=3
// CHECK-NEXT: with_cleanup(int, int*)|_Z12with_cleanupiPi|{{.*}}|enter=6|exit=6
// CHECK-NEXT: catcher(int, int*)|_Z7catcheriPi|{{.*}}|enter=6|exit=6
// CHECK-NEXT: main|main|{{.*}}|enter=1|exit=1
// The call sites (0x14: never inlined, counted) and the destructor inlined
// twice into with_cleanup (0x19: inlined by cost, counted), once on the
// normal path and once in the landing pad: 3 + 3 = 6 cleanups. No -g, so no
// source positions. with_cleanup calls nothing but thrower: that site's
// count is the tree's (0x800), with no counter, and stays exact when the
// call throws.
// CHECK-NEXT: site with_cleanup(int, int*)->thrower(int) at 0:0 flags=0x814 count=6
// CHECK-NEXT: site with_cleanup(int, int*)->Guard::~Guard() at 0:0 flags=0x19 count=3
// CHECK-NEXT: site with_cleanup(int, int*)->Guard::~Guard() at 0:0 flags=0x19 count=3
// CHECK-NEXT: site catcher(int, int*)->with_cleanup(int, int*) at 0:0 flags=0x14 count=6
// CHECK-NEXT: site main->catcher(int, int*) at 0:0 flags=0x14 count=6
// Calls of functions defined elsewhere (the C++ runtime, libc), counted as
// call sites (0x10); std::printf is printf.
// CHECK-NEXT: site thrower(int)->__cxa_allocate_exception at 0:0 flags=0x10 count=3
// CHECK-NEXT: site thrower(int)->__cxa_throw at 0:0 flags=0x10 count=3
// CHECK-NEXT: site catcher(int, int*)->__cxa_begin_catch at 0:0 flags=0x10 count=3
// CHECK-NEXT: site catcher(int, int*)->__cxa_end_catch at 0:0 flags=0x10 count=3
// CHECK-NEXT: site main->printf at 0:0 flags=0x10 count=1
// CHECK-NEXT: unregister depth=3
