"""PyTorch fixtures for kiln's fused softmax cross-entropy: torch.nn.functional.cross_entropy
(reduction='mean') and its autograd gradient w.r.t. the logits, in float64. Stored: logits,
labels (int32), loss (one float), dlogits."""

import torch
import torch.nn.functional as F

# name: (batch, classes, how the logits are drawn)
CASES = {
    "batch1_classes10": (1, 10, lambda shape: torch.randn(shape) * 2),
    "batch3_classes7": (3, 7, lambda shape: torch.randn(shape) * 2),
    "batch3_classes10": (3, 10, lambda shape: torch.randn(shape)),
    "batch20_classes10": (20, 10, lambda shape: torch.randn(shape) * 3),
    "batch20_classes7": (20, 7, lambda shape: torch.randn(shape)),
    "mnist_batch32_classes10": (32, 10, lambda shape: torch.randn(shape) * 5),
    # fashion-lenet feeds ff2's sigmoid outputs, in (0, 1), into the cross-entropy.
    "fashion_sigmoid_logits_batch20": (20, 10, lambda shape: torch.sigmoid(torch.randn(shape) * 3)),
    # Far beyond exp's range: only a max-shifted log-sum-exp stays finite.
    "large_logits_batch8": (8, 10, lambda shape: torch.randn(shape) * 1e3),
}


def cases():
    torch.manual_seed(0)
    result = []
    for name, (batch, classes, draw) in CASES.items():
        logits = draw((batch, classes)).float()
        labels = torch.randint(0, classes, (batch,))
        logits64 = logits.double().requires_grad_()
        loss = F.cross_entropy(logits64, labels, reduction="mean")
        loss.backward()
        tensors = {"logits": logits.numpy(), "labels": labels.int().numpy(),
                   "loss": loss.detach().float().reshape(1).numpy(),
                   "dlogits": logits64.grad.float().numpy()}
        result.append((name, {"batch": batch, "classes": classes}, tensors))
    return result
