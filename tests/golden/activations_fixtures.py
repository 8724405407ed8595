"""PyTorch fixtures for kiln's element-wise activations: torch.relu and torch.sigmoid, forward and
autograd backward in float64. Each case's params name its op ("relu" or "sigmoid"); stored: x, y,
dy, dx."""

import torch

# Zeros of both signs (ReLU's kink), tiny values, and magnitudes where a naive sigmoid overflows
# exp (|x| > 88.7 in float) or rounds to exactly 0 or 1.
EDGES = [0.0, -0.0, 1e-30, -1e-30, 0.5, -0.5, 20.0, -20.0, 88.0, -88.0, 100.0, -100.0, 104.0,
         -104.0, 1e4, -1e4]


def activation_case(op, x):
    x64 = x.double().requires_grad_()
    y = getattr(torch, op)(x64)
    dy = torch.randn(x.shape)
    (y * dy.double()).sum().backward()
    return {"x": x.numpy(), "y": y.detach().float().numpy(), "dy": dy.numpy(),
            "dx": x64.grad.float().numpy()}


def inputs():
    return {
        "single": torch.randn(1),
        "odd_count": torch.randn(37) * 3,
        # ff1 of fashion-lenet (ReLU) and ff2 (Sigmoid) at batch 20; fc1 of mnist-cnn at batch 3.
        "fashion_ff1_batch20": torch.randn(20, 56) * 2,
        "fashion_ff2_batch20": torch.randn(20, 10) * 4,
        "mnist_fc1_batch3": torch.randn(3, 625),
        "edges_among_normal_values": torch.cat([torch.tensor(EDGES), torch.randn(48)]),
        "with_exact_zeros": torch.where(torch.rand(101) < 0.2, torch.zeros(101), torch.randn(101)),
    }


def cases():
    torch.manual_seed(0)
    result = []
    for op in ("relu", "sigmoid"):
        for name, x in inputs().items():
            result.append((f"{op}_{name}", {"op": op, "count": x.numel()}, activation_case(op, x)))
    return result
