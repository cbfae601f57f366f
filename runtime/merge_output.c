/*
 * merge_output.c - `%m` outputs: this process's profile added to the file
 * that many processes share (profile_output.h, zinst_merge_file_atomically).
 *
 * The summing is the command's own (cli/profile_merge.c, with the reader and
 * the image writer), compiled into the runtime with ZINST_RUNTIME_HEAP so
 * that a dump from a signal handler allocates from its arena (heap.h).
 * Threads are merged by name, as `zinst merge --merge-threads` does, so a
 * file shared by thousands of processes stays the size of one: the main
 * threads' record counts the processes in its thread_count.
 */
#define _GNU_SOURCE
#include "profile_merge.h"
#include "profile_output.h"
#include "profile_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "heap.h" /* after the system headers: its macros route malloc & co */

/* How long to wait for the processes ahead in line. A merge takes
 * milliseconds; a minute covers thousands of processes ending together. */
#define LOCK_WAIT_MS 60000u

/* Open `<path>.lock` and take an exclusive flock on it, waiting up to
 * LOCK_WAIT_MS. Returns the descriptor (closing it unlocks), or -1 with
 * errno set. */
static int lock_output(const char *path) {
  char lock_path[PATH_MAX];
  if ((size_t)snprintf(lock_path, sizeof lock_path, "%s.lock", path) >= sizeof lock_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  /* Read-only is enough for flock, and lets every user who may write the
   * directory share a lock file another one created. */
  int fd;
  do
    fd = open(lock_path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return -1;
  for (unsigned waited = 0;; waited++) {
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
      return fd;
    if (errno != EWOULDBLOCK && errno != EINTR)
      break;
    if (waited >= LOCK_WAIT_MS) {
      errno = ETIMEDOUT;
      break;
    }
    struct timespec delay = {0, 1000000};
    nanosleep(&delay, NULL);
  }
  int error = errno;
  close(fd);
  errno = error;
  return -1;
}

/* The whole regular file at `path` (not through a symlink) into a new heap
 * buffer (*data, *size; the caller frees). Returns 1, 0 when there is no
 * such file, or -1 with errno set (ELOOP: a symlink; EINVAL: not a regular
 * file). */
static int read_existing(const char *path, void **data, size_t *size) {
  *data = NULL;
  *size = 0;
  int fd;
  do
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  while (fd < 0 && errno == EINTR);
  if (fd < 0)
    return errno == ENOENT ? 0 : -1;
  struct stat info;
  int error = 0;
  unsigned char *buffer = NULL;
  size_t used = 0;
  if (fstat(fd, &info) != 0)
    error = errno;
  else if (!S_ISREG(info.st_mode))
    error = EINVAL;
  else if (!(buffer = malloc(info.st_size > 0 ? (size_t)info.st_size : 1)))
    error = ENOMEM;
  while (!error && used < (size_t)info.st_size) {
    ssize_t n = read(fd, buffer + used, (size_t)info.st_size - used);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      error = errno;
    else if (n == 0)
      break; /* shorter than it was: the reader will say it is truncated */
    else
      used += (size_t)n;
  }
  close(fd);
  if (error) {
    free(buffer);
    errno = error;
    return -1;
  }
  *data = buffer;
  *size = used;
  return 1;
}

/* Rename `path` out of the way, to `<path>.kept.<pid>` (".<n>" added if that
 * is taken), and say why. Returns 0, or -1 after saying it could not. */
static int keep_aside(const char *path, const char *why) {
  char kept[PATH_MAX];
  for (unsigned attempt = 0; attempt < 100; attempt++) {
    int n = attempt == 0
                ? snprintf(kept, sizeof kept, "%s.kept.%ld", path, (long)getpid())
                : snprintf(kept, sizeof kept, "%s.kept.%ld.%u", path, (long)getpid(), attempt);
    if (n < 0 || (size_t)n >= sizeof kept)
      break;
    struct stat info;
    if (lstat(kept, &info) == 0)
      continue; /* every zinst writer holds the lock: only an old file can be there */
    if (rename(path, kept) != 0)
      break;
    fprintf(stderr, "zinst: %s %s: kept it as %s and started a new profile there\n", path, why,
            kept);
    return 0;
  }
  fprintf(stderr, "zinst: %s %s, and it cannot be renamed out of the way: %s\n", path, why,
          strerror(errno));
  return -1;
}

/* This profile alone to `<path>.<pid>`, when it cannot be added to `path`. */
static int write_beside(const char *path, const void *image, size_t size, const char *why) {
  char own[PATH_MAX];
  if ((size_t)snprintf(own, sizeof own, "%s.%ld", path, (long)getpid()) >= sizeof own) {
    fprintf(stderr, "zinst: cannot add the profile to %s (%s), nor name a file beside it\n", path,
            why);
    errno = ENAMETOOLONG;
    return -1;
  }
  if (zinst_write_file_atomically(own, image, size) != 0)
    return -1;
  fprintf(stderr, "zinst: cannot add the profile to %s (%s): wrote it to %s instead\n", path, why,
          own);
  return 0;
}

int zinst_merge_file_atomically(const char *path, const void *image, size_t size) {
  char err[PATH_MAX + 512];
  /* Before the lock file is made beside it: /dev/null%m makes nothing in /dev. */
  const int target = zinst_output_target(path);
  if (target <= 0)
    return target; /* discarded (0), or refused (-1, said) */
  int lock = lock_output(path);
  if (lock < 0) {
    snprintf(err, sizeof err, "locking %s.lock: %s", path, strerror(errno));
    return write_beside(path, image, size, err);
  }
  struct zinst_profile inputs[2];
  memset(inputs, 0, sizeof inputs);
  uint32_t count = 0;
  void *existing = NULL, *merged = NULL;
  size_t existing_size = 0, merged_size = 0;
  int status = -1;

  int found = read_existing(path, &existing, &existing_size);
  if (found < 0 && errno == EINVAL) {
    /* Not a regular file, put there since the check above: never renamed
     * away (it may be a device or a directory), nothing written. */
    fprintf(stderr,
            "zinst: cannot add the profile to %s: it is not a regular file; nothing "
            "was written\n",
            path);
    goto done;
  }
  if (found < 0) {
    snprintf(err, sizeof err, "cannot be read (%s)", strerror(errno));
    if (keep_aside(path, err) != 0)
      goto beside;
  } else if (found > 0) {
    if (zinst_profile_parse(existing, existing_size, &inputs[0], err, sizeof err) == 0) {
      count = 1;
    } else {
      char why[sizeof err + 32];
      snprintf(why, sizeof why, "is not a valid profile (%s)", err);
      if (keep_aside(path, why) != 0)
        goto beside;
    }
  }
  if (zinst_profile_parse(image, size, &inputs[count], err, sizeof err) != 0) {
    fprintf(stderr, "zinst: cannot add the profile to %s: this process's profile: %s\n", path, err);
    errno = EINVAL;
    goto done;
  }
  count++;
  if (count == 2) {
    const char *names[2] = {path, "this process's profile"};
    bool forceable;
    if (zinst_merge_check(inputs, names, 2, false, &forceable, err, sizeof err) != 0) {
      char why[sizeof err + 48];
      snprintf(why, sizeof why, "cannot be added to (%s)", err);
      if (keep_aside(path, why) != 0)
        goto beside;
      zinst_profile_free(&inputs[0]);
      inputs[0] = inputs[1];
      memset(&inputs[1], 0, sizeof inputs[1]);
      count = 1;
    }
  }
  struct zinst_merge_result result;
  if (zinst_merge_profiles(inputs, count, true, &merged, &merged_size, &result, err, sizeof err) !=
      0)
    goto beside;
  if (zinst_write_file_atomically(path, merged, merged_size) == 0)
    status = 0;
  goto done;

beside:
  status = write_beside(path, image, size, err);
done:
  for (uint32_t k = 0; k < 2; k++)
    zinst_profile_free(&inputs[k]);
  free(existing);
  free(merged);
  close(lock);
  return status;
}
