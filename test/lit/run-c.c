// An instrumented program runs, registers its module before main, pairs
// every enter with an exit (tail calls, recursion, several returns), and
// unregisters after main. The hooks are a stub runtime (Inputs/).
// RUN: %clang -O2 -c -I %zinst_runtime_dir %S/Inputs/stub_runtime.c -o %t.stub.o
// RUN: env ZINST_INLINE_TREE=0 %clang -O2 -g -fpass-plugin=%plugin %s %t.stub.o -o %t.exe
// RUN: %t.exe | FileCheck %s -DSRC=%s
// RUN: env ZINST_INLINE_TREE=0 %clang -O0 -fpass-plugin=%plugin %s %t.stub.o -o %t.O0.exe
// RUN: %t.O0.exe | FileCheck %s --check-prefix=O0 -DSRC=%s

#include <stdio.h>

__attribute__((noinline)) int leaf(int x) { return x + 1; }

// Tail call in tail position (a sibling call at -O2).
__attribute__((noinline)) int forward(int x) { return leaf(x * 2); }

__attribute__((noinline)) int recurse(int n) {
  if (n <= 0)
    return 0;
  return 1 + recurse(n - 1);
}

__attribute__((noinline)) int pick(int x) {
  if (x & 1)
    return forward(x);
  return leaf(x);
}

int main(void) {
  int total = 0;
  for (int i = 0; i < 10; ++i)
    total += pick(i);
  total += recurse(5);
  printf("total=%d\n", total);
  return 0;
}

// CHECK: register functions=5 source=[[SRC]]
// CHECK-NEXT: total=
// CHECK-NEXT: leaf|leaf|[[SRC]]:12|flags=1|enter=10|exit=10
// CHECK-NEXT: forward|forward|[[SRC]]:15|flags=1|enter=5|exit=5
// At -O2 the optimizer turned the recursion into a loop before the pass
// ran: one real call. At -O0 all six calls are real.
// CHECK-NEXT: recurse|recurse|[[SRC]]:17|flags=1|enter=1|exit=1
// CHECK-NEXT: pick|pick|[[SRC]]:23|flags=1|enter=10|exit=10
// CHECK-NEXT: main|main|[[SRC]]:29|flags=1|enter=1|exit=1
// Then every call site the inliner decided about, with its call count
// (0x34: never inlined, counted, debug location). The recursive call became
// a loop: its decision is kept, uncounted (0x24).
// CHECK-NEXT: site forward->leaf at 15:55 flags=0x34 count=5
// CHECK-NEXT: site recurse->recurse at 20:14 flags=0x24 count=0
// pick's calls of forward are the tree's forward-under-pick calls: pick
// calls nothing else but leaf, which calls nothing; so the site has no
// counter and its count is the tree's (0x800). Not so its call of leaf:
// forward's sibling call runs leaf in pick's context too.
// CHECK-NEXT: site pick->forward at 25:12 flags=0x834 count=5
// CHECK-NEXT: site pick->leaf at 26:10 flags=0x34 count=5
// CHECK-NEXT: site main->recurse at 33:12 flags=0x34 count=1
// CHECK-NEXT: site main->pick at 32:14 flags=0x34 count=10
// A call the inliner could not consider (its definition is in libc) is a
// counted call site too (0x30).
// CHECK-NEXT: site main->printf at 34:3 flags=0x30 count=1
// CHECK-NEXT: unregister depth=0

// O0: register functions=5 source=[[SRC]]
// O0: leaf|leaf|[[SRC]]:0|flags=0|enter=10|exit=10
// O0: recurse|recurse|[[SRC]]:0|flags=0|enter=6|exit=6
// O0: unregister depth=0
