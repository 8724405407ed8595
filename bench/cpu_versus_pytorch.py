#!/usr/bin/env python3
"""kiln's CPU backend against PyTorch on the CPU, side by side in one run: both recipes, one
thread and every core, each setting trained by kiln (train_mnist_gpu --backend cpu) and by
PyTorch (bench/pytorch_recipe.py --device cpu) in turn, so that whatever else the machine is doing
falls on both. Prints one Markdown table (the README's): training images/s, the epoch time those
give (training images per epoch / images/s) and kiln / PyTorch.

    bench/cpu_versus_pytorch.py                                   # the README's table
    bench/cpu_versus_pytorch.py --threads 1 --repeats 1 --mnist-steps 50 --fashion-epochs 1

Each setting runs --repeats times, alternating kiln and PyTorch, and the fastest run of each
counts: other jobs on a shared machine only ever slow a run down. mnist-cnn trains
--mnist-steps steps (part of an epoch), fashion-lenet --fashion-epochs whole epochs; evaluation
(limited to --eval-limit images) is not timed by either. Exit status: 0 on success, 2 on a usage
error, 1 when a run fails (its output is printed).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TRAINING_IMAGES = {"mnist-cnn": 60000, "fashion-lenet": 48000}  # per epoch, as the recipes split


class RunError(Exception):
    pass


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kiln", type=Path, default=REPO / "build/release/apps/train_mnist_gpu",
                        help="the train_mnist_gpu binary (default: the release build's)")
    parser.add_argument("--python", default="/usr/bin/python3",
                        help="the Python with PyTorch (default: /usr/bin/python3, Debian's)")
    parser.add_argument("--threads", default=f"1,{len(os.sched_getaffinity(0))}",
                        help="comma-separated thread counts (default: 1 and every core)")
    parser.add_argument("--repeats", type=int, default=2, help="runs per setting (default: 2)")
    parser.add_argument("--mnist-steps", type=int, default=300,
                        help="mnist-cnn training steps (default: 300)")
    parser.add_argument("--fashion-epochs", type=int, default=2,
                        help="fashion-lenet training epochs (default: 2)")
    parser.add_argument("--eval-limit", type=int, default=1000,
                        help="images each evaluation reads (default: 1000)")
    args = parser.parse_args()
    try:
        args.threads = sorted({int(t) for t in args.threads.split(",")})
    except ValueError:
        parser.error(f"--threads: comma-separated whole numbers, got '{args.threads}'")
    for name in ("repeats", "mnist_steps", "fashion_epochs", "eval_limit"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(args.threads) < 1:
        parser.error("--threads: every count must be at least 1")
    if not args.kiln.is_file():
        parser.error(f"--kiln {args.kiln}: no such file (build it: ninja -C build/release "
                     "train_mnist_gpu)")
    return args


def training_rate(metrics_path):
    """Images/s over every epoch line of a --metrics file (kiln's keys, written by both)."""
    lines = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    seconds = sum(line["epoch_seconds"] for line in lines)
    images = sum(line["epoch_seconds"] * line["images_per_second"] for line in lines)
    if seconds <= 0:
        raise RunError(f"{metrics_path}: no training time recorded")
    return images / seconds


def run_once(args, engine, model, threads, folder):
    metrics = Path(folder) / f"{engine}.jsonl"
    metrics.unlink(missing_ok=True)
    length = (["--epochs", "1", "--max-steps", str(args.mnist_steps)] if model == "mnist-cnn"
              else ["--epochs", str(args.fashion_epochs)])
    common = ["--model", model, "--threads", str(threads), "--eval-limit", str(args.eval_limit),
              "--metrics", str(metrics), *length]
    if engine == "kiln":
        command = [str(args.kiln), "--backend", "cpu", "--quiet", *common]
    else:
        command = [args.python, str(REPO / "bench/pytorch_recipe.py"), "--device", "cpu", *common]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RunError(f"{' '.join(command)} failed ({result.returncode}):\n"
                       f"{result.stdout}{result.stderr}")
    return training_rate(metrics)


def main():
    args = parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for model in ("mnist-cnn", "fashion-lenet"):
            for threads in args.threads:
                best = {"kiln": 0.0, "pytorch": 0.0}
                for _ in range(args.repeats):
                    for engine in best:
                        rate = run_once(args, engine, model, threads, folder)
                        best[engine] = max(best[engine], rate)
                        print(f"{model}, {threads} thread(s), {engine}: {rate:,.0f} images/s",
                              file=sys.stderr, flush=True)
                rows.append((model, threads, best["kiln"], best["pytorch"]))
    length = {"mnist-cnn": f"{args.mnist_steps} steps",
              "fashion-lenet": f"{args.fashion_epochs} epochs"}
    print("| recipe | threads | kiln images/s | PyTorch images/s | kiln epoch | PyTorch epoch "
          "| kiln / PyTorch |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for model, threads, kiln, pytorch in rows:
        epoch = TRAINING_IMAGES[model]
        print(f"| {model}, {length[model]} | {threads} | {kiln:,.0f} | {pytorch:,.0f} "
              f"| {epoch / kiln:.1f} s | {epoch / pytorch:.1f} s | {kiln / pytorch:.2f} |")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RunError as error:
        print(f"cpu_versus_pytorch.py: {error}", file=sys.stderr)
        sys.exit(1)
