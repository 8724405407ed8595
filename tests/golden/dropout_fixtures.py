"""Fixtures for kiln's dropout. The mask is kiln's, not PyTorch's: philox.py's dropout_keep_mask,
the Python twin of kernels/dropout_mask.h. It is applied as the reference applies it, in float32:
y = where(keep, x * scale, 0) with scale = 1 / (1 - p) rounded in float32 step by step, exactly
as dropout_scale() does, so the C++ test compares bit for bit. Stored: x, y, dy, dx."""

import numpy as np
import torch

import philox

# name: (count, p, seed, step, mask_stream)
CASES = {
    "count1": (1, 0.3, 0, 0, 0),
    "count3_partial_group": (3, 0.5, 1, 0, 0),
    "count1001_step1": (1001, 0.3, 12345, 1, 0),
    "seed_above_2pow32": (1030, 0.3, 2**32 + 7, 0, 1),
    "seed_64bit_late_step": (513, 0.3, 0xDEADBEEFCAFEBABE, 28124, 4),
    "stream2_step_28124": (1024, 0.5, 42, 28124, 2),
    "mnist_layer3_batch1": (2048, 0.3, 2026, 3, 2),
    "mnist_fc1_batch2": (2 * 625, 0.3, 7, 9, 3),
    "p0_identity": (100, 0.0, 5, 5, 0),
    "p09": (777, 0.9, 99, 1, 3),
}


def apply_mask(keep, values, p):
    scale = torch.tensor(np.float32(1.0) / (np.float32(1.0) - np.float32(p)), dtype=torch.float32)
    return torch.where(torch.from_numpy(keep), values * scale, torch.zeros((), dtype=torch.float32))


def cases():
    torch.manual_seed(0)
    result = []
    for name, (count, p, seed, step, mask_stream) in CASES.items():
        keep = philox.dropout_keep_mask(count, p, seed, step, mask_stream)
        x, dy = torch.randn(count), torch.randn(count)
        params = {"count": count, "p": p, "seed": seed, "step": step, "mask_stream": mask_stream}
        tensors = {"x": x.numpy(), "y": apply_mask(keep, x, p).numpy(), "dy": dy.numpy(),
                   "dx": apply_mask(keep, dy, p).numpy()}
        result.append((name, params, tensors))
    return result
