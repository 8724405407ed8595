"""Reads the IDX files of MNIST and Fashion-MNIST (big-endian header, then uint8 values) with the
standard library and numpy, raw or gzipped, found as kiln finds them: the raw file where it
exists, else its .gz. Shared by tests/apps/torch_interop.py and bench/pytorch_recipe.py."""

import gzip
import struct

import numpy as np

SPLITS = ("train", "t10k")
UNSIGNED_BYTE = 0x08  # the IDX type code of uint8 values


def split_stems(split):
    """(images, labels) file names of a split, "train" or "t10k", without the .gz."""
    return f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"


STEMS = [stem for split in SPLITS for stem in split_stems(split)]


class IdxError(ValueError):
    """An IDX file that is absent or malformed; the message names the file."""


def find(folder, stem):
    """The raw file folder/stem where it exists, else folder/stem.gz; None if neither does."""
    for path in (folder / stem, folder / f"{stem}.gz"):
        if path.is_file():
            return path
    return None


def missing(folder):
    """What a dataset folder lacks: [folder/] when it is absent, else its absent files."""
    if not folder.is_dir():
        return [f"{folder}/"]
    return [f"{folder / stem}[.gz]" for stem in STEMS if find(folder, stem) is None]


def read(path):
    """An IDX file of uint8 values as a numpy array of the header's shape (gzip recognised by its
    content): images (n, 28, 28), labels (n,)."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != UNSIGNED_BYTE or data[3] == 0:
        raise IdxError(f"{path}: not an IDX file of uint8 values (magic {data[:4].hex()})")
    dims = data[3]
    header = 4 + 4 * dims
    if len(data) < header:
        raise IdxError(f"{path}: {len(data)} bytes, too short for a {dims}-d IDX header")
    shape = struct.unpack(f">{dims}I", data[4:header])
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(data) != expected:
        raise IdxError(f"{path}: the header says {shape} ({expected} bytes), the file holds "
                       f"{len(data)} bytes")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def read_split(folder, split):
    """(images uint8 (n, 28, 28), labels uint8 (n,)) of a dataset folder's "train" or "t10k"."""
    arrays = []
    for stem in split_stems(split):
        path = find(folder, stem)
        if path is None:
            raise IdxError(f"{folder / stem}: no such file (nor a .gz one)")
        arrays.append(read(path))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise IdxError(f"{folder}: {split} images {images.shape} and labels {labels.shape} "
                       f"do not pair up")
    return images, labels
