"""Tiny data files in the real formats, written by the tests themselves (nothing downloads).

CIFAR-10 binary records are assembled byte by byte from the format's description (label byte,
then the red, green and blue planes row by row), so a reader that got the plane order wrong
could not agree with them by sharing the writer's mistake.

A data-parallel job file (:mod:`bench.run.job_file`) is data too: :func:`tiny_job` is a valid
job small enough to write in a test, and :func:`write_bad_job_files` the bad ones of the CLI
error catalogue.
"""

from __future__ import annotations

import gzip
import json
import pickle
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def tiny_job() -> dict[str, Any]:
    """A valid rank job of a few numbers: a 4-3 logistic regression on 8 samples, 2 steps."""
    from bench.zoo.specs import ModelSpec, Recipe, Settings

    rng = np.random.default_rng(0)
    recipe = Recipe(optimizer="sgd", lr=0.1, batch_size=4, steps=2, eval_every=2)
    return {
        "spec": ModelSpec("logreg", (4,), 3, {}).to_dict(),
        "recipe": recipe.to_dict(),
        "weights": {
            "linear.kernel": rng.normal(size=(4, 3)).astype(np.float32),
            "linear.bias": np.zeros(3, np.float32),
        },
        "lr": np.full(2, 0.1, np.float32),
        "x_train": rng.normal(size=(8, 4)).astype(np.float32),
        "y_train": rng.integers(0, 3, 8),
        "x_test": rng.normal(size=(2, 4)).astype(np.float32),
        "y_test": rng.integers(0, 3, 2),
        "order": rng.permutation(8).reshape(2, 4),
        "augment": None,
        "framework": "torch",
        "settings": Settings(threads=1).to_dict(),
        "address": "127.0.0.1",
        "train_steps": 2,
        "eval_every": 2,
        "rendezvous_timeout": 60.0,
    }


def rewrite_description(src: Path, dst: Path, edit: Callable[[dict[str, Any]], Any]) -> None:
    """A copy of the job file ``src`` whose ``job.json`` is ``edit(description)`` (bytes as is,
    anything else as JSON); every other member copied byte for byte."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "job.json":
                edited = edit(json.loads(data))
                data = edited if isinstance(edited, bytes) else json.dumps(edited).encode()
            zout.writestr(info, data)


def write_bad_job_files(root: Path) -> None:
    """One bad job file per case of the CLI error catalogue, under ``root/jobs``."""
    from bench.run.job_file import write_job

    jobs = root / "jobs"
    jobs.mkdir(parents=True, exist_ok=True)
    good = jobs / "good.npz"
    write_job(good, tiny_job())
    # an old job file: a pickle of the job, as bench wrote it before (never loaded, recognised)
    (jobs / "job.pkl").write_bytes(pickle.dumps(tiny_job(), protocol=pickle.HIGHEST_PROTOCOL))
    (jobs / "text.npz").write_text("job: mlp on mnist1d\n")
    np.savez(jobs / "foreign.npz", weights=np.arange(3.0))
    (jobs / "truncated.npz").write_bytes(good.read_bytes()[:-200])
    rewrite_description(good, jobs / "v2.npz", lambda d: {**d, "version": 2})
    rewrite_description(good, jobs / "not_json.npz", lambda d: b'{"format": "bench-rank-job", ')

    def drop_order(d: dict[str, Any]) -> dict[str, Any]:
        return {**d, "job": {k: v for k, v in d["job"].items() if k != "order"}}

    rewrite_description(good, jobs / "no_order.npz", drop_order)
    rewrite_description(good, jobs / "text_order.npz",
                        lambda d: {**d, "job": {**d["job"], "order": "0 1 2 3"}})  # fmt: skip
    good.unlink()
