/* Linked into the setuid test's program. In a sanitizer build, LeakSanitizer
 * cannot stop the threads of a process that is not dumpable, as a setuid one
 * is, and ends it with a fatal error; nor can such a process read
 * ASAN_OPTIONS (from /proc/self/environ). AddressSanitizer takes its
 * defaults from this function: the leak check is off, every other check
 * stays on. Without the sanitizers nothing calls it. Compiled without the
 * zinst plugin: AddressSanitizer calls it before anything is initialized. */
const char *__asan_default_options(void) {
  return "detect_leaks=0";
}
