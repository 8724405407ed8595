"""Two whole training steps of each reference model (docs/recipes.md), as PyTorch computes them:
mnist-cnn with Adam and dropout, fashion-lenet with SGD and its sigmoid-into-cross-entropy head.

The C++ test replays the very same steps, so nothing random comes from torch:
- parameters start from kiln's Philox initialisation (philox.uniform_init: U(-bound, bound) with
  PyTorch's default bounds, 1/sqrt(fan_in), and Xavier-uniform's sqrt(6/(fan_in+fan_out)) for
  mnist-cnn's linears; parameter k of the model's list uses stream INIT_STREAM + k);
- dropout uses kiln's mask (philox.dropout_keep_mask) with mask_stream 1..4 for the four dropout
  layers in order and the step number as the step key.
Everything is computed in float64 from float32 starting values; the batch comes from a small
random uint8 dataset through an index list, as the trainer gathers it. Tensors over
SAMPLE_ABOVE elements (fc1.weight) are stored as a fixed random sample of their elements, which
keeps the file small; every other tensor is stored whole."""

import numpy as np
import torch
import torch.nn.functional as F

import philox

SEED = 20261123
INIT_STREAM = 0x10000
DROPOUT = 0.3
BATCH = 4
SAMPLE_ABOVE = 100_000
SAMPLE_SIZE = 4096


def dropout(x, step, mask_stream):
    keep = philox.dropout_keep_mask(x.numel(), DROPOUT, SEED, step, mask_stream)
    mask = torch.from_numpy(keep).reshape(x.shape)
    return torch.where(mask, x * float(np.float32(1.0) / np.float32(1.0 - DROPOUT)), torch.zeros_like(x))


def initial_parameters(layers, xavier_linears):
    """layers: (name, kind, in, out, kernel) in the model's order; weights then biases."""
    parameters, stream = {}, INIT_STREAM
    for name, kind, fan_in_channels, out, kernel in layers:
        fan_in = fan_in_channels * kernel * kernel
        shape = (out, fan_in_channels, kernel, kernel) if kind == "conv" else (out, fan_in_channels)
        weight_bound = (np.sqrt(6.0 / (fan_in + out)) if kind == "linear" and xavier_linears
                        else 1.0 / np.sqrt(fan_in))
        for tensor, tensor_shape, bound in (("weight", shape, weight_bound),
                                            ("bias", (out,), 1.0 / np.sqrt(fan_in))):
            values = philox.uniform_init(tensor_shape, bound, SEED, stream)
            parameters[f"{name}.{tensor}"] = torch.from_numpy(values).double().requires_grad_()
            stream += 1
    return parameters


def mnist_cnn_parameters():
    return initial_parameters([("layer1.0", "conv", 1, 32, 3), ("layer2.0", "conv", 32, 64, 3),
                               ("layer3.0", "conv", 64, 128, 3), ("fc1", "linear", 2048, 625, 1),
                               ("fc2", "linear", 625, 10, 1)], xavier_linears=True)


def mnist_cnn_logits(p, x, step):
    x = dropout(F.max_pool2d(F.relu(F.conv2d(x, p["layer1.0.weight"], p["layer1.0.bias"], padding=1)), 2, 2), step, 1)
    x = dropout(F.max_pool2d(F.relu(F.conv2d(x, p["layer2.0.weight"], p["layer2.0.bias"], padding=1)), 2, 2), step, 2)
    x = dropout(F.max_pool2d(F.relu(F.conv2d(x, p["layer3.0.weight"], p["layer3.0.bias"], padding=1)), 2, 2, padding=1), step, 3)
    x = dropout(F.relu(F.linear(x.flatten(1), p["fc1.weight"], p["fc1.bias"])), step, 4)
    return F.linear(x, p["fc2.weight"], p["fc2.bias"])


def fashion_lenet_parameters():
    return initial_parameters([("conv1", "conv", 1, 6, 5), ("conv2", "conv", 6, 10, 5),
                               ("ff1", "linear", 160, 56, 1), ("ff2", "linear", 56, 10, 1)],
                              xavier_linears=False)


def fashion_lenet_logits(p, x, step):
    del step  # no dropout in this model
    x = F.max_pool2d(F.conv2d(x, p["conv1.weight"], p["conv1.bias"]), 2, 2)
    x = F.max_pool2d(F.conv2d(x, p["conv2.weight"], p["conv2.bias"]), 2, 2)
    x = F.relu(F.linear(x.flatten(1), p["ff1.weight"], p["ff1.bias"]))
    return torch.sigmoid(F.linear(x, p["ff2.weight"], p["ff2.bias"]))


def store(tensors, prefix, parameters, values_of, samples):
    for name, parameter in parameters.items():
        values = values_of(parameter).detach().float().numpy()
        if name in samples:
            tensors[f"{prefix}/{name}"] = values.reshape(-1)[samples[name]]
        else:
            tensors[f"{prefix}/{name}"] = values


def two_steps(name, make_parameters, logits_of, make_optimizer, generator):
    images = generator.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    labels = generator.integers(0, 10, size=7).astype(np.uint8)
    parameters = make_parameters()
    optimizer = make_optimizer(list(parameters.values()))
    samples = {k: np.sort(generator.choice(v.numel(), SAMPLE_SIZE, replace=False)).astype(np.int32)
               for k, v in parameters.items() if v.numel() > SAMPLE_ABOVE}
    tensors = {"images": images, "labels": labels}
    tensors.update({f"sample_indices/{k}": v for k, v in samples.items()})
    for step in range(2):
        indices = generator.integers(0, len(images), size=BATCH).astype(np.int32)
        x = torch.from_numpy(images[indices]).double().div(255).unsqueeze(1)
        y = torch.from_numpy(labels[indices].astype(np.int64))
        optimizer.zero_grad()
        loss = F.cross_entropy(logits_of(parameters, x, step), y)
        loss.backward()
        optimizer.step()
        tensors[f"step{step}/indices"] = indices
        tensors[f"step{step}/loss"] = np.array([loss.item()], dtype=np.float32)
        store(tensors, f"step{step}/grad", parameters, lambda p: p.grad, samples)
        store(tensors, f"step{step}/after", parameters, lambda p: p, samples)
    params = {"seed": SEED, "init_stream": INIT_STREAM, "dropout": DROPOUT, "batch": BATCH,
              "parameters": list(parameters)}
    return name, params, tensors


def cases():
    generator = np.random.default_rng(SEED)
    return [
        two_steps("mnist_cnn", mnist_cnn_parameters, mnist_cnn_logits,
                  lambda ps: torch.optim.Adam(ps, lr=1e-3, betas=(0.9, 0.999), eps=1e-8), generator),
        two_steps("fashion_lenet", fashion_lenet_parameters, fashion_lenet_logits,
                  lambda ps: torch.optim.SGD(ps, lr=0.04), generator),
    ]
