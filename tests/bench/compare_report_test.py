#!/usr/bin/env python3
"""bench/compare_report.py on recorded inputs made up here (no GPU): the kernel table pairs the two
engines' medians, ratios, floors and geometric means come out as computed by hand, goals that miss
become gaps, and bad input is one line and exit status 1.

    python3 tests/bench/compare_report_test.py [PROJECT_ROOT]
"""

import json
import math
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(sys.argv.pop(1) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
sys.path.insert(0, str(ROOT / "bench"))
import compare_report  # noqa: E402

SCRIPT = ROOT / "bench" / "compare_report.py"


def aggregate(op, model, layer, batch, engine, microseconds, flop, bytes_moved):
    """A median aggregate as Google Benchmark writes it, plus a mean that must be ignored."""
    label = f"op={op} model={model} layer={layer} batch={batch} engine={engine} math=fma"
    name = f"{op}/{model}/{layer}/batch:{batch}/{engine}/manual_time"
    row = {"name": f"{name}_median", "run_name": name, "run_type": "aggregate",
           "aggregate_name": "median", "real_time": microseconds, "time_unit": "us",
           "label": label, "flop": flop, "bytes": bytes_moved}
    mean = dict(row, name=f"{name}_mean", aggregate_name="mean", real_time=microseconds * 10)
    iteration = dict(row, name=name, run_type="iteration", real_time=microseconds * 100)
    return [iteration, mean, row]


def bench_json():
    rows = []
    # Peaks: 2e9 bytes in 1000 µs = 2e12 B/s; 5e10 FLOP in 1000 µs = 5e13 FLOP/s.
    rows += aggregate("peak_copy", "-", "-", 0, "custom", 1000.0, 0, 2e9)
    rows += aggregate("peak_sgemm", "-", "-", 0, "custom", 1000.0, 5e10, 0)
    # At mnist-cnn's recipe batch (32): conv 2x slower than cuDNN, relu 0.5x, pool 1.0x.
    rows += aggregate("conv2d_forward", "mnist-cnn", "layer1.0", 32, "custom", 20.0, 5e8, 1e6)
    rows += aggregate("conv2d_forward", "mnist-cnn", "layer1.0", 32, "cudnn", 10.0, 5e8, 1e6)
    rows += aggregate("relu_forward", "mnist-cnn", "layer1.1", 32, "custom", 4.0, 0, 4e6)
    rows += aggregate("relu_forward", "mnist-cnn", "layer1.1", 32, "cudnn", 8.0, 0, 4e6)
    rows += aggregate("max_pool2d_forward", "mnist-cnn", "layer2.2", 32, "custom", 3.0, 0, 2e6)
    rows += aggregate("max_pool2d_forward", "mnist-cnn", "layer2.2", 32, "cudnn", 3.0, 0, 2e6)
    # Off the recipe batch: counted in the family means, not in the goal.
    rows += aggregate("conv2d_forward", "mnist-cnn", "layer1.0", 256, "custom", 80.0, 4e9, 8e6)
    rows += aggregate("conv2d_forward", "mnist-cnn", "layer1.0", 256, "cudnn", 100.0, 4e9, 8e6)
    # Custom only: no cuDNN counterpart, no ratio.
    rows += aggregate("adam_step", "mnist-cnn", "-", 32, "custom", 12.0, 1e7, 7e7)
    return {"context": {"date": "2026-12-06"}, "benchmarks": rows}


def write_runs(folder):
    def epochs(seconds, rate, accuracy):
        return "".join(json.dumps({"epoch": i + 1, "epoch_seconds": seconds,
                                   "images_per_second": rate, "test_acc": accuracy}) + "\n"
                       for i in range(3))

    (folder / "train-mnist-cnn-custom.jsonl").write_text(epochs(0.5, 120000.0, 0.991))
    (folder / "train-mnist-cnn-cudnn.jsonl").write_text(epochs(0.6, 100000.0, 0.990))
    for mode, rate in (("eager", 20000.0), ("graphed", 60000.0)):
        (folder / f"peer-mnist-cnn-{mode}.json").write_text(json.dumps({
            "name": f"pytorch-{mode}", "model": "mnist-cnn", "mode": mode, "epochs": 3,
            "epoch_seconds": 60000 / rate, "images_per_second": rate, "test_acc": 0.989,
            "allow_tf32": {"cuda.matmul": False, "cudnn": False}}))


class CompareReport(unittest.TestCase):
    def setUp(self):
        self.folder = Path(tempfile.mkdtemp())
        (self.folder / "kernel_bench.json").write_text(json.dumps(bench_json()))
        write_runs(self.folder)
        self.comparison = compare_report.compare(self.folder / "kernel_bench.json", self.folder)

    def row(self, op, batch):
        return next(r for r in self.comparison["kernels"] if r["op"] == op and r["batch"] == batch)

    def test_pairs_the_engines_and_reads_only_medians(self):
        conv = self.row("conv2d_forward", 32)
        self.assertEqual((conv["custom_us"], conv["cudnn_us"]), (20.0, 10.0))
        self.assertAlmostEqual(conv["ratio"], 2.0)
        self.assertEqual(len(self.comparison["kernels"]), 5)  # peaks are not kernel rows
        self.assertIsNone(self.row("adam_step", 32)["ratio"])

    def test_op_families(self):
        self.assertEqual(compare_report.family("relu_max_pool2d_backward"), "fused")
        self.assertEqual(compare_report.family("relu_backward"), "activation")
        self.assertEqual(compare_report.family("max_pool2d_forward"), "pool")
        self.assertEqual(compare_report.family("adam_step"), "other")

    def test_floors_come_from_the_measured_peaks(self):
        self.assertAlmostEqual(self.comparison["peaks"]["bytes_per_s"], 2e12)
        self.assertAlmostEqual(self.comparison["peaks"]["flop_per_s"], 5e13)
        # conv at 32: 5e8 FLOP / 5e13 = 10 µs; 1e6 B / 2e12 = 0.5 µs: compute bound, 10 µs.
        conv = self.row("conv2d_forward", 32)
        self.assertAlmostEqual(conv["floor_us"], 10.0)
        self.assertAlmostEqual(conv["custom_floor_pct"], 50.0)
        self.assertAlmostEqual(conv["cudnn_floor_pct"], 100.0)
        # relu: 4e6 B / 2e12 = 2 µs: bandwidth bound.
        self.assertAlmostEqual(self.row("relu_forward", 32)["floor_us"], 2.0)

    def test_geometric_means_and_goal(self):
        summary = self.comparison["kernel_summary"]
        self.assertAlmostEqual(summary["geomean_by_family"]["conv"], math.sqrt(2.0 * 0.8))
        self.assertAlmostEqual(summary["geomean_by_family"]["activation"], 0.5)
        self.assertAlmostEqual(summary["geomean_all"], (2.0 * 0.5 * 1.0 * 0.8) ** 0.25)
        # The goal counts the recipe batch only: conv 2, relu 0.5, pool 1 -> geomean 1.
        self.assertEqual(summary["goal_rows"], 3)
        self.assertAlmostEqual(summary["goal_geomean"], 1.0)
        self.assertAlmostEqual(summary["goal_worst"], 2.0)

    def test_gaps_name_what_misses(self):
        gaps = self.comparison["gaps"]
        self.assertTrue(any("conv2d_forward mnist-cnn layer1.0 batch 32" in g and "2.00" in g
                            for g in gaps), gaps)
        self.assertFalse(any("geometric mean" in g for g in gaps), gaps)  # 1.0 meets <= 1.0
        # 120000 / 20000 = 6x eager (goal 10x); 120000 / 60000 = 2x graphed (goal 1.5x).
        self.assertTrue(any("6.00x pytorch-eager" in g for g in gaps), gaps)
        self.assertFalse(any("pytorch-graphed" in g for g in gaps), gaps)

    def test_end_to_end_rows(self):
        rows = {r["name"]: r for r in self.comparison["end_to_end"]}
        self.assertEqual(set(rows), {"kiln-custom", "kiln-cudnn", "pytorch-eager",
                                     "pytorch-graphed"})
        self.assertAlmostEqual(rows["kiln-custom"]["images_per_second"], 120000.0)
        self.assertAlmostEqual(rows["kiln-custom"]["test_acc"], 0.991)
        self.assertAlmostEqual(self.comparison["speedups"]["mnist-cnn vs pytorch-graphed"], 2.0)

    def test_an_unreadable_run_raises_or_is_named_and_left_out(self):
        (self.folder / "peer-mnist-cnn-eager.json").write_text('{"name": "pytorch-ea')
        with self.assertRaises(compare_report.InputError):
            compare_report.read_runs(self.folder)
        problems = []
        rows = compare_report.read_runs(self.folder, problems)
        self.assertEqual({r["name"] for r in rows}, {"kiln-custom", "kiln-cudnn",
                                                     "pytorch-graphed"})
        self.assertEqual(len(problems), 1)
        self.assertIn("peer-mnist-cnn-eager.json: not valid JSON", problems[0])

    def test_a_validated_recipe_keeps_its_best_validation_epoch(self):
        lines = [{"epoch": 1, "epoch_seconds": 1.0, "images_per_second": 10.0, "val_loss": 0.9,
                  "test_acc": 0.5},
                 {"epoch": 2, "epoch_seconds": 1.0, "images_per_second": 10.0, "val_loss": 0.4,
                  "test_acc": 0.8},
                 {"epoch": 3, "epoch_seconds": 1.0, "images_per_second": 10.0, "val_loss": 0.6,
                  "test_acc": 0.7}]
        row = compare_report.kiln_run(Path("train-fashion-lenet-custom.jsonl"), lines)
        self.assertEqual((row["test_acc"], row["weights"]), (0.8, "best on validation (epoch 2)"))
        without_validation = [dict(line, val_loss=None) for line in lines]
        row = compare_report.kiln_run(Path("train-mnist-cnn-custom.jsonl"), without_validation)
        self.assertEqual((row["test_acc"], row["weights"]), (0.7, "final"))

    def test_missing_measurements_are_gaps_not_successes(self):
        empty = Path(tempfile.mkdtemp())
        (empty / "kernel_bench.json").write_text(json.dumps({"benchmarks": []}))
        comparison = compare_report.compare(empty / "kernel_bench.json", empty)
        self.assertEqual(len(comparison["gaps"]), 3, comparison["gaps"])

    def test_command_writes_the_report(self):
        out = Path(tempfile.mkdtemp())
        result = subprocess.run([sys.executable, SCRIPT, "--bench", self.folder / "kernel_bench.json",
                                 "--runs", self.folder, "--out", out],
                                capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 0, result.stderr)
        markdown = (out / "report.md").read_text()
        self.assertIn("| conv2d_forward | mnist-cnn | layer1.0 | 32 | fma | 20.00 | 10.00 | 2.00 "
                      "| 50% | 100% |", markdown)
        self.assertIn("| mnist-cnn | pytorch-eager | 3 |", markdown)
        self.assertEqual(json.loads((out / "report.json").read_text())["kernel_summary"]
                         ["goal_rows"], 3)
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return
        self.assertGreater((out / "chart.png").stat().st_size, 1000)

    def test_bad_input_is_one_line_and_status_1(self):
        broken = Path(tempfile.mkdtemp())
        (broken / "kernel_bench.json").write_text('{"benchmarks": [')
        result = subprocess.run([sys.executable, SCRIPT, "--bench", broken / "kernel_bench.json",
                                 "--out", broken], capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 1)
        self.assertRegex(result.stderr, r"^compare_report.py: .*kernel_bench.json: not valid JSON")
        self.assertEqual(len(result.stderr.strip().splitlines()), 1)

    def test_usage_errors_are_status_2(self):
        result = subprocess.run([sys.executable, SCRIPT, "--out", self.folder],
                                capture_output=True, text=True, check=False)
        self.assertEqual(result.returncode, 2)
        self.assertIn("give --bench, --runs or both", result.stderr)


if __name__ == "__main__":
    unittest.main()
