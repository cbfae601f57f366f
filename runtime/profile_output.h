/*
 * profile_output.h - where a profile goes and how it gets there.
 */
#ifndef ZINST_PROFILE_OUTPUT_H
#define ZINST_PROFILE_OUTPUT_H

#include <stddef.h>

/* The output pattern in force: ZINST_OUTPUT if set and non-empty, else
 * "%e.zinst". Setuid/setgid programs (AT_SECURE) always get the default, so
 * the environment of an unprivileged user cannot aim their writes. The
 * returned string is static or the environment's: do not free. */
const char *zinst_output_pattern(void);

/* Expand `pattern` into `out` (outlen bytes): %p the current process id
 * (re-read at each call, so a fork child gets its own name), %h the host
 * name, %e the executable's base name, %% a percent sign. Returns 0, or -1
 * with errno set and a message in `err` naming the problem: ENAMETOOLONG if
 * the result does not fit (never truncated), EINVAL for an unknown %-sequence. */
int zinst_expand_output_pattern(const char *pattern, char *out, size_t outlen, char *err,
                                size_t errlen);

/* Write `size` bytes to `path` so that no reader sees a partial file: into
 * a new temporary file in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW,
 * mode 0666 minus the umask), then rename() over `path`, which replaces a
 * symlink at `path` rather than following it. Retries EINTR and short
 * writes. On failure prints one line on stderr naming the path and the
 * reason, removes the temporary file, and returns -1 with errno set. */
int zinst_write_file_atomically(const char *path, const void *data, size_t size);

#endif /* ZINST_PROFILE_OUTPUT_H */
