#!/usr/bin/python3
"""Regenerates the PyTorch fixtures in tests/golden/fixtures/ (run from anywhere):

    /usr/bin/python3 tests/golden/make_fixtures.py [--out DIR] [family ...]

Every module tests/golden/<family>_fixtures.py defines cases() -> [(name, params, tensors)]:
`params` a JSON-able dict of the op's settings, `tensors` name -> numpy array (inputs, parameters,
outputs, gradients). Each family becomes fixtures/<family>.safetensors with tensors named
"<case>/<tensor>" and metadata "cases" (the case names in order), "<case>" (its params as JSON),
"torch" (the version that computed them). Seeds are fixed, so a rerun writes identical files:
the ctest test golden.fixtures_reproduce writes them to --out and compares them byte for byte.
Uses Debian's python3-torch (apt-get install python3-torch)."""

import argparse
import importlib
import json
import pathlib
import sys

import torch

import safetensors_io

HERE = pathlib.Path(__file__).resolve().parent


def families():
    # This script's own name ends in _fixtures.py too; it is no family.
    return sorted(p.name[: -len("_fixtures.py")] for p in HERE.glob("*_fixtures.py")
                  if p.name != pathlib.Path(__file__).name)


def write_family(family, out):
    module = importlib.import_module(f"{family}_fixtures")
    tensors, metadata, names = {}, {"torch": torch.__version__}, []
    for name, params, case_tensors in module.cases():
        if name in metadata or "/" in name:
            raise ValueError(f"{family}: bad or repeated case name {name!r}")
        names.append(name)
        metadata[name] = json.dumps(params, sort_keys=True)
        for tensor_name, array in case_tensors.items():
            tensors[f"{name}/{tensor_name}"] = array
    metadata["cases"] = json.dumps(names)
    path = out / f"{family}.safetensors"
    path.parent.mkdir(exist_ok=True)
    safetensors_io.write(path, tensors, metadata)
    print(f"{path}: {len(names)} cases, {path.stat().st_size} bytes")


def main(argv):
    parser = argparse.ArgumentParser(description="Regenerates the PyTorch fixtures.")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "fixtures",
                        help="the folder to write them to (default: tests/golden/fixtures)")
    parser.add_argument("family", nargs="*", help="the families to write (default: all)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE))
    torch.use_deterministic_algorithms(True)
    known = families()
    for family in args.family or known:
        if family not in known:
            sys.exit(f"make_fixtures: no tests/golden/{family}_fixtures.py (known: {', '.join(known)})")
        write_family(family, args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
