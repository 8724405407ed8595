"""Linear (F.linear, y = x W^T + b) as PyTorch computes it, for
tests/kernels/cpu/linear_test.cpp: y and, for a random upstream gradient dy (the loss
sum(y * dy)), autograd's dx, dweight and dbias, in float64 from float32 inputs. Inputs are drawn
and large outputs sampled as compact_tensors.py says: x, weight, bias and dy are the case's input
streams 0, 1, 2 and 3.

Cases: batch 1 and odd batches, a single input or output feature, with and without bias, then
every linear layer of the two reference models (docs/recipes.md) at batch 2."""

import numpy as np
import torch.nn.functional as F

import compact_tensors

SEED = 0x11AEA400
X, WEIGHT, BIAS, DY = 0, 1, 2, 3


def linear_case(name, seed, batch, in_features, out_features, bias=True):
    x = compact_tensors.draw_input((batch, in_features), seed, X).requires_grad_()
    weight = compact_tensors.draw_input((out_features, in_features), seed, WEIGHT).requires_grad_()
    b = compact_tensors.draw_input((out_features,), seed, BIAS).requires_grad_() if bias else None
    y = F.linear(x, weight, b)
    dy = compact_tensors.draw_input(y.shape, seed, DY)
    (y * dy).sum().backward()

    generator = np.random.default_rng(seed)
    tensors = {}
    outputs = [("y", y), ("dx", x.grad), ("dweight", weight.grad)]
    outputs += [("dbias", b.grad)] if bias else []
    for tensor_name, value in outputs:
        compact_tensors.store_output(tensors, tensor_name, value, generator)
    params = {"batch": batch, "in_features": in_features, "out_features": out_features,
              "bias": bias, "seed": seed}
    return name, params, tensors


CASES = [
    # name, batch, in_features, out_features, bias
    ("b1_7to3", 1, 7, 3, True),
    ("b3_7to3_nobias", 3, 7, 3, False),
    ("b5_1to4", 5, 1, 4, True),
    ("b3_13to1_nobias", 3, 13, 1, False),
    ("b5_160to56", 5, 160, 56, True),
    ("b3_56to10_nobias", 3, 56, 10, False),
    ("b5_625to10", 5, 625, 10, True),
    ("mnist_cnn_fc1", 2, 2048, 625, True),
    ("mnist_cnn_fc2", 2, 625, 10, True),
    ("fashion_lenet_ff1", 2, 160, 56, True),
    ("fashion_lenet_ff2", 2, 56, 10, True),
]


def cases():
    return [linear_case(name, SEED + index, *settings)
            for index, (name, *settings) in enumerate(CASES)]
