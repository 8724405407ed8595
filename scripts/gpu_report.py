#!/usr/bin/env python3
"""Writes report.json and report.md of one GPU check run and prints its short table last.

    scripts/gpu_report.py OUT_DIR BUILD_DIR

Reads what scripts/gpu_check.sh left: OUT_DIR/logs/{steps,environment}.tsv, the step logs,
logs/tests.json (ctest's test list with labels), ctest.xml, kernel_bench.json, the recipes'
metrics and PyTorch's summaries in logs/ (compared by bench/compare_report.py, whose tables and
chart.png join the report) and BUILD_DIR/CMakeCache.txt. Each step's status comes from its exit
code and is then refined from what it produced: a step that ran but could not reach a GPU is
'no-gpu', never 'pass'.
Exits 1 when any step failed, or when the machine has a GPU and a step did not use it.
Standard library only (matplotlib draws the chart where it is installed): it runs on the GPU
machine's python3.
"""

import json
import re
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import compare_report  # noqa: E402

# Statuses that fail the check anywhere, and those that fail it only where a GPU is present.
FAILED = {"fail", "timeout", "skipped"}
FAILED_WITH_GPU = {"no-gpu", "unavailable"}
CMAKE_FOUND = ["GTest_DIR", "benchmark_DIR", "CLI11_DIR", "fmt_DIR", "ZLIB_INCLUDE_DIR",
               "ZLIB_LIBRARY_RELEASE", "Random123_INCLUDE_DIR", "CUDNN_INCLUDE_DIR",
               "CUDNN_LIBRARY", "CMAKE_CUDA_COMPILER", "CMAKE_CXX_COMPILER",
               "CMAKE_CUDA_ARCHITECTURES"]
LOG_TAIL_LINES = 40


def read_tsv(path):
    if not path.exists():
        return []
    return [line.split("\t") for line in path.read_text().splitlines() if line]


def read_text(path):
    return path.read_text(errors="replace") if path.exists() else ""


def load(path, parse):
    """The parsed file, or None when it is missing or cut short (a step killed mid-write)."""
    try:
        return parse(path) if path.exists() else None
    except (ValueError, ElementTree.ParseError):
        return None


def read_json(path):
    return json.loads(path.read_text())


def cmake_cache(build):
    values = {}
    for line in read_text(build / "CMakeCache.txt").splitlines():
        match = re.match(r"^([A-Za-z0-9_]+):[A-Z_]+=(.*)$", line)
        if match and match.group(1) in CMAKE_FOUND:
            values[match.group(1)] = match.group(2)
    return values


def test_labels(logs):
    """ctest's test name -> labels, from `ctest --show-only=json-v1`."""
    listing = load(logs / "tests.json", read_json) or {}
    labels = {}
    for test in listing.get("tests", []):
        props = {p["name"]: p["value"] for p in test.get("properties", [])}
        labels[test["name"]] = props.get("LABELS", [])
    return labels


def ctest_results(xml_path, labels):
    junit = load(xml_path, ElementTree.parse)
    if junit is None:
        return None
    results = {"passed": [], "failed": [], "skipped": []}
    skip_reasons = set()
    for case in junit.getroot().iter("testcase"):
        name = case.get("name")
        if case.find("failure") is not None or case.find("error") is not None:
            outcome = "failed"
        elif case.find("skipped") is not None or case.get("status") in ("notrun", "disabled"):
            outcome = "skipped"
            output = case.findtext("system-out") or ""
            skip_reasons.update(re.findall(r"GPU test skipped: (.*)", output))
        else:
            outcome = "passed"
        results[outcome].append(name)
    by_label = {}
    for outcome, names in results.items():
        for name in names:
            for label in labels.get(name, ["(none)"]):
                by_label.setdefault(label, {"passed": 0, "failed": 0, "skipped": 0})
                by_label[label][outcome] += 1
    gpu_skipped = [n for n in results["skipped"] if "gpu" in labels.get(n, [])]
    return {
        "total": sum(len(v) for v in results.values()),
        "passed": len(results["passed"]),
        "failed": len(results["failed"]),
        "skipped": len(results["skipped"]),
        "by_label": by_label,
        "failed_tests": results["failed"],
        "skipped_tests": results["skipped"],
        "gpu_skipped_tests": gpu_skipped,
        "gpu_skip_reasons": sorted(skip_reasons),
    }


def benchmark_rows(json_path):
    results = load(json_path, read_json)
    if results is None:
        return None
    to_us = compare_report.TO_MICROSECONDS
    rows, errored = [], set()
    for bench in results.get("benchmarks", []):
        name = bench.get("run_name", bench["name"])
        if bench.get("error_occurred"):
            # Each repetition reports the error again: one row per benchmark is enough.
            if name not in errored:
                errored.add(name)
                rows.append({"name": name, "error": bench.get("error_message", "")})
        elif bench.get("aggregate_name", "median") == "median":
            rows.append({
                "name": name,
                "median_us": bench["real_time"] * to_us[bench.get("time_unit", "ns")],
            })
    return rows


def refine(step, gpu_present, logs, ctest, benchmarks):
    """Turns an exit code into what the step showed: counts, errors, or that no GPU was used."""
    name, status = step["name"], step["status"]
    log = read_text(logs / f"{name}.log")
    no_gpu_reason = None
    if status not in ("pass", "fail"):
        return
    if name == "ctest":
        if ctest is None:
            step["status"] = "fail"
            step["detail"] = f"no readable ctest.xml {step['detail']}".strip()
            return
        step["detail"] = (f"{ctest['passed']} passed, {ctest['failed']} failed, "
                          f"{ctest['skipped']} skipped of {ctest['total']}")
        if ctest["gpu_skipped_tests"]:
            no_gpu_reason = (f"{len(ctest['gpu_skipped_tests'])} GPU tests skipped: "
                             + ("; ".join(ctest["gpu_skip_reasons"]) or "no reason printed"))
    elif name.startswith("sanitizer."):
        summary = re.findall(r"ERROR SUMMARY: (\d+) errors?", log)
        ran = re.findall(r"\[  PASSED  \] (\d+) tests?", log)
        step["detail"] = (f"{summary[-1] if summary else '?'} errors, "
                          f"{ran[-1] if ran else 0} tests passed")
        if "[  SKIPPED ]" in log:
            no_gpu_reason = "its GPU tests were skipped under the sanitizer"
    elif name == "bench":
        if benchmarks is None:
            step["status"] = "fail"
            step["detail"] = f"no readable kernel_bench.json {step['detail']}".strip()
            return
        errors = sorted({row["error"] for row in benchmarks if "error" in row})
        measured = [row for row in benchmarks if "error" not in row]
        step["detail"] = f"{len(measured)} benchmarks measured"
        if errors and not measured and all(e.startswith("no GPU") for e in errors):
            no_gpu_reason = "all benchmarks skipped: " + "; ".join(errors)
        elif errors:
            step["status"], step["detail"] = "fail", "benchmark errors: " + "; ".join(errors)
            return
    elif name.startswith("pytorch."):
        lines = [line for line in log.splitlines() if line.strip()]
        step["detail"] = lines[-1] if lines else "no output"
    elif name.startswith("train."):
        lines = [line for line in log.splitlines() if line.strip()]
        step["detail"] = lines[-1] if lines else "no output"
        device = next((line for line in lines if line.startswith("device: ")), "")
        if device.startswith("device: no GPU"):
            no_gpu_reason = device.removeprefix("device: ")
    if not no_gpu_reason:
        return
    if gpu_present:
        step["status"] = "fail"
        no_gpu_reason = "ON A MACHINE WITH A GPU (device not found): " + no_gpu_reason
    elif status == "pass":
        step["status"] = "no-gpu"
    # Counts stay beside the reason; a line of output does not.
    counted = name == "ctest" or name.startswith("sanitizer.")
    step["detail"] = f"{step['detail']}; {no_gpu_reason}" if counted else no_gpu_reason


def failed_steps(steps, gpu_present):
    return [s["name"] for s in steps
            if s["status"] in FAILED or (gpu_present and s["status"] in FAILED_WITH_GPU)]


def verdict(steps, failed, gpu_present):
    if failed:
        not_run = [s["name"] for s in steps if s["status"] == "skipped"]
        ran = [name for name in failed if name not in not_run]
        return "FAIL", "; ".join(part for part in (
            f"failed: {', '.join(ran)}" if ran else "",
            f"not run: {', '.join(not_run)}" if not_run else "") if part)
    if not gpu_present:
        return "NO GPU", "built and tested without a GPU: nothing here is GPU evidence"
    return "PASS", "every step passed on the GPU"


def archive_name(env):
    gpu = env.get("gpu", "no-gpu") if env.get("gpu_count", "0") != "0" else "no-gpu"
    slug = re.sub(r"[^a-z0-9]+", "-", gpu.lower()).strip("-")
    return f"{env.get('date', 'undated')[:10]}_{slug}_{env.get('commit', 'unknown')[:12]}"


def table(steps):
    width = max([len(s["name"]) for s in steps] + [4])
    lines = [f"{'step':<{width}}  {'status':<11} {'seconds':>7}  detail"]
    lines += [f"{s['name']:<{width}}  {s['status']:<11} {s['seconds']:>7}  {s['detail']}"
              for s in steps]
    return "\n".join(lines)


def cudnn_version(cache):
    """cuDNN's version from the cudnn_version.h that CMake found, or None."""
    header = Path(cache.get("CUDNN_INCLUDE_DIR", "")) / "cudnn_version.h"
    parts = dict(re.findall(r"#define CUDNN_(MAJOR|MINOR|PATCHLEVEL)\s+(\d+)", read_text(header)))
    return ".".join(parts[k] for k in ("MAJOR", "MINOR", "PATCHLEVEL")) if len(parts) == 3 else None


def sanitizer_errors(steps):
    """Error count per compute-sanitizer tool, summed over the GPU test binaries; None where a
    tool did not run to its summary."""
    counts = {}
    for tool in ("memcheck", "racecheck", "initcheck", "synccheck"):
        runs = [s for s in steps if s["name"].startswith(f"sanitizer.{tool}.")]
        found = [re.match(r"(\d+) errors", s["detail"]) for s in runs]
        counts[tool] = sum(int(m.group(1)) for m in found) if runs and all(found) else None
    return counts


def train_rows(comparison):
    """The issue's "train" rows: kiln's own runs, from the comparison's end-to-end table."""
    return [{"model": r["model"], "backend": "cuda" if r["name"] == "kiln-custom" else "cudnn",
             "epochs": r["epochs"], "test_acc": r["test_acc"],
             "epoch_seconds": r["epoch_seconds"], "images_per_second": r["images_per_second"]}
            for r in comparison["end_to_end"] if r["name"].startswith("kiln-")]


def markdown(report, logs):
    env, steps = report["environment"], report["steps"]
    md = [f"# kiln GPU check: {report['verdict']}", "",
          f"**{report['verdict']}**: {report['verdict_detail']}", "",
          "| | |", "| --- | --- |",
          f"| GPU | {env.get('gpu', '?')} {env.get('gpu_memory', '')} |",
          f"| driver | {env.get('driver', '?')} |",
          f"| commit | {env.get('commit', '?')} ({env.get('commit_source', '?')}) |",
          f"| date | {env.get('date', '?')} |",
          f"| archive as | `bench/results/{report['archive_name']}/` |", "",
          "## Steps", "", "| step | status | seconds | detail |", "| --- | --- | --- | --- |"]
    md += [f"| {s['name']} | {s['status']} | {s['seconds']} | {s['detail']} |" for s in steps]

    ctest = report["ctest"]
    md += ["", "## Tests (ctest, label `repo` excluded)", ""]
    if ctest is None:
        md.append("No ctest results (ctest did not run).")
    else:
        md.append(f"{ctest['total']} tests: {ctest['passed']} passed, {ctest['failed']} failed, "
                  f"{ctest['skipped']} skipped.")
        md += ["", "| label | passed | failed | skipped |", "| --- | --- | --- | --- |"]
        md += [f"| {label} | {c['passed']} | {c['failed']} | {c['skipped']} |"
               for label, c in sorted(ctest["by_label"].items())]
        if ctest["gpu_skipped_tests"]:
            loud = ("**GPU TESTS SKIPPED ON A MACHINE WITH A GPU: the device was not found.**"
                    if report["gpu_present"] else "GPU tests skipped: no GPU on this machine.")
            md += ["", loud, "Reason printed: " + ("; ".join(ctest["gpu_skip_reasons"]) or "none"),
                   "", "Skipped: " + ", ".join(ctest["gpu_skipped_tests"])]
        if ctest["failed_tests"]:
            md += ["", "Failed: " + ", ".join(ctest["failed_tests"])]

    sanitizer = [s for s in steps if s["name"].startswith("sanitizer")]
    md += ["", "## compute-sanitizer", "", "| run | status | detail |", "| --- | --- | --- |"]
    md += [f"| {s['name']} | {s['status']} | {s['detail']} |" for s in sanitizer]

    md += ["", compare_report.markdown(report["comparison"], heading="##").rstrip()]
    if report["chart"]:
        md += ["", f"![custom / cuDNN per kernel]({report['chart']})"]
    errors = [row for row in report["benchmarks"] or [] if "error" in row]
    if errors:
        md += ["", "Benchmarks that did not run:", ""]
        md += [f"- {row['name']}: {row['error']}" for row in errors]

    md += ["", "## train_mnist_gpu (its output, verbatim)"]
    for model, output in report["apps"].items():
        md += ["", f"### {model}", "", "```", output.rstrip() or "(no output)", "```"]

    md += ["", "## Environment", "", "| | |", "| --- | --- |"]
    md += [f"| {key} | {value} |" for key, value in env.items()]
    prefix = env.get("deps_prefix", "")
    md += ["", "Found by CMake (`build/gpu/CMakeCache.txt`):", "", "| variable | value | |",
           "| --- | --- | --- |"]
    for key, value in report["cmake"].items():
        where = "carried prefix" if prefix and value.startswith(prefix) else ""
        md.append(f"| {key} | {value} | {where} |")

    failed_logs = [s for s in steps if s["name"] in report["failed_steps"]
                   and (logs / f"{s['name']}.log").exists()]
    if failed_logs:
        md += ["", f"## Last {LOG_TAIL_LINES} lines of each log that did not pass"]
        for s in failed_logs:
            tail = read_text(logs / f"{s['name']}.log").splitlines()[-LOG_TAIL_LINES:]
            md += ["", f"### {s['name']} ({s['status']})", "", "```", *tail, "```"]
    md += ["", "Every log is in `logs.tar.gz`; the tests' JUnit XML in `ctest.xml`, the "
           "benchmarks' JSON in `kernel_bench.json`.", ""]
    return "\n".join(md)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gpu_report.py OUT_DIR BUILD_DIR")
    out, build = Path(sys.argv[1]), Path(sys.argv[2])
    logs = out / "logs"
    env = {row[0]: row[1] for row in read_tsv(logs / "environment.tsv") if len(row) == 2}
    gpu_present = env.get("gpu_count", "0") not in ("", "0")
    steps = [{"name": r[0], "status": r[1], "seconds": r[2], "detail": r[3] if len(r) > 3 else ""}
             for r in read_tsv(logs / "steps.tsv")]
    ctest = ctest_results(out / "ctest.xml", test_labels(logs))
    benchmarks = benchmark_rows(out / "kernel_bench.json")
    for step in steps:
        refine(step, gpu_present, logs, ctest, benchmarks)
    failed = failed_steps(steps, gpu_present)
    name, detail = verdict(steps, failed, gpu_present)
    bench_json = out / "kernel_bench.json"
    try:
        comparison = compare_report.compare(bench_json if bench_json.exists() else None, logs)
    except compare_report.InputError as error:
        comparison = compare_report.compare(None, None)
        comparison["gaps"].insert(0, f"comparison not made: {error}")
    chart = "chart.png" if compare_report.chart(comparison, out / "chart.png") else None
    cache = cmake_cache(build)
    report = {
        # The keys every report carries, so that reports of different runs compare mechanically.
        "commit": env.get("commit"),
        "date": env.get("date"),
        "gpu": env.get("gpu"),
        "driver": env.get("driver"),
        "cuda": env.get("nvcc"),
        "cudnn": cudnn_version(cache),
        "tests": {key: (ctest or {}).get(key, 0) for key in ("passed", "failed", "skipped")},
        "sanitizer": sanitizer_errors(steps),
        "train": train_rows(comparison),
        "kernels": [{"op": r["op"], "model": r["model"], "layer": r["layer"],
                     "batch": r["batch"], "custom_us": r["custom_us"], "cudnn_us": r["cudnn_us"],
                     "math": r["math"]} for r in comparison["kernels"]],
        "peers": [{"name": r["name"], "model": r["model"], "epochs": r["epochs"],
                   "images_per_second": r["images_per_second"], "test_acc": r["test_acc"],
                   "allow_tf32": r["allow_tf32"]}
                  for r in comparison["end_to_end"] if r["name"].startswith("pytorch-")],
        "comparison": comparison,
        "chart": chart,
        "verdict": name,
        "verdict_detail": detail,
        "failed_steps": failed,
        "gpu_present": gpu_present,
        "archive_name": archive_name(env),
        "environment": env,
        "cmake": cache,
        "steps": steps,
        "ctest": ctest,
        "benchmarks": benchmarks,
        "apps": {s["name"].removeprefix("train."): read_text(logs / f"{s['name']}.log")
                 for s in steps if s["name"].startswith("train.")},
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (out / "report.md").write_text(markdown(report, logs))
    print(f"\nkiln GPU check: {env.get('gpu', '?')}, driver {env.get('driver', '?')}, "
          f"commit {env.get('commit', '?')[:12]}, {env.get('date', '?')}; report in {out}")
    print(table(steps))
    print(f"{name}: {detail}")
    return 1 if name == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
