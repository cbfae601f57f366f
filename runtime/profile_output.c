/*
 * profile_output.c - output file naming and crash-safe writing (cold path).
 */
#define _GNU_SOURCE
#include "profile_output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define DEFAULT_PATTERN "%e.zinst"

const char *zinst_output_pattern(void) {
  const char *pattern = getenv("ZINST_OUTPUT");
  if (getauxval(AT_SECURE)) {
    /* The environment is the invoking user's, the privileges are not: the
     * path is not taken from it (nor echoed back). Said once per process. */
    static int warned;
    if (pattern && *pattern && !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
      fprintf(stderr,
              "zinst: ignoring ZINST_OUTPUT: this program runs setuid or setgid; its profile "
              "goes to %s in the current directory\n",
              DEFAULT_PATTERN);
    return DEFAULT_PATTERN;
  }
  return pattern && *pattern ? pattern : DEFAULT_PATTERN;
}

static void set_error(char *err, size_t errlen, const char *format, ...) {
  if (!err || errlen == 0)
    return;
  va_list args;
  va_start(args, format);
  vsnprintf(err, errlen, format, args);
  va_end(args);
}

/* Base name of the running executable, into `name`; "unknown" if
 * /proc/self/exe cannot be read. */
static void executable_base_name(char *name, size_t size) {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) {
    snprintf(name, size, "unknown");
    return;
  }
  path[n] = '\0';
  const char *slash = strrchr(path, '/');
  snprintf(name, size, "%s", slash ? slash + 1 : path);
}

int zinst_expand_output_pattern(const char *pattern, char *out, size_t outlen, char *err,
                                size_t errlen) {
  size_t used = 0;
  char piece[PATH_MAX];
  for (const char *p = pattern; *p; p++) {
    const char *text = piece;
    if (*p != '%') {
      piece[0] = *p;
      piece[1] = '\0';
    } else {
      switch (p[1]) {
      case 'p':
        snprintf(piece, sizeof piece, "%ld", (long)getpid());
        break;
      case 'h':
        if (gethostname(piece, sizeof piece) != 0)
          snprintf(piece, sizeof piece, "unknown");
        piece[sizeof piece - 1] = '\0';
        break;
      case 'e':
        executable_base_name(piece, sizeof piece);
        break;
      case '%':
        text = "%";
        break;
      case 'm':
        text = ""; /* a request to merge (zinst_output_pattern_merges), not a name */
        break;
      default:
        set_error(err, errlen,
                  "output pattern \"%s\" has an unknown sequence \"%%%.1s\" (known: %%p "
                  "%%h %%e %%m %%%%)",
                  pattern, p[1] ? p + 1 : "");
        errno = EINVAL;
        return -1;
      }
      p++;
    }
    size_t length = strlen(text);
    if (used + length >= outlen) {
      set_error(err, errlen, "output pattern \"%s\" expands to more than %zu bytes", pattern,
                outlen - 1);
      errno = ENAMETOOLONG;
      return -1;
    }
    memcpy(out + used, text, length);
    used += length;
  }
  if (used == 0) {
    set_error(err, errlen, "output pattern is empty");
    errno = EINVAL;
    return -1;
  }
  out[used] = '\0';
  return 0;
}

int zinst_output_pattern_merges(const char *pattern) {
  for (const char *p = pattern; *p; p++) {
    if (*p != '%')
      continue;
    if (p[1] == 'm')
      return 1;
    if (p[1] == '\0')
      break;
    p++; /* "%%m" is a percent sign and an m */
  }
  return 0;
}

static int write_all(int fd, const unsigned char *data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    data += n;
    size -= (size_t)n;
  }
  return 0;
}

static int report_failure(const char *what, const char *path, int error) {
  fprintf(stderr, "zinst: cannot %s profile %s: %s\n", what, path, strerror(error));
  errno = error;
  return -1;
}

/* What a file of mode `mode` is, in words, for a refusal. */
static const char *kind_of(mode_t mode) {
  if (S_ISDIR(mode))
    return "a directory";
  if (S_ISFIFO(mode))
    return "a FIFO";
  if (S_ISSOCK(mode))
    return "a socket";
  if (S_ISCHR(mode))
    return "a character device";
  if (S_ISBLK(mode))
    return "a block device";
  return "not a regular file";
}

/* Is `info` the null device? Compared with /dev/null's own numbers (only
 * stat'ed, never opened), 1:3 on Linux if that cannot be read. */
static int is_null_device(const struct stat *info) {
  if (!S_ISCHR(info->st_mode))
    return 0;
  struct stat null_device;
  dev_t null_rdev = makedev(1, 3);
  if (stat("/dev/null", &null_device) == 0 && S_ISCHR(null_device.st_mode))
    null_rdev = null_device.st_rdev;
  return info->st_rdev == null_rdev;
}

/* See profile_output.h. Only lstat and stat: nothing at `path` is opened.
 * A check before the rename, not a lock: it stops a mistaken setting, not
 * someone racing to put a directory there (rename refuses a directory
 * anyway, and the rest is theirs to replace). */
int zinst_output_target(const char *path) {
  struct stat info;
  if (lstat(path, &info) != 0)
    return 1; /* nothing there, or a path the write itself will report */
  if (S_ISREG(info.st_mode))
    return 1;
  const int link = S_ISLNK(info.st_mode);
  if (link && stat(path, &info) != 0)
    return 1; /* a dangling symlink: replaced, as any symlink to a file */
  if (is_null_device(&info))
    return 0;
  if (S_ISREG(info.st_mode))
    return 1; /* a symlink to a file: replaced, never followed */
  fprintf(stderr,
          "zinst: cannot write profile %s: it is %s%s, not a regular file; nothing was "
          "written there (a profile goes to a file; /dev/null discards it)\n",
          path, link ? "a symlink to " : "", kind_of(info.st_mode));
  errno = S_ISDIR(info.st_mode) ? EISDIR : EINVAL;
  return -1;
}

int zinst_write_file_atomically(const char *path, const void *data, size_t size) {
  const int target = zinst_output_target(path);
  if (target <= 0)
    return target; /* discarded (0), or refused (-1, said) */
  char temp[PATH_MAX];
  int fd = -1;
  for (unsigned attempt = 0; fd < 0 && attempt < 100; attempt++) {
    int n = snprintf(temp, sizeof temp, "%s.tmp.%ld.%u", path, (long)getpid(), attempt);
    if (n < 0 || (size_t)n >= sizeof temp)
      return report_failure("name a temporary file for", path, ENAMETOOLONG);
    /* Mode 0666: open() applies the umask, as for any file the program creates. */
    do
      fd = open(temp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0666);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno != EEXIST)
      return report_failure("create a temporary file for", path, errno);
  }
  if (fd < 0)
    return report_failure("create a temporary file for", path, EEXIST);
  int error = 0;
  if (write_all(fd, data, size) != 0)
    error = errno;
  /* close() reports delayed write errors (NFS, quotas); EINTR still closed it. */
  if (close(fd) != 0 && errno != EINTR && !error)
    error = errno;
  if (!error && rename(temp, path) != 0)
    error = errno;
  if (error) {
    unlink(temp);
    return report_failure("write", path, error);
  }
  return 0;
}
