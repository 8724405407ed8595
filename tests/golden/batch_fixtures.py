"""Batch assembly and accuracy counting as PyTorch does them.

gather cases: a small random uint8 dataset of odd image size, a list of indices (repeats, the
first and the last image), and the batch PyTorch builds from it: pixels through ToTensor's
arithmetic (torch.from_numpy(uint8).float().div(255); torchvision's ToTensor is exactly that)
and the labels. One case holds every pixel value 0..255, so each value's division is checked.

count cases: logits with ties (the first maximum must win, as in torch.argmax), their argmax,
labels matching about half of the rows (some at the first and some at the second of two tied
maxima), and the number of matches."""

import numpy as np
import torch

SEED = 90125


def gather_case(name, generator, images, labels, indices):
    indices = np.asarray(indices, dtype=np.int32)
    x = torch.from_numpy(images[indices]).float().div(255)
    y = torch.from_numpy(labels[indices].astype(np.int32))
    params = {"kind": "gather", "image_shape": list(images.shape[1:]), "batch": len(indices)}
    return name, params, {"images": images, "labels": labels, "indices": indices,
                          "x": x.numpy(), "y": y.numpy()}


def count_case(name, generator, batch, classes):
    logits = generator.standard_normal((batch, classes)).astype(np.float32)
    labels = generator.integers(0, classes, batch)
    ties = []
    if classes > 1:
        # Every third row gets two equal maxima; the label is alternately the first and the second.
        for row in range(0, batch, 3):
            first, second = sorted(generator.choice(classes, 2, replace=False))
            logits[row, first] = logits[row, second] = logits[row].max() + 1.0
            ties.append(row)
            labels[row] = first if len(ties) % 2 else second
        logits[batch - 1, :] = 0.25  # a row all tied: the argmax is 0
    argmax = torch.from_numpy(logits).argmax(dim=1)
    # The other rows: half of them labelled with their argmax.
    for row in range(batch):
        if row not in ties and generator.random() < 0.5:
            labels[row] = int(argmax[row])
    labels = torch.from_numpy(labels.astype(np.int64))
    correct = int((argmax == labels).sum())
    params = {"kind": "count", "batch": batch, "classes": classes}
    return name, params, {"logits": logits, "labels": labels.numpy().astype(np.int32),
                          "argmax": argmax.numpy().astype(np.int32),
                          "correct": np.array([correct], dtype=np.int32)}


def cases():
    generator = np.random.default_rng(SEED)
    images = generator.integers(0, 256, size=(11, 5, 7), dtype=np.uint8)
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = generator.integers(0, 10, size=11, dtype=np.uint8)
    every_value = generator.permutation(256).astype(np.uint8).reshape(2, 8, 16)
    return [
        gather_case("gather_odd_images", generator, images, labels,
                    [10, 3, 3, 0, 7, 10, 5, 1, 3]),
        gather_case("gather_batch_1", generator, images, labels, [10]),
        gather_case("gather_every_pixel_value", generator, every_value,
                    np.array([4, 9], dtype=np.uint8), [1, 0, 1]),
        count_case("count_mnist_batch", generator, batch=32, classes=10),
        count_case("count_odd", generator, batch=13, classes=7),
        count_case("count_one_class", generator, batch=5, classes=1),
    ]
