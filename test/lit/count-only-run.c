// A count-only function (ZINST_COUNT_ONLY) runs without hooks: the stub
// runtime (Inputs/) sees no enter/exit for it and no row in the function
// table, and its entry site (flags 0x430: ENTRY | COUNTED | DEBUG; 0x410
// without -g) counts every call from anywhere, through a function pointer
// and recursion included.
// RUN: %clang -O2 -c -I %zinst_runtime_dir %S/Inputs/stub_runtime.c -o %t.stub.o
// RUN: env ZINST_COUNT_ONLY='leaf,count_down' \
// RUN:   env ZINST_INLINE_TREE=0 %clang -O2 -g -fpass-plugin=%plugin %s %t.stub.o -o %t.exe
// RUN: %t.exe | FileCheck %s -DSRC=%s
// RUN: env ZINST_COUNT_ONLY='leaf,count_down' \
// RUN:   env ZINST_INLINE_TREE=0 %clang -O0 -fpass-plugin=%plugin %s %t.stub.o -o %t.O0.exe
// RUN: %t.O0.exe | FileCheck %s --check-prefix=O0

#include <stdio.h>

__attribute__((noinline)) int leaf(int x) { return x * 3 + 1; }

// Recursion the optimizer cannot turn into a loop (two calls, neither
// result returned as it is or accumulated).
__attribute__((noinline)) int count_down(int n) {
  if (n <= 0)
    return 1;
  return 2 * count_down(n - 1) - 3 * count_down(n - 2);
}

__attribute__((noinline)) int twice(int x) { return leaf(x) + leaf(x + 1); }

int (*volatile indirect)(int) = leaf;

int main(void) {
  int total = 0;
  for (int i = 0; i < 10; ++i)
    total += twice(i) + indirect(i);
  total += count_down(5);
  printf("total=%d\n", total);
  return 0;
}

// 2 hooked functions; leaf: 10 x 2 from twice + 10 through the pointer;
// count_down(5): 2 * fib(7) - 1 = 25 calls.
// CHECK: register functions=2 source=[[SRC]]
// CHECK-NEXT: total=
// CHECK-NEXT: twice|twice|[[SRC]]:26|flags=1|enter=10|exit=10
// CHECK-NEXT: main|main|[[SRC]]:30|flags=1|enter=1|exit=1
// CHECK-DAG: site leaf->leaf at 16:0 flags=0x430 count=30
// CHECK-DAG: site count_down->count_down at 20:0 flags=0x430 count=25
// CHECK: unregister depth=0

// O0: register functions=2
// O0-DAG: site leaf->leaf at 0:0 flags=0x410 count=30
// O0-DAG: site count_down->count_down at 0:0 flags=0x410 count=25
// O0: unregister depth=0
