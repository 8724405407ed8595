"""PyTorch fixtures for kiln's max pooling: torch.nn.functional.max_pool2d (ceil_mode=False,
dilation 1) with return_indices=True, forward and autograd backward in float64. Stored per case:
x, y, indices (int32, h * in_width + w within the channel plane), dy, dx."""

import torch
import torch.nn.functional as F

# name: (batch, channels, height, width, kernel (h, w), stride (h, w), padding (h, w))
SHAPES = {
    "k2s2_even": (2, 3, 8, 8, (2, 2), (2, 2), (0, 0)),
    "k2s2_odd": (3, 1, 7, 9, (2, 2), (2, 2), (0, 0)),
    "k3s2p1": (1, 7, 9, 10, (3, 3), (2, 2), (1, 1)),
    "k3s1p1_overlapping": (3, 3, 6, 7, (3, 3), (1, 1), (1, 1)),
    "k3s2_overlapping": (2, 3, 11, 11, (3, 3), (2, 2), (0, 0)),
    "k5s3p2": (1, 3, 13, 12, (5, 5), (3, 3), (2, 2)),
    "k1s1_identity": (1, 3, 5, 5, (1, 1), (1, 1), (0, 0)),
    "nonsquare_k3x2_s2x1_p1x0": (2, 3, 10, 9, (3, 2), (2, 1), (1, 0)),
    "nonsquare_k2x4_s1x3_p1x2": (1, 7, 6, 11, (2, 4), (1, 3), (1, 2)),
    # The reference models' pooling layers (docs/recipes.md) at batch 1 or 2, to keep the file small.
    "mnist_layer1": (1, 32, 28, 28, (2, 2), (2, 2), (0, 0)),
    "mnist_layer2": (1, 64, 14, 14, (2, 2), (2, 2), (0, 0)),
    "mnist_layer3_padded": (1, 128, 7, 7, (2, 2), (2, 2), (1, 1)),
    "fashion_pool1": (1, 6, 24, 24, (2, 2), (2, 2), (0, 0)),
    "fashion_pool2": (2, 10, 8, 8, (2, 2), (2, 2), (0, 0)),
}

# Inputs from {0, 1, 2}: most windows hold tied maxima, so the first-maximum rule is exercised.
TIED_SHAPES = {
    "ties_k2s2": (2, 3, 8, 8, (2, 2), (2, 2), (0, 0)),
    "ties_k3s1p1": (1, 3, 7, 6, (3, 3), (1, 1), (1, 1)),
    "ties_k3s2p1": (2, 1, 9, 9, (3, 3), (2, 2), (1, 1)),
}


def pool_case(shape, x):
    batch, channels, height, width, kernel, stride, padding = shape
    x64 = x.double().requires_grad_()
    y, indices = F.max_pool2d(x64, kernel, stride, padding, return_indices=True)
    dy = torch.randn(y.shape)
    (y * dy.double()).sum().backward()
    params = {"batch": batch, "channels": channels, "in_height": height, "in_width": width,
              "kernel_height": kernel[0], "kernel_width": kernel[1],
              "stride_height": stride[0], "stride_width": stride[1],
              "pad_height": padding[0], "pad_width": padding[1]}
    tensors = {"x": x.numpy(), "y": y.detach().float().numpy(), "indices": indices.int().numpy(),
               "dy": dy.numpy(), "dx": x64.grad.float().numpy()}
    return params, tensors


def nan_and_negative_infinity_input():
    """NaN beats any number (with two NaNs in a window the last wins, by PyTorch's
    `val > max || isnan(val)`), and a window of nothing but -inf still selects a real element."""
    x = torch.randn(1, 2, 6, 8)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 0, 4, 5] = float("nan")
    x[0, 1, :4, :5] = float("-inf")
    return x


def cases():
    torch.manual_seed(0)
    result = []
    for name, shape in SHAPES.items():
        result.append((name, *pool_case(shape, torch.randn(shape[:4]))))
    for name, shape in TIED_SHAPES.items():
        result.append((name, *pool_case(shape, torch.randint(0, 3, shape[:4]).float())))
    # Windows k3 s2 p1 over 6 x 8: several windows hold two NaNs, one holds only -inf and pads.
    nan_shape = (1, 2, 6, 8, (3, 3), (2, 2), (1, 1))
    result.append(("nan_and_negative_infinity",
                   *pool_case(nan_shape, nan_and_negative_infinity_input())))
    return result
