// Inlining decisions as zinst records them are the decisions clang makes,
// with the cost, threshold and reason of its own remarks, and the counters
// zinst adds change none of them: not the decision at the counted site, and
// not the later ones (mid's own cost when it is inlined into top, after sq
// and twice were inlined into it and counted there).
//
// 1. The remarks of a build with zinst equal those of a build without it.
// RUN: %clang -O2 -g -c %s -o /dev/null -Rpass=inline -Rpass-missed=inline 2> %t.plain.txt
// RUN: %clang -O2 -c -I %zinst_runtime_dir %S/Inputs/stub_runtime.c -o %t.stub.o
// RUN: env ZINST_INLINE_TREE=0 %clang -O2 -g -fpass-plugin=%plugin %s %t.stub.o -o %t.exe -Rpass=inline -Rpass-missed=inline 2> %t.zinst.txt
// RUN: diff %t.plain.txt %t.zinst.txt
//
// 2. The recorded decisions (printed by the stub runtime at exit, with each
// site's count) carry the numbers of those remarks: FileCheck reads the
// remarks first and captures cost and threshold, then checks the sites.
// RUN: env STUB_SITE_DECISIONS=1 %t.exe > %t.sites.txt
// RUN: cat %t.plain.txt %t.sites.txt | FileCheck %s
//
// 3. With the off switch, the object code is the plain build's, byte for byte.
// RUN: %clang -O2 -g -c %s -o %t.plain.o
// RUN: env ZINST_DISABLE=1 env ZINST_INLINE_TREE=0 %clang -O2 -g -c -fpass-plugin=%plugin %s -o %t.off.o
// RUN: cmp %t.plain.o %t.off.o

#include <stdio.h>

static int sq(int x) { return x * x; }
__attribute__((noinline)) static int cube(int x) { return x * x * x; }
static inline __attribute__((always_inline)) int twice(int x) { return 2 * x; }
static int heavy(int x) {
  int s = 0;
  for (int i = 0; i < x; i++)
    s += (i * x ^ (s >> 3)) * 7 + (i % 13) * (s / 5) - (x | i) % 17 + (s ^ i) / 9 + (s + i) % 23 +
         (i * s) % 31 + (x * s) % 37 + (i - s) % 41 + (s * 3 + i) % 43 + (i * i + s) % 47;
  return s;
}
static int mid(int x) { return sq(x) + twice(x) + 1; }
int top(int x) { return mid(x) + mid(x + 1); }
void squares(int *out, const int *in, int n) {
  for (int i = 0; i < n; i++)
    out[i] = sq(in[i]);
}
int unrolled(int x) {
  int s = 0;
  for (int i = 0; i < 8; i++)
    s += twice(x + i);
  return s;
}
int main(int argc, char **argv) {
  (void)argv;
  enum { N = 1003 };
  static int in[N], out[N];
  for (int i = 0; i < N; i++)
    in[i] = i + argc;
  squares(out, in, N);
  int total = out[N - 1];
  for (int i = 0; i < 10; i++)
    total += top(i) + cube(i) + heavy(i + argc) + heavy(i + 2) + unrolled(i);
  printf("total=%d\n", total);
  return 0;
}

// The remarks, in clang's order.
// CHECK: remark: 'twice' inlined into 'mid' with (cost=always): always inline attribute
// CHECK: remark: 'twice' inlined into 'unrolled' with (cost=always): always inline attribute
// CHECK: remark: 'sq' inlined into 'mid' with (cost=[[SQ_MID_COST:-?[0-9]+]], threshold=[[SQ_MID_T:[0-9]+]])
// CHECK: remark: 'mid' inlined into 'top' with (cost=[[MID1_COST:-?[0-9]+]], threshold=[[MID1_T:[0-9]+]])
// CHECK: remark: 'mid' inlined into 'top' with (cost=[[MID2_COST:-?[0-9]+]], threshold=[[MID2_T:[0-9]+]])
// CHECK: remark: 'sq' inlined into 'squares' with (cost=[[SQ_SQUARES_COST:-?[0-9]+]], threshold=[[SQ_SQUARES_T:[0-9]+]])
// CHECK: remark: 'squares' inlined into 'main' with (cost=[[SQUARES_COST:-?[0-9]+]], threshold=[[SQUARES_T:[0-9]+]])
// CHECK: remark: 'top' inlined into 'main' with (cost=[[TOP_COST:-?[0-9]+]], threshold=[[TOP_T:[0-9]+]])
// CHECK: remark: 'cube' not inlined into 'main' because it should never be inlined (cost=never): noinline function attribute
// CHECK: remark: 'heavy' inlined into 'main' with (cost=[[HEAVY1_COST:-?[0-9]+]], threshold=[[HEAVY1_T:[0-9]+]])
// CHECK: remark: 'heavy' inlined into 'main' with (cost=[[HEAVY2_COST:-?[0-9]+]], threshold=[[HEAVY2_T:[0-9]+]])
// CHECK: remark: 'unrolled' inlined into 'main' with (cost=[[UNROLLED_COST:-?[0-9]+]], threshold=[[UNROLLED_T:[0-9]+]])

// The sites, with the same numbers and exact counts. Flags: 0x1 inlined, 0x2
// always-inline rule, 0x4 never, 0x8 cost known, 0x10 counted, 0x20 debug
// location.
// CHECK: register functions=5
// CHECK: total=
// mid runs 20 times (inlined twice into top, 10 calls of top): so do the
// bodies inlined into it.
// CHECK:      site mid->twice at 36:40 flags=0x33 count=20
// CHECK-NEXT:   decision cost=0 threshold=0 reason=always inline attribute
// The loop of unrolled is computed in closed form after twice was inlined:
// the inlined body, and with it its counter, no longer exist. The site is
// reported uncounted (no 0x10), never with a made-up count.
// CHECK-NEXT: site unrolled->twice at 45:10 flags=0x23 count=0
// CHECK-NEXT:   decision cost=0 threshold=0 reason=always inline attribute
// CHECK-NEXT: site mid->sq at 36:32 flags=0x39 count=20
// CHECK-NEXT:   decision cost=[[SQ_MID_COST]] threshold=[[SQ_MID_T]] reason=
// CHECK-NEXT: site top->mid at 37:25 flags=0x39 count=10
// CHECK-NEXT:   decision cost=[[MID1_COST]] threshold=[[MID1_T]] reason=
// CHECK-NEXT: site top->mid at 37:34 flags=0x39 count=10
// CHECK-NEXT:   decision cost=[[MID2_COST]] threshold=[[MID2_T]] reason=
// The loop calling sq is vectorized: the counter is replicated per lane and
// the remainder loop counts too, exactly N = 1003.
// CHECK-NEXT: site squares->sq at 40:14 flags=0x39 count=1003
// CHECK-NEXT:   decision cost=[[SQ_SQUARES_COST]] threshold=[[SQ_SQUARES_T]] reason=
// Known limit: the marker of squares' one inlined execution sat alone in a
// block that SimplifyCFG folded away (pseudo probes do not keep a block
// alive); the site is reported uncounted rather than with a wrong count.
// CHECK-NEXT: site main->squares at 54:3 flags=0x29 count=0
// CHECK-NEXT:   decision cost=[[SQUARES_COST]] threshold=[[SQUARES_T]] reason=
// CHECK-NEXT: site main->top at 57:14 flags=0x39 count=10
// CHECK-NEXT:   decision cost=[[TOP_COST]] threshold=[[TOP_T]] reason=
// cube is static, its address not taken, and main its only caller: the
// tree's calls of cube under main are the site's, which has no counter.
// CHECK-NEXT: site main->cube at 57:23 flags=0x834 count=10
// CHECK-NEXT:   decision cost=0 threshold=0 reason=noinline function attribute
// CHECK-NEXT: site main->heavy at 57:33 flags=0x39 count=10
// CHECK-NEXT:   decision cost=[[HEAVY1_COST]] threshold=[[HEAVY1_T]] reason=
// CHECK-NEXT: site main->heavy at 57:51 flags=0x39 count=10
// CHECK-NEXT:   decision cost=[[HEAVY2_COST]] threshold=[[HEAVY2_T]] reason=
// CHECK-NEXT: site main->unrolled at 57:66 flags=0x39 count=10
// CHECK-NEXT:   decision cost=[[UNROLLED_COST]] threshold=[[UNROLLED_T]] reason=
// printf: the inliner skips calls of functions defined elsewhere ("its
// definition is unavailable"); zinst counts them as call sites.
// CHECK-NEXT: site main->printf at 58:3 flags=0x30 count=1
// CHECK-NEXT:   decision cost=0 threshold=0 reason=definition unavailable
// CHECK-NEXT: unregister depth=0
