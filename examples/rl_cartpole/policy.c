/* A linear softmax policy over the observation, trained with REINFORCE. */
#include "rl.h"

#include <math.h>

static void policy_logits(const struct policy *p, const double obs[OBS], double out[ACTIONS]) {
  for (int a = 0; a < ACTIONS; a++) {
    double z = 0;
    for (int i = 0; i < OBS; i++)
      z += p->weights[a][i] * obs[i];
    out[a] = z;
  }
}

static void softmax(double v[ACTIONS]) {
  double max = v[0];
  for (int a = 1; a < ACTIONS; a++)
    max = v[a] > max ? v[a] : max;
  double sum = 0;
  for (int a = 0; a < ACTIONS; a++)
    sum += v[a] = exp(v[a] - max);
  for (int a = 0; a < ACTIONS; a++)
    v[a] /= sum;
}

int policy_act(const struct policy *p, const double obs[OBS], struct rng *r) {
  double probs[ACTIONS];
  policy_logits(p, obs, probs);
  softmax(probs);
  return rng_uniform(r) < probs[0] ? 0 : 1;
}

/* Adds grad log pi(a_t|s_t) * G_t over one episode to `gradient`. */
void policy_gradient(const struct policy *p, const struct transition *trajectory, int length,
                     double gradient[ACTIONS][OBS]) {
  double ret = 0;
  for (int t = length - 1; t >= 0; t--) {
    ret = trajectory[t].reward + 0.99 * ret;
    double probs[ACTIONS];
    policy_logits(p, trajectory[t].obs, probs);
    softmax(probs);
    for (int a = 0; a < ACTIONS; a++) {
      double indicator = a == trajectory[t].action ? 1.0 : 0.0;
      for (int i = 0; i < OBS; i++)
        gradient[a][i] += (indicator - probs[a]) * trajectory[t].obs[i] * ret;
    }
  }
}
