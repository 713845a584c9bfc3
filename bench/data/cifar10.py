"""The CIFAR-10 *binary version*, read without any library (and never the pickled version).

Layout (https://www.cs.toronto.edu/~kriz/cifar.html, "Binary version"): ``data_batch_1.bin`` ..
``data_batch_5.bin`` (10,000 images each) and ``test_batch.bin``; each record is 1 label byte
(0-9) then 3,072 pixel bytes: the 1,024 red values of the 32x32 image row by row, then green,
then blue (CHW planes). Images are returned channels-last (HWC) like every dataset here, scaled
to [0, 1] and normalised per channel with the training set's mean and standard deviation.

The "python version" of the same data (``data_batch_1`` without ``.bin``, ``batches.meta``) is
pickle, and unpickling a downloaded file can run arbitrary code: it is refused, never opened.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.data.files import DataFileError, check_directory, first_with, read_bytes, refuse_pickle

TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"
SIDE, CHANNELS, NUM_CLASSES = 32, 3, 10
PIXELS = SIDE * SIDE * CHANNELS  # 3,072
RECORD = 1 + PIXELS  # 3,073 bytes
#: Per-channel mean and standard deviation (R, G, B) of the 50,000 training images scaled to
#: [0, 1] — the constants torchvision's CIFAR examples and most ResNet recipes use.
MEAN = np.array([0.4914, 0.4822, 0.4465], dtype=np.float32)
STD = np.array([0.2470, 0.2435, 0.2616], dtype=np.float32)

_USE_BINARY = "use the CIFAR-10 binary version (cifar-10-binary.tar.gz: data_batch_*.bin)"
_PYTHON_VERSION_MARKERS = ("data_batch_1", "batches.meta", "test_batch")


def locate(data_dir: Path) -> Path:
    """The directory holding the .bin files: ``data_dir`` or its ``cifar-10-batches-bin``."""
    check_directory(data_dir)
    found = first_with([data_dir, data_dir / "cifar-10-batches-bin"], TRAIN_FILES[0])
    if found is not None:
        return found
    for directory in (data_dir, data_dir / "cifar-10-batches-py"):
        for marker in _PYTHON_VERSION_MARKERS:
            if (directory / marker).is_file():
                raise DataFileError(
                    f"{directory / marker}: is the CIFAR-10 python version, which is pickle; "
                    f"bench never unpickles data (loading a pickle can run arbitrary code): "
                    f"{_USE_BINARY}"
                )
    raise DataFileError(f"{data_dir / TRAIN_FILES[0]}: missing; {_USE_BINARY} and point "
                        "--data-dir at the directory holding them")  # fmt: skip


def read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One .bin file as (uint8 images (N, 32, 32, 3) channels-last, int64 labels (N,))."""
    if not path.is_file():
        raise DataFileError(f"{path}: missing (the CIFAR-10 binary version has "
                            f"{', '.join(TRAIN_FILES)} and {TEST_FILE})")  # fmt: skip
    raw = read_bytes(path)
    refuse_pickle(path, raw[:2], _USE_BINARY)
    if not raw:
        raise DataFileError(f"{path}: is empty")
    if len(raw) % RECORD:
        if len(raw) % (RECORD + 1) == 0:
            raise DataFileError(
                f"{path}: has {RECORD + 1:,}-byte records (2 label bytes: the CIFAR-100 binary "
                f"format), expected CIFAR-10's {RECORD:,}"
            )
        raise DataFileError(
            f"{path}: {len(raw):,} bytes is not a whole number of {RECORD:,}-byte records "
            f"(1 label byte + {PIXELS:,} pixel bytes): truncated, or not CIFAR-10 binary"
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(np.int64)
    bad = np.flatnonzero(labels >= NUM_CLASSES)
    if bad.size:
        raise DataFileError(f"{path}: record {bad[0]} has label {labels[bad[0]]}, outside "
                            f"0..{NUM_CLASSES - 1}")  # fmt: skip
    chw = records[:, 1:].reshape(-1, CHANNELS, SIDE, SIDE)
    return np.ascontiguousarray(chw.transpose(0, 2, 3, 1)), labels


def normalise(images: np.ndarray) -> np.ndarray:
    """uint8 HWC images → float32, scaled to [0, 1], minus MEAN, divided by STD per channel.

    Through a 256x3 lookup table of the same float32 arithmetic: one pass over the images
    instead of four over a float copy (seconds saved on the full 50,000).
    """
    table = (np.arange(256, dtype=np.float32)[:, None] / np.float32(255.0) - MEAN) / STD
    return table.astype(np.float32)[images, np.arange(CHANNELS)]


def read(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test), normalised float32 HWC images and int64 labels."""
    directory = locate(data_dir)
    if not (directory / TEST_FILE).is_file():
        raise DataFileError(f"{directory / TEST_FILE}: missing; the CIFAR-10 binary version "
                            "has a test batch next to data_batch_*.bin")  # fmt: skip
    parts = [read_batch(directory / name) for name in TRAIN_FILES]
    x_test, y_test = read_batch(directory / TEST_FILE)
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    return normalise(x_train), y_train, normalise(x_test), y_test
