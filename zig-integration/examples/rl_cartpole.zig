//! rl_cartpole.zig - the Zig twin of examples/rl_cartpole: a cart-pole
//! environment, a linear softmax policy trained with REINFORCE, and episodes
//! collected by worker threads each iteration. Profiled by `make demo`:
//!
//!   zinst zig build-exe zig-integration/examples/rl_cartpole.zig -O ReleaseFast
//!   ./rl_cartpole && zinst report rl_cartpole.zinst
//!
//! Zig compiles the whole program as one module and inlines small functions
//! freely: in a file this size everything would end up inside std's thread
//! entry. `noinline` keeps the environment step, the policy and the worker
//! loop out of line, the shape they have in a real code base where they are
//! bigger; `zinst tree` and `zinst inline` show what was inlined into them.
//! The two phases of a training iteration are zones (zig-integration's
//! zinst.zig): the report shows waiting for the workers apart from the update.
//!
//! RL_LEAK_REPLAY=1 in the environment plants a leak for `zinst mem`: each
//! worker then keeps its last episode of every iteration in a replay buffer
//! that nothing ever frees (ZINST_MEMORY=1 ./rl_cartpole; zinst mem
//! rl_cartpole.zinst names Worker.run with the bytes). Without it the program
//! allocates nothing of its own.
const std = @import("std");
const zinst = @import("zinst");

const obs_size = 4;
const actions = 2;
const max_steps = 500;
const workers = 2;
const episodes_per_worker = 16;
const iterations = 200;

/// xorshift64*: deterministic exploration noise with no std API in the way.
const Rng = struct {
    state: u64,

    fn uniform(self: *Rng) f64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        const bits = (self.state *% 2685821657736338717) >> 11;
        return @as(f64, @floatFromInt(bits)) * (1.0 / 9007199254740992.0);
    }
};

const Env = struct {
    x: f64 = 0,
    x_dot: f64 = 0,
    theta: f64 = 0,
    theta_dot: f64 = 0,
    steps: u32 = 0,

    fn reset(self: *Env, rng: *Rng) void {
        self.* = .{
            .x = (rng.uniform() - 0.5) * 0.1,
            .x_dot = (rng.uniform() - 0.5) * 0.1,
            .theta = (rng.uniform() - 0.5) * 0.1,
            .theta_dot = (rng.uniform() - 0.5) * 0.1,
        };
    }

    /// One Euler step of the classic cart-pole physics; true when the episode ends.
    noinline fn step(self: *Env, action: usize) bool {
        const gravity = 9.8;
        const pole_mass = 0.1;
        const total_mass = 1.1;
        const half_length = 0.5;
        const tau = 0.02;
        const force: f64 = if (action == 1) 10.0 else -10.0;
        const cos_t = @cos(self.theta);
        const sin_t = @sin(self.theta);
        const temp = (force + pole_mass * half_length * self.theta_dot * self.theta_dot * sin_t) / total_mass;
        const theta_acc = (gravity * sin_t - cos_t * temp) /
            (half_length * (4.0 / 3.0 - pole_mass * cos_t * cos_t / total_mass));
        const x_acc = temp - pole_mass * half_length * theta_acc * cos_t / total_mass;
        self.x += tau * self.x_dot;
        self.x_dot += tau * x_acc;
        self.theta += tau * self.theta_dot;
        self.theta_dot += tau * theta_acc;
        self.steps += 1;
        return @abs(self.x) > 2.4 or @abs(self.theta) > 0.2095 or self.steps >= max_steps;
    }

    fn observe(self: *const Env) [obs_size]f64 {
        return .{ self.x, self.x_dot, self.theta, self.theta_dot };
    }
};

const Policy = struct {
    weights: [actions][obs_size]f64 = std.mem.zeroes([actions][obs_size]f64),

    fn probabilities(self: *const Policy, obs: [obs_size]f64) [actions]f64 {
        var out: [actions]f64 = undefined;
        var max: f64 = -std.math.inf(f64);
        for (0..actions) |a| {
            var z: f64 = 0;
            for (0..obs_size) |i| z += self.weights[a][i] * obs[i];
            out[a] = z;
            max = @max(max, z);
        }
        var sum: f64 = 0;
        for (&out) |*v| {
            v.* = @exp(v.* - max);
            sum += v.*;
        }
        for (&out) |*v| v.* /= sum;
        return out;
    }

    noinline fn act(self: *const Policy, obs: [obs_size]f64, rng: *Rng) usize {
        const probs = self.probabilities(obs);
        return if (rng.uniform() < probs[0]) 0 else 1;
    }
};

const Transition = struct { obs: [obs_size]f64, action: usize };

/// One episode kept for replay; chunks form a list per worker.
const ReplayChunk = struct {
    next: ?*ReplayChunk,
    length: usize,
    steps: [max_steps]Transition,
};

const Worker = struct {
    policy: *const Policy,
    rng: Rng,
    gradient: [actions][obs_size]f64 = undefined,
    total_length: u64 = 0,
    trajectory: [max_steps]Transition = undefined,
    keep_replay: bool = false,
    replay: ?*ReplayChunk = null, // never freed: the planted leak

    fn rollout(self: *Worker) usize {
        var env: Env = .{};
        env.reset(&self.rng);
        var t: usize = 0;
        while (true) {
            const obs = env.observe();
            const action = self.policy.act(obs, &self.rng);
            self.trajectory[t] = .{ .obs = obs, .action = action };
            t += 1;
            if (env.step(action)) return t;
        }
    }

    /// REINFORCE: grad log pi(a_t|s_t) * G_t over one episode (reward 1 per step).
    noinline fn accumulate(self: *Worker, length: usize) void {
        var ret: f64 = 0;
        var t = length;
        while (t > 0) {
            t -= 1;
            ret = 1.0 + 0.99 * ret;
            const step = self.trajectory[t];
            const probs = self.policy.probabilities(step.obs);
            for (0..actions) |a| {
                const indicator: f64 = if (a == step.action) 1.0 else 0.0;
                for (0..obs_size) |i| self.gradient[a][i] += (indicator - probs[a]) * step.obs[i] * ret;
            }
        }
    }

    noinline fn run(self: *Worker) void {
        self.gradient = std.mem.zeroes([actions][obs_size]f64);
        self.total_length = 0;
        for (0..episodes_per_worker) |e| {
            const length = self.rollout();
            self.total_length += length;
            self.accumulate(length);
            if (self.keep_replay and e == episodes_per_worker - 1) {
                const chunk = std.heap.c_allocator.create(ReplayChunk) catch continue;
                chunk.* = .{ .next = self.replay, .length = length, .steps = undefined };
                @memcpy(chunk.steps[0..length], self.trajectory[0..length]);
                self.replay = chunk;
            }
        }
    }
};

noinline fn trainIteration(policy: *Policy, pool: *[workers]Worker) !f64 {
    {
        const collect = zinst.zone(@src(), "collect episodes");
        defer collect.end();
        var threads: [workers]std.Thread = undefined;
        for (pool, &threads) |*w, *t| t.* = try std.Thread.spawn(.{}, Worker.run, .{w});
        for (threads) |t| t.join();
    }
    const update = zinst.zone(@src(), "update policy");
    defer update.end();
    var mean: f64 = 0;
    for (0..actions) |a| for (0..obs_size) |i| {
        var g: f64 = 0;
        for (pool) |*w| g += w.gradient[a][i];
        policy.weights[a][i] += 0.0005 * g / (workers * episodes_per_worker);
    };
    for (pool) |*w| mean += @floatFromInt(w.total_length);
    return mean / (workers * episodes_per_worker);
}

pub fn main() !void {
    var policy: Policy = .{};
    var pool: [workers]Worker = undefined;
    const leak = std.c.getenv("RL_LEAK_REPLAY");
    const keep_replay = leak != null and std.mem.eql(u8, std.mem.span(leak.?), "1");
    for (&pool, 0..) |*w, k| w.* = .{ .policy = &policy, .rng = .{ .state = 0x9E3779B97F4A7C15 *% (k + 1) }, .keep_replay = keep_replay };
    var first: f64 = 0;
    var last: f64 = 0;
    for (0..iterations) |it| {
        last = try trainIteration(&policy, &pool);
        if (it == 0) first = last;
    }
    std.debug.print("mean episode length: {d:.1} at the start, {d:.1} after {d} iterations\n", .{ first, last, iterations });
}
