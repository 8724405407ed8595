"""conv2d as PyTorch computes it, for tests/kernels/cpu/conv2d_test.cpp: F.conv2d's output y and,
for a random upstream gradient dy (the loss sum(y * dy)), autograd's dx, dweight and dbias, in
float64 from float32 inputs. Inputs are drawn and large outputs sampled as compact_tensors.py
says: x, weight, bias and dy are the case's input streams 0, 1, 2 and 3.

Cases: awkward shapes (batch 1 and odd batches, odd and non-square images, 1, 3 and 7 channels,
kernels 1, 3, 5 and 3x5, strides 1, 2, 3 and 2x1, padding 0, 1, 2 and 1x2, with and without
bias, a stride that skips input pixels, a kernel as tall as the padded input), then every conv
layer of the two reference models (docs/recipes.md) at batch 2."""

import numpy as np
import torch
import torch.nn.functional as F

import compact_tensors

SEED = 0xC0DE2D00
X, WEIGHT, BIAS, DY = 0, 1, 2, 3


def pair(value):
    return value if isinstance(value, tuple) else (value, value)


def conv_case(name, seed, batch, in_channels, size, out_channels, kernel, stride=1, padding=0,
              bias=True):
    (in_height, in_width), (kernel_height, kernel_width) = size, pair(kernel)
    stride, padding = pair(stride), pair(padding)
    x = compact_tensors.draw_input((batch, in_channels, in_height, in_width), seed, X)
    weight = compact_tensors.draw_input((out_channels, in_channels, kernel_height, kernel_width),
                                        seed, WEIGHT)
    b = compact_tensors.draw_input((out_channels,), seed, BIAS) if bias else None
    for tensor in (x, weight, b):
        if tensor is not None:
            tensor.requires_grad_()
    y = F.conv2d(x, weight, b, stride=stride, padding=padding)
    dy = compact_tensors.draw_input(y.shape, seed, DY)
    (y * dy).sum().backward()

    generator = np.random.default_rng(seed)
    tensors = {}
    outputs = [("y", y), ("dx", x.grad), ("dweight", weight.grad)]
    outputs += [("dbias", b.grad)] if bias else []
    for tensor_name, value in outputs:
        compact_tensors.store_output(tensors, tensor_name, value, generator)
    params = {"batch": batch, "in_channels": in_channels, "in_height": in_height,
              "in_width": in_width, "out_channels": out_channels, "kernel_height": kernel_height,
              "kernel_width": kernel_width, "stride_height": stride[0], "stride_width": stride[1],
              "pad_height": padding[0], "pad_width": padding[1], "bias": bias, "seed": seed}
    return name, params, tensors


CASES = [
    # name, batch, in_channels, (height, width), out_channels, kernel, stride, padding, bias
    ("b1_c1to1_5x5_k3", 1, 1, (5, 5), 1, 3, 1, 0, True),
    ("b3_c3to7_7x9_k3_p1", 3, 3, (7, 9), 7, 3, 1, 1, True),
    ("b5_c7to3_13x11_k5_s2_p2_nobias", 5, 7, (13, 11), 3, 5, 2, 2, False),
    ("b3_c7to7_13x11_k3_s2_p1", 3, 7, (13, 11), 7, 3, 2, 1, True),
    ("b1_c3to7_7x9_k1", 1, 3, (7, 9), 7, 1, 1, 0, True),
    ("b5_c3to1_9x7_k1_s2_nobias", 5, 3, (9, 7), 1, 1, 2, 0, False),
    ("b3_c1to3_11x13_k5_p2_nobias", 3, 1, (11, 13), 3, 5, 1, 2, False),
    ("b3_c3to3_8x10_k3_s3", 3, 3, (8, 10), 3, 3, 3, 0, True),
    ("b5_c3to7_7x9_k3x5_s2x1_p1x2", 5, 3, (7, 9), 7, (3, 5), (2, 1), (1, 2), True),
    ("b1_c7to3_3x5_k5_p1", 1, 7, (3, 5), 3, 5, 1, 1, True),
    ("mnist_cnn_layer1", 2, 1, (28, 28), 32, 3, 1, 1, True),
    ("mnist_cnn_layer2", 2, 32, (14, 14), 64, 3, 1, 1, True),
    ("mnist_cnn_layer3", 2, 64, (7, 7), 128, 3, 1, 1, True),
    ("fashion_lenet_conv1", 2, 1, (28, 28), 6, 5, 1, 0, True),
    ("fashion_lenet_conv2", 2, 6, (12, 12), 10, 5, 1, 0, True),
]


def cases():
    return [conv_case(name, SEED + index, *settings)
            for index, (name, *settings) in enumerate(CASES)]
