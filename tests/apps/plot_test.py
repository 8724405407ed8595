#!/usr/bin/env python3
"""Test of scripts/plot.py on small crafted inputs: the pictures it draws and how it fails.

Writes, in a temporary folder, a metrics file of 3 epochs (with and without validation, and one
resumed run whose repeated epoch must not break the plot), a predictions CSV of 20 rows and a
20-image IDX test file (raw in one dataset folder, gzipped in another), then runs plot.py as a
subprocess. Each run that should succeed must exit 0 and leave PNG files (the signature bytes) of
a plausible size; each broken input must exit 1 with exactly one line on stderr naming the file;
bad arguments must exit 2.

Usage (the ctest test apps.plot runs this):
    /usr/bin/python3 tests/apps/plot_test.py scripts/plot.py
Exit status: 0 when every check passes, 1 on a failure, 77 (ctest's skip) when numpy or
matplotlib cannot be imported.
"""

import gzip
import importlib.util
import json
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

PYTHON = sys.executable  # KILN_PYTHON, the interpreter whose numpy and matplotlib were checked
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_PNG_BYTES = 5 * 1024
IMAGES = 20
SIDE = 28
HEADER = "index,label,predicted," + ",".join(f"p{c}" for c in range(10))


class Checks:
    """Collects failures so that one run reports all of them."""

    def __init__(self):
        self.failures = 0

    def expect(self, name, condition, detail=""):
        print(f"{'ok' if condition else 'FAIL'} {name}" + ("" if condition else f": {detail}"))
        self.failures += not condition


def metrics_lines(validation):
    lines = []
    for epoch in (1, 2, 3):
        record = {"epoch": epoch, "train_loss": 1.0 / epoch, "train_acc": 0.70 + 0.05 * epoch,
                  "val_loss": 1.1 / epoch if validation else None,
                  "val_acc": 0.68 + 0.05 * epoch if validation else None,
                  "test_loss": 1.2 / epoch, "test_acc": 0.66 + 0.05 * epoch,
                  "epoch_seconds": 2.5, "images_per_second": 24000.0}
        lines.append(json.dumps(record))
    return lines


def prediction_rows():
    """20 rows; rows 3, 7 and 12 wrong."""
    rows = [HEADER]
    for index in range(IMAGES):
        label = index % 10
        predicted = (label + 1) % 10 if index in (3, 7, 12) else label
        probabilities = [0.01] * 10
        probabilities[predicted] = 0.91
        rows.append(f"{index},{label},{predicted}," + ",".join(f"{p:g}" for p in probabilities))
    return rows


def idx_images(count):
    """count 28x28 images: a bright square whose place and size depend on the image."""
    pixels = bytearray(count * SIDE * SIDE)
    for image in range(count):
        top, size = 3 + image % 8, 8 + image % 10
        for row in range(top, min(SIDE, top + size)):
            for column in range(4, min(SIDE, 4 + size + image % 5)):
                pixels[image * SIDE * SIDE + row * SIDE + column] = 40 + 10 * image
    return struct.pack(">4I", 0x00000803, count, SIDE, SIDE) + bytes(pixels)


def write(path, text_or_bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text_or_bytes, bytes):
        path.write_bytes(text_or_bytes)
    else:
        path.write_text(text_or_bytes)
    return path


def run(script, *arguments):
    return subprocess.run([PYTHON, str(script), *map(str, arguments)], capture_output=True,
                          text=True, timeout=120)


def check_pngs(checks, name, result, out, names):
    checks.expect(f"{name}: exits 0", result.returncode == 0,
                  f"exit {result.returncode}, stderr: {result.stderr.strip()}")
    for png in names:
        path = out / png
        data = path.read_bytes() if path.exists() else b""
        checks.expect(f"{name}: {png} is a PNG", data.startswith(PNG_SIGNATURE),
                      "missing" if not data else f"starts with {data[:8]!r}")
        checks.expect(f"{name}: {png} over {MIN_PNG_BYTES} bytes", len(data) > MIN_PNG_BYTES,
                      f"{len(data)} bytes")
        checks.expect(f"{name}: prints {png}'s path", str(path) in result.stdout.split("\n"),
                      f"stdout: {result.stdout!r}")


def check_failure(checks, name, result, code, file):
    lines = result.stderr.strip().split("\n")
    checks.expect(f"{name}: exits {code}", result.returncode == code,
                  f"exit {result.returncode}, stderr: {result.stderr.strip()}")
    if code == 1:
        checks.expect(f"{name}: one line naming {Path(file).name}",
                      len(lines) == 1 and lines[0].startswith(f"plot.py: {file}: "),
                      f"stderr: {result.stderr!r}")


def main(argv):
    if len(argv) != 2:
        print("usage: plot_test.py <scripts/plot.py>", file=sys.stderr)
        return 2
    missing = [m for m in ("numpy", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        print(f"skip: {' and '.join(missing)} not importable (Debian: python3-matplotlib)")
        return 77
    script = Path(argv[1]).resolve()
    checks = Checks()
    work = Path(tempfile.mkdtemp(prefix="kiln_plot_test_"))
    try:
        with_validation = write(work / "val" / "run.jsonl", "\n".join(metrics_lines(True)) + "\n")
        # A resumed run appends: epoch 2 again, then 3; the last line of an epoch wins.
        resumed = metrics_lines(False)
        without_validation = write(work / "noval" / "run.jsonl",
                                   "\n".join(resumed + resumed[1:]) + "\n")
        predictions = write(work / "preds.csv", "\n".join(prediction_rows()) + "\n")
        images = idx_images(IMAGES)
        raw_data = write(work / "data" / "mnist" / "t10k-images-idx3-ubyte", images).parent
        gz_data = write(work / "data" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz",
                        gzip.compress(images)).parent
        pngs = ["curves.png", "predictions.png", "confusion.png"]

        # Curves only, written beside the metrics file.
        result = run(script, "--metrics", with_validation)
        check_pngs(checks, "curves beside the metrics", result, with_validation.parent,
                   ["curves.png"])
        # All three, raw IDX, MNIST names; and gzipped IDX with Fashion-MNIST's names.
        out = work / "out-mnist"
        result = run(script, "--metrics", without_validation, "--predictions", predictions,
                     "--data", raw_data, "--out", out)
        check_pngs(checks, "mnist, raw IDX, no validation", result, out, pngs)
        out = work / "out-fashion"
        result = run(script, "--metrics", with_validation, "--predictions", predictions,
                     "--data", gz_data, "--out", out)
        check_pngs(checks, "fashion, gzipped IDX", result, out, pngs)

        # Broken inputs: exit 1 and one line naming the file.
        bad = work / "bad"
        good_rows = prediction_rows()
        metrics_cases = {
            "missing metrics": bad / "absent.jsonl",
            "empty metrics": write(bad / "empty.jsonl", ""),
            "metrics not JSON": write(bad / "cut.jsonl", metrics_lines(True)[0][:30] + "\n"),
            "metrics without test_acc": write(bad / "nokey.jsonl", '{"epoch": 1, "train_loss": '
                                              '1, "train_acc": 0.5, "test_loss": 1}\n'),
            "metrics with a text loss": write(bad / "text.jsonl",
                                              metrics_lines(True)[0].replace("1.0,", '"x",')
                                              + "\n"),
            "metrics unreadable (a folder)": bad / "folder.jsonl",
        }
        (bad / "folder.jsonl").mkdir(parents=True)
        for name, path in metrics_cases.items():
            check_failure(checks, name, run(script, "--metrics", path, "--out", bad), 1, path)

        predictions_cases = {
            "predictions wrong header": ["index,label,predicted"] + good_rows[1:],
            "predictions short row": good_rows[:5] + ["4,4,4"] + good_rows[6:],
            "predictions rows out of order": good_rows[:3] + [good_rows[4]] + good_rows[4:],
            "predictions label out of range": good_rows[:2] + [good_rows[2].replace(
                "1,1,1,", "1,11,1,", 1)] + good_rows[3:],
            "predictions probability not a number": good_rows[:2] + [good_rows[2][:-4] + "abc"]
            + good_rows[3:],
            "predictions header only": good_rows[:1],
            "predictions more rows than images": good_rows + [
                f"{i},0,0," + ",".join(["0.1"] * 10) for i in range(IMAGES, IMAGES + 5)],
        }
        for name, rows in predictions_cases.items():
            path = write(bad / (name.replace(" ", "_") + ".csv"), "\n".join(rows) + "\n")
            result = run(script, "--metrics", with_validation, "--predictions", path,
                         "--data", raw_data, "--out", bad)
            check_failure(checks, name, result, 1, path)

        empty_data = work / "data" / "none"
        empty_data.mkdir()
        short = write(work / "data" / "short" / "t10k-images-idx3-ubyte", images[:-100])
        wrong_magic = write(work / "data" / "magic" / "t10k-images-idx3-ubyte",
                            struct.pack(">I", 0x801) + images[4:])
        idx_cases = {
            "IDX missing": (empty_data, empty_data / "t10k-images-idx3-ubyte"),
            "IDX count mismatch (cut short)": (short.parent, short),
            "IDX wrong magic": (wrong_magic.parent, wrong_magic),
        }
        for name, (data, file) in idx_cases.items():
            result = run(script, "--metrics", with_validation, "--predictions", predictions,
                         "--data", data, "--out", bad)
            check_failure(checks, name, result, 1, file)

        # Bad arguments: argparse's exit 2.
        argument_cases = {
            "no --metrics": [],
            "unknown --classes": ["--metrics", with_validation, "--classes", "cifar"],
            "--predictions without --data": ["--metrics", with_validation,
                                             "--predictions", predictions],
        }
        for name, arguments in argument_cases.items():
            check_failure(checks, name, run(script, *arguments), 2, None)
        leftovers = sorted(p.name for p in bad.glob("*.png"))
        checks.expect("failed runs write no PNG", not leftovers, f"found {leftovers}")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{checks.failures} failure(s)" if checks.failures else "all plot.py checks passed")
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
