// A C++ exception thrown 3 instrumented frames below the catch, many times:
// the runtime's view must stay consistent (counts exact, a callee's
// inclusive time never above its caller's).
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace sim {
struct Guard {
  int *counter;
  ~Guard() { ++*counter; }
};

__attribute__((noinline)) int thrower(int i) {
  if (i % 3 == 0)
    throw std::runtime_error("boom");
  return i;
}

__attribute__((noinline)) int middle(int i, int *cleanups) {
  Guard g{cleanups}; // gives middle a landing pad that ends in `resume`
  return thrower(i) + 1;
}

__attribute__((noinline)) int outer(int i, int *cleanups) { return middle(i, cleanups) * 2; }
} // namespace sim

int main(int argc, char **argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 3000;
  int caught = 0, cleanups = 0;
  long sum = 0;
  for (int i = 0; i < n; i++) {
    try {
      sum += sim::outer(i, &cleanups);
    } catch (const std::exception &) {
      caught++;
    }
  }
  std::printf("%d %d %ld\n", caught, cleanups, sum);
  return caught == (n + 2) / 3 && cleanups == n ? 0 : 1;
}
