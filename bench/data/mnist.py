"""MNIST in its original IDX files (http://yann.lecun.com/exdb/mnist/), plain or gzipped.

An IDX file is a 4-byte magic number — two zero bytes, a type code (0x08: unsigned byte) and the
number of dimensions — then one big-endian uint32 per dimension, then the values. Images are
``0x00000803`` (N, 28, 28); labels ``0x00000801`` (N,). Pixels are scaled to [0, 1] and
normalised with the usual MNIST mean 0.1307 and standard deviation 0.3081; samples come out as
(28, 28, 1), channels-last.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from bench.data.files import DataFileError, check_directory, first_with, read_bytes, refuse_pickle

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
SIDE, NUM_CLASSES = 28, 10
MEAN, STD = 0.1307, 0.3081
_UBYTE = 0x08
_USE_IDX = "use the IDX files (train-images-idx3-ubyte[.gz] and the three others)"


def locate(data_dir: Path) -> Path:
    """The directory holding the IDX files: ``data_dir``, its ``mnist`` or ``MNIST/raw``."""
    check_directory(data_dir)
    candidates = [data_dir, data_dir / "mnist", data_dir / "MNIST" / "raw"]
    for suffix in ("", ".gz"):
        found = first_with(candidates, FILES["train_images"] + suffix)
        if found is not None:
            return found
    raise DataFileError(f"{data_dir / FILES['train_images']}: missing (nor .gz); point "
                        "--data-dir at the directory holding the four MNIST IDX files")  # fmt: skip


def _path(directory: Path, key: str) -> Path:
    plain = directory / FILES[key]
    gz = plain.with_name(plain.name + ".gz")
    if plain.is_file():
        return plain
    if gz.is_file():
        return gz
    raise DataFileError(f"{plain}: missing (nor .gz); MNIST needs {', '.join(FILES.values())}")


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An unsigned-byte IDX file with ``ndim`` dimensions, as a uint8 array of its shape."""
    raw = read_bytes(path)
    refuse_pickle(path, raw[:2], _USE_IDX)
    expected = (_UBYTE << 8) | ndim
    if len(raw) < 4:
        raise DataFileError(f"{path}: {len(raw)} bytes, too short for an IDX header")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected:
        raise DataFileError(f"{path}: magic number 0x{magic:08x}, expected 0x{expected:08x} "
                            f"(an IDX file of unsigned bytes with {ndim} dimensions)")  # fmt: skip
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataFileError(f"{path}: truncated inside its header ({len(raw)} bytes)")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    size = int(np.prod(dims))
    if len(raw) - header != size:
        shape = "x".join(map(str, dims))
        what = "truncated" if len(raw) - header < size else "has trailing bytes"
        raise DataFileError(f"{path}: {what}: its header says {shape} = {size:,} values, the "
                            f"file holds {len(raw) - header:,}")  # fmt: skip
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _split(directory: Path, images_key: str, labels_key: str) -> tuple[np.ndarray, np.ndarray]:
    images_path, labels_path = _path(directory, images_key), _path(directory, labels_key)
    images = read_idx(images_path, 3)
    labels = read_idx(labels_path, 1).astype(np.int64)
    if images.shape[1:] != (SIDE, SIDE):
        raise DataFileError(f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, "
                            f"MNIST's are {SIDE}x{SIDE}")  # fmt: skip
    if len(images) != len(labels):
        raise DataFileError(f"{labels_path}: {len(labels):,} labels for the {len(images):,} "
                            f"images of {images_path.name}")  # fmt: skip
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise DataFileError(f"{labels_path}: label {bad[0]} is {labels[bad[0]]}, outside "
                            f"0..{NUM_CLASSES - 1}")  # fmt: skip
    return images, labels


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 (N, 28, 28) → float32 (N, 28, 28, 1), (x / 255 - 0.1307) / 0.3081."""
    scaled = np.arange(256, dtype=np.float32) / np.float32(255.0)
    table = (scaled - np.float32(MEAN)) / np.float32(STD)  # one lookup per pixel, not four passes
    return np.ascontiguousarray(table[images][..., None])


def read(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): normalised float32 (N, 28, 28, 1), int64 labels."""
    directory = locate(data_dir)
    x_train, y_train = _split(directory, "train_images", "train_labels")
    x_test, y_test = _split(directory, "test_images", "test_labels")
    return normalise(x_train), y_train, normalise(x_test), y_test
