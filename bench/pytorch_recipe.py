#!/usr/bin/env python3
"""The PyTorch peer of kiln's numbers: trains one recipe of docs/recipes.md in PyTorch as the
reference PyTorch program does, so the README's training results and the benchmark report can set kiln's accuracy and
speed beside PyTorch's on the same data, recipe and machine.

    /usr/bin/python3 bench/pytorch_recipe.py --model fashion-lenet --device cpu --threads 1
    /usr/bin/python3 bench/pytorch_recipe.py --model mnist-cnn --device cuda --metrics torch.jsonl
    /usr/bin/python3 bench/pytorch_recipe.py --model mnist-cnn --epochs 1 --max-steps 200 \\
        --eval-limit 2000                                              # a quick check
    python3 bench/pytorch_recipe.py --mode graphed --json peer.json    # the benchmark report's row

--mode eager (the default) launches every op from Python, as the reference program does. --mode graphed, on a
GPU only, captures the whole training step (batch gather, forward, loss, backward, optimizer step
and the running loss and accuracy sums) once as a CUDA graph on static tensors and replays it per
batch, as PyTorch's whole-network capture does: the fastest PyTorch has for this loop, kiln's
--cuda-graph on. Warm-up before capture trains on real batches and is undone (weights restored,
optimizer state zeroed), so both modes start from the same weights. --json writes one summary
object (model, mode, images/s, epoch seconds, final test accuracy, TF32 switches) for
bench/compare_report.py.

What it does, as the reference program and kiln's train_mnist_gpu do:
- data: the same IDX files kiln reads (--data, default the repository's data/mnist or
  data/fashion-mnist), held on the device as float32 pixels / 255 (ToTensor, no normalisation);
- the reference module (tests/golden/reference_modules.py) with PyTorch's initialisation;
- mnist-cnn: Adam lr 1e-3, batch 32; fashion-lenet: plain SGD lr 0.04, batch 20, on a random
  48,000 / 12,000 train / validation split; 15 epochs; softmax cross-entropy on the outputs;
- each epoch's batches in the order of a fresh torch.randperm, the last one short if need be;
- after each epoch: the validation set (fashion-lenet) and the test set, each in file order in
  batches of the training batch size, the loss being the mean of the batches' mean losses;
- fashion-lenet keeps the weights whenever the validation loss does not increase (<=) and the
  final test uses the best ones; mnist-cnn's final test uses the final weights.
torch.manual_seed(--seed) seeds everything, drawn from PyTorch's CPU generator in this order: the
split, the initial weights, then each epoch's permutation (mnist-cnn's dropout also draws from it
on the CPU and from the CUDA generator on a GPU, so its batches differ between the two).

epoch_seconds times the training loop only (the CUDA queue drained before each clock reading);
evaluation is outside it, as in kiln. --metrics writes kiln's JSON Lines keys, so scripts/plot.py
and the reports read both. Exit status: 0 on success, 2 on a usage error, 1 on any other error,
with one line on stderr.
"""

import argparse
import copy
import dataclasses
import json
import math
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "golden"))
# The flags are checked before PyTorch is needed, so that a usage error says so even without it.
try:
    import torch
    from torch.nn import functional
    import idx_io  # (tests/golden, shared with tests/apps/torch_interop.py; needs numpy)
    import reference_modules  # (tests/golden: the reference PyTorch modules)
    TORCH_MISSING = None
except ImportError as _error:
    TORCH_MISSING = str(_error)


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One model's training recipe (docs/recipes.md)."""

    dataset: str  # the folder under data/
    optimizer: str  # the class in torch.optim
    learning_rate: float
    batch_size: int
    validation_images: int  # held out of the training file at random; 0: none


RECIPES = {
    "mnist-cnn": Recipe("mnist", "Adam", 1e-3, 32, 0),
    "fashion-lenet": Recipe("fashion-mnist", "SGD", 0.04, 20, 12000),
}
EPOCHS = 15


class RunError(Exception):
    """A failure reported in one line on stderr, exit status 1."""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", choices=sorted(RECIPES), default="mnist-cnn",
                        help="the network and its recipe (default: mnist-cnn)")
    parser.add_argument("--data", type=Path,
                        help="the dataset folder with the four IDX files, raw or .gz (default: "
                             "data/mnist or data/fashion-mnist of this repository)")
    parser.add_argument("--epochs", type=int, default=EPOCHS,
                        help=f"training epochs (default: {EPOCHS})")
    parser.add_argument("--seed", type=int, default=0, help="torch.manual_seed (default: 0)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="auto: CUDA when PyTorch sees a GPU, else the CPU (default: auto)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch.set_num_threads (default: 1, for comparisons on the CPU)")
    parser.add_argument("--allow-tf32", action="store_true",
                        help="let cuBLAS and cuDNN use TF32 (default: off, float32 throughout)")
    parser.add_argument("--mode", choices=["eager", "graphed"], default="eager",
                        help="eager: ops launched from Python; graphed: the whole step replayed "
                             "as one CUDA graph (GPU only) (default: eager)")
    parser.add_argument("--json", type=Path,
                        help="write a summary of the run (bench/compare_report.py reads it) here")
    parser.add_argument("--metrics", type=Path,
                        help="write one JSON object per epoch (kiln's --metrics keys) here")
    parser.add_argument("--max-steps", type=int, default=0,
                        help="stop after N optimizer steps in all, then evaluate as usual "
                             "(quick checks; default: 0, no limit)")
    parser.add_argument("--eval-limit", type=int, default=0,
                        help="evaluate on the first N images of each set (quick checks; "
                             "default: 0, all)")
    args = parser.parse_args()
    for name in ("epochs", "threads"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("max_steps", "eval_limit"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if args.data is None:
        args.data = REPO / "data" / RECIPES[args.model].dataset
    return args


def choose_device(requested):
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        print("no GPU visible to PyTorch: running on the CPU")
        return torch.device("cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise RunError("--device cuda: PyTorch sees no GPU (torch.cuda.is_available() is False)")
    return torch.device(requested)


def check_mode(mode, device):
    if mode == "graphed" and device.type != "cuda":
        raise RunError(f"--mode graphed: CUDA graphs need a GPU, and this run is on {device.type}")


def set_tf32(allow):
    """Sets both TF32 switches explicitly (PyTorch 1.13's defaults differ: cuBLAS off, cuDNN on)
    and says which are in force."""
    torch.backends.cuda.matmul.allow_tf32 = allow
    torch.backends.cudnn.allow_tf32 = allow
    print(f"TF32: torch.backends.cuda.matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}, "
          f"torch.backends.cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}")


def load_split(folder, split, device):
    """(images float32 N x 1 x 28 x 28 in [0, 1], labels int64) of "train" or "t10k" on device."""
    try:
        images, labels = idx_io.read_split(folder, split)
    except (OSError, idx_io.IdxError) as error:
        raise RunError(str(error)) from None
    # uint8 -> float32, then a float32 division by 255, as ToTensor and kiln's gather_batch do.
    x = torch.from_numpy(images.copy()).to(device).float().div(255).unsqueeze(1)
    return x, torch.from_numpy(labels.copy()).to(device).long()


def synchronize(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def evaluate(module, x, y, batch_size):
    """(mean over batches of each batch's mean cross-entropy, correct predictions), file order."""
    module.eval()
    loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    batches = 0
    with torch.no_grad():
        for first in range(0, len(x), batch_size):
            output = module(x[first:first + batch_size])
            target = y[first:first + batch_size]
            loss_sum += functional.cross_entropy(output, target).double()
            correct += (output.argmax(dim=1) == target).sum()
            batches += 1
    return loss_sum.item() / batches, correct.item()


def train_batch(module, optimizer, x, y, index, loss_sum, correct):
    """One optimizer step on the images `index` picks, after the gradients were reset; adds its
    loss and correct predictions to the device tensors loss_sum and correct, so that the loop
    never waits for the GPU (they are read once per epoch)."""
    inputs, target = x[index], y[index]
    output = module(inputs)
    loss = functional.cross_entropy(output, target)
    loss.backward()
    optimizer.step()
    loss_sum += loss.detach().double()
    correct += (output.detach().argmax(dim=1) == target).sum()


class EagerStep:
    """A training step launched op by op from Python, as the reference program does."""

    def __init__(self, module, optimizer, x, y):
        self.module, self.optimizer, self.x, self.y = module, optimizer, x, y
        self.loss_sum = torch.zeros((), dtype=torch.float64, device=x.device)
        self.correct = torch.zeros((), dtype=torch.int64, device=x.device)

    def train(self, index):
        self.optimizer.zero_grad()
        train_batch(self.module, self.optimizer, self.x, self.y, index, self.loss_sum,
                    self.correct)


class GraphedStep(EagerStep):
    """The whole training step, captured once as a CUDA graph on static tensors: copying a batch's
    indices in and replaying the graph trains on that batch and adds to the running sums. Batches
    of another size (an epoch's short last one) run eagerly on the same module and optimizer."""

    def __init__(self, module, optimizer, x, y, order, batch_size):
        super().__init__(module, optimizer, x, y)
        self.batch_size = batch_size
        self.index = order[:batch_size].clone()
        weights = [p.detach().clone() for p in module.parameters()]
        module.train()
        # Capture needs warmed-up kernels and lazily made optimizer state: a few real steps on a
        # side stream, undone below so that the recipe starts from the initial weights.
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                optimizer.zero_grad(set_to_none=True)
                self._step(self.index)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        optimizer.zero_grad(set_to_none=True)
        with torch.cuda.graph(self.graph):
            self._step(self.index)
        with torch.no_grad():
            for parameter, initial in zip(module.parameters(), weights):
                parameter.copy_(initial)
            for state in optimizer.state.values():  # Adam: step and both moments start at 0
                for value in state.values():
                    if torch.is_tensor(value):
                        value.zero_()

    def _step(self, index):
        train_batch(self.module, self.optimizer, self.x, self.y, index, self.loss_sum,
                    self.correct)

    def train(self, index):
        if len(index) == self.batch_size:
            self.index.copy_(index)
            self.graph.replay()
            return
        # Gradients stay in the graph's tensors: zeroed in place, never set to None.
        self.optimizer.zero_grad(set_to_none=False)
        self._step(index)


def train_epoch(step, order, batch_size, steps_left):
    """One pass over order's images with `step` (eager or graphed), stopping after steps_left
    steps (None: no limit). Returns (batches, images, summed batch losses, correct predictions,
    seconds of the loop)."""
    step.module.train()
    step.loss_sum.zero_()
    step.correct.zero_()
    batches = images = 0
    synchronize(order.device)
    start = time.perf_counter()
    for first in range(0, len(order), batch_size):
        if steps_left is not None and batches >= steps_left:
            break
        index = order[first:first + batch_size]
        step.train(index)
        batches += 1
        images += len(index)
    synchronize(order.device)
    seconds = time.perf_counter() - start
    return batches, images, step.loss_sum.item(), step.correct.item(), seconds


def epoch_text(line, epochs, best, complete):
    """The line printed after an epoch, from its metrics."""
    text = (f"epoch {line['epoch']}/{epochs}: train loss {line['train_loss']:.4f}, accuracy "
            f"{100 * line['train_acc']:.2f}%")
    if line["val_loss"] is not None:
        text += (f"; validation loss {line['val_loss']:.4f}, accuracy "
                 f"{100 * line['val_acc']:.2f}%{' (best)' if best else ''}")
    text += (f"; test loss {line['test_loss']:.4f}, accuracy {100 * line['test_acc']:.2f}%; "
             f"{line['epoch_seconds']:.1f} s ({line['images_per_second']:.0f} images/s)")
    return text + ("" if complete else " [stopped inside the epoch]")


def run(args):
    recipe = RECIPES[args.model]
    torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    check_mode(args.mode, device)
    set_tf32(args.allow_tf32)
    torch.manual_seed(args.seed)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    print(f"PyTorch {torch.__version__} on {device.type} ({name or platform.machine()}), "
          f"{torch.get_num_threads()} CPU thread(s), seed {args.seed}")

    x_train, y_train = load_split(args.data, "train", device)
    x_test, y_test = load_split(args.data, "t10k", device)
    # fashion-lenet: the reference program's random_split, drawn before the model is made, as there.
    split = (torch.randperm(len(x_train)) if recipe.validation_images > 0
             else torch.arange(len(x_train)))
    train_index = split[:len(x_train) - recipe.validation_images]
    validation_index = split[len(train_index):].to(device)
    x_validation = x_train[validation_index]
    y_validation = y_train[validation_index]
    module = reference_modules.MODELS[args.model]().to(device)
    # A captured Adam keeps its step count on the device.
    capturable = args.mode == "graphed" and recipe.optimizer == "Adam"
    optimizer = getattr(torch.optim, recipe.optimizer)(
        module.parameters(), lr=recipe.learning_rate,
        **({"capturable": True} if capturable else {}))
    parameters = sum(p.numel() for p in module.parameters())
    print(f"{args.model}: {parameters:,} parameters, {type(optimizer).__name__} lr "
          f"{recipe.learning_rate:g}, batch {recipe.batch_size}; {len(train_index):,} training, "
          f"{recipe.validation_images:,} validation, {len(x_test):,} test images from "
          f"{args.data}; {args.mode} mode")
    if args.eval_limit > 0:
        x_validation, y_validation = x_validation[:args.eval_limit], y_validation[:args.eval_limit]
        x_test, y_test = x_test[:args.eval_limit], y_test[:args.eval_limit]
        print(f"--eval-limit {args.eval_limit}: evaluating the first {len(x_test):,} test images"
              + (f" and {len(x_validation):,} validation images" if len(x_validation) else ""))

    if args.mode == "graphed":
        step = GraphedStep(module, optimizer, x_train, y_train, train_index.to(device),
                           recipe.batch_size)
    else:
        step = EagerStep(module, optimizer, x_train, y_train)
    metrics = args.metrics.open("w") if args.metrics else None
    best_loss, best_epoch, best_state = math.inf, 0, None
    epoch_seconds = []
    steps = trained_images = 0
    trained_seconds = 0.0
    try:
        for epoch in range(1, args.epochs + 1):
            steps_left = args.max_steps - steps if args.max_steps > 0 else None
            if steps_left == 0:
                break
            order = train_index[torch.randperm(len(train_index))].to(device)
            batches, images, loss_sum, correct, seconds = train_epoch(
                step, order, recipe.batch_size, steps_left)
            epoch_seconds.append(seconds)
            steps += batches
            trained_images += images
            trained_seconds += seconds
            train_loss = loss_sum / batches
            if not math.isfinite(train_loss):
                raise RunError(f"training diverged: the mean loss of epoch {epoch} is "
                               f"{train_loss}")
            line = {"epoch": epoch, "train_loss": train_loss, "train_acc": correct / images,
                    "val_loss": None, "val_acc": None}
            best = False
            if recipe.validation_images > 0:
                loss, correct = evaluate(module, x_validation, y_validation, recipe.batch_size)
                line["val_loss"], line["val_acc"] = loss, correct / len(x_validation)
                if loss <= best_loss:
                    best, best_loss, best_epoch = True, loss, epoch
                    best_state = copy.deepcopy(module.state_dict())
            loss, correct = evaluate(module, x_test, y_test, recipe.batch_size)
            line["test_loss"], line["test_acc"] = loss, correct / len(x_test)
            line["epoch_seconds"] = seconds
            line["images_per_second"] = images / max(seconds, 1e-9)
            print(epoch_text(line, args.epochs, best, images == len(order)), flush=True)
            if metrics:
                metrics.write(json.dumps(line) + "\n")
                metrics.flush()
    finally:
        if metrics:
            metrics.close()

    which = "final weights"
    if best_state is not None:
        module.load_state_dict(best_state)
        which = f"weights of epoch {best_epoch}, best on validation"
    test_loss, correct = evaluate(module, x_test, y_test, recipe.batch_size)
    # kiln's result line, word for word, so one parser reads both.
    print(f"test ({which}): loss {test_loss:.6f}, accuracy {100 * correct / len(x_test):.2f}% "
          f"({correct}/{len(x_test)}) after {steps} steps")
    if trained_seconds > 0:
        print(f"trained {trained_images} images in {trained_seconds:.1f} s "
              f"({trained_images / trained_seconds:.0f} images/s) on {device.type}")
    if args.json:
        summary = {
            "name": f"pytorch-{args.mode}", "model": args.model, "mode": args.mode,
            "device": device.type, "gpu": name, "torch": torch.__version__,
            "allow_tf32": {"cuda.matmul": torch.backends.cuda.matmul.allow_tf32,
                           "cudnn": torch.backends.cudnn.allow_tf32},
            "epochs": len(epoch_seconds), "steps": steps,
            "epoch_seconds": sum(epoch_seconds) / max(len(epoch_seconds), 1),
            "images_per_second": trained_images / trained_seconds if trained_seconds else 0,
            "test_acc": correct / len(x_test),
            "weights": "final" if best_state is None
            else f"best on validation (epoch {best_epoch})"}
        args.json.write_text(json.dumps(summary, indent=1) + "\n")


def main():
    args = parse_args()
    if TORCH_MISSING:
        print(f"pytorch_recipe.py: needs PyTorch and NumPy (Debian: apt-get install "
              f"python3-torch): {TORCH_MISSING}", file=sys.stderr)
        return 1
    try:
        run(args)
    except (RunError, OSError) as error:
        print(f"pytorch_recipe.py: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
