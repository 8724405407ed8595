#!/usr/bin/env python3
"""bench/pytorch_recipe.py's flags, checked before PyTorch is needed: usage errors exit 2 with
argparse's line naming the flag; without PyTorch a valid command is one line and exit 1; with it,
--mode graphed refuses the CPU before any data is read.

    python3 tests/bench/pytorch_recipe_args_test.py [PROJECT_ROOT]
"""

import importlib.util
import os
import subprocess
import sys
import unittest
from pathlib import Path

ROOT = Path(sys.argv.pop(1) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])
SCRIPT = ROOT / "bench" / "pytorch_recipe.py"
HAS_TORCH = importlib.util.find_spec("torch") is not None


def run(*flags):
    return subprocess.run([sys.executable, SCRIPT, *flags], capture_output=True, text=True,
                          check=False, timeout=120)


class PytorchRecipeArguments(unittest.TestCase):
    def test_usage_errors_name_the_flag(self):
        cases = [(["--epochs", "0"], "--epochs must be at least 1"),
                 (["--threads", "0"], "--threads must be at least 1"),
                 (["--max-steps", "-1"], "--max-steps must not be negative"),
                 (["--eval-limit", "-5"], "--eval-limit must not be negative"),
                 (["--mode", "compiled"], "argument --mode: invalid choice: 'compiled'"),
                 (["--model", "resnet"], "argument --model: invalid choice: 'resnet'"),
                 (["--epochs", "two"], "argument --epochs: invalid int value: 'two'")]
        for flags, message in cases:
            with self.subTest(flags=flags):
                result = run(*flags)
                self.assertEqual(result.returncode, 2, result.stderr)
                self.assertIn(message, result.stderr)

    @unittest.skipUnless(os.environ.get("CI") == "true", "not in CI")
    def test_ci_has_pytorch(self):
        # CI's set-up (scripts/setup.sh) installs python3-torch, so the PyTorch checks run there.
        self.assertTrue(HAS_TORCH, f"CI=true but {sys.executable} cannot import torch")

    @unittest.skipIf(HAS_TORCH, "PyTorch is installed: the missing-PyTorch path cannot be seen")
    def test_without_pytorch_a_valid_command_is_one_line(self):
        result = run("--mode", "graphed", "--epochs", "1")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertRegex(result.stderr, r"^pytorch_recipe.py: needs PyTorch and NumPy")
        self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

    @unittest.skipUnless(HAS_TORCH, "needs PyTorch (Debian: python3-torch)")
    def test_graphed_mode_refuses_the_cpu(self):
        result = run("--mode", "graphed", "--device", "cpu", "--data", "/nonexistent")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("--mode graphed: CUDA graphs need a GPU", result.stderr)


if __name__ == "__main__":
    unittest.main()
