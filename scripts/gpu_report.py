#!/usr/bin/env python3
"""Writes report.json and report.md of a GPU check (scripts/gpu_check.sh) and prints its table.

    scripts/gpu_report.py --logs LOGS --build BUILD --out OUT --stage A|B [--dry-run] [--final]

Reads what the stages left in LOGS: steps.tsv (stage, step, status, seconds, detail), running/
(the steps under way: in the last report of a stage cut off at its limit, where it stopped),
environment.tsv (the probe), the step logs, tests.json (ctest's listing), ctest-*.xml,
kernel_bench-*.json, the recipes' metrics and PyTorch's summaries (compared by
bench/compare_report.py, whose tables and, with --final, chart.png join the report), and
BUILD/CMakeCache.txt. Each step's status comes from its exit code and is then refined from what it
produced: a step that could not reach a GPU is 'no-gpu', never 'pass', and with a GPU present it
fails. An input that cannot be read is named, and every other table stays.
Exits (with --final) 1 when a step failed, or when no GPU was found and this is no dry run.
Standard library only (matplotlib draws the chart where it is installed).
"""

import argparse
import json
import re
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import compare_report  # noqa: E402

# Statuses that fail the check anywhere, and those that fail it only where a GPU is present.
FAILED = {"fail", "timeout", "skipped", "running", "killed"}
FAILED_WITH_GPU = {"no-gpu", "unavailable"}
TOOLS = ("memcheck", "racecheck", "initcheck", "synccheck")
# What a program prints when it finds no usable GPU (tests/support/gpu.h, train_mnist_gpu,
# kernel_bench, bench/pytorch_recipe.py, compute-sanitizer).
NO_GPU = re.compile(r"KILN_REQUIRE_GPU=1 requires a GPU: (.*)|no usable (?:GPU|CUDA device): (.*)"
                    r"|(PyTorch sees no GPU)|(?:Device|device) not supported|no CUDA-capable device")
GPU_SKIP = re.compile(r"GPU test skipped: (.*)")
CMAKE_FOUND = ["GTest_DIR", "benchmark_DIR", "CLI11_DIR", "fmt_DIR", "ZLIB_INCLUDE_DIR",
               "ZLIB_LIBRARY_RELEASE", "Random123_INCLUDE_DIR", "OpenBLAS_INCLUDE_DIR",
               "OpenBLAS_LIBRARY", "CUDNN_INCLUDE_DIR",
               "CUDNN_LIBRARY", "CMAKE_CUDA_COMPILER", "CMAKE_CXX_COMPILER",
               "CMAKE_CUDA_ARCHITECTURES", "KILN_WITH_CUDNN", "KILN_PYTHON"]
LOG_TAIL_LINES = 30


def read_text(path):
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def read_tsv(path):
    return [line.split("\t") for line in read_text(path).splitlines() if line]


def load(path, parse, problems):
    """The parsed file; None when it is missing, or cut short or broken (then named in
    problems)."""
    if not path.exists():
        return None
    try:
        return parse(path)
    except (OSError, ValueError, ElementTree.ParseError) as error:
        problems.append(f"{path.name}: unreadable ({str(error).splitlines()[0]})")
        return None


def cmake_cache(build):
    values = {}
    for line in read_text(build / "CMakeCache.txt").splitlines():
        match = re.match(r"^([A-Za-z0-9_]+):[A-Z_]+=(.*)$", line)
        if match and match.group(1) in CMAKE_FOUND:
            values[match.group(1)] = match.group(2)
    return values


def test_labels(logs, problems):
    """ctest's test name -> labels, from `ctest --show-only=json-v1`."""
    listing = load(logs / "tests.json", lambda p: json.loads(p.read_text()), problems) or {}
    labels = {}
    for test in listing.get("tests", []):
        props = {p["name"]: p["value"] for p in test.get("properties", [])}
        labels[test["name"]] = props.get("LABELS", [])
    return labels


def skip_reason(output):
    """Why a GoogleTest test skipped: the message after its "Skipped" line."""
    gpu = GPU_SKIP.search(output)
    if gpu:
        return "no GPU: " + gpu.group(1).strip()
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith(": Skipped") and i + 1 < len(lines) and lines[i + 1].strip():
            return lines[i + 1].strip()
    return "no reason printed"


def ctest_results(xml_path, labels, problems):
    """Outcomes of one ctest run's JUnit file: passed, failed, no-gpu (a GPU test that failed only
    because KILN_REQUIRE_GPU found no GPU) and skipped, with each skip's reason."""
    junit = load(xml_path, ElementTree.parse, problems)
    if junit is None:
        return None
    results = {"passed": [], "failed": [], "no-gpu": [], "skipped": []}
    skips, no_gpu_reasons = {}, set()
    for case in junit.getroot().iter("testcase"):
        name = case.get("name")
        output = case.findtext("system-out") or ""
        if case.find("failure") is not None or case.find("error") is not None or \
                case.get("status") == "fail":
            found = NO_GPU.search(output)
            if found:  # the test stopped in its set-up, the body never ran
                results["no-gpu"].append(name)
                no_gpu_reasons.add(next(g for g in found.groups() if g) if any(found.groups())
                                   else found.group(0))
                continue
            results["failed"].append(name)
        elif case.find("skipped") is not None or case.get("status") in ("notrun", "disabled"):
            results["skipped"].append(name)
            skips.setdefault(skip_reason(output), []).append(name)
        else:
            results["passed"].append(name)
    by_label = {}
    for outcome, names in results.items():
        for name in names:
            for label in labels.get(name, ["(none)"]):
                counts = by_label.setdefault(label, {key: 0 for key in results})
                counts[outcome] += 1
    return {"total": sum(len(v) for v in results.values()),
            **{outcome: len(names) for outcome, names in results.items()},
            "by_label": by_label, "failed_tests": results["failed"],
            "no_gpu_tests": results["no-gpu"], "no_gpu_reasons": sorted(no_gpu_reasons),
            "skips": skips}


def kernel_name(signature):
    """The kernel's name without its parameter list: "kiln::cuda::(anonymous namespace)::relu<float>"
    of "void kiln::cuda::(anonymous namespace)::relu<float>(const float *, int)"."""
    signature = signature.strip()
    if signature.endswith(")"):
        depth = 0
        for i in range(len(signature) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(signature[i], 0)
            if depth == 0:
                return signature[:i].strip()
    return signature


def sanitizer_run(log):
    """One compute-sanitizer log: its summary (None when it never got there) and its errors,
    each with its kind, kernel, source line and whether the kernel is kiln's or a library's."""
    summary = re.findall(r"^========= ERROR SUMMARY: (\d+) errors?", log, re.M)
    race = re.findall(r"^========= RACECHECK SUMMARY: (\d+) hazards? displayed "
                      r"\((\d+) errors?, (\d+) warnings?\)", log, re.M)
    errors, warnings = None, 0
    if race:
        errors, warnings = int(race[-1][1]), int(race[-1][2])
    elif summary:
        errors = int(summary[-1])
    found = []
    lines = log.splitlines()
    for i, line in enumerate(lines):
        # A report is an unindented line (after the prefix) with a device frame, on it or on the
        # indented lines after it, or a host backtrace (a failed API call). Warnings (racecheck's)
        # count in the summary only.
        match = re.match(r"^========= (?!\s)(.+)$", line)
        if not match or match.group(1).startswith(("Warning", "ERROR SUMMARY",
                                                   "RACECHECK SUMMARY")):
            continue
        frames = [match.group(1)]
        for follow in lines[i + 1:]:
            if not re.match(r"^=========\s{2,}\S", follow):
                break
            frames.append(follow)
        frame = next((f for f in (re.search(r"\bat (?:void )?(.+?)\+0x[0-9a-f]+"
                                            r"(?: in (.+?):(\d+))?", text) for text in frames)
                      if f), None)
        if frame is None and not any("Host Frame" in f or "host backtrace" in f for f in frames):
            continue
        kernel = kernel_name(frame.group(1)) if frame else "(host API call)"
        path = (frame.group(2) or "") if frame else ""
        source = f"{Path(path).name}:{frame.group(3)}" if path else "(no source line)"
        owner = ("kiln" if "kiln::" in kernel or "/kernels/" in path
                 else "host API" if frame is None else "library (cuBLAS/cuDNN/CUB)")
        kind = re.sub(r"\s+at (?:void )?.+$", "", match.group(1)).strip()
        found.append({"kind": kind, "kernel": kernel, "source": source, "owner": owner})
    return {"errors": errors, "warnings": warnings, "reports": found}


def sanitizer_summary(steps, logs):
    """Per tool: programs run to their summary out of those meant to, errors (kiln's and the
    libraries'), warnings, and each distinct error with the programs that hit it."""
    tools = {}
    for tool in TOOLS:
        runs = [s for s in steps
                if s["name"].startswith(f"sanitizer.{tool}.") and not s["superseded"]]
        if not runs:
            continue
        entry = {"programs": len(runs), "finished": 0, "errors": 0, "warnings": 0,
                 "kiln_errors": 0, "library_errors": 0, "not_finished": [], "errors_found": {}}
        for s in runs:
            program = s["name"].removeprefix(f"sanitizer.{tool}.")
            result = s.get("sanitizer")
            if not result or result["errors"] is None or s["status"] in (
                    "no-gpu", "running", "killed"):
                entry["not_finished"].append(f"{program} ({s['status']})")
                continue
            entry["finished"] += 1
            entry["errors"] += result["errors"]
            entry["warnings"] += result["warnings"]
            for report in result["reports"]:
                key = f"{report['kind']} | {report['kernel']} | {report['source']}"
                seen = entry["errors_found"].setdefault(key, dict(report, count=0, programs=[]))
                seen["count"] += 1
                if program not in seen["programs"]:
                    seen["programs"].append(program)
                side = "kiln_errors" if report["owner"] == "kiln" else "library_errors"
                entry[side] += 1
        entry["complete"] = entry["finished"] == entry["programs"]
        tools[tool] = entry
    return tools


def benchmark_rows(logs, problems):
    """All kernel_bench-*.json files as one Google Benchmark result, and one row per benchmark
    (its median or its error)."""
    merged, rows, errored = {"benchmarks": []}, [], set()
    for path in sorted(logs.glob("kernel_bench-*.json")):
        results = load(path, lambda p: json.loads(p.read_text()), problems)
        if results is None:
            continue
        merged["benchmarks"] += results.get("benchmarks", [])
    to_us = compare_report.TO_MICROSECONDS
    for bench in merged["benchmarks"]:
        name = bench.get("run_name", bench.get("name", "?"))
        if bench.get("error_occurred"):
            if name not in errored:  # each repetition reports it again
                errored.add(name)
                rows.append({"name": name, "error": bench.get("error_message", "")})
        elif bench.get("aggregate_name") == "median":
            rows.append({"name": name, "median_us": bench["real_time"]
                         * to_us[bench.get("time_unit", "ns")]})
    return merged, rows


def no_gpu_reason(log):
    found = NO_GPU.search(log)
    if not found:
        return None
    return next((g for g in found.groups() if g), found.group(0)).strip()


def refine(step, logs, tests, problems):
    """Turns an exit code into what the step showed: counts, errors, or that no GPU was used."""
    name, status = step["name"], step["status"]
    if status not in ("pass", "fail"):
        return
    log = read_text(logs / f"{name}.log")
    lines = [line for line in log.splitlines() if line.strip()]
    no_gpu = None
    if name.startswith("ctest."):
        result = tests.get(name)
        if result is None:
            step["status"] = "fail"
            step["detail"] = f"no readable {name.replace('.', '-')}.xml {step['detail']}".strip()
            return
        exit_detail = step["detail"]
        step["detail"] = (f"{result['passed']} passed, {result['failed']} failed, "
                          f"{result['skipped']} skipped, {result['no-gpu']} found no GPU, "
                          f"of {result['total']}")
        if result["no-gpu"] and not result["failed"]:
            no_gpu = "; ".join(result["no_gpu_reasons"])
        elif status == "fail" and not result["failed"]:
            step["detail"] += f"; yet ctest failed ({exit_detail}): see its log"
    elif name.startswith("sanitizer."):
        result = sanitizer_run(log)
        step["sanitizer"] = result
        if result["errors"] is None:
            no_gpu = no_gpu_reason(log)
            step["detail"] = "no summary: " + (lines[-1] if lines else "no output")
            if not no_gpu:
                step["status"] = "fail"
        else:
            kiln = sum(r["owner"] == "kiln" for r in result["reports"])
            step["detail"] = (f"{result['errors']} errors ({kiln} in kiln's kernels, "
                              f"{len(result['reports']) - kiln} elsewhere)"
                              + (f", {result['warnings']} warnings" if result["warnings"] else ""))
            if result["errors"]:
                step["status"] = "fail"
            elif status == "fail":
                no_gpu = no_gpu_reason(log)
                if not no_gpu:
                    step["detail"] += "; the tests failed under the sanitizer"
    elif name.startswith("bench."):
        part = name.removeprefix("bench.")
        path = logs / f"kernel_bench-{part}.json"
        results = load(path, lambda p: json.loads(p.read_text()), [])
        no_gpu = no_gpu_reason(log)
        if results is None:
            if not no_gpu:
                step["status"] = "fail"
                step["detail"] = f"no readable {path.name} {step['detail']}".strip()
        else:
            errors = sorted({b.get("error_message", "") for b in results.get("benchmarks", [])
                             if b.get("error_occurred")})
            medians = [b for b in results.get("benchmarks", []) if b.get("aggregate_name")
                       == "median"]
            step["detail"] = f"{len(medians)} rows measured"
            if errors:
                step["status"] = "fail"
                step["detail"] += "; errors: " + "; ".join(errors)
    elif name.startswith(("train.", "pytorch.")):
        no_gpu = no_gpu_reason(log)
        step["detail"] = "" if no_gpu else lines[-1] if lines else "no output"
    if not no_gpu:
        return
    step["status"] = "no-gpu"
    step["detail"] = f"{step['detail']}; no GPU: {no_gpu}" if step["detail"] else f"no GPU: {no_gpu}"


def read_steps(logs):
    steps = [{"stage": r[0], "name": r[1], "status": r[2], "seconds": r[3],
              "detail": r[4] if len(r) > 4 else ""}
             for r in read_tsv(logs / "steps.tsv") if len(r) >= 4]
    running = logs / "running"
    for marker in sorted(running.iterdir()) if running.is_dir() else []:
        steps.append({"stage": "?", "name": marker.name, "status": "running", "seconds": "-",
                      "detail": "under way when this report was written: if it is a stage's "
                                "last, the stage was cut off here"})
    # A step run again (stage B's memcheck of what A did not finish) counts by its last run.
    last = {s["name"]: i for i, s in enumerate(steps)}
    for i, step in enumerate(steps):
        step["superseded"] = last[step["name"]] != i
    return steps


def verdict(steps, gpu_present, dry_run, final):
    failed = [s["name"] for s in steps if not s["superseded"] and (
        s["status"] in FAILED or (gpu_present and s["status"] in FAILED_WITH_GPU))]
    stages = sorted({s["stage"] for s in steps if s["stage"] in ("A", "B")})
    scope = f"stage{'s' if len(stages) > 1 else ''} {' and '.join(stages) or 'none'}"
    if not final:
        under_way = [s["name"] for s in steps if s["status"] == "running"]
        return failed, "INCOMPLETE", (f"{scope} under way or cut off at "
                                      f"{', '.join(under_way) or 'a step boundary'}")
    if failed:
        return failed, "FAIL", f"{scope}: did not pass: {', '.join(failed)}"
    if gpu_present:
        return failed, "PASS", f"{scope}: every step passed on the GPU"
    no_gpu = sum(s["status"] == "no-gpu" for s in steps)
    if dry_run:
        return failed, "DRY RUN", (f"{scope}: every step that needs no GPU passed; {no_gpu} "
                                   "GPU steps found no GPU, as they must here")
    return failed, "NO GPU", f"{scope}: no GPU found, so nothing here is GPU evidence"


def archive_name(env):
    gpu = env.get("gpu", "no-gpu") if env.get("gpu_count", "0") != "0" else "no-gpu"
    slug = re.sub(r"[^a-z0-9]+", "-", gpu.lower()).strip("-")
    return f"{env.get('date', 'undated')[:10]}_{slug}_{env.get('commit', 'unknown')[:12]}"


def table(steps):
    width = max([len(s["name"]) for s in steps] + [4])
    lines = [f"{'':2}{'step':<{width}}  {'status':<11} {'seconds':>7}  detail"]
    lines += [f"{s['stage']:<2}{s['name']:<{width}}  {s['status']:<11} {s['seconds']:>7}  "
              f"{s['detail']}" for s in steps]
    return "\n".join(lines)


def markdown(report, logs):
    env, steps = report["environment"], report["steps"]
    md = [f"# kiln GPU check: {report['verdict']}", "",
          f"**{report['verdict']}**: {report['verdict_detail']}", "",
          "| | |", "| --- | --- |"]
    for key, title in (("gpu", "GPU"), ("gpu_memory", "GPU memory"), ("driver", "driver"),
                       ("driver_cuda", "driver's CUDA"), ("nvcc", "CUDA (nvcc)"),
                       ("cublas", "cuBLAS"), ("cudnn", "cuDNN"), ("torch", "PyTorch"),
                       ("commit", "commit"), ("commit_source", "commit from"), ("date", "date")):
        md.append(f"| {title} | {env.get(key, '?')} |")
    md += [f"| archive as | `bench/results/{report['archive_name']}/` |", "",
           "## Steps", "", "| stage | step | status | seconds | detail |",
           "| --- | --- | --- | --- | --- |"]
    md += [f"| {s['stage']} | {s['name']} | {s['status']} | {s['seconds']} | {s['detail']}"
           f"{' (run again later)' if s['superseded'] else ''} |" for s in steps]
    if report["problems"]:
        md += ["", "Inputs that could not be read (the rest of the report stands):", ""]
        md += [f"- {problem}" for problem in report["problems"]]

    for name, result in report["tests"].items():
        md += ["", f"## Tests: {name}", ""]
        if result is None:
            md.append("No readable JUnit file (ctest did not finish).")
            continue
        md.append(f"{result['total']} tests: {result['passed']} passed, {result['failed']} "
                  f"failed, {result['skipped']} skipped, {result['no-gpu']} found no GPU.")
        md += ["", "| label | passed | failed | skipped | no GPU |", "| --- | --- | --- | --- | --- |"]
        md += [f"| {label} | {c['passed']} | {c['failed']} | {c['skipped']} | {c['no-gpu']} |"
               for label, c in sorted(result["by_label"].items())]
        if result["no_gpu_tests"]:
            loud = ("**GPU TESTS FOUND NO GPU ON A MACHINE WITH ONE.**" if report["gpu_present"]
                    else "The GPU tests found no GPU (none here).")
            md += ["", loud, "Reason printed: " + "; ".join(result["no_gpu_reasons"])]
        for reason, names in sorted(result["skips"].items()):
            md += ["", f"Skipped ({reason}): " + ", ".join(names)]
        if result["failed_tests"]:
            md += ["", "Failed: " + ", ".join(result["failed_tests"])]

    md += ["", "## compute-sanitizer", ""]
    if not report["sanitizer"]:
        md.append("No sanitizer run.")
    for tool, entry in report["sanitizer"].items():
        partial = "" if entry["complete"] else " (partial)"
        md += [f"**{tool}**{partial}: {entry['errors']} errors ({entry['kiln_errors']} in kiln's "
               f"kernels, {entry['library_errors']} elsewhere), {entry['warnings']} warnings, in "
               f"{entry['finished']} of {entry['programs']} programs"
               + (f"; not finished: {', '.join(entry['not_finished'])}"
                  if entry["not_finished"] else ""), ""]
        if entry["errors_found"]:
            md += ["| error | kernel | source | whose | count | programs |",
                   "| --- | --- | --- | --- | ---: | --- |"]
            md += [f"| {e['kind']} | {e['kernel']} | {e['source']} | {e['owner']} | "
                   f"{e['count']} | {', '.join(e['programs'])} |"
                   for e in entry["errors_found"].values()]
            md.append("")

    md += ["", compare_report.markdown(report["comparison"], heading="##").rstrip()]
    if report["chart"]:
        md += ["", f"![custom / cuDNN per kernel]({report['chart']})"]
    errors = [row for row in report["benchmarks"] if "error" in row]
    if errors:
        md += ["", "Benchmarks that did not run:", ""]
        md += [f"- {row['name']}: {row['error']}" for row in errors]

    md += ["", "## Environment (the probe)", "", "| | |", "| --- | --- |"]
    md += [f"| {key} | {value} |" for key, value in env.items()]
    prefix = env.get("deps_prefix", "/tmp/kiln-deps")
    md += ["", "Found by CMake (`CMakeCache.txt`):", "", "| variable | value | |",
           "| --- | --- | --- |"]
    for key, value in report["cmake"].items():
        where = "carried prefix" if prefix and value.startswith(prefix) else ""
        md.append(f"| {key} | {value} | {where} |")

    shown = [s for s in steps if s["name"] in report["failed_steps"] or s["name"].startswith(
        "train.")]
    for s in shown:
        tail = read_text(logs / f"{s['name']}.log").splitlines()[-LOG_TAIL_LINES:]
        if tail:
            md += ["", f"### {s['name']} ({s['status']}): last lines of its log", "", "```",
                   *tail, "```"]
    md += ["", "Every log, the JUnit files and the benchmarks' JSON are in `logs.tar.gz`.", ""]
    return "\n".join(md)


def write(path, text):
    """Replaces path whole: a reader (or a kill) never sees half a file."""
    part = path.with_name(path.name + ".part")
    part.write_text(text)
    part.replace(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--logs", type=Path, required=True)
    parser.add_argument("--build", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--stage", choices=["A", "B"], required=True)
    parser.add_argument("--dry-run", action="store_true", help="no GPU is expected here")
    parser.add_argument("--final", action="store_true",
                        help="the stage has ended: draw the chart, give the verdict's exit status")
    args = parser.parse_args()
    logs, problems = args.logs, []
    if not logs.is_dir():
        parser.error(f"--logs {logs}: not a folder")
    env = {row[0]: row[1] for row in read_tsv(logs / "environment.tsv") if len(row) == 2}
    gpu_present = env.get("gpu_count", "0") not in ("", "0")
    steps = read_steps(logs)
    labels = test_labels(logs, problems)
    tests = {s["name"]: ctest_results(logs / f"{s['name'].replace('.', '-')}.xml", labels,
                                      problems)
             for s in steps if s["name"].startswith("ctest.") and s["status"] != "running"}
    for step in steps:
        refine(step, logs, tests, problems)
    failed, name, detail = verdict(steps, gpu_present, args.dry_run, args.final)
    merged, benchmarks = benchmark_rows(logs, problems)
    try:
        comparison = compare_report.compare(None, logs, problems, bench_results=merged)
    except compare_report.InputError as error:  # the benchmarks' JSON, parsed but malformed
        problems.append(str(error))
        comparison = compare_report.compare(None, logs, problems)
    chart = None
    if args.final and compare_report.chart(comparison, args.out / "chart.png"):
        chart = "chart.png"
    cache = cmake_cache(args.build)
    sanitizer = sanitizer_summary(steps, logs)
    report = {
        # The keys every report carries, so that reports of different runs compare mechanically.
        "commit": env.get("commit"), "date": env.get("date"), "gpu": env.get("gpu"),
        "driver": env.get("driver"), "cuda": env.get("nvcc"), "cublas": env.get("cublas"),
        "cudnn": env.get("cudnn"), "torch": env.get("torch"),
        "verdict": name, "verdict_detail": detail, "final": args.final,
        "failed_steps": failed, "gpu_present": gpu_present, "dry_run": args.dry_run,
        "archive_name": archive_name(env), "problems": problems,
        "tests": tests, "sanitizer": sanitizer,
        "train": [r for r in comparison["end_to_end"] if r["name"].startswith("kiln-")],
        "peers": [r for r in comparison["end_to_end"] if r["name"].startswith("pytorch-")],
        "comparison": comparison, "chart": chart, "benchmarks": benchmarks,
        "environment": env, "cmake": cache, "steps": steps,
    }
    write(args.out / "report.json", json.dumps(report, indent=1) + "\n")
    write(args.out / "report.md", markdown(report, logs))
    print(f"\nkiln GPU check, stage {args.stage}: {env.get('gpu', '?')}, driver "
          f"{env.get('driver', '?')}, commit {env.get('commit', '?')[:12]}, "
          f"{env.get('date', '?')}; report in {args.out}")
    print(table(steps))
    for problem in problems:
        print(f"unreadable: {problem}")
    print(f"{name}: {detail}")
    return 1 if args.final and name in ("FAIL", "NO GPU") else 0


if __name__ == "__main__":
    sys.exit(main())
