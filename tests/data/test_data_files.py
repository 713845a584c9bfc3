"""The datasets of real sizes: CIFAR-10 binary and MNIST IDX readers on files the tests write,
the synthetic image pools, the seeded crop+flip augmentation, and their path through a worker.

The readers are checked against the formats' own descriptions (a hand-assembled CIFAR record,
big-endian IDX headers), the augmentation against a loop-by-loop reference and a single bright
pixel whose new place is computed by hand.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from bench import data
from bench.catalog import suites
from bench.data import augmentation as aug
from bench.data import cifar10, mnist
from bench.zoo.specs import ModelSpec, Recipe
from tests.conftest import requires
from tests.data.datafiles import MNIST, cifar_record, write_cifar, write_mnist

# -- CIFAR-10 binary ------------------------------------------------------------------------


def test_a_cifar_record_is_label_then_red_green_blue_planes_read_back_as_hwc(
    tmp_path: Path,
) -> None:
    # every (row, col, channel) gets its own value, so any transposition shows
    image = np.zeros((32, 32, 3), np.uint8)
    for row in range(32):
        for col in range(32):
            for ch in range(3):
                image[row, col, ch] = (row * 5 + col * 3 + ch * 101) % 256
    raw = cifar_record(7, image)
    assert raw[0] == 7 and raw[1 + 0] == image[0, 0, 0] and raw[1 + 1024] == image[0, 0, 1]
    assert raw[1 + 32] == image[1, 0, 0]  # the red plane is row-major
    (tmp_path / "one.bin").write_bytes(raw + cifar_record(3, image[::-1]))
    images, labels = cifar10.read_batch(tmp_path / "one.bin")
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    np.testing.assert_array_equal(images[0], image)
    np.testing.assert_array_equal(images[1], image[::-1])
    assert labels.tolist() == [7, 3] and labels.dtype == np.int64


def test_cifar10_loads_every_batch_in_order_normalised_per_channel(tmp_path: Path) -> None:
    written = write_cifar(tmp_path / "cifar", per_batch=2, n_test=3)
    ds = data.load("cifar10", data_dir=tmp_path / "cifar")
    assert ds.x_train.shape == (10, 32, 32, 3) and ds.x_test.shape == (3, 32, 32, 3)
    assert ds.x_train.dtype == np.float32 and not ds.synthetic
    train = [written[name] for name in cifar10.TRAIN_FILES]
    np.testing.assert_array_equal(ds.y_train, np.concatenate([y for _, y in train]))
    np.testing.assert_array_equal(ds.y_test, written["test_batch.bin"][1])
    raw = np.concatenate([x for x, _ in train]).astype(np.float64) / 255
    mean, std = np.array([0.4914, 0.4822, 0.4465]), np.array([0.2470, 0.2435, 0.2616])
    np.testing.assert_allclose(ds.x_train, (raw - mean) / std, rtol=1e-5, atol=1e-5)
    assert ds.augmentation == aug.CROP_FLIP and ds.data_dir == str((tmp_path / "cifar").resolve())
    assert data.train_size("cifar10", tmp_path / "cifar") == 10


def test_cifar10_is_found_in_the_archives_own_subdirectory(tmp_path: Path) -> None:
    write_cifar(tmp_path / "cifar-10-batches-bin")
    assert len(data.load("cifar10", data_dir=tmp_path).y_train) == 10


def test_the_python_version_is_refused_without_being_opened(tmp_path: Path) -> None:
    # a pickle that would run code if loaded: it must be recognised, never unpickled
    marker = tmp_path / "pwned"
    payload = b"\x80\x04cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR."
    (tmp_path / "data_batch_1").write_bytes(payload)
    with pytest.raises(data.DataFileError, match="never unpickles"):
        data.load("cifar10", data_dir=tmp_path)
    assert not marker.exists()


def test_cifar10_without_data_dir_is_an_error_not_a_download() -> None:
    with pytest.raises(data.DataFileError, match="--data-dir"):
        data.load("cifar10")


# -- MNIST IDX ------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_mnist_idx_round_trip(tmp_path: Path, gz: bool) -> None:
    arrays = write_mnist(tmp_path, n_train=5, n_test=3, gz=gz)
    ds = data.load("mnist", data_dir=tmp_path)
    assert ds.x_train.shape == (5, 28, 28, 1) and ds.x_test.shape == (3, 28, 28, 1)
    np.testing.assert_array_equal(ds.y_train, arrays["train_labels"])
    np.testing.assert_array_equal(ds.y_test, arrays["test_labels"])
    expected = (arrays["train_images"][..., None] / 255.0 - 0.1307) / 0.3081
    np.testing.assert_allclose(ds.x_train, expected, rtol=1e-5, atol=1e-5)
    assert ds.augmentation is None


def test_an_idx_header_is_big_endian_magic_then_dimensions(tmp_path: Path) -> None:
    write_mnist(tmp_path, n_train=2, n_test=1)
    raw = (tmp_path / MNIST["train_images"]).read_bytes()
    assert raw[:4] == b"\x00\x00\x08\x03" and raw[4:8] == (2).to_bytes(4, "big")
    image = mnist.read_idx(tmp_path / MNIST["train_images"], 3)
    assert image.shape == (2, 28, 28)
    assert image[1, 0, 5] == raw[16 + 28 * 28 + 5]  # row-major after the 16-byte header


# -- synthetic ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "shape", "classes"),
    [("synthetic-cifar10", (32, 32, 3), 10), ("synthetic-imagenet", (224, 224, 3), 1000)],
)
def test_synthetic_datasets_have_real_shapes_and_are_drawn_from_the_seed(
    name: str, shape: tuple[int, ...], classes: int
) -> None:
    a, again, other = data.load(name, seed=1), data.load(name, seed=1), data.load(name, seed=2)
    assert a.synthetic and "SYNTHETIC" in a.description
    assert a.sample_shape == shape == data.sample_shape(name)
    assert a.num_classes == classes == data.num_classes(name)
    assert a.n_train == 50_000 == data.train_size(name)
    assert len(a.x_train) <= 256 and a.x_train.dtype == np.float32  # a small pool, not 50,000
    assert a.y_train.min() >= 0 and a.y_train.max() < classes
    data._load.cache_clear()  # the same arrays again from the seed, not from the cache
    fresh = data.load(name, seed=1)
    np.testing.assert_array_equal(fresh.x_train, again.x_train)
    np.testing.assert_array_equal(fresh.y_test, a.y_test)
    assert not np.array_equal(other.x_train, a.x_train)
    assert data.provenance(name) == {"synthetic": True, "data_dir": None, "augmentation": None}


def test_the_synthetic_pool_is_cycled_by_the_batch_order_over_50000() -> None:
    ds = data.load("synthetic-cifar10", seed=0)
    order = data.train_order(ds, batch_size=128, steps=20, seed=3)
    logical = data.batch_order(50_000, 128, 20, seed=3)
    np.testing.assert_array_equal(order, logical % len(ds.y_train))
    assert order.max() < len(ds.x_train)
    bundled = data.load("digits")  # a dataset held whole: the same as before
    np.testing.assert_array_equal(
        data.train_order(bundled, 100, 5, 0), data.batch_order(len(bundled.y_train), 100, 5, 0)
    )


def test_images_reach_a_model_channels_last() -> None:
    ds = data.load("synthetic-imagenet", seed=0)
    x = data.as_model_input(ds.x_train[:2], (224, 224, 3))
    assert x.shape == (2, 224, 224, 3)
    np.testing.assert_array_equal(x, ds.x_train[:2])
    flat = data.as_model_input(ds.x_train[:2], (224 * 224 * 3,))
    np.testing.assert_array_equal(flat[1, :3], ds.x_train[1, 0, 0, :])  # HWC order flattened


# -- augmentation ---------------------------------------------------------------------------


def _reference(x: np.ndarray, seed: int, step: int) -> np.ndarray:
    """Pad, crop, flip, one sample at a time, the way the description reads."""
    dy, dx, flip = aug.draws(len(x), seed, step)
    out = np.empty_like(x)
    for b in range(len(x)):
        padded = np.pad(x[b], ((4, 4), (4, 4), (0, 0)))
        crop = padded[dy[b] : dy[b] + x.shape[1], dx[b] : dx[b] + x.shape[2]]
        out[b] = crop[:, ::-1] if flip[b] else crop
    return out


def test_augmentation_is_pad_crop_flip_and_deterministic_per_seed_and_step() -> None:
    x = np.random.default_rng(0).standard_normal((64, 32, 32, 3)).astype(np.float32)
    before = x.copy()
    out = data.augment(x, seed=5, step=7)
    np.testing.assert_array_equal(out, _reference(x, 5, 7))
    np.testing.assert_array_equal(out, data.augment(x, seed=5, step=7))  # same call, same batch
    np.testing.assert_array_equal(x, before)  # the input is untouched
    assert not np.array_equal(out, data.augment(x, seed=5, step=8))
    assert not np.array_equal(out, data.augment(x, seed=6, step=7))
    dy, dx, flip = aug.draws(4096, seed=0, step=0)
    assert set(dy.tolist()) == set(range(9)) == set(dx.tolist())
    assert 0.45 < flip.mean() < 0.55


def test_a_bright_pixel_moves_where_the_crop_and_flip_say() -> None:
    n = 256
    x = np.zeros((n, 32, 32, 3), np.float32)
    x[:, 10, 20, 1] = 1.0  # one green pixel at row 10, column 20
    out = data.augment(x, seed=1, step=2)
    dy, dx, flip = aug.draws(n, 1, 2)
    for b in range(n):
        row = 10 + 4 - dy[b]  # padding adds 4, the crop starts dy rows down
        col = 20 + 4 - dx[b]
        col = 31 - col if flip[b] else col
        assert out[b, row, col, 1] == 1.0 and out[b].sum() == 1.0, b
    unmoved = np.flatnonzero((dy == 4) & (dx == 4) & ~flip)
    assert unmoved.size and np.array_equal(out[unmoved], x[unmoved])
    m = 2048  # enough samples for every (offset, flip) case to occur
    shifted = data.augment(np.full((m, 32, 32, 3), 2.0, np.float32), seed=1, step=2)
    dy, dx, flip = aug.draws(m, 1, 2)
    corner = np.flatnonzero((dy == 0) & (dx == 0) & ~flip)[0]  # the padded top-left corner
    assert np.all(shifted[corner, :4] == 0) and np.all(shifted[corner, :, :4] == 0)
    assert np.all(shifted[corner, 4:, 4:] == 2.0)
    flipped = np.flatnonzero((dy == 0) & (dx == 0) & flip)[0]  # the same crop, mirrored
    assert np.all(shifted[flipped, :, 28:] == 0) and np.all(shifted[flipped, 4:, :28] == 2.0)


def test_augment_round_numbers_batches_by_step_and_keeps_the_input_shape() -> None:
    x = np.random.default_rng(1).standard_normal((3, 8, 32 * 32 * 3)).astype(np.float32)
    out = data.augment_round(x, start=10, seed=4, sample_shape=(32, 32, 3))
    assert out.shape == x.shape
    for k in range(3):
        images = x[k].reshape(8, 32, 32, 3)
        np.testing.assert_array_equal(out[k].reshape(8, 32, 32, 3), data.augment(images, 4, 10 + k))


# -- through the worker and the runner ------------------------------------------------------


class _Recorder:
    """A stand-in adapter that keeps the batches it is given (no framework needed)."""

    def __init__(self) -> None:
        self.seen: list[np.ndarray] = []

    def reset_peak_device_memory(self) -> None:
        pass

    def build(
        self, spec: Any, weights: Any, recipe: Any, lr: Any, stock_optimizer: bool = False
    ) -> str:
        return "model"

    def train_round(self, model: Any, x: np.ndarray, y: np.ndarray) -> tuple[list, list]:
        self.seen.append(x.copy())
        return [0.0] * len(x), [0.0] * len(x)


@pytest.mark.parametrize("augmented", [True, False])
def test_the_worker_augments_training_batches_from_seed_and_step(augmented: bool) -> None:
    from bench.run.worker import Worker

    x = np.random.default_rng(2).standard_normal((20, 32, 32, 3)).astype(np.float32)
    order = np.arange(20).reshape(5, 4)
    adapter = _Recorder()
    worker = Worker(adapter)  # type: ignore[arg-type]
    worker.op_build({
        "spec": ModelSpec("cnn", (32, 32, 3), 10).to_dict(), "recipe": Recipe().to_dict(),
        "weights": {}, "lr": np.ones(1), "x_train": x, "y_train": np.zeros(20, np.int64),
        "x_test": x, "y_test": np.zeros(20, np.int64), "order": order,
        "augment": {"seed": 9, "sample_shape": [32, 32, 3]} if augmented else None,
    })  # fmt: skip
    worker.op_train({"start": 2, "stop": 4})
    gathered = x[order[2:4]]
    if augmented:
        expected = np.stack([data.augment(gathered[k], 9, 2 + k) for k in range(2)])
    else:
        expected = gathered
    np.testing.assert_array_equal(adapter.seen[0], expected)


def _cnn_on_images(
    model: str, dataset: str, num_classes: int = 10, suite: str | None = None
) -> ModelSpec:
    """The existing 2-D ``cnn`` sized for 32x32x3 images (the ResNets come from the catalog)."""
    params = {"channels": [8, 8], "kernels": [3, 3], "strides": [2, 2], "padding": 1}
    return ModelSpec("cnn", (32, 32, 3), num_classes, params)


@pytest.mark.slow
@requires("torch")
def test_cells_on_cifar_files_and_synthetic_data_record_where_their_data_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.run.options import RunOptions
    from bench.run.progress import PlainReporter, results_table
    from bench.run.runner import Runner
    from bench.run.store import RunDir
    from bench.zoo.specs import Cell, Settings

    write_cifar(tmp_path / "cifar", per_batch=8, n_test=8)
    monkeypatch.setattr(suites, "model_spec", _cnn_on_images)
    recipe = Recipe(steps=4, eval_every=2, batch_size=8, warmup_steps=1)
    cells = [Cell("torch", "cnn", d, "test", recipe, 3) for d in ("cifar10", "synthetic-cifar10")]
    run_dir = RunDir.create(tmp_path / "run", {"run_id": "t"})
    options = RunOptions(timing_passes=0, inference_batch=8, latency_calls=10,
                         data_dir=str(tmp_path / "cifar"))  # fmt: skip
    console = Console(file=io.StringIO(), width=200)
    Runner(run_dir, Settings(threads=1), options, PlainReporter(console)).run(cells)
    records = {r["dataset"]: r for r in run_dir.records()}
    real, fake = records["cifar10"], records["synthetic-cifar10"]
    assert real["status"] == "ok" == fake["status"], (real["error"], fake["error"])
    assert real["data_dir"] == str((tmp_path / "cifar").resolve())
    assert real["augmentation"] == aug.CROP_FLIP and real["synthetic"] is False
    assert fake["synthetic"] is True and fake["synthetic_data"] is True
    assert fake["data_dir"] is None and fake["accuracy_target"] is None
    assert all(np.isfinite(r["losses"]).all() for r in (real, fake))
    console.print(results_table([real, fake]))
    table = console.file.getvalue()  # type: ignore[attr-defined]
    assert "n/a (synthetic)" in table and "cnn/synthetic-cifar10 (synthetic)" in table


def test_the_report_labels_a_synthetic_cell_and_shows_no_accuracy_for_it(tmp_path: Path) -> None:
    import json
    import re

    from bench.report import build_report
    from tests.report.fakerun import PAIRS, write_fake_run

    run = write_fake_run(tmp_path / "results", pairs=PAIRS[:1])
    results = run / "results.jsonl"
    records = [json.loads(line) for line in results.read_text().splitlines()]
    for r in records:  # the tf cell ran on synthetic data, said with the new field only
        r.pop("synthetic_data", None)
        r["synthetic"] = r["framework"] == "tf"
    results.write_text("".join(json.dumps(r) + "\n" for r in records))
    html = build_report(run, tmp_path / "report").read_text(encoding="utf-8")
    header = html.split('<nav class="toc">')[0]
    assert "Synthetic data:" in header and f"tf/{PAIRS[0][0]}/{PAIRS[0][1]}" in header
    rows = re.findall(r'<tr class="cell.*?</tr>', html, re.S)
    synthetic = [row for row in rows if 'pill warn">synthetic' in row]
    assert len(synthetic) == 1 and "n/a (synthetic)" in synthetic[0]
    assert sum("n/a (synthetic)" in row for row in rows) == 1


def test_resume_reads_the_runs_saved_data_dir_and_refuses_files_gone_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from bench import cli
    from bench.run.store import RunDir
    from bench.zoo.specs import Cell, Settings

    write_cifar(tmp_path / "cifar")
    cell = Cell("torch", "cnn", "cifar10", "quick", Recipe(steps=4), 0)
    env = {"run_id": "r", "plan": [cell.to_dict()], "settings": Settings().to_dict(),
           "data_dir": str(tmp_path / "cifar")}  # fmt: skip
    run = RunDir.create(tmp_path / "run", env).path
    batch = tmp_path / "cifar" / "test_batch.bin"
    batch.write_bytes(batch.read_bytes()[:-1])  # the files changed since the run started
    assert cli.main(["run", "--resume", str(run), "--no-report", "--no-history"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bench: error: ") and "\n" not in err
    assert str(batch) in err and "not a whole number" in err
    assert json.loads((run / "env.json").read_text())["data_dir"] == str(tmp_path / "cifar")
