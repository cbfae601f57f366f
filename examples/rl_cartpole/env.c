/* The cart-pole environment: the classic control benchmark's physics. */
#include "rl.h"

#include <math.h>

void env_reset(struct cartpole *env, struct rng *r) {
  env->x = (rng_uniform(r) - 0.5) * 0.1;
  env->x_dot = (rng_uniform(r) - 0.5) * 0.1;
  env->theta = (rng_uniform(r) - 0.5) * 0.1;
  env->theta_dot = (rng_uniform(r) - 0.5) * 0.1;
  env->steps = 0;
}

/* One Euler step of the physics. Returns 1 when the episode is over. */
int env_step(struct cartpole *env, int action, double *reward) {
  const double gravity = 9.8, cart_mass = 1.0, pole_mass = 0.1, half_length = 0.5;
  const double force = action ? 10.0 : -10.0, tau = 0.02;
  double total_mass = cart_mass + pole_mass;
  double cos_t = cos(env->theta), sin_t = sin(env->theta);
  double temp =
      (force + pole_mass * half_length * env->theta_dot * env->theta_dot * sin_t) / total_mass;
  double theta_acc = (gravity * sin_t - cos_t * temp) /
                     (half_length * (4.0 / 3.0 - pole_mass * cos_t * cos_t / total_mass));
  double x_acc = temp - pole_mass * half_length * theta_acc * cos_t / total_mass;
  env->x += tau * env->x_dot;
  env->x_dot += tau * x_acc;
  env->theta += tau * env->theta_dot;
  env->theta_dot += tau * theta_acc;
  env->steps++;
  *reward = 1.0;
  return fabs(env->x) > 2.4 || fabs(env->theta) > 0.2095 || env->steps >= MAX_STEPS;
}

void env_observe(const struct cartpole *env, double obs[OBS]) {
  obs[0] = env->x;
  obs[1] = env->x_dot;
  obs[2] = env->theta;
  obs[3] = env->theta_dot;
}
