"""Tiny data files in the real formats, written by the tests themselves (nothing downloads).

CIFAR-10 binary records are assembled byte by byte from the format's description (label byte,
then the red, green and blue planes row by row), so a reader that got the plane order wrong
could not agree with them by sharing the writer's mistake.
"""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np

CIFAR_TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
MNIST = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def cifar_record(label: int, image_hwc: np.ndarray) -> bytes:
    """One CIFAR-10 binary record: 1 label byte, then each channel's 32x32 plane, row-major."""
    out = bytearray([label])
    for channel in range(3):
        for row in range(32):
            for col in range(32):
                out.append(int(image_hwc[row, col, channel]))
    return bytes(out)


def cifar_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, n)


def write_cifar(directory: Path, per_batch: int = 2, n_test: int = 3, seed: int = 0) -> dict:
    """The six .bin files with a few records each; returns the images and labels written."""
    directory.mkdir(parents=True, exist_ok=True)
    written: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for i, name in enumerate([*CIFAR_TRAIN, "test_batch.bin"]):
        n = n_test if name == "test_batch.bin" else per_batch
        images, labels = cifar_images(n, seed + i)
        payload = b"".join(cifar_record(int(y), x) for x, y in zip(images, labels, strict=True))
        (directory / name).write_bytes(payload)
        written[name] = (images, labels)
    return written


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes: magic 0x0000 08 <ndim>, big-endian dims, the values."""
    head = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return head + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_mnist(
    directory: Path, n_train: int = 5, n_test: int = 3, gz: bool = False, seed: int = 0
) -> dict[str, np.ndarray]:
    """The four IDX files (gzipped with ``gz``); returns the arrays written."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    for key, array in arrays.items():
        payload = idx_bytes(array)
        if gz:
            (directory / (MNIST[key] + ".gz")).write_bytes(gzip.compress(payload))
        else:
            (directory / MNIST[key]).write_bytes(payload)
    return arrays


def write_bad_data_dirs(root: Path) -> None:
    """One directory per bad-file case of the CLI error catalogue, under ``root/data``."""
    data = root / "data"
    write_cifar(data / "cifar_truncated")
    path = data / "cifar_truncated" / "data_batch_3.bin"
    path.write_bytes(path.read_bytes()[:-5])
    write_cifar(data / "cifar100_records")
    (data / "cifar100_records" / "data_batch_1.bin").write_bytes(b"\x00" * 3074 * 2)
    python_version = data / "cifar_python"
    python_version.mkdir(parents=True)
    # a harmless pickle: it is never loaded, only recognised
    (python_version / "data_batch_1").write_bytes(pickle.dumps({"labels": [1]}, protocol=4))
    write_cifar(data / "cifar_pickle_bin")
    (data / "cifar_pickle_bin" / "data_batch_1.bin").write_bytes(pickle.dumps([0] * 3, 2))
    write_cifar(data / "cifar_no_test")
    (data / "cifar_no_test" / "test_batch.bin").unlink()
    write_cifar(data / "cifar_no_batch2")
    (data / "cifar_no_batch2" / "data_batch_2.bin").unlink()
    write_cifar(data / "cifar_bad_label")
    bad = bytearray((data / "cifar_bad_label" / "test_batch.bin").read_bytes())
    bad[3073] = 10  # the second record's label byte
    (data / "cifar_bad_label" / "test_batch.bin").write_bytes(bytes(bad))
    write_cifar(data / "cifar_empty_batch")
    (data / "cifar_empty_batch" / "data_batch_4.bin").write_bytes(b"")

    write_mnist(data / "mnist_magic")
    labels = (data / "mnist_magic" / MNIST["train_labels"]).read_bytes()
    (data / "mnist_magic" / MNIST["train_images"]).write_bytes(labels)  # a labels file
    write_mnist(data / "mnist_truncated")
    path = data / "mnist_truncated" / MNIST["test_images"]
    path.write_bytes(path.read_bytes()[:-100])
    arrays = write_mnist(data / "mnist_count")
    (data / "mnist_count" / MNIST["train_labels"]).write_bytes(
        idx_bytes(arrays["train_labels"][:-1])
    )
    write_mnist(data / "mnist_bad_label")
    (data / "mnist_bad_label" / MNIST["test_labels"]).write_bytes(
        idx_bytes(np.array([1, 2, 11], dtype=np.uint8))
    )
    write_mnist(data / "mnist_bad_gzip", gz=True)
    path = data / "mnist_bad_gzip" / (MNIST["train_images"] + ".gz")
    path.write_bytes(path.read_bytes()[:-20])
    (data / "nothing").mkdir()
