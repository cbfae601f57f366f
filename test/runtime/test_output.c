/*
 * test_output.c - output naming and writing: %p/%e/%h/%m/%% expansion and its
 * errors, temp file + rename (no temp file left), an unwritable target gives
 * one message naming the path and -1, a planted symlink is replaced rather
 * than followed, and zinst_dump() writes a complete profile. What is not a
 * regular file at the profile's name (a directory, a FIFO, a symlink to
 * one) is refused and left as it was, plain and %m outputs alike; the null
 * device, reached through a symlink here (the real /dev/null is only
 * stat'ed, never written or renamed), takes the profile silently.
 *
 * Usage: test_output WORKDIR (created if missing; emptied of earlier files).
 */
#define _GNU_SOURCE
#include "profile_output.h"
#include "test_support.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *workdir;

static const struct zinst_function_info functions[1] = {{"only", "only", "out.c", 1, 0}};
static struct zinst_module_info module = {
    ZINST_ABI_VERSION, 1, functions, "out.c", 0, 0, 0, 0, NULL, 0, 0, NULL};

NOINLINE static void only(void) {
  TEST_ENTER(&module, 0);
  TEST_EXIT(&module, 0);
}

static void expand_ok(const char *pattern, const char *expected) {
  char out[PATH_MAX], err[256] = "";
  CHECK(zinst_expand_output_pattern(pattern, out, sizeof out, err, sizeof err) == 0,
        "expand %s: %s", pattern, err);
  CHECK(strcmp(out, expected) == 0, "expand %s: got \"%s\", expected \"%s\"", pattern, out,
        expected);
}

/* Runs `action` with stderr captured; returns what it printed (static). */
static const char *capture_stderr(int (*action)(const char *), const char *arg, int *status) {
  static char text[4096];
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/stderr.txt", workdir);
  fflush(stderr);
  int saved = dup(2);
  int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
  CHECK(saved >= 0 && fd >= 0, "capture stderr");
  dup2(fd, 2);
  *status = action(arg);
  int error = errno;
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  ssize_t n = pread(fd, text, sizeof text - 1, 0);
  text[n > 0 ? n : 0] = '\0';
  close(fd);
  unlink(path);
  errno = error;
  return text;
}

static int write_small(const char *path) {
  return zinst_write_file_atomically(path, "abc", 3);
}

/* A %m output of something that is no profile: refused or discarded
 * before it is read or parsed. */
static int merge_small(const char *path) {
  return zinst_merge_file_atomically(path, "abc", 3);
}

/* Nothing in the work directory but what the test made: no temporary, lock
 * or kept file (names containing `bad`). */
static void check_no_files_like(const char *bad) {
  DIR *dir = opendir(workdir);
  CHECK(dir != NULL, "open %s", workdir);
  struct dirent *entry;
  while ((entry = readdir(dir)))
    CHECK(strstr(entry->d_name, bad) == NULL, "file left: %s", entry->d_name);
  closedir(dir);
}

/* `path` holds something that is not a regular file (`what`, as the
 * message says it): each writer refuses with one line naming the path and
 * it, and leaves it as it was (`is_kind` on lstat's mode). */
static void check_refused(const char *path, const char *what, int expected_errno,
                          int (*is_kind)(mode_t)) {
  int (*const writers[2])(const char *) = {write_small, merge_small};
  for (int w = 0; w < 2; w++) {
    int status;
    const char *message = capture_stderr(writers[w], path, &status);
    CHECK(status == -1 && errno == expected_errno, "%s (writer %d): status %d errno %d", path, w,
          status, errno);
    CHECK(strstr(message, path) && strstr(message, what) && strstr(message, "nothing was written"),
          "message names the path and %s: %s", what, message);
    CHECK(strchr(message, '\n') == message + strlen(message) - 1, "one line: %s", message);
    struct stat info;
    CHECK(lstat(path, &info) == 0 && is_kind(info.st_mode), "%s left as it was", path);
    check_no_files_like(".tmp.");
    check_no_files_like(".lock");
    check_no_files_like(".kept.");
  }
}

static int is_directory(mode_t mode) {
  return S_ISDIR(mode);
}
static int is_fifo(mode_t mode) {
  return S_ISFIFO(mode);
}
static int is_symlink(mode_t mode) {
  return S_ISLNK(mode);
}

static void check_no_temp_files(void) {
  DIR *dir = opendir(workdir);
  CHECK(dir != NULL, "open %s", workdir);
  struct dirent *entry;
  while ((entry = readdir(dir)))
    CHECK(strstr(entry->d_name, ".tmp.") == NULL, "temporary file left: %s", entry->d_name);
  closedir(dir);
}

static void read_file(const char *path, char *buffer, size_t size, ssize_t *length) {
  int fd = open(path, O_RDONLY);
  CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  *length = read(fd, buffer, size);
  close(fd);
}

int main(int argc, char **argv) {
  zinst_disable_exit_dump();
  CHECK(argc == 2, "usage: test_output WORKDIR");
  mkdir(argv[1], 0777);
  /* Absolute: the symlinks below point at files beside them by full path. */
  static char absolute[PATH_MAX];
  CHECK(realpath(argv[1], absolute) != NULL, "realpath %s: %s", argv[1], strerror(errno));
  workdir = absolute;
  char path[PATH_MAX], expected[PATH_MAX], buffer[256];
  const char *names[] = {"plain.zinst", "victim.txt",    "link.zinst", "profile.zinst",
                         "fifo.zinst",  "to-fifo.zinst", "null.zinst", "to-dir.zinst"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    snprintf(path, sizeof path, "%s/%s", workdir, names[i]);
    unlink(path);
  }
  snprintf(path, sizeof path, "%s/dir.zinst", workdir);
  rmdir(path);

  /* Expansion. */
  snprintf(expected, sizeof expected, "out-%ld.zinst", (long)getpid());
  expand_ok("out-%p.zinst", expected);
  char host[256];
  CHECK(gethostname(host, sizeof host) == 0, "gethostname");
  snprintf(expected, sizeof expected, "%s/%%p-%s", host, "test_output");
  expand_ok("%h/%%p-%e", expected);
  expand_ok("100%%", "100%");
  /* %m names nothing: it asks for merging into the file. */
  expand_ok("all%m.zinst", "all.zinst");
  CHECK(zinst_output_pattern_merges("all%m.zinst"), "%%m merges");
  CHECK(!zinst_output_pattern_merges("all%%m.zinst"), "%%%%m is a percent sign and an m");
  CHECK(!zinst_output_pattern_merges("all-%p.zinst%"), "no %%m");
  char out[PATH_MAX], err[256];
  errno = 0;
  CHECK(zinst_expand_output_pattern("bad-%q", out, sizeof out, err, sizeof err) == -1, "%%q");
  CHECK(errno == EINVAL && strstr(err, "%q"), "unknown sequence named: %s", err);
  CHECK(zinst_expand_output_pattern("trailing-%", out, sizeof out, err, sizeof err) == -1, "%%");
  char longer[64];
  errno = 0;
  CHECK(zinst_expand_output_pattern("%e-%e-%e-%e-%e", longer, 20, err, sizeof err) == -1, "long");
  CHECK(errno == ENAMETOOLONG && strstr(err, "more than 19 bytes"), "too long named: %s", err);
  /* The default pattern, and the fork rule: %p is the current process. */
  unsetenv("ZINST_OUTPUT");
  CHECK(strcmp(zinst_output_pattern(), "%e.zinst") == 0, "default pattern");
  setenv("ZINST_OUTPUT", "x-%p", 1);
  CHECK(strcmp(zinst_output_pattern(), "x-%p") == 0, "ZINST_OUTPUT");

  /* Temp file + rename. */
  snprintf(path, sizeof path, "%s/plain.zinst", workdir);
  CHECK(write_small(path) == 0, "write %s", path);
  ssize_t length;
  read_file(path, buffer, sizeof buffer, &length);
  CHECK(length == 3 && memcmp(buffer, "abc", 3) == 0, "contents");
  check_no_temp_files();

  /* An impossible target: one message naming it, -1, errno kept. */
  snprintf(path, sizeof path, "%s/plain.zinst/sub/p.zinst", workdir);
  int status;
  const char *message = capture_stderr(write_small, path, &status);
  CHECK(status == -1 && errno == ENOTDIR, "status %d errno %d", status, errno);
  CHECK(strstr(message, path) && strstr(message, strerror(ENOTDIR)), "message: %s", message);
  CHECK(strchr(message, '\n') == message + strlen(message) - 1, "one line: %s", message);
  if (geteuid() != 0) { /* root writes anywhere: only a non-root run can check this */
    char locked[PATH_MAX];
    snprintf(locked, sizeof locked, "%s/locked", workdir);
    mkdir(locked, 0500);
    chmod(locked, 0500);
    snprintf(path, sizeof path, "%s/p.zinst", locked);
    message = capture_stderr(write_small, path, &status);
    CHECK(status == -1 && errno == EACCES, "unwritable directory: status %d", status);
    CHECK(strstr(message, path) != NULL, "message names the path: %s", message);
  }
  check_no_temp_files();

  /* A planted symlink is replaced, its target left alone. */
  char victim[PATH_MAX];
  snprintf(victim, sizeof victim, "%s/victim.txt", workdir);
  int fd = open(victim, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  CHECK(fd >= 0 && write(fd, "keep", 4) == 4, "victim");
  close(fd);
  snprintf(path, sizeof path, "%s/link.zinst", workdir);
  CHECK(symlink(victim, path) == 0, "symlink: %s", strerror(errno));
  CHECK(write_small(path) == 0, "write over the symlink");
  struct stat info;
  CHECK(lstat(path, &info) == 0 && S_ISREG(info.st_mode), "symlink replaced by a file");
  read_file(victim, buffer, sizeof buffer, &length);
  CHECK(length == 4 && memcmp(buffer, "keep", 4) == 0, "victim untouched");

  /* Not a regular file: refused, left alone, nothing beside it. */
  char dir[PATH_MAX], fifo[PATH_MAX];
  snprintf(dir, sizeof dir, "%s/dir.zinst", workdir);
  CHECK(mkdir(dir, 0777) == 0, "mkdir %s: %s", dir, strerror(errno));
  check_refused(dir, "it is a directory", EISDIR, is_directory);
  snprintf(fifo, sizeof fifo, "%s/fifo.zinst", workdir);
  CHECK(mkfifo(fifo, 0666) == 0, "mkfifo %s: %s", fifo, strerror(errno));
  check_refused(fifo, "it is a FIFO", EINVAL, is_fifo);
  snprintf(path, sizeof path, "%s/to-fifo.zinst", workdir);
  CHECK(symlink(fifo, path) == 0, "symlink: %s", strerror(errno));
  check_refused(path, "it is a symlink to a FIFO", EINVAL, is_symlink);
  snprintf(path, sizeof path, "%s/to-dir.zinst", workdir);
  CHECK(symlink(dir, path) == 0, "symlink: %s", strerror(errno));
  check_refused(path, "it is a symlink to a directory", EISDIR, is_symlink);
  CHECK(lstat(fifo, &info) == 0 && S_ISFIFO(info.st_mode), "the FIFO is still there");

  /* The null device, through a symlink: nothing written, nothing said,
   * success; the symlink stays. The real /dev/null is only stat'ed. */
  snprintf(path, sizeof path, "%s/null.zinst", workdir);
  CHECK(symlink("/dev/null", path) == 0, "symlink: %s", strerror(errno));
  for (int w = 0; w < 2; w++) {
    message = capture_stderr(w == 0 ? write_small : merge_small, path, &status);
    CHECK(status == 0 && message[0] == '\0', "to the null device (writer %d): status %d, %s", w,
          status, message);
    CHECK(lstat(path, &info) == 0 && S_ISLNK(info.st_mode), "the symlink to /dev/null stays");
    check_no_files_like(".tmp.");
    check_no_files_like(".lock");
  }

  /* zinst_dump: a whole profile, named through ZINST_OUTPUT with %p. */
  only();
  snprintf(path, sizeof path, "%s/dump-%%p.zinst", workdir);
  setenv("ZINST_OUTPUT", path, 1);
  CHECK(zinst_dump(NULL) == 0, "zinst_dump(NULL)");
  snprintf(path, sizeof path, "%s/dump-%ld.zinst", workdir, (long)getpid());
  static unsigned char image[1 << 16];
  read_file(path, (char *)image, sizeof image, &length);
  unlink(path);
  const struct zinst_file_header *header = (const void *)image;
  CHECK(length > 64 && memcmp(header->magic, ZINST_PROFILE_MAGIC, 8) == 0, "magic");
  CHECK_EQ_U64(header->file_size, (uint64_t)length, "file size");
  CHECK_EQ_U64(header->checksum, zinst_profile_checksum(image, (uint64_t)length), "checksum");
  snprintf(path, sizeof path, "%s/profile.zinst", workdir);
  CHECK(zinst_dump(path) == 0, "zinst_dump(path)");
  CHECK(stat(path, &info) == 0 && info.st_size > 64, "explicit path written");
  snprintf(path, sizeof path, "%s/none/p.zinst", workdir);
  message = capture_stderr(zinst_dump, path, &status);
  CHECK(status == -1 && errno == ENOENT && strstr(message, path), "dump failure: %s", message);
  check_no_temp_files();
  printf("output: ok\n");
  return 0;
}
