// With the off switch the plugin changes nothing: the object code is byte for
// byte the object code of a build without the plugin, at -O0 and -O2.
// RUN: %clang -O2 -c %s -o %t.plain.o
// RUN: env ZINST_DISABLE=1 %clang -O2 -c -fpass-plugin=%plugin %s -o %t.off.o
// RUN: cmp %t.plain.o %t.off.o
// RUN: %clang -O0 -g -c %s -o %t.plain-O0.o
// RUN: env ZINST_DISABLE=1 %clang -O0 -g -c -fpass-plugin=%plugin %s -o %t.off-O0.o
// RUN: cmp %t.plain-O0.o %t.off-O0.o
// The comparison can fail: with the plugin on, the object differs.
// RUN: %clang -O2 -c -fpass-plugin=%plugin %s -o %t.on.o
// RUN: not cmp -s %t.plain.o %t.on.o

int square(int x) { return x * x; }
int sum_of_squares(int n) {
  int total = 0;
  for (int i = 0; i < n; ++i)
    total += square(i);
  return total;
}
