#!/usr/bin/env python3
"""The cuDNN-vs-custom and kiln-vs-PyTorch comparison of one run on one GPU.

    python3 bench/compare_report.py --bench kernel_bench.json --runs RUN_DIR --out OUT_DIR

Reads what a run measured, side by side on the same GPU:
- kernel_bench.json, bench/kernel_bench's Google Benchmark JSON: one row per op, layer shape,
  batch and engine (label "op=... model=... layer=... batch=... engine=custom|cudnn math=fma",
  counters flop and bytes per call), plus the peak_copy and peak_sgemm rows that set the floors;
- RUN_DIR/train-<model>-<engine>.jsonl: train_mnist_gpu --metrics of one recipe per engine
  (custom, cudnn), one JSON object per epoch;
- RUN_DIR/peer-<model>-<mode>.json: bench/pytorch_recipe.py --json of one recipe (eager, graphed).
Writes OUT_DIR/report.md, report.json and chart.png (when matplotlib is there);
scripts/gpu_report.py puts the same tables into the GPU check's report.

Per kernel row: custom and cuDNN median µs, their ratio (custom / cuDNN: below 1, custom wins) and
each time's share of its floor, max(FLOPs / peak SGEMM rate, bytes / peak copy rate). Then the
geometric mean of the ratios per op family and overall, and the goals they are measured against
(a row or goal that misses is listed as a gap with its numbers, never hidden).
Exit status: 0 on success (gaps included), 1 when an input is missing or unreadable, 2 on usage.
"""

import argparse
import json
import math
import re
import sys
from pathlib import Path

# The recipe batch of each model (docs/recipes.md): the kernel goals count these rows.
RECIPE_BATCH = {"mnist-cnn": 32, "fashion-lenet": 20}
# A fused ReLU + pooling row (kiln's one op, cuDNN's two) is its own family, outside the goal.
FAMILIES = [("conv", "conv2d_"), ("pool", "max_pool2d_"), ("fused", "relu_max_pool2d_"),
            ("activation", "relu_"), ("activation", "sigmoid_"),
            ("softmax", "softmax_cross_entropy"), ("dropout", "dropout_")]
GOAL_FAMILIES = ("conv", "pool", "activation", "softmax")
GOAL_GEOMEAN = 1.0     # custom / cuDNN over the goal families at the recipe batches
GOAL_WORST_ROW = 1.5
GOAL_VS_EAGER = 10.0   # mnist-cnn images/s, kiln custom over PyTorch eager
GOAL_VS_GRAPHED = 1.5  # and over PyTorch's graphed mode
TO_MICROSECONDS = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


class InputError(Exception):
    """An input file that is missing or cannot be read; one line names it."""


def read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except OSError as error:
        raise InputError(f"{path}: cannot read: {error.strerror}") from None
    except ValueError as error:
        raise InputError(f"{path}: not valid JSON: {error}") from None


def family(op):
    return next((name for name, prefix in FAMILIES if op.startswith(prefix)), "other")


def parse_label(label):
    return dict(item.split("=", 1) for item in label.split() if "=" in item)


def bench_medians(results):
    """(label fields, median µs, counters) of every median aggregate in Google Benchmark JSON."""
    rows = []
    for bench in results.get("benchmarks", []):
        if bench.get("run_type") != "aggregate" or bench.get("aggregate_name") != "median":
            continue
        fields = parse_label(bench.get("label", ""))
        if "op" not in fields:
            continue
        microseconds = bench["real_time"] * TO_MICROSECONDS[bench.get("time_unit", "ns")]
        rows.append((fields, microseconds, bench))
    return rows


def peak_rates(medians):
    """{"bytes_per_s", "flop_per_s"} from the peak_copy and peak_sgemm rows (None if absent)."""
    peaks = {"bytes_per_s": None, "flop_per_s": None}
    for fields, microseconds, bench in medians:
        if fields["op"] == "peak_copy" and microseconds > 0:
            peaks["bytes_per_s"] = bench["bytes"] / (microseconds * 1e-6)
        elif fields["op"] == "peak_sgemm" and microseconds > 0:
            peaks["flop_per_s"] = bench["flop"] / (microseconds * 1e-6)
    return peaks


def floor_microseconds(flop, bytes_moved, peaks):
    """The time no kernel can beat: its FLOPs at the SGEMM rate or its bytes at the copy rate."""
    bounds = []
    if peaks["flop_per_s"]:
        bounds.append(flop / peaks["flop_per_s"])
    if peaks["bytes_per_s"]:
        bounds.append(bytes_moved / peaks["bytes_per_s"])
    return max(bounds) * 1e6 if bounds else None


def kernel_rows(results):
    """One row per (op, model, layer, batch) with both engines' medians side by side."""
    medians = bench_medians(results)
    peaks = peak_rates(medians)
    rows = {}
    for fields, microseconds, bench in medians:
        if fields["op"].startswith("peak_"):
            continue
        key = (fields["op"], fields.get("model", "-"), fields.get("layer", "-"),
               int(fields.get("batch", 0)))
        row = rows.setdefault(key, {
            "op": key[0], "family": family(key[0]), "model": key[1], "layer": key[2],
            "batch": key[3], "custom_us": None, "cudnn_us": None,
            "math": fields.get("math", "fma"), "flop": bench.get("flop", 0.0),
            "bytes": bench.get("bytes", 0.0)})
        engine = fields.get("engine", "custom")
        if engine in ("custom", "cudnn"):
            row[f"{engine}_us"] = microseconds
    for row in rows.values():
        floor = floor_microseconds(row["flop"], row["bytes"], peaks)
        row["floor_us"] = floor
        for engine in ("custom", "cudnn"):
            time = row[f"{engine}_us"]
            row[f"{engine}_floor_pct"] = 100 * floor / time if floor and time else None
        both = row["custom_us"] and row["cudnn_us"]
        row["ratio"] = row["custom_us"] / row["cudnn_us"] if both else None
    ordered = sorted(rows.values(), key=lambda r: (r["model"], r["batch"], r["layer"], r["op"]))
    return ordered, peaks


def geomean(values):
    values = [v for v in values if v]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def at_recipe_batch(row):
    return RECIPE_BATCH.get(row["model"]) == row["batch"]


def kernel_summary(rows):
    """Geometric means of custom / cuDNN per family (all batches) and the goal's figures."""
    families = sorted({r["family"] for r in rows if r["ratio"]})
    per_family = {name: geomean(r["ratio"] for r in rows if r["family"] == name)
                  for name in families}
    goal_rows = [r for r in rows
                 if r["ratio"] and r["family"] in GOAL_FAMILIES and at_recipe_batch(r)]
    return {
        "geomean_by_family": per_family,
        "geomean_all": geomean(r["ratio"] for r in rows),
        "goal_rows": len(goal_rows),
        "goal_geomean": geomean(r["ratio"] for r in goal_rows),
        "goal_worst": max((r["ratio"] for r in goal_rows), default=None),
        "goal_rows_over_limit": [r for r in goal_rows if r["ratio"] > GOAL_WORST_ROW],
    }


def kiln_run(path, epochs):
    """kiln's end-to-end row of one --metrics file. Where the recipe validates (fashion-lenet),
    its test accuracy is that of the weights it keeps, best on validation (the last epoch whose
    validation loss did not increase, as train_mnist_gpu and bench/pytorch_recipe.py keep them)."""
    match = re.fullmatch(r"train-(.+)-(custom|cudnn)\.jsonl", path.name)
    try:
        seconds = [e["epoch_seconds"] for e in epochs]
        images = sum(e["images_per_second"] * e["epoch_seconds"] for e in epochs)
        kept, weights, best = epochs[-1], "final", math.inf
        for epoch in epochs:
            if epoch.get("val_loss") is not None and epoch["val_loss"] <= best:
                best, kept = epoch["val_loss"], epoch
                weights = f"best on validation (epoch {epoch['epoch']})"
        test_acc = kept["test_acc"]
    except KeyError as error:
        raise InputError(f"{path}: an epoch without the field {error}") from None
    return {"name": f"kiln-{match.group(2)}", "model": match.group(1), "epochs": len(epochs),
            "epoch_seconds": sum(seconds) / len(seconds),
            "images_per_second": images / sum(seconds) if sum(seconds) else 0.0,
            "test_acc": test_acc, "weights": weights}


def peer_run(path):
    peer = read_json(path)
    try:
        return {"name": peer["name"], "model": peer["model"], "epochs": peer["epochs"],
                "epoch_seconds": peer["epoch_seconds"],
                "images_per_second": peer["images_per_second"], "test_acc": peer["test_acc"],
                "weights": peer.get("weights", "?"), "allow_tf32": peer.get("allow_tf32")}
    except KeyError as error:
        raise InputError(f"{path}: no field {error}") from None


def read_runs(folder, problems=None):
    """End-to-end rows: kiln's recipes per engine and PyTorch's per mode, one per model and name.
    An unreadable file raises InputError, or, given a list `problems`, is left out and named
    there, so that the other rows stay."""
    rows = []

    def guarded(path, read):
        try:
            row = read(path)
        except InputError as error:
            if problems is None:
                raise
            problems.append(str(error))
            return
        if row:
            rows.append(row)

    def kiln(path):
        try:
            epochs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        except ValueError as error:
            raise InputError(f"{path}: not JSON Lines: {error}") from None
        return kiln_run(path, epochs) if epochs else None

    for path in sorted(Path(folder).glob("train-*.jsonl")):
        if re.fullmatch(r"train-(.+)-(custom|cudnn)\.jsonl", path.name):
            guarded(path, kiln)
    for path in sorted(Path(folder).glob("peer-*.json")):
        guarded(path, peer_run)
    return rows


def end_to_end_summary(rows):
    """kiln custom's speed-up over each PyTorch mode, per model."""
    speedups = {}
    for model in sorted({r["model"] for r in rows}):
        by_name = {r["name"]: r for r in rows if r["model"] == model}
        kiln = by_name.get("kiln-custom")
        for peer in ("pytorch-eager", "pytorch-graphed", "kiln-cudnn"):
            if kiln and peer in by_name and by_name[peer]["images_per_second"]:
                speedups[f"{model} vs {peer}"] = (kiln["images_per_second"]
                                                  / by_name[peer]["images_per_second"])
    return speedups


def gaps(summary, speedups):
    """Every goal not met (or not measured), with its numbers."""
    found = []
    if summary["goal_geomean"] is None:
        found.append("kernels: no custom and cuDNN pair measured at the recipe batches")
    elif summary["goal_geomean"] > GOAL_GEOMEAN:
        found.append(f"kernels: geometric mean custom/cuDNN {summary['goal_geomean']:.2f} over "
                     f"{summary['goal_rows']} rows at the recipe batches (goal <= {GOAL_GEOMEAN})")
    for row in summary["goal_rows_over_limit"]:
        found.append(f"kernel {row['op']} {row['model']} {row['layer']} batch {row['batch']}: "
                     f"custom/cuDNN {row['ratio']:.2f} (goal <= {GOAL_WORST_ROW})")
    for peer, goal in (("pytorch-eager", GOAL_VS_EAGER), ("pytorch-graphed", GOAL_VS_GRAPHED)):
        speedup = speedups.get(f"mnist-cnn vs {peer}")
        if speedup is None:
            found.append(f"end to end: mnist-cnn kiln-custom vs {peer} not measured")
        elif speedup < goal:
            found.append(f"end to end: mnist-cnn kiln-custom {speedup:.2f}x {peer}'s images/s "
                         f"(goal >= {goal}x)")
    return found


def compare(bench_json, runs_folder, problems=None, bench_results=None):
    """The whole comparison as one JSON-ready dict: of the benchmark JSON file bench_json, or of
    its parsed contents bench_results. With a list `problems`, an unreadable run file is named
    there and left out instead of raising InputError."""
    if bench_json:
        bench_results = read_json(bench_json)
    rows, peaks = kernel_rows(bench_results) if bench_results else ([], peak_rates([]))
    summary = kernel_summary(rows)
    end_to_end = read_runs(runs_folder, problems) if runs_folder else []
    speedups = end_to_end_summary(end_to_end)
    return {"peaks": peaks, "kernels": rows, "kernel_summary": summary,
            "end_to_end": end_to_end, "speedups": speedups, "gaps": gaps(summary, speedups)}


def number(value, digits=2, suffix=""):
    return "–" if value is None else f"{value:.{digits}f}{suffix}"


def markdown(comparison, heading="#"):
    """The comparison's tables; heading sets the level, so the GPU check nests them."""
    peaks, summary = comparison["peaks"], comparison["kernel_summary"]
    copy = peaks["bytes_per_s"] and peaks["bytes_per_s"] / 1e9
    sgemm = peaks["flop_per_s"] and peaks["flop_per_s"] / 1e12
    md = [f"{heading} Custom kernels vs cuDNN", "",
          "Median of the benchmark's repetitions, CUDA events, rotating inputs; plain float32 "
          "(FMA, no TF32) on both engines. Ratio = custom / cuDNN (below 1: custom is faster). "
          "Floor = max(FLOPs / peak SGEMM, bytes / peak copy).", "",
          f"Peaks measured in the run: copy {number(copy, 0)} GB/s, SGEMM {number(sgemm, 1)} "
          "TFLOP/s.", "",
          "| op | model | layer | batch | math | custom µs | cuDNN µs | ratio | custom % floor "
          "| cuDNN % floor |",
          "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in comparison["kernels"]:
        md.append(f"| {r['op']} | {r['model']} | {r['layer']} | {r['batch']} | {r['math']} | "
                  f"{number(r['custom_us'])} | {number(r['cudnn_us'])} | {number(r['ratio'])} | "
                  f"{number(r['custom_floor_pct'], 0, '%')} | "
                  f"{number(r['cudnn_floor_pct'], 0, '%')} |")
    md += ["", "| op family | geometric mean custom / cuDNN |", "| --- | ---: |"]
    md += [f"| {name} | {number(value)} |" for name, value in summary["geomean_by_family"].items()]
    md += [f"| all | {number(summary['geomean_all'])} |",
           f"| goal rows ({', '.join(GOAL_FAMILIES)} at the recipe batches, "
           f"{summary['goal_rows']} rows) | {number(summary['goal_geomean'])} |", "",
           f"{heading} End to end, same GPU, same run", "",
           "| model | run | epochs | epoch s | images/s | test accuracy | of the weights |",
           "| --- | --- | ---: | ---: | ---: | ---: | --- |"]
    for r in comparison["end_to_end"]:
        md.append(f"| {r['model']} | {r['name']} | {r['epochs']} | "
                  f"{number(r['epoch_seconds'], 3)} | {number(r['images_per_second'], 0)} | "
                  f"{number(100 * r['test_acc'], 2, '%')} | {r.get('weights', '?')} |")
    tf32 = sorted({json.dumps(r["allow_tf32"], sort_keys=True) for r in comparison["end_to_end"]
                   if r.get("allow_tf32") is not None})
    if tf32:
        md += ["", "PyTorch's TF32 switches: " + "; ".join(tf32)]
    if comparison["speedups"]:
        md += ["", "| kiln-custom images/s over | × |", "| --- | ---: |"]
        md += [f"| {name} | {number(value)} |" for name, value in comparison["speedups"].items()]
    md += ["", f"{heading} Gaps", ""]
    md += [f"- {gap}" for gap in comparison["gaps"]] or ["None: every goal is met."]
    return "\n".join(md) + "\n"


def chart(comparison, path):
    """Custom / cuDNN per kernel row at the recipe batches, log scale, 1 marked. False when
    matplotlib is missing or there is nothing to draw."""
    rows = [r for r in comparison["kernels"] if r["ratio"] and at_recipe_batch(r)]
    if not rows:  # before matplotlib, whose import takes seconds
        return False
    try:
        import matplotlib
        import matplotlib.ticker
        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return False
    figure, axes = pyplot.subplots(figsize=(8, 0.3 * len(rows) + 1.5))
    labels = [f"{r['model']} {r['layer']} {r['op']}" for r in rows]
    # Each bar runs from 1 (parity) to its ratio: left of the line custom wins.
    axes.barh(labels, [r["ratio"] - 1 for r in rows], left=1,
              color=["tab:green" if r["ratio"] <= 1 else "tab:red" for r in rows])
    axes.axvline(1.0, color="black", linewidth=0.8)
    axes.axvline(GOAL_WORST_ROW, color="grey", linestyle="--", linewidth=0.8)
    axes.set_xscale("log")
    axes.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes.set_xlabel("custom time / cuDNN time (recipe batch; below 1: custom faster)")
    axes.invert_yaxis()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, help="kernel_bench's JSON output")
    parser.add_argument("--runs", type=Path,
                        help="the folder of train-<model>-<engine>.jsonl and peer-*.json files")
    parser.add_argument("--out", type=Path, required=True,
                        help="where report.md, report.json and chart.png go")
    args = parser.parse_args()
    if args.bench is None and args.runs is None:
        parser.error("give --bench, --runs or both")
    if args.runs is not None and not args.runs.is_dir():
        parser.error(f"--runs {args.runs}: not a folder")
    if not args.out.is_dir():
        parser.error(f"--out {args.out}: not a folder")
    try:
        comparison = compare(args.bench, args.runs)
    except InputError as error:
        print(f"compare_report.py: {error}", file=sys.stderr)
        return 1
    (args.out / "report.json").write_text(json.dumps(comparison, indent=1) + "\n")
    (args.out / "report.md").write_text(markdown(comparison))
    drawn = chart(comparison, args.out / "chart.png")
    print(f"compare_report.py: {len(comparison['kernels'])} kernel rows, "
          f"{len(comparison['end_to_end'])} end-to-end rows, {len(comparison['gaps'])} gaps; "
          f"{'chart.png, ' if drawn else ''}report.md and report.json in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
