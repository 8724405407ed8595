#!/usr/bin/env python3
"""Draws the pictures of one kiln training run as PNG files.

    scripts/plot.py --metrics run.jsonl [--predictions preds.csv --data data/fashion-mnist]
                    [--classes mnist|fashion] [--out DIR]

Reads the trainer's --metrics file (JSON Lines, one object per epoch; a resumed run appends, so
the last line of an epoch wins) and writes into DIR (default: the metrics file's folder):

  curves.png       loss and accuracy (percent) against the epoch: train, validation (when the
                   run had a validation set) and test.

With --predictions (the trainer's CSV: index,label,predicted,p0..p9, one row per test image in
file order from index 0; fewer rows than images after --eval-limit) and --data (the dataset folder
holding t10k-images-idx3-ubyte, raw or .gz):

  predictions.png  the first 16 test images, each titled with its predicted and true class;
                   mistakes in red.
  confusion.png    the confusion matrix (rows true class, columns predicted) with the counts and
                   the overall accuracy.

--classes names the classes (digits or Fashion-MNIST's clothes); by default it is "fashion" when
the data folder's name contains "fashion", else "mnist". Prints each path written.
Exit status: 0 on success, 2 on bad arguments, 1 when an input is missing or malformed, with one
line on stderr: "plot.py: <file>: <what is wrong>".
Needs numpy and matplotlib (Debian: python3-numpy python3-matplotlib).
"""

import argparse
import csv
import gzip
import json
import math
import struct
import sys
from pathlib import Path

try:
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator
except ImportError as _error:
    sys.exit(f"plot.py: needs numpy and matplotlib (Debian: python3-matplotlib): {_error}")

CLASS_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "fashion": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                "Sneaker", "Bag", "Ankle boot"],
}
NUM_CLASSES = 10
METRIC_KEYS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"]
PREDICTION_HEADER = ["index", "label", "predicted"] + [f"p{c}" for c in range(NUM_CLASSES)]
TEST_IMAGES = "t10k-images-idx3-ubyte"
IDX_IMAGES_MAGIC = 0x00000803
IMAGE_SIDE = 28
GRID_SIDE = 4  # predictions.png shows GRID_SIDE * GRID_SIDE images
WRONG_COLOUR = "tab:red"
DPI = 120


class InputError(Exception):
    """An input file that cannot be used: reported as 'plot.py: <path>: <message>', exit 1."""

    def __init__(self, path, message):
        super().__init__(f"{path}: {message}")


# --- inputs ---------------------------------------------------------------------------------

def read_text(path):
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except IsADirectoryError:
        raise InputError(path, "is a directory, not a file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read: {error}") from None


def metric_value(path, line_number, record, key):
    """The metric as a float; NaN where it is null (no validation set, or a diverged loss:
    nlohmann::json writes NaN as null)."""
    if key not in record:
        raise InputError(path, f"line {line_number}: no \"{key}\"")
    value = record[key]
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(path, f"line {line_number}: \"{key}\" is {value!r}, not a number")
    return float(value)


def read_metrics(path):
    """{epoch: {metric: value}} in epoch order; a repeated epoch keeps its last line."""
    epochs = {}
    for line_number, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(path, f"line {line_number}: not JSON: {error.msg}") from None
        if not isinstance(record, dict):
            raise InputError(path, f"line {line_number}: not a JSON object")
        epoch = record.get("epoch")
        if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
            raise InputError(path, f"line {line_number}: \"epoch\" is {epoch!r}, "
                                   "not a positive integer")
        epochs[epoch] = {key: metric_value(path, line_number, record, key)
                         for key in METRIC_KEYS}
    if not epochs:
        raise InputError(path, "empty: no epochs")
    return dict(sorted(epochs.items()))


def parse_int(path, row_number, field, text, low, high):
    try:
        value = int(text)
    except ValueError:
        raise InputError(path, f"row {row_number}: {field} {text!r} is not an integer") from None
    if not low <= value < high:
        raise InputError(path, f"row {row_number}: {field} {value} is outside [{low}, {high})")
    return value


def read_predictions(path):
    """(labels, predicted) as int arrays, one entry per row; rows checked to be in file order."""
    lines = read_text(path).splitlines()
    rows = csv.reader(lines)
    header = next(rows, None)
    if header != PREDICTION_HEADER:
        raise InputError(path, f"header is {','.join(header or [])!r}, "
                               f"expected {','.join(PREDICTION_HEADER)!r}")
    labels, predicted = [], []
    for row_number, row in enumerate(rows):  # row 0 is test image 0
        if len(row) != len(PREDICTION_HEADER):
            raise InputError(path, f"row {row_number}: {len(row)} fields, "
                                   f"expected {len(PREDICTION_HEADER)}")
        index = parse_int(path, row_number, "index", row[0], 0, 2**31)
        if index != row_number:
            raise InputError(path, f"row {row_number}: index {index}, expected {row_number} "
                                   "(one row per test image, in file order)")
        labels.append(parse_int(path, row_number, "label", row[1], 0, NUM_CLASSES))
        predicted.append(parse_int(path, row_number, "predicted", row[2], 0, NUM_CLASSES))
        for column, text in zip(PREDICTION_HEADER[3:], row[3:]):
            try:
                float(text)
            except ValueError:
                raise InputError(path, f"row {row_number}: {column} {text!r} "
                                       "is not a number") from None
    if not labels:
        raise InputError(path, "no rows after the header")
    return np.array(labels), np.array(predicted)


def test_images_path(data):
    """The dataset's test images, the raw file where it exists, else the .gz one (as kiln)."""
    raw = Path(data) / TEST_IMAGES
    packed = raw.with_name(TEST_IMAGES + ".gz")
    if raw.exists() or not packed.exists():
        return raw
    return packed


def read_test_images(path):
    """The IDX images as a uint8 array (n, 28, 28); gzip recognised by its content."""
    try:
        data = Path(path).read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except FileNotFoundError:
        raise InputError(path, "no such file (nor a .gz one)") from None
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise InputError(path, f"cannot read: {error}") from None
    if len(data) < 16:
        raise InputError(path, f"{len(data)} bytes: too short for an IDX header")
    magic, count, rows, columns = struct.unpack(">4I", data[:16])
    if magic != IDX_IMAGES_MAGIC:
        raise InputError(path, f"magic 0x{magic:08x}, expected 0x{IDX_IMAGES_MAGIC:08x} "
                               "(IDX images)")
    if (rows, columns) != (IMAGE_SIDE, IMAGE_SIDE):
        raise InputError(path, f"images are {rows}x{columns}, expected {IMAGE_SIDE}x{IMAGE_SIDE}")
    expected = 16 + count * rows * columns
    if len(data) != expected:
        raise InputError(path, f"header says {count} images ({expected} bytes), "
                               f"file holds {len(data)} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, columns)


# --- pictures -------------------------------------------------------------------------------

def save(figure, path):
    try:
        figure.savefig(path, dpi=DPI)
    except OSError as error:
        raise InputError(path, f"cannot write: {error.strerror or error}") from None
    finally:
        plt.close(figure)
    print(path)


def plot_curves(epochs, title, path):
    """Loss and accuracy (percent) per epoch; validation only when the run had one."""
    x = list(epochs)
    series = {key: np.array([epochs[e][key] for e in x]) for key in METRIC_KEYS}
    splits = [("train", "Train", "tab:blue"), ("val", "Validation", "tab:orange"),
              ("test", "Test", "tab:green")]
    figure, (loss_axes, accuracy_axes) = plt.subplots(1, 2, figsize=(11, 4.5))
    for split, label, colour in splits:
        if np.all(np.isnan(series[f"{split}_loss"])) and np.all(np.isnan(series[f"{split}_acc"])):
            continue  # no validation set
        style = dict(label=label, color=colour, marker="o", markersize=4)
        loss_axes.plot(x, series[f"{split}_loss"], **style)
        accuracy_axes.plot(x, 100 * series[f"{split}_acc"], **style)
    for axes, name, unit in [(loss_axes, "Loss", "cross-entropy loss"),
                             (accuracy_axes, "Accuracy", "accuracy (%)")]:
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.set_ylabel(unit)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(True, alpha=0.3)
        axes.legend()
    last = epochs[x[-1]]
    figure.suptitle(f"{title}: {len(x)} epochs, final test accuracy "
                    f"{100 * last['test_acc']:.2f}%")
    figure.tight_layout()
    save(figure, path)


def plot_predictions(images, labels, predicted, names, path):
    """The first GRID_SIDE^2 test images with their predicted and true class; mistakes in red."""
    figure, grid = plt.subplots(GRID_SIDE, GRID_SIDE, figsize=(9, 10))
    for index, axes in enumerate(grid.flat):
        axes.set_xticks([])
        axes.set_yticks([])
        if index >= len(labels):
            axes.axis("off")
            continue
        axes.imshow(images[index], cmap="gray", vmin=0, vmax=255)
        wrong = labels[index] != predicted[index]
        axes.set_title(f"pred {names[predicted[index]]} / true {names[labels[index]]}",
                       fontsize=9, color=WRONG_COLOUR if wrong else "black")
        for spine in axes.spines.values():
            spine.set_color(WRONG_COLOUR if wrong else "lightgrey")
            spine.set_linewidth(3 if wrong else 1)
    shown = min(len(labels), GRID_SIDE * GRID_SIDE)
    mistakes = int(np.sum(labels[:shown] != predicted[:shown]))
    figure.suptitle(f"First {shown} test images: {mistakes} wrong" + (" (red)" if mistakes else ""))
    figure.tight_layout()
    save(figure, path)


def plot_confusion(labels, predicted, names, path):
    """Counts of (true, predicted) pairs: white text on dark cells, zeros in light grey."""
    matrix = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    correct = int(np.trace(matrix))
    figure, axes = plt.subplots(figsize=(9, 8))
    image = axes.imshow(matrix, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, label="images",
                    ticks=MaxNLocator(integer=True))
    threshold = matrix.max() / 2
    for true in range(NUM_CLASSES):
        for guess in range(NUM_CLASSES):
            count = matrix[true, guess]
            colour = "white" if count > threshold else "black" if count else "silver"
            axes.text(guess, true, str(count), ha="center", va="center", fontsize=8,
                      color=colour)
    ticks = range(NUM_CLASSES)
    long_names = max(len(name) for name in names) > 2
    axes.set_xticks(ticks, names, rotation=45 if long_names else 0,
                    ha="right" if long_names else "center", rotation_mode="anchor")
    axes.set_yticks(ticks, names)
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    axes.set_title(f"Confusion matrix: accuracy {100 * correct / len(labels):.2f}% "
                   f"({correct} of {len(labels)} test images)")
    figure.tight_layout()
    save(figure, path)


# --- command line ---------------------------------------------------------------------------

def parse_arguments(argv):
    parser = argparse.ArgumentParser(
        prog="plot.py", description="Draws a kiln training run's curves, and with --predictions "
                                    "its first test images and confusion matrix, as PNG files.")
    parser.add_argument("--metrics", required=True, type=Path, metavar="FILE",
                        help="the trainer's --metrics file (JSON Lines, one object per epoch)")
    parser.add_argument("--predictions", type=Path, metavar="FILE",
                        help="the trainer's --predictions CSV (needs --data)")
    parser.add_argument("--data", type=Path, metavar="DIR",
                        help="the dataset folder holding t10k-images-idx3-ubyte[.gz]")
    parser.add_argument("--classes", choices=sorted(CLASS_NAMES),
                        help="class names (default: fashion when the data folder's name "
                             "contains 'fashion', else mnist)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="folder for the PNG files (default: the metrics file's folder)")
    arguments = parser.parse_args(argv)
    if (arguments.predictions is None) != (arguments.data is None):
        parser.error("--predictions and --data go together")
    if arguments.classes is None:
        fashion = arguments.data is not None and "fashion" in arguments.data.resolve().name.lower()
        arguments.classes = "fashion" if fashion else "mnist"
    if arguments.out is None:
        arguments.out = arguments.metrics.parent
    return arguments


def main(argv):
    arguments = parse_arguments(argv)
    epochs = read_metrics(arguments.metrics)
    if arguments.predictions is not None:
        labels, predicted = read_predictions(arguments.predictions)
        images_path = test_images_path(arguments.data)
        images = read_test_images(images_path)
        if len(labels) > len(images):
            raise InputError(arguments.predictions,
                             f"{len(labels)} rows, but {images_path} holds {len(images)} images")
    try:
        arguments.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(arguments.out, f"cannot create: {error.strerror or error}") from None
    plot_curves(epochs, arguments.metrics.name, arguments.out / "curves.png")
    if arguments.predictions is not None:
        names = CLASS_NAMES[arguments.classes]
        plot_predictions(images, labels, predicted, names, arguments.out / "predictions.png")
        plot_confusion(labels, predicted, names, arguments.out / "confusion.png")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except InputError as error:
        print(f"plot.py: {error}", file=sys.stderr)
        sys.exit(1)
