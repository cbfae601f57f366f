// C++ new and delete under memory tracing (ZINST_MEMORY=1): libstdc++'s
// operators call malloc, aligned_alloc and free, so they are attributed to
// the context that ran the new-expression. Exact counts per context.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>

struct Small {
  char data[40];
};
struct alignas(64) Aligned {
  char data[64];
};

static volatile std::uintptr_t observed;

template <typename T> static void touch(T *p) {
  observed += reinterpret_cast<std::uintptr_t>(p);
}

// 3 x 40 bytes live at once, then 40 (int[10]) and 64 (over-aligned):
// 5 allocations, 224 bytes, all deleted, peak 120.
__attribute__((noinline)) void make_objects() {
  Small *a = new Small, *b = new Small, *c = new Small;
  touch(a);
  touch(b);
  touch(c);
  delete a;
  delete b;
  delete c;
  int *numbers = new int[10];
  touch(numbers);
  delete[] numbers;
  Aligned *x = new Aligned;
  if (reinterpret_cast<std::uintptr_t>(x) % 64 != 0) {
    std::fprintf(stderr, "memory_cpp: over-aligned new is not aligned\n");
    std::_Exit(1);
  }
  touch(x);
  delete x;
}

static Small *kept;

// The planted leak: one Small (40 bytes).
__attribute__((noinline)) void leak_object() {
  kept = new Small;
  touch(kept);
}

int main() {
  make_objects();
  leak_object();
  return 0;
}
