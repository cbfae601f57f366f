/*
 * rl.h - the example zinst profiles in `make demo`: a small but real
 * reinforcement-learning program in three translation units, the way such
 * code is usually laid out:
 *
 *   env.c     the cart-pole environment (physics step, reset, observation)
 *   policy.c  a linear softmax policy and its REINFORCE gradient
 *   train.c   rollouts on two worker threads, the training loop, main
 *
 * Calls between the files stay calls at -O2 (no LTO), calls inside a file
 * are mostly inlined: the profile shows what the CPU really runs.
 */
#ifndef RL_H
#define RL_H

#include <stdint.h>

enum { OBS = 4, ACTIONS = 2, MAX_STEPS = 500 };

struct rng {
  uint64_t state;
};

/* xorshift64*: fast, deterministic, good enough for exploration noise. */
static inline double rng_uniform(struct rng *r) {
  r->state ^= r->state >> 12;
  r->state ^= r->state << 25;
  r->state ^= r->state >> 27;
  return (double)((r->state * 2685821657736338717ULL) >> 11) * (1.0 / 9007199254740992.0);
}

struct cartpole {
  double x, x_dot, theta, theta_dot;
  int steps;
};

void env_reset(struct cartpole *env, struct rng *r);
int env_step(struct cartpole *env, int action, double *reward);
void env_observe(const struct cartpole *env, double obs[OBS]);

struct policy {
  double weights[ACTIONS][OBS];
};

struct transition {
  double obs[OBS];
  int action;
  double reward;
};

int policy_act(const struct policy *p, const double obs[OBS], struct rng *r);
void policy_gradient(const struct policy *p, const struct transition *trajectory, int length,
                     double gradient[ACTIONS][OBS]);

#endif
