/* Zones (include/zinst.h): regions marked by hand inside functions, with
 * known counts: nested zones, a scoped zone in a loop, threads, a zone its
 * function leaves open, one left by longjmp, and zones nested deeper than
 * the seven a function can hold. */
#include <pthread.h>
#include <setjmp.h>
#include <zinst.h>

static volatile int sink;
static jmp_buf back_to_main;

__attribute__((noinline)) void leaf(int i) {
  sink += i;
}

/* setup (1 leaf), loop (n scoped bodies of 1 leaf each), then 1 leaf. */
__attribute__((noinline)) void phases(int n) {
  static struct zinst_zone setup = ZINST_ZONE_INIT("setup");
  static struct zinst_zone loop = ZINST_ZONE_INIT("loop");
  zinst_zone_begin(&setup);
  leaf(1);
  zinst_zone_end(&setup);
  zinst_zone_begin(&loop);
  for (int i = 0; i < n; i++) {
    ZINST_ZONE_SCOPED("body");
    leaf(i);
  }
  zinst_zone_end(&loop);
  leaf(2);
}

/* Never ends its zone: the function's return closes it. */
__attribute__((noinline)) void forgetful(void) {
  static struct zinst_zone left_open = ZINST_ZONE_INIT("left_open");
  zinst_zone_begin(&left_open);
  leaf(3);
  sink += 1; /* leaf(3) is no tail call: it runs inside forgetful */
}

/* Leaves its zone by longjmp. */
__attribute__((noinline)) void jumper(void) {
  static struct zinst_zone jumped = ZINST_ZONE_INIT("jumped");
  zinst_zone_begin(&jumped);
  leaf(4);
  longjmp(back_to_main, 1);
}

/* Nine zones nested in one function: d8 and d9 are not recorded. */
__attribute__((noinline)) void deep(void) {
  static struct zinst_zone zones[9] = {
      ZINST_ZONE_INIT("d1"), ZINST_ZONE_INIT("d2"), ZINST_ZONE_INIT("d3"),
      ZINST_ZONE_INIT("d4"), ZINST_ZONE_INIT("d5"), ZINST_ZONE_INIT("d6"),
      ZINST_ZONE_INIT("d7"), ZINST_ZONE_INIT("d8"), ZINST_ZONE_INIT("d9"),
  };
  for (int i = 0; i < 9; i++)
    zinst_zone_begin(&zones[i]);
  leaf(5);
  for (int i = 8; i >= 0; i--)
    zinst_zone_end(&zones[i]);
}

static void *worker(void *arg) {
  (void)arg;
  phases(50);
  phases(50);
  return NULL;
}

int main(void) {
  for (int k = 0; k < 3; k++)
    phases(100);
  for (int k = 0; k < 4; k++)
    forgetful();
  leaf(6); /* under main, not under left_open */
  if (setjmp(back_to_main) == 0)
    jumper();
  leaf(7); /* under main, not under jumped */
  deep();
  deep();
  pthread_t threads[2];
  for (int t = 0; t < 2; t++)
    pthread_create(&threads[t], NULL, worker, NULL);
  for (int t = 0; t < 2; t++)
    pthread_join(threads[t], NULL);
  return 0;
}
