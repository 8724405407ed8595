"""Keeps fixtures of full-size layers small (the mnist-cnn fc1 weight alone is 5 MB): the
convention shared with tests/support/compact_tensors.h.

- Inputs are not stored. Input `stream` of a case is U(-1, 1) drawn from kiln's Philox uniform
  numbers under the case's seed, 2u - 1 (philox.uniform_init with bound 1, exact in float32),
  and the C++ test draws the same values.
- An expected output of more than SAMPLE_ABOVE elements is stored as a fixed random sample:
  "<name>" holds the sampled values, "<name>_indices" their flat indices (int32, ascending).
  Smaller outputs are stored whole, in their shape."""

import numpy as np
import torch

import philox

SAMPLE_ABOVE = 8192
SAMPLE_SIZE = 2048


def draw_input(shape, seed, stream):
    """Input `stream` of the case with this seed, as a float64 tensor of float32 values."""
    return torch.from_numpy(philox.uniform_init(tuple(shape), 1.0, seed, stream)).double()


def store_output(tensors, name, value, generator):
    """Adds the float64 tensor `value`, rounded to float32, whole or sampled with `generator`."""
    values = value.detach().float().numpy()
    if values.size <= SAMPLE_ABOVE:
        tensors[name] = values
        return
    indices = np.sort(generator.choice(values.size, SAMPLE_SIZE, replace=False)).astype(np.int32)
    tensors[name] = values.reshape(-1)[indices]
    tensors[f"{name}_indices"] = indices
