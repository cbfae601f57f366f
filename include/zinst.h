/*
 * zinst.h - the public C API of the zinst runtime.
 *
 * Programs built with zinst write their profile automatically at exit; these
 * calls are for programs that want a profile at a chosen moment (a long
 * training run dumping after each epoch, a server on a signal of its own).
 * Every function is safe to call from any thread, and does nothing harmful
 * in a program that has no instrumented code.
 */
#ifndef ZINST_H
#define ZINST_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Write a profile now, of all threads, counting frames that are still open
 * up to this moment. `path` names the file; NULL means the ZINST_OUTPUT
 * pattern (default "%e.zinst"). The file is written to a temporary name in
 * the same directory and renamed into place, so a reader never sees half of
 * it. Returns 0 on success; on failure returns -1, sets errno and prints a
 * message on stderr. Counting goes on after the call.
 */
int zinst_dump(const char *path);

/*
 * Start counting afresh: later dumps show only what happened after this
 * call, in every thread. Nothing is freed; the calling-context trees keep
 * their shape and their counts are measured from a baseline taken here.
 */
void zinst_reset(void);

/*
 * Stop writing the profile at exit (for a child process that should leave
 * no file, or a test). zinst_dump() still works.
 */
void zinst_disable_exit_dump(void);

#ifdef __cplusplus
}
#endif

#endif /* ZINST_H */
