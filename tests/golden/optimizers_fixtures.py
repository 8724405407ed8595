"""SGD and Adam as torch.optim runs them on float32 parameters: four parameter tensors of awkward
sizes updated together for three steps, each step with new gradients.

Unlike the layer fixtures this one stays in float32 on purpose: the optimizer's float32
arithmetic is what kiln reproduces. Adam's state can start mid-run (a given step count and
non-zero moments, set in the optimizer's state as torch keeps it), where the bias correction
nearly vanishes. Hyperparameters are Python doubles, as a PyTorch user writes them; the C++ test
passes them to kiln as floats.

Tensors per case, k the parameter's position and s the step (0, 1, 2): value{k} (and, for Adam,
exp_avg{k}, exp_avg_sq{k}) before the first step, grad{k}/step{s}, and value{k}/after{s} (with
exp_avg{k}/after{s}, exp_avg_sq{k}/after{s}) after step s."""

import numpy as np
import torch

SEED = 7411
SIZES = (1, 7, 33, 1000)
STEPS = 3


def starting_values(generator):
    # Small values in the smaller tensors, so the update is a large part of each value and a
    # comparison of the values also weighs the update; realistic weights in the largest.
    scales = (0.5, 2e-3, 1e-2, 0.1)
    return [generator.uniform(-s, s, n).astype(np.float32) for s, n in zip(scales, SIZES)]


def gradients(generator):
    """One list per step; magnitudes differ per tensor, and the 33-element one holds exact zeros."""
    scales = (1.0, 1e-3, 3.0, 0.05)
    steps = []
    for _ in range(STEPS):
        grads = [(generator.standard_normal(n) * s).astype(np.float32) for s, n in zip(scales, SIZES)]
        grads[2][::5] = 0.0
        steps.append(grads)
    return steps


def run(name, params, make_optimizer, generator, state=None):
    values = starting_values(generator)
    grads = gradients(generator)
    tensors = {f"value{k}": v for k, v in enumerate(values)}
    parameters = [torch.tensor(v, requires_grad=True) for v in values]
    optimizer = make_optimizer(parameters)
    if state is not None:
        for k, p in enumerate(parameters):
            optimizer.state[p] = state(k, p.numel())
            tensors[f"exp_avg{k}"] = optimizer.state[p]["exp_avg"].numpy().copy()
            tensors[f"exp_avg_sq{k}"] = optimizer.state[p]["exp_avg_sq"].numpy().copy()
    for s, step_grads in enumerate(grads):
        for k, (p, g) in enumerate(zip(parameters, step_grads)):
            p.grad = torch.from_numpy(g.copy())
            tensors[f"grad{k}/step{s}"] = g
        optimizer.step()
        for k, p in enumerate(parameters):
            tensors[f"value{k}/after{s}"] = p.detach().numpy().copy()
            if "exp_avg" in optimizer.state[p]:
                tensors[f"exp_avg{k}/after{s}"] = optimizer.state[p]["exp_avg"].numpy().copy()
                tensors[f"exp_avg_sq{k}/after{s}"] = optimizer.state[p]["exp_avg_sq"].numpy().copy()
    params = dict(params, sizes=list(SIZES), steps=STEPS)
    return name, params, tensors


def adam_case(name, generator, lr, betas, eps, start_step):
    def state(k, n):
        if start_step == 0:
            return {"step": torch.tensor(0.0), "exp_avg": torch.zeros(n), "exp_avg_sq": torch.zeros(n)}
        # Moments of the sizes a long run builds up: exp_avg ~ grad, exp_avg_sq ~ grad^2.
        scale = (1.0, 1e-3, 3.0, 0.05)[k]
        exp_avg = (generator.standard_normal(n) * scale * 0.3).astype(np.float32)
        exp_avg_sq = (generator.uniform(0.2, 2.0, n) * scale * scale).astype(np.float32)
        return {"step": torch.tensor(float(start_step)), "exp_avg": torch.from_numpy(exp_avg),
                "exp_avg_sq": torch.from_numpy(exp_avg_sq)}

    params = {"optimizer": "adam", "lr": lr, "beta1": betas[0], "beta2": betas[1], "eps": eps,
              "start_step": start_step}
    return run(name, params,
               lambda ps: torch.optim.Adam(ps, lr=lr, betas=betas, eps=eps, foreach=False),
               generator, state)


def sgd_case(name, generator, lr):
    return run(name, {"optimizer": "sgd", "lr": lr},
               lambda ps: torch.optim.SGD(ps, lr=lr, foreach=False), generator)


def cases():
    generator = np.random.default_rng(SEED)
    return [
        sgd_case("sgd_fashion_lenet", generator, lr=0.04),
        sgd_case("sgd_lr_0.3", generator, lr=0.3),
        adam_case("adam_first_steps", generator, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                  start_step=0),
        adam_case("adam_after_1000_steps", generator, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
                  start_step=1000),
        adam_case("adam_other_settings", generator, lr=0.02, betas=(0.8, 0.95), eps=1e-6,
                  start_step=4),
    ]
