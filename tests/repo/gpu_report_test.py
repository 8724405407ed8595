#!/usr/bin/env python3
"""scripts/gpu_report.py on recorded GPU check logs made up here (no GPU): sanitizer counts per
tool with racecheck's own summary, partial counts, each error's kernel and source line, kiln's
kernels apart from the libraries'; skips for other reasons than "no GPU"; a stage cut off mid-way;
one unreadable input that leaves the other tables; the versions; the verdicts.

    python3 tests/repo/gpu_report_test.py [PROJECT_ROOT]
"""

import json
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(sys.argv.pop(1) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
SCRIPT = ROOT / "scripts" / "gpu_report.py"

ENVIRONMENT = {"date": "2026-12-07T10:00:00Z", "gpu": "NVIDIA H100 80GB HBM3", "gpu_count": "1",
               "driver": "580.65.06", "driver_cuda": "13.0",
               "nvcc": "/usr/local/cuda/bin/nvcc: Cuda compilation tools, release 13.0, V13.0.88",
               "cublas": "13.1.0", "cudnn": "9.19.0", "cudnn_root": "/opt/nvidia/cudnn",
               "torch": "2.11.0+cu130 CUDA 13.0 cuDNN 91900", "commit": "0123456789abcdef0123",
               "commit_source": "KILN_COMMIT"}
NO_GPU_ENVIRONMENT = dict(ENVIRONMENT, gpu="none (no nvidia-smi)", gpu_count="0")

MEMCHECK_CLEAN = """========= COMPUTE-SANITIZER
Running main() from gmock_main.cc
[==========] 12 tests from 1 test suite ran. (5310 ms total)
[  PASSED  ] 12 tests.
========= ERROR SUMMARY: 0 errors
"""
MEMCHECK_DIRTY = """========= COMPUTE-SANITIZER
========= Invalid __global__ read of size 4 bytes
=========     at kiln::cuda::(anonymous namespace)::relu_forward(long, const float *, float *)+0x70 in /w/kernels/cuda/relu.cu:31
=========     by thread (255,0,0) in block (3,0,0)
=========     Address 0x7f3a2c000400 is out of bounds
=========     Saved host backtrace up to driver entry point at kernel launch time
=========         Host Frame: [0x2dbb4f] in libcuda.so.1
=========
========= Invalid __global__ write of size 16 bytes
=========     at sm90_xmma_gemm_f32f32_f32f32_f32_nn_n_tilesize64x64x8_execute_kernel__5x_cublas+0x1c30
=========     by thread (0,0,0) in block (0,0,0)
=========
========= Program hit cudaErrorInvalidValue (error 1) due to "invalid argument" on CUDA API call to cudaMemcpyAsync.
=========     Saved host backtrace up to driver entry point at error
=========         Host Frame: [0x33c1a5] in libcuda.so.1
=========
[  FAILED  ] 1 test, listed below:
========= Error: process didn't terminate successfully
========= ERROR SUMMARY: 3 errors
"""
RACECHECK_CLEAN = """========= COMPUTE-SANITIZER
[  PASSED  ] 9 tests.
========= RACECHECK SUMMARY: 0 hazards displayed (0 errors, 0 warnings)
"""
RACECHECK_DIRTY = """========= COMPUTE-SANITIZER
========= Error: Race reported between Write access at void kiln::cuda::conv2d_backward_filter_tile<float>(const float *, float *, int)+0x1a0 in /w/kernels/cuda/conv2d.cu:212
=========     and Read access at void kiln::cuda::conv2d_backward_filter_tile<float>(const float *, float *, int)+0x1c0 in /w/kernels/cuda/conv2d.cu:220 [512 hazards]
=========
========= Warning: Race reported between Write access at void kiln::cuda::shuffle_keys(int)+0x10 in /w/kernels/cuda/shuffle.cu:40
=========     and Write access at void kiln::cuda::shuffle_keys(int)+0x20 in /w/kernels/cuda/shuffle.cu:41 [4 hazards]
=========
[  PASSED  ] 9 tests.
========= RACECHECK SUMMARY: 2 hazards displayed (1 error, 1 warning)
"""
# A sanitizer run on a machine whose CUDA cannot be used: the tests fail for the lack of a GPU.
SANITIZER_NO_GPU = """========= COMPUTE-SANITIZER
tests/support/gpu.h:31: Failure
Failed
KILN_REQUIRE_GPU=1 requires a GPU: no usable CUDA device: CUDA driver version is insufficient for CUDA runtime version
[  FAILED  ] 12 tests, listed below:
========= Error: Target application returned an error
========= ERROR SUMMARY: 0 errors
"""

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="Linux-c++" tests="5" failures="1" disabled="0" skipped="1" hostname="" time="3" timestamp="2026-12-07T10:01:00">
  <testcase name="CudaRelu.ForwardMatchesReference" classname="CudaRelu.ForwardMatchesReference" time="0.2" status="run">
    <system-out>[  PASSED  ] 1 test.</system-out>
  </testcase>
  <testcase name="CudnnConv2d.ShortWorkspaceIsRejectedBeforeLaunch" classname="CudnnConv2d.ShortWorkspaceIsRejectedBeforeLaunch" time="0.1" status="notrun">
    <skipped message="Test Skipped"/>
    <system-out>tests/kernels/cudnn/conv2d_test.cpp:124: Skipped
cuDNN chose algorithms that need no workspace for [N=1 C=1 H=28 W=28]

[  SKIPPED ] 1 test, listed below:</system-out>
  </testcase>
  <testcase name="CudaSigmoid.Sweep" classname="CudaSigmoid.Sweep" time="0.1" status="fail">
    <failure message="Failed"/>
    <system-out>sigmoid_test.cpp:90: Failure
Expected: ulps &lt;= 3, actual 5
[  PASSED  ] 0 tests.
[  FAILED  ] 1 test, listed below:</system-out>
  </testcase>
  <testcase name="CudaTrainer.TwoRunsGiveBitIdenticalWeights" classname="CudaTrainer.TwoRunsGiveBitIdenticalWeights" time="0.1" status="fail">
    <failure message="Failed"/>
    <system-out>tests/support/gpu.h:31: Failure
Failed
KILN_REQUIRE_GPU=1 requires a GPU: no usable CUDA device: CUDA driver version is insufficient for CUDA runtime version
[  PASSED  ] 0 tests.
[  FAILED  ] 1 test, listed below:</system-out>
  </testcase>
  <testcase name="CudaBatch.Gathers" classname="CudaBatch.Gathers" time="0.1" status="run">
    <system-out>[  PASSED  ] 1 test.</system-out>
  </testcase>
</testsuite>
"""
TESTS_JSON = {"tests": [{"name": name, "command": [f"/b/tests/{program}"],
                         "properties": [{"name": "LABELS", "value": ["gpu"]}]}
                        for name, program in (
                            ("CudaRelu.ForwardMatchesReference", "cuda_relu_test"),
                            ("CudnnConv2d.ShortWorkspaceIsRejectedBeforeLaunch", "cudnn_conv2d_test"),
                            ("CudaSigmoid.Sweep", "cuda_sigmoid_test"),
                            ("CudaTrainer.TwoRunsGiveBitIdenticalWeights", "models_cuda_trainer_test"),
                            ("CudaBatch.Gathers", "cuda_batch_test"))]}


def bench_json(rows):
    return {"benchmarks": [
        {"name": f"{op}/{model}/l/batch:{batch}/{engine}/manual_time_median",
         "run_name": f"{op}/{model}/l/batch:{batch}/{engine}/manual_time", "run_type": "aggregate",
         "aggregate_name": "median", "real_time": us, "time_unit": "us", "flop": 1e6,
         "bytes": 1e6, "label": f"op={op} model={model} layer=l batch={batch} engine={engine} math=fma"}
        for op, model, batch, engine, us in rows]}


def metrics(epochs):
    """--metrics lines: (val_loss, test_acc) per epoch."""
    return "".join(json.dumps({"epoch": i + 1, "epoch_seconds": 1.0, "images_per_second": 48000.0,
                               "val_loss": val, "test_acc": acc}) + "\n"
                   for i, (val, acc) in enumerate(epochs))


class Run:
    """A logs folder as gpu_check.sh leaves it, and the report written from it."""

    def __init__(self, environment=ENVIRONMENT):
        self.folder = Path(tempfile.mkdtemp())
        self.logs, self.out = self.folder / "logs", self.folder / "out"
        (self.logs / "running").mkdir(parents=True)
        self.out.mkdir()
        (self.logs / "environment.tsv").write_text(
            "".join(f"{key}\t{value}\n" for key, value in environment.items()))
        self.rows = []

    def step(self, stage, name, status, log=None, seconds="1.0", detail=""):
        self.rows.append(f"{stage}\t{name}\t{status}\t{seconds}\t{detail}\n")
        (self.logs / "steps.tsv").write_text("".join(self.rows))
        if log is not None:
            (self.logs / f"{name}.log").write_text(log)

    def file(self, name, text):
        (self.logs / name).write_text(text if isinstance(text, str) else json.dumps(text))

    def report(self, *flags, stage="B"):
        result = subprocess.run([sys.executable, SCRIPT, "--logs", self.logs, "--build",
                                 self.folder / "build", "--out", self.out, "--stage", stage,
                                 *flags], capture_output=True, text=True, check=False)
        report = json.loads((self.out / "report.json").read_text())
        report["markdown"] = (self.out / "report.md").read_text()
        report["returncode"], report["stdout"] = result.returncode, result.stdout
        return report


def step_named(report, name):
    return next(s for s in report["steps"] if s["name"] == name)


class Sanitizer(unittest.TestCase):
    def setUp(self):
        run = Run()
        run.step("A", "sanitizer.memcheck.cuda_batch_test", "pass", MEMCHECK_CLEAN)
        run.step("A", "sanitizer.memcheck.cuda_relu_test", "fail", MEMCHECK_DIRTY, detail="exit 1")
        run.step("A", "sanitizer.memcheck.cuda_conv2d_test", "skipped", None,
                 detail="out of time: the stage's budget is spent")
        run.step("B", "sanitizer.racecheck.cuda_shuffle_test", "pass", RACECHECK_CLEAN)
        run.step("B", "sanitizer.racecheck.cuda_conv2d_test", "fail", RACECHECK_DIRTY,
                 detail="exit 1")
        self.report = run.report("--final")

    def test_racecheck_is_counted_from_its_own_summary(self):
        racecheck = self.report["sanitizer"]["racecheck"]
        self.assertEqual((racecheck["errors"], racecheck["warnings"]), (1, 1))
        self.assertEqual((racecheck["finished"], racecheck["programs"]), (2, 2))
        self.assertEqual(step_named(self.report, "sanitizer.racecheck.cuda_shuffle_test")["status"],
                         "pass")
        dirty = step_named(self.report, "sanitizer.racecheck.cuda_conv2d_test")
        self.assertEqual(dirty["status"], "fail")
        self.assertIn("1 errors (1 in kiln's kernels", dirty["detail"])

    def test_partial_counts_name_the_program_not_run(self):
        memcheck = self.report["sanitizer"]["memcheck"]
        self.assertEqual((memcheck["errors"], memcheck["finished"], memcheck["programs"]),
                         (3, 2, 3))
        self.assertFalse(memcheck["complete"])
        self.assertEqual(memcheck["not_finished"], ["cuda_conv2d_test (skipped)"])
        self.assertIn("**memcheck** (partial): 3 errors", self.report["markdown"])

    def test_each_error_names_its_kernel_and_line_and_whose_it_is(self):
        errors = list(self.report["sanitizer"]["memcheck"]["errors_found"].values())
        kiln = next(e for e in errors if e["owner"] == "kiln")
        self.assertEqual(kiln["kernel"], "kiln::cuda::(anonymous namespace)::relu_forward")
        self.assertEqual(kiln["source"], "relu.cu:31")
        self.assertEqual(kiln["kind"], "Invalid __global__ read of size 4 bytes")
        library = next(e for e in errors if e["owner"].startswith("library"))
        self.assertIn("_cublas", library["kernel"])
        self.assertTrue(any(e["owner"] == "host API" for e in errors))
        self.assertEqual(len(errors), 3)  # "process didn't terminate" is no error of its own
        race = next(iter(self.report["sanitizer"]["racecheck"]["errors_found"].values()))
        self.assertEqual((race["kernel"], race["source"]),
                         ("kiln::cuda::conv2d_backward_filter_tile<float>", "conv2d.cu:212"))
        self.assertEqual(self.report["sanitizer"]["memcheck"]["kiln_errors"], 1)
        self.assertEqual(self.report["sanitizer"]["memcheck"]["library_errors"], 2)
        self.assertIn("| relu.cu:31 | kiln |", self.report["markdown"])

    def test_a_program_run_again_in_stage_b_counts_once(self):
        run = Run()
        run.step("A", "sanitizer.memcheck.cuda_batch_test", "skipped", None,
                 detail="out of time: its phase's share of the stage is spent")
        run.step("B", "sanitizer.memcheck.cuda_batch_test", "pass", MEMCHECK_CLEAN)
        report = run.report("--final")
        memcheck = report["sanitizer"]["memcheck"]
        self.assertEqual((memcheck["programs"], memcheck["finished"]), (1, 1))
        self.assertEqual(report["verdict"], "PASS")

    def test_errors_fail_the_verdict(self):
        self.assertEqual(self.report["verdict"], "FAIL")
        self.assertEqual(self.report["returncode"], 1)


class Tests(unittest.TestCase):
    def run_ctest(self, environment):
        run = Run(environment)
        run.file("tests.json", TESTS_JSON)
        run.file("ctest-gpu.xml", JUNIT)
        run.step("A", "ctest.gpu", "fail", "ctest output", detail="exit 8")
        return run.report("--final", stage="A")

    def test_a_skip_for_another_reason_is_not_no_gpu(self):
        report = self.run_ctest(ENVIRONMENT)
        tests = report["tests"]["ctest.gpu"]
        self.assertEqual((tests["passed"], tests["failed"], tests["skipped"], tests["no-gpu"]),
                         (2, 1, 1, 1))
        self.assertEqual(tests["skips"], {
            "cuDNN chose algorithms that need no workspace for [N=1 C=1 H=28 W=28]":
                ["CudnnConv2d.ShortWorkspaceIsRejectedBeforeLaunch"]})
        self.assertEqual(tests["failed_tests"], ["CudaSigmoid.Sweep"])
        self.assertEqual(step_named(report, "ctest.gpu")["status"], "fail")
        # With a GPU present, a test that found none is said loudly.
        self.assertIn("GPU TESTS FOUND NO GPU ON A MACHINE WITH ONE", report["markdown"])

    def test_without_a_gpu_only_the_no_gpu_failures_are_excused(self):
        report = self.run_ctest(NO_GPU_ENVIRONMENT)  # the sigmoid test failed on its own
        self.assertEqual(step_named(report, "ctest.gpu")["status"], "fail")
        self.assertEqual(report["verdict"], "FAIL")
        junit = JUNIT.replace("Expected: ulps &lt;= 3, actual 5",
                              "KILN_REQUIRE_GPU=1 requires a GPU: no usable CUDA device: CUDA "
                              "driver version is insufficient for CUDA runtime version")
        run = Run(NO_GPU_ENVIRONMENT)
        run.file("tests.json", TESTS_JSON)
        run.file("ctest-gpu.xml", junit)
        run.step("A", "ctest.gpu", "fail", "ctest output", detail="exit 8")
        report = run.report("--final", "--dry-run", stage="A")
        self.assertEqual(step_named(report, "ctest.gpu")["status"], "no-gpu")
        self.assertEqual(report["verdict"], "DRY RUN")
        self.assertEqual(report["returncode"], 0)
        # The same without --dry-run: no GPU evidence, a failed check.
        report = run.report("--final", stage="A")
        self.assertEqual((report["verdict"], report["returncode"]), ("NO GPU", 1))


class StageCutOff(unittest.TestCase):
    def test_a_stage_killed_mid_way_keeps_what_it_finished(self):
        run = Run()
        run.step("A", "build.A", "pass", "built")
        run.step("A", "sanitizer.memcheck.cuda_batch_test", "pass", MEMCHECK_CLEAN)
        (run.logs / "running" / "sanitizer.memcheck.cuda_relu_test").write_text("150\n")
        report = run.report(stage="A")  # an intermediate report: no --final
        self.assertEqual(report["verdict"], "INCOMPLETE")
        self.assertIn("sanitizer.memcheck.cuda_relu_test", report["verdict_detail"])
        self.assertEqual(step_named(report, "sanitizer.memcheck.cuda_relu_test")["status"],
                         "running")
        self.assertEqual(step_named(report, "sanitizer.memcheck.cuda_batch_test")["status"],
                         "pass")
        memcheck = report["sanitizer"]["memcheck"]
        self.assertEqual((memcheck["finished"], memcheck["programs"]), (1, 2))
        self.assertEqual(report["returncode"], 0)


class Inputs(unittest.TestCase):
    def setUp(self):
        run = Run()
        run.file("kernel_bench-recipe.json", bench_json([
            ("conv2d_forward", "mnist-cnn", 32, "custom", 20.0),
            ("conv2d_forward", "mnist-cnn", 32, "cudnn", 10.0)]))
        run.file("kernel_bench-other.json", bench_json([
            ("conv2d_forward", "mnist-cnn", 256, "custom", 80.0),
            ("conv2d_forward", "mnist-cnn", 256, "cudnn", 100.0)]))
        # fashion-lenet: validation is best at epoch 2 (0.5 <= 0.5 keeps the later epoch).
        run.file("train-fashion-lenet-custom.jsonl", metrics([(0.7, 0.70), (0.5, 0.78),
                                                               (0.6, 0.74)]))
        run.file("train-fashion-lenet-cudnn.jsonl", metrics([(0.5, 0.71), (0.5, 0.77)]))
        run.file("peer-fashion-lenet-graphed.json", {
            "name": "pytorch-graphed", "model": "fashion-lenet", "epochs": 3,
            "epoch_seconds": 2.0, "images_per_second": 24000.0, "test_acc": 0.775,
            "weights": "best on validation (epoch 3)"})
        run.file("peer-fashion-lenet-eager.json", '{"name": "pytorch-eager", "mod')
        run.step("A", "bench.recipe", "pass", "ok")
        run.step("B", "bench.other", "pass", "ok")
        self.report = run.report("--final")

    def test_an_unreadable_peer_leaves_the_other_tables(self):
        self.assertTrue(any("peer-fashion-lenet-eager.json" in p for p in self.report["problems"]),
                        self.report["problems"])
        names = {r["name"] for r in self.report["comparison"]["end_to_end"]}
        self.assertEqual(names, {"kiln-custom", "kiln-cudnn", "pytorch-graphed"})
        self.assertEqual(len(self.report["comparison"]["kernels"]), 2)  # both stages' rows
        self.assertIn("peer-fashion-lenet-eager.json", self.report["markdown"])

    def test_fashion_lenet_is_compared_on_its_best_validation_weights(self):
        rows = {r["name"]: r for r in self.report["comparison"]["end_to_end"]}
        self.assertAlmostEqual(rows["kiln-custom"]["test_acc"], 0.78)
        self.assertEqual(rows["kiln-custom"]["weights"], "best on validation (epoch 2)")
        self.assertAlmostEqual(rows["kiln-cudnn"]["test_acc"], 0.77)
        self.assertIn("| fashion-lenet | kiln-custom | 3 | 1.000 | 48000 | 78.00% | best on "
                      "validation (epoch 2) |", self.report["markdown"])

    def test_the_versions_are_in_the_report(self):
        for key, value in (("gpu", "NVIDIA H100 80GB HBM3"), ("driver", "580.65.06"),
                           ("cublas", "13.1.0"), ("cudnn", "9.19.0"),
                           ("torch", "2.11.0+cu130 CUDA 13.0 cuDNN 91900")):
            self.assertEqual(self.report[key], value)
            self.assertIn(value, self.report["markdown"])
        self.assertIn("release 13.0", self.report["cuda"])

    def test_unreadable_tests_listing_and_junit_are_named(self):
        run = Run()
        run.file("tests.json", '{"tests": [')
        run.file("ctest-gpu.xml", JUNIT[:300])
        run.step("A", "ctest.gpu", "pass", "ok")
        report = run.report("--final", stage="A")
        self.assertEqual(step_named(report, "ctest.gpu")["status"], "fail")
        self.assertEqual(len(report["problems"]), 2, report["problems"])


if __name__ == "__main__":
    unittest.main()
