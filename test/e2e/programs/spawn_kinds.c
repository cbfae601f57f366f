/* fork+exec, vfork+exec and a daemonizing double fork, each running this
 * same instrumented program again in "leaf" mode: every process that runs
 * to exit() writes a valid profile of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) long leaf_work(long n) {
  long s = 0;
  for (long i = 0; i < n; i++)
    s += i % 7;
  return s;
}

static int wait_ok(pid_t pid) {
  int status;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "leaf") == 0) {
    leaf_work(1000);
    return 0;
  }
  char *leaf_argv[] = {argv[0], "leaf", NULL};
  pid_t a = fork(); /* fork + exec */
  if (a == 0) {
    execv(argv[0], leaf_argv);
    _exit(127);
  }
  pid_t b = vfork(); /* vfork + exec */
  if (b == 0) {
    execv(argv[0], leaf_argv);
    _exit(127);
  }
  pid_t c = fork(); /* daemon: double fork, setsid, the grandchild runs on */
  if (c == 0) {
    if (setsid() < 0)
      _exit(1);
    pid_t d = fork();
    if (d != 0)
      _exit(d > 0 ? 0 : 1);
    leaf_work(500);
    exit(0); /* the daemon writes its profile at exit */
  }
  if (!wait_ok(a) || !wait_ok(b) || !wait_ok(c))
    return 3;
  leaf_work(10);
  return 0;
}
