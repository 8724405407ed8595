"""PyTorch interoperability check of train_mnist_gpu: kiln's weights are PyTorch's, both ways.

1. kiln -> PyTorch. For each reference model, train briefly with kiln on the CPU backend, save the
   weights, load them with `load_state_dict` into the reference PyTorch module (as its tutorial
   writes it: tests/golden/reference_modules.py) and evaluate the same test images in float32: the
   number of correct predictions must match kiln's to within MAX_CORRECT_DIFFERENCE images
   (float32 sums taken in another order can flip a near-tie) and the test loss to LOSS_RTOL.
2. PyTorch -> kiln. Initialise mnist-cnn in PyTorch with its reference program's initialisation, save its
   state_dict (fc1.* and layer4.0.*, as PyTorch holds them) and start kiln from it with --init:
   kiln's first-step training loss must equal PyTorch's loss on the same first batch to
   FIRST_STEP_RTOL. (Not fashion-lenet: its first batch comes from kiln's own seeded split; see
   check_torch_weights_in_kiln.)

The test loss is the recipe's: the mean over the batches (the last one may be short) of each
batch's mean cross-entropy, images in file order, pixels / 255 in float32, no normalisation.

Usage (the ctest test apps.torch_interop runs this):
    /usr/bin/python3 tests/apps/torch_interop.py --binary build/release/apps/train_mnist_gpu \
        --data-root data
Exit status: 0 when everything agrees, 1 on a mismatch, 77 (ctest's skip) when PyTorch cannot be
imported or a dataset folder is missing. In CI (CI=true), whose set-up installs python3-torch
and fetches the data, either of those is a failure (1), so the check never skips there.
"""

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

try:
    import numpy as np
    import torch
except ImportError as _error:  # reported by main() as a skip
    np = torch = None
    IMPORT_ERROR = _error
else:
    IMPORT_ERROR = None

# tests/golden holds reference_modules, idx_io and safetensors_io, shared with the fixture scripts and
# bench/pytorch_recipe.py. They need numpy or PyTorch, so each function imports the one it uses,
# after main() has checked that both import.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "golden"))

SKIP = 77
MAX_CORRECT_DIFFERENCE = 2  # images
LOSS_RTOL = 1e-4
FIRST_STEP_RTOL = 1e-5

DATASETS = {"mnist-cnn": "mnist", "fashion-lenet": "fashion-mnist"}
BATCH = {"mnist-cnn": 32, "fashion-lenet": 20}
# kiln flags of part 1, per model.
EVAL_RUNS = {"fashion-lenet": ["--max-steps", "300"],
             "mnist-cnn": ["--max-steps", "40", "--eval-limit", "2000"]}
EVAL_IMAGES = {"fashion-lenet": 10000, "mnist-cnn": 2000}
FIRST_STEP_EVAL_LIMIT = 64

RESULT_LINE = re.compile(r"^test \((?P<which>[^)]*)\): loss (?P<loss>\S+), accuracy \S+% "
                         r"\((?P<correct>\d+)/(?P<images>\d+)\) after (?P<steps>\d+) steps$",
                         re.MULTILINE)


class Mismatch(Exception):
    """kiln and PyTorch disagree (or kiln did not run as expected)."""


def missing_data(data_root):
    """What is absent of the two datasets under data_root: whole folders, else single files."""
    import idx_io

    return [entry for name in DATASETS.values() for entry in idx_io.missing(data_root / name)]


def load_split(data_root, model, split):
    """(images float32 N x 1 x 28 x 28 scaled to [0, 1], labels int64) of 'train' or 't10k'."""
    import idx_io

    images, labels = idx_io.read_split(data_root / DATASETS[model], split)
    # uint8 -> float32, then a float32 division by 255, as ToTensor and kiln's gather_batch do.
    x = torch.from_numpy(images.copy()).float().unsqueeze(1) / 255
    return x, torch.from_numpy(labels.astype(np.int64))


def read_safetensors(path):
    """name -> float32 torch tensor of a safetensors file (the counterpart of safetensors_io.write,
    F32 tensors only, which is all kiln writes for weights)."""
    with open(path, "rb") as f:
        (header_length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(header_length))
        body = f.read()
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] != "F32":
            raise Mismatch(f"{path}: {name} is {entry['dtype']}, expected F32")
        begin, end = entry["data_offsets"]
        array = np.frombuffer(body[begin:end], dtype="<f4").reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.astype(np.float32))
    return tensors


# --- kiln ---

def run_kiln(binary, data_root, model, extra):
    """Runs train_mnist_gpu on the CPU backend; returns its standard output."""
    command = [str(binary), "--backend", "cpu", "--quiet", "--model", model,
               "--data", str(data_root / DATASETS[model])] + extra
    print("$ " + " ".join(command), flush=True)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Mismatch(f"kiln exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def parse_result(stdout):
    """(which weights, test loss, correct, images, steps) of kiln's final result line."""
    match = RESULT_LINE.search(stdout)
    if match is None:
        raise Mismatch(f"no result line in kiln's output:\n{stdout}")
    return (match["which"], float(match["loss"]), int(match["correct"]), int(match["images"]),
            int(match["steps"]))


# --- the comparisons ---

def evaluate(module, x, y, batch):
    """(mean over batches of each batch's mean cross-entropy, correct predictions), eval mode."""
    module.eval()
    batch_losses = []
    correct = 0
    with torch.no_grad():
        for first in range(0, len(x), batch):
            output = module(x[first:first + batch])
            target = y[first:first + batch]
            batch_losses.append(torch.nn.functional.cross_entropy(output, target).item())
            correct += int((output.argmax(dim=1) == target).sum())
    return sum(batch_losses) / len(batch_losses), correct


def relative_difference(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


def check_kiln_weights_in_torch(args, tmp, model, make_module):
    """Part 1: kiln's saved weights give PyTorch the test result kiln printed."""
    print(f"\n== {model}: kiln's weights evaluated by PyTorch ==")
    weights = tmp / f"{model}.safetensors"
    stdout = run_kiln(args.binary, args.data_root, model,
                      EVAL_RUNS[model] + ["--save", str(weights)])
    which, kiln_loss, kiln_correct, images, steps = parse_result(stdout)
    print(f"kiln:    {which}, {steps} steps: loss {kiln_loss:.6f}, correct {kiln_correct}/{images}")
    if images != EVAL_IMAGES[model]:
        raise Mismatch(f"{model}: kiln evaluated {images} images, expected {EVAL_IMAGES[model]}")

    module = make_module()
    result = module.load_state_dict(read_safetensors(weights), strict=False)
    missing, unexpected = sorted(result.missing_keys), sorted(result.unexpected_keys)
    # mnist-cnn's fc1 is also layer4[0]: kiln writes fc1.* only, so PyTorch misses exactly the
    # duplicate names; fashion-lenet must load strictly.
    allowed = ["layer4.0.bias", "layer4.0.weight"] if model == "mnist-cnn" else []
    if missing != allowed or unexpected:
        raise Mismatch(f"{model}: load_state_dict: missing {missing} (allowed {allowed}), "
                       f"unexpected {unexpected}")

    x, y = load_split(args.data_root, model, "t10k")
    torch_loss, torch_correct = evaluate(module, x[:images], y[:images], BATCH[model])
    loss_difference = relative_difference(kiln_loss, torch_loss)
    print(f"PyTorch: loss {torch_loss:.6f}, correct {torch_correct}/{images}")
    print(f"loss relative difference {loss_difference:.2e} (tolerance {LOSS_RTOL:g}), "
          f"correct difference {kiln_correct - torch_correct:+d} "
          f"(tolerance {MAX_CORRECT_DIFFERENCE})")
    if kiln_correct != torch_correct:
        print(f"note: {model}: kiln and PyTorch count {kiln_correct} and {torch_correct} "
              f"correct predictions")
    failures = []
    if abs(kiln_correct - torch_correct) > MAX_CORRECT_DIFFERENCE:
        failures.append(f"correct predictions {kiln_correct} (kiln) vs {torch_correct} (PyTorch)")
    if not loss_difference <= LOSS_RTOL:
        failures.append(f"test loss {kiln_loss:.6f} (kiln) vs {torch_loss:.6f} (PyTorch), "
                        f"relative difference {loss_difference:.2e} > {LOSS_RTOL:g}")
    if failures:
        raise Mismatch(f"{model}: " + "; ".join(failures))


def check_torch_weights_in_kiln(args, tmp, make_module):
    """Part 2: kiln started from PyTorch's mnist-cnn initialisation takes PyTorch's first loss.

    Only mnist-cnn: its first batch under --no-shuffle is the first 32 images of the training
    file. fashion-lenet's is the first 20 images of kiln's own 48,000-image training split, which
    only kiln's Philox-keyed permutation (runtime/data/sampling.cpp) reproduces, so it is skipped.
    """
    import safetensors_io

    model = "mnist-cnn"
    print(f"\n== {model}: PyTorch's initial weights trained by kiln (--init) ==")
    torch.manual_seed(args.seed)
    module = make_module()
    state = {name: tensor.detach().numpy() for name, tensor in module.state_dict().items()}
    if not {"fc1.weight", "layer4.0.weight"} <= state.keys():
        raise Mismatch(f"PyTorch's state_dict lacks fc1.* or layer4.0.*: {sorted(state)}")
    weights = tmp / "torch_init.safetensors"
    # No metadata, as safetensors.torch.save_file writes by default: kiln reads such a file as
    # plain weights of the model it trains.
    safetensors_io.write(weights, state, {})

    metrics = tmp / "first_step.jsonl"
    run_kiln(args.binary, args.data_root, model,
             ["--init", str(weights), "--no-shuffle", "--dropout", "0", "--max-steps", "1",
              "--metrics", str(metrics), "--eval-limit", str(FIRST_STEP_EVAL_LIMIT)])
    lines = metrics.read_text().splitlines()
    if len(lines) != 1:
        raise Mismatch(f"expected one metrics line after one step, got {len(lines)}")
    kiln_loss = json.loads(lines[0])["train_loss"]

    x, y = load_split(args.data_root, model, "train")
    batch = BATCH[model]
    module.eval()  # dropout off: the same as train() with --dropout 0
    with torch.no_grad():
        torch_loss = torch.nn.functional.cross_entropy(module(x[:batch]), y[:batch]).item()
    difference = relative_difference(kiln_loss, torch_loss)
    print(f"first-step loss on training images 0..{batch - 1}: kiln {kiln_loss:.9f}, "
          f"PyTorch {torch_loss:.9f}, relative difference {difference:.2e} "
          f"(tolerance {FIRST_STEP_RTOL:g})")
    if not difference <= FIRST_STEP_RTOL:
        raise Mismatch(f"{model}: first-step loss {kiln_loss:.9f} (kiln) vs {torch_loss:.9f} "
                       f"(PyTorch), relative difference {difference:.2e} > {FIRST_STEP_RTOL:g}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--binary", type=Path, required=True, help="train_mnist_gpu")
    parser.add_argument("--data-root", type=Path, required=True,
                        help="folder holding mnist/ and fashion-mnist/")
    parser.add_argument("--seed", type=int, default=0,
                        help="torch.manual_seed of PyTorch's initial weights (part 2)")
    args = parser.parse_args()
    args.binary = args.binary.resolve()
    args.data_root = args.data_root.resolve()

    # CI sets up both, so there a missing one is a broken set-up, not a reason to skip.
    absent = 1 if os.environ.get("CI") == "true" else SKIP
    verdict = "FAIL (CI=true)" if absent == 1 else "SKIP"
    if IMPORT_ERROR is not None:
        print(f"{verdict}: {sys.executable} cannot import numpy and PyTorch ({IMPORT_ERROR}); "
              f"on Debian: apt-get install python3-torch (scripts/setup.sh does)")
        return absent
    missing = missing_data(args.data_root)
    if missing:
        print(f"{verdict}: dataset files missing (scripts/fetch_data.sh fetches them): "
              + ", ".join(missing))
        return absent
    if not args.binary.is_file():
        print(f"FAIL: no trainer binary at {args.binary}")
        return 1
    import reference_modules

    modules = reference_modules.MODELS
    with tempfile.TemporaryDirectory(prefix="kiln_torch_interop_") as tmp:
        try:
            for model in ("fashion-lenet", "mnist-cnn"):
                check_kiln_weights_in_torch(args, Path(tmp), model, modules[model])
            check_torch_weights_in_kiln(args, Path(tmp), modules["mnist-cnn"])
        except Mismatch as error:
            print(f"\nFAIL: {error}")
            return 1
    print("\nOK: kiln and PyTorch agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
