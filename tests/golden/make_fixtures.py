#!/usr/bin/python3
"""Regenerates the PyTorch fixtures in tests/golden/fixtures/ (run from anywhere):

    /usr/bin/python3 tests/golden/make_fixtures.py [family ...]

Every module tests/golden/<family>_fixtures.py defines cases() -> [(name, params, tensors)]:
`params` a JSON-able dict of the op's settings, `tensors` name -> numpy array (inputs, parameters,
outputs, gradients). Each family becomes fixtures/<family>.safetensors with tensors named
"<case>/<tensor>" and metadata "cases" (the case names in order), "<case>" (its params as JSON),
"torch" (the version that computed them). Seeds are fixed, so a rerun writes identical files.
Uses Debian's python3-torch (apt-get install python3-torch)."""

import importlib
import json
import pathlib
import sys

import torch

import safetensors_io

HERE = pathlib.Path(__file__).resolve().parent


def families():
    return sorted(p.name[: -len("_fixtures.py")] for p in HERE.glob("*_fixtures.py"))


def write_family(family):
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
    path = HERE / "fixtures" / f"{family}.safetensors"
    path.parent.mkdir(exist_ok=True)
    safetensors_io.write(path, tensors, metadata)
    print(f"{path.relative_to(HERE.parent.parent)}: {len(names)} cases, {path.stat().st_size} bytes")


def main(argv):
    sys.path.insert(0, str(HERE))
    torch.use_deterministic_algorithms(True)
    known = families()
    for family in argv or known:
        if family not in known:
            sys.exit(f"make_fixtures: no tests/golden/{family}_fixtures.py (known: {', '.join(known)})")
        write_family(family)


if __name__ == "__main__":
    main(sys.argv[1:])
