/*
 * Training loop: each iteration, two worker threads collect episodes with
 * the current policy and accumulate the policy gradient; the main thread
 * applies it.
 *
 *   cd examples/rl_cartpole && zinst cc -O2 -g env.c policy.c train.c -lm -o rl_cartpole
 *   ./rl_cartpole && zinst report rl_cartpole.zinst
 *
 * `rl_cartpole N` trains for N iterations instead of 300: a shorter run for
 * tools much slower than zinst (the end-to-end test that compares zinst's
 * counts with uftrace's uses one).
 *
 * RL_LEAK_REPLAY=1 in the environment plants a leak for `zinst mem`: each
 * worker then keeps its last episode of every iteration in a replay buffer
 * that nothing ever frees (ZINST_MEMORY=1 ./rl_cartpole; zinst mem
 * rl_cartpole.zinst names worker_main with the bytes). Without it the
 * program allocates nothing of its own.
 */
#include "rl.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EPISODES_PER_WORKER = 16, WORKERS = 2, ITERATIONS = 300 };

/* One episode kept for replay; chunks form a list per worker. */
struct replay_chunk {
  struct replay_chunk *next;
  int length;
  struct transition steps[MAX_STEPS];
};

struct worker {
  const struct policy *policy;
  struct rng rng;
  double gradient[ACTIONS][OBS];
  double total_return;
  struct transition trajectory[MAX_STEPS];
  int keep_replay;
  struct replay_chunk *replay; /* never freed: the planted leak */
};

static int rollout(struct worker *w) {
  struct cartpole env;
  env_reset(&env, &w->rng);
  int t = 0, done = 0;
  while (!done) {
    struct transition *step = &w->trajectory[t];
    env_observe(&env, step->obs);
    step->action = policy_act(w->policy, step->obs, &w->rng);
    done = env_step(&env, step->action, &step->reward);
    t++;
  }
  return t;
}

static void *worker_main(void *arg) {
  struct worker *w = arg;
  memset(w->gradient, 0, sizeof w->gradient);
  w->total_return = 0;
  for (int e = 0; e < EPISODES_PER_WORKER; e++) {
    int length = rollout(w);
    w->total_return += length;
    policy_gradient(w->policy, w->trajectory, length, w->gradient);
    if (w->keep_replay && e == EPISODES_PER_WORKER - 1) {
      struct replay_chunk *chunk = malloc(sizeof *chunk);
      if (chunk) {
        chunk->length = length;
        memcpy(chunk->steps, w->trajectory, (size_t)length * sizeof chunk->steps[0]);
        chunk->next = w->replay;
        w->replay = chunk;
      }
    }
  }
  return NULL;
}

static void apply_gradients(struct policy *p, struct worker *workers, double learning_rate) {
  for (int a = 0; a < ACTIONS; a++)
    for (int i = 0; i < OBS; i++) {
      double g = 0;
      for (int k = 0; k < WORKERS; k++)
        g += workers[k].gradient[a][i];
      p->weights[a][i] += learning_rate * g / (WORKERS * EPISODES_PER_WORKER);
    }
}

/* One iteration; returns the mean episode length it saw. */
static double train_iteration(struct policy *p, struct worker *workers) {
  pthread_t threads[WORKERS];
  int started[WORKERS];
  for (int k = 0; k < WORKERS; k++) {
    started[k] = pthread_create(&threads[k], NULL, worker_main, &workers[k]) == 0;
    if (!started[k])
      worker_main(&workers[k]); /* run inline if no thread can be had */
  }
  for (int k = 0; k < WORKERS; k++)
    if (started[k])
      pthread_join(threads[k], NULL);
  apply_gradients(p, workers, 0.0005);
  double mean = 0;
  for (int k = 0; k < WORKERS; k++)
    mean += workers[k].total_return;
  return mean / (WORKERS * EPISODES_PER_WORKER);
}

int main(int argc, char **argv) {
  long iterations = ITERATIONS;
  if (argc > 1) {
    char *end;
    iterations = strtol(argv[1], &end, 10);
    if (argc > 2 || end == argv[1] || *end != '\0' || iterations < 1 || iterations > 1000000) {
      fprintf(stderr, "usage: %s [ITERATIONS]  (1 to 1000000, default %d)\n", argv[0], ITERATIONS);
      return 2;
    }
  }
  static struct worker workers[WORKERS];
  struct policy policy;
  memset(&policy, 0, sizeof policy);
  const char *leak = getenv("RL_LEAK_REPLAY");
  for (int k = 0; k < WORKERS; k++) {
    workers[k].keep_replay = leak && strcmp(leak, "1") == 0;
    workers[k].policy = &policy;
    workers[k].rng.state = 0x9E3779B97F4A7C15ULL * (uint64_t)(k + 1);
  }
  double first = 0, last = 0;
  for (long it = 0; it < iterations; it++) {
    last = train_iteration(&policy, workers);
    if (it == 0)
      first = last;
  }
  printf("mean episode length: %.1f at the start, %.1f after %ld iterations\n", first, last,
         iterations);
  return 0;
}
