/* Loads an instrumented shared library with dlopen, calls into it, and
 * unloads it before exit: the library's functions must still be named in the
 * profile written after dlclose. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) long call_plugin(long (*entry)(long), long n) { return entry(n); }

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s LIBRARY [N]\n", argv[0]);
    return 2;
  }
  long n = argc > 2 ? atol(argv[2]) : 1000;
  void *lib = dlopen(argv[1], RTLD_NOW);
  if (!lib) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  long (*entry)(long) = (long (*)(long))dlsym(lib, "plugin_entry");
  if (!entry) {
    fprintf(stderr, "dlsym: %s\n", dlerror());
    return 2;
  }
  long total = 0;
  for (int round = 0; round < 5; round++)
    total += call_plugin(entry, n);
  dlclose(lib);
  printf("%ld\n", total);
  return 0;
}
