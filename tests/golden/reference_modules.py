"""The reference PyTorch modules of docs/recipes.md, written as the two tutorials write them
(mnist-cnn's CNN and fashion-lenet's Net), defined once for the scripts that run them: tests/apps/torch_interop.py (kiln's weights
in these modules and back) and bench/pytorch_recipe.py (the recipes trained in PyTorch).

Their state_dict names are the tensor names which kiln reads and writes: mnist-cnn's fc1
is also layer4[0], so its state_dict holds fc1's tensors twice, as fc1.* and layer4.0.*.
"""

import torch
from torch import nn
from torch.nn import functional


class CNN(nn.Module):
    """mnist-cnn: three conv blocks, fc1 shared as layer4[0], fc2."""

    def __init__(self, keep_prob=0.7):
        super().__init__()
        self.layer1 = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2), nn.Dropout(p=1 - keep_prob))
        self.layer2 = nn.Sequential(
            nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2), nn.Dropout(p=1 - keep_prob))
        self.layer3 = nn.Sequential(
            nn.Conv2d(64, 128, kernel_size=3, stride=1, padding=1), nn.ReLU(),
            nn.MaxPool2d(kernel_size=2, stride=2, padding=1), nn.Dropout(p=1 - keep_prob))
        self.fc1 = nn.Linear(4 * 4 * 128, 625, bias=True)
        nn.init.xavier_uniform_(self.fc1.weight)
        self.layer4 = nn.Sequential(self.fc1, nn.ReLU(), nn.Dropout(p=1 - keep_prob))
        self.fc2 = nn.Linear(625, 10, bias=True)
        nn.init.xavier_uniform_(self.fc2.weight)

    def forward(self, x):
        out = self.layer1(x)
        out = self.layer2(out)
        out = self.layer3(out)
        out = out.view(out.size(0), -1)
        out = self.layer4(out)
        return self.fc2(out)


class Net(nn.Module):
    """fashion-lenet: no activation after the convolutions, a sigmoid output."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=0)
        self.conv2 = nn.Conv2d(6, 10, 5, padding=0)
        self.pool = nn.MaxPool2d(2, 2)
        self.ff1 = nn.Linear(4 * 4 * 10, 56)
        self.ff2 = nn.Linear(56, 10)

    def forward(self, x):
        x = self.conv1(x)
        x = self.pool(x)
        x = self.conv2(x)
        x = self.pool(x)
        x = x.view(-1, 4 * 4 * 10)
        x = functional.relu(self.ff1(x))
        x = torch.sigmoid(self.ff2(x))  # the tutorial's F.sigmoid, a deprecated alias of this
        return x


def mnist_cnn():
    """A fresh mnist-cnn module, initialised from torch's global generator as its tutorial does."""
    return CNN()


def fashion_lenet():
    """A fresh fashion-lenet module, initialised from torch's global generator as its tutorial does."""
    return Net()


MODELS = {"mnist-cnn": mnist_cnn, "fashion-lenet": fashion_lenet}
