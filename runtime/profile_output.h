/*
 * profile_output.h - where a profile goes and how it gets there.
 */
#ifndef ZINST_PROFILE_OUTPUT_H
#define ZINST_PROFILE_OUTPUT_H

#include <stddef.h>

/* The output pattern in force: ZINST_OUTPUT if set and non-empty, else
 * "%e.zinst". Setuid/setgid programs (AT_SECURE) always get the default, so
 * the environment of an unprivileged user cannot aim their writes; when
 * ZINST_OUTPUT was set, one line on stderr says it was ignored and why. The
 * returned string is static or the environment's: do not free. */
const char *zinst_output_pattern(void);

/* Expand `pattern` into `out` (outlen bytes): %p the current process id
 * (re-read at each call, so a fork child gets its own name), %h the host
 * name, %e the executable's base name, %m nothing (it asks for merging:
 * zinst_output_pattern_merges), %% a percent sign. Returns 0, or -1
 * with errno set and a message in `err` naming the problem: ENAMETOOLONG if
 * the result does not fit (never truncated), EINVAL for an unknown %-sequence. */
int zinst_expand_output_pattern(const char *pattern, char *out, size_t outlen, char *err,
                                size_t errlen);

/* Nonzero if `pattern` holds %m: the profile is added to the file of that
 * name (zinst_merge_file_atomically) rather than replacing it. */
int zinst_output_pattern_merges(const char *pattern);

/* May a profile be written at `path`? rename() replaces whatever is there,
 * so it is checked first. 1: yes (nothing there, a regular file, or a
 * symlink to one or to nothing, which is replaced, never followed). 0: no,
 * silently: the path is the null device or a symlink to it (ZINST_OUTPUT=
 * /dev/null asks for no profile); the caller writes nothing and succeeds.
 * -1: refused (a directory, a FIFO, a socket, another device, or a symlink
 * to one), after one line on stderr naming the path and what is there,
 * errno EISDIR or EINVAL. */
int zinst_output_target(const char *path);

/* Write `size` bytes to `path` so that no reader sees a partial file: into
 * a new temporary file in the same directory (O_CREAT|O_EXCL|O_NOFOLLOW,
 * mode 0666 minus the umask), then rename() over `path`, which replaces a
 * symlink at `path` rather than following it. Retries EINTR and short
 * writes. First zinst_output_target(path): the null device returns 0 with
 * nothing written, anything else but a file is refused. On failure prints
 * one line on stderr naming the path and the reason, removes the temporary
 * file, and returns -1 with errno set. */
int zinst_write_file_atomically(const char *path, const void *data, size_t size);

/* A `%m` output (merge_output.c): add the profile `image` (this process's,
 * `size` bytes) to the profile at `path` (first checked as
 * zinst_output_target does: the null device takes nothing, anything else
 * but a file is refused before any lock file is made), under an exclusive flock(2) on
 * `<path>.lock` (created if missing, never removed), so that processes
 * ending together add up: the existing file and this profile are summed
 * (zinst merge --merge-threads) and written with zinst_write_file_atomically;
 * without an existing file this profile alone is written the same way.
 * An existing file that is damaged, a symlink, or a profile of
 * another program or build is never destroyed: it is renamed to
 * `<path>.kept.<pid>`, said on stderr, and a new file is started. When the
 * lock cannot be had (60 s), this profile goes to `<path>.<pid>` instead,
 * with a message. Returns 0 when the profile was written (to `path`, or to
 * the fallback name), else -1 with errno set after a message on stderr. */
int zinst_merge_file_atomically(const char *path, const void *image, size_t size);

#endif /* ZINST_PROFILE_OUTPUT_H */
