"""The data-parallel job file (:mod:`bench.run.job_file`): arrays in an ``.npz`` and a JSON
description, never a pickle. What goes in comes back exactly (types, dtypes, shapes, key order),
the bytes depend on the job alone, and every kind of bad file is one :class:`JobFileError`
line that names the file and what is wrong with it."""

from __future__ import annotations

import json
import math
import pickle
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.run import job_file
from bench.run.job_file import JobFileError, read_job, write_job
from bench.run.launch import last_error_line
from tests.data.datafiles import rewrite_description, tiny_job


def same(a: Any, b: Any) -> bool:
    """Equal, of the same types all the way down, dicts in the same key order, arrays of the
    same dtype, shape and memory order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return (a.dtype == b.dtype and a.shape == b.shape
                and a.flags.f_contiguous == b.flags.f_contiguous
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))  # fmt: skip
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (a == b or (a != a and b != b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def test_a_job_round_trips_exactly(tmp_path: Path) -> None:
    job = tiny_job()
    job["weights"] = {"z.kernel": np.ones((2, 3), np.float16),  # key order is not sorted
                      "a.bias": np.arange(3, dtype=np.int8)}  # fmt: skip
    job["extra"] = {
        "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        "empty": np.zeros((0, 4), np.float32),
        "zero_d": np.array(3.5),
        "flags": np.array([True, False]),
        "words": np.array(["ab", "c"]),
        "scalars": [np.float32(0.1), np.int64(-3), np.bool_(True)],
        "shape": (2, (3, 4), []),
        "floats": [0.1, 1e-300, -0.0, math.inf, -math.inf, math.nan],
        "ints_and_bools": [1, True, 0, False, 2**70, None],
        "text": "päivää / 日本",
        "odd keys": {"a/b": np.arange(2), "": np.arange(1), "..": np.arange(3), "#0": 1},
        "a": {"b": np.arange(4)},
    }
    job["job.json"] = np.arange(2)  # not the description's member name
    path = tmp_path / "job.npz"
    write_job(path, job)
    back = read_job(path)
    assert same(back, job)
    assert list(back) == list(job)


def test_a_real_job_round_trips_exactly(tmp_path: Path) -> None:
    from bench.catalog import suites
    from bench.run.distributed import rank_job, scaled_cell
    from bench.zoo.specs import Cell, Settings

    recipe = suites.SUITES["quick"].entry("mlp", "mnist1d").recipe_on("cpu")
    cell = scaled_cell(Cell("torch", "mlp", "mnist1d", "quick", recipe, 0), 2, "weak")
    job = {**rank_job(cell, Settings(threads=1)), "rendezvous_timeout": 150.0}
    write_job(tmp_path / "job.npz", job)
    assert same(read_job(tmp_path / "job.npz"), job)


def test_the_file_is_an_npz_that_numpy_opens_without_pickle(tmp_path: Path) -> None:
    write_job(tmp_path / "job.npz", tiny_job())
    with np.load(tmp_path / "job.npz", allow_pickle=False) as npz:
        assert npz.files[0] == "job.json"  # first: `unzip -p job.npz job.json` shows it
        assert npz["x_train"].shape == (8, 4)
        assert npz["weights/linear.kernel"].dtype == np.float32
        described = json.loads(npz["job.json"])
    assert (described["format"], described["version"]) == ("bench-rank-job", 1)
    assert described["job"]["x_train"] == {"__ndarray__": "x_train"}
    assert described["job"]["recipe"]["optimizer"] == "sgd"


def test_the_bytes_depend_on_the_job_alone(tmp_path: Path) -> None:
    """No clock, no platform, fixed member order (tests/run/test_rank_entry.py compares two
    make-job processes)."""
    write_job(tmp_path / "a.npz", tiny_job())
    write_job(tmp_path / "b.npz", tiny_job())
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.npz") as zf:
        infos = zf.infolist()
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {(i.create_system, i.external_attr >> 16, i.compress_type) for i in infos} == {
        (3, 0o644, zipfile.ZIP_STORED)
    }
    names = [i.filename for i in infos]
    assert names[:3] == ["job.json", "weights/linear.kernel.npy", "weights/linear.bias.npy"]
    assert sorted(tmp_path.iterdir()) == [tmp_path / "a.npz", tmp_path / "b.npz"]  # no tmp left


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (np.array([1, None], dtype=object), "object array"),
        ({1: 2}, "str keys only"),
        ({"__ndarray__": "x"}, "str keys only"),
        ({1, 2}, "a set cannot go"),
    ],
)
def test_what_a_job_file_cannot_hold_is_refused_on_write(
    tmp_path: Path, value: Any, words: str
) -> None:
    with pytest.raises(TypeError, match=words):
        write_job(tmp_path / "job.npz", {**tiny_job(), "extra": value})
    assert list(tmp_path.iterdir()) == []


def _edited(tmp_path: Path, edit: Any) -> Path:
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    write_job(good, tiny_job())
    rewrite_description(good, bad, edit)
    return bad


def _job(**changes: Any) -> Any:
    def edit(d: dict[str, Any]) -> dict[str, Any]:
        job = {**d["job"], **changes}
        return {**d, "job": {k: v for k, v in job.items() if v is not _DROP}}

    return edit


_DROP = object()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: {**d, "version": 0}, "format version 0; this bench reads version 1"),
        (lambda d: {**d, "version": True}, "format version True"),
        (lambda d: {k: v for k, v in d.items() if k != "version"}, "format version None"),
        (lambda d: {**d, "format": "other"}, "names format 'other', not 'bench-rank-job'"),
        (lambda d: [1, 2], "names no format"),
        (lambda d: b"\xff\xfe", "job.json is not JSON"),
        (lambda d: b'{"format": NaN}', "job.json is not JSON"),
        (lambda d: {k: v for k, v in d.items() if k != "job"}, "has no job"),
        (lambda d: {**d, "job": [1]}, "its job is a list, not a dict"),
        (_job(order=_DROP), "field 'order' is missing"),
        (_job(framework=3), "field 'framework' is an integer, not a string"),
        (_job(framework="caffe"), "field 'framework' names 'caffe'; this bench knows torch"),
        (_job(train_steps=2.5), "field 'train_steps' is a number, not an integer"),
        (_job(evaluate=1), "field 'evaluate' is an integer, not a boolean"),
        (_job(augment=[]), "field 'augment' is a list, not a dict or null"),
        (_job(lr={"__float__": "nan"}), "field 'lr' is a number, not an array"),
        (_job(lr={"__npscalar__": "lr"}), "scalar 'lr' is a 1-D float32 array"),
        (_job(weights={"k": 1}), "field 'weights' is a dict, not a dict of arrays"),
        (_job(order={"__ndarray__": "x_train"}), "is a 2-D float32 array, not a 2-D integer"),
        (_job(y_train={"__ndarray__": "y_test"}), "x_train has 8 samples but y_train 2 labels"),
        (_job(lr={"__ndarray__": "nowhere"}), "job['lr']: the archive has no array 'nowhere'"),
        (_job(lr={"__ndarray__": "lr", "x": 1}), "__ndarray__ has other keys beside it"),
        (_job(lr={"__tuple__": 3}), "__tuple__ with an integer"),
        (_job(lr={"__ndarray__": "job.json"}), "the archive has no array 'job.json'"),
        (_job(timing=True), "field 'window_seconds' is missing (the job asks for a timing pass)"),
        (_job(recipe={"optimizer": "lion"}), "field 'recipe' does not describe a recipe"),
        (_job(spec={"name": "mlp"}), "field 'spec' does not describe a spec (KeyError"),
        (_job(settings={"threads": 1, "gpu": 1}), "field 'settings' does not describe"),
    ],
)
def test_a_bad_description_is_one_line_naming_the_file(
    tmp_path: Path, edit: Any, words: str
) -> None:
    path = _edited(tmp_path, edit)
    with pytest.raises(JobFileError) as caught:
        read_job(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert words in message, message


def test_order_outside_the_data_is_refused(tmp_path: Path) -> None:
    job = tiny_job()
    job["order"] = job["order"] + 8
    write_job(tmp_path / "job.npz", job)
    with pytest.raises(JobFileError, match="order indexes outside x_train's 8 samples"):
        read_job(tmp_path / "job.npz")


def _bad_member(tmp_path: Path, name: str, data: bytes) -> Path:
    good, bad = tmp_path / "good.npz", tmp_path / "bad.npz"
    write_job(good, tiny_job())
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, data if info.filename == name else zin.read(info))
    return bad


def test_an_object_array_member_is_never_unpickled(tmp_path: Path) -> None:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([1, None], dtype=object), allow_pickle=True)
    path = _bad_member(tmp_path, "lr.npy", buffer.getvalue())
    with pytest.raises(JobFileError, match=r"damaged or truncated job file .*allow_pickle=False"):
        read_job(path)


def test_a_member_that_is_not_an_array_is_refused(tmp_path: Path) -> None:
    path = _bad_member(tmp_path, "lr.npy", b"just text")
    with pytest.raises(JobFileError, match=r"member 'lr\.npy' is not an array"):
        read_job(path)


def test_a_flipped_byte_is_caught_by_the_zip_checksum(tmp_path: Path) -> None:
    write_job(tmp_path / "job.npz", tiny_job())
    raw = bytearray((tmp_path / "job.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "job.npz").write_bytes(bytes(raw))
    with pytest.raises(JobFileError, match="damaged or truncated job file"):
        read_job(tmp_path / "job.npz")


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (pickle.dumps({"framework": "torch"}, protocol=5), "is a pickle job file from an older"),
        (pickle.dumps({"framework": "torch"}, protocol=2), "is a pickle job file from an older"),
        (b"", "is empty, so not a job file"),
        (b"framework: torch\n", "is not an .npz archive, so not a job file"),
        (b"\x93NUMPY\x01\x00", "is a single .npy array, not a job file"),
        (b"PK\x03\x04 and then nothing", "damaged or truncated job file"),
    ],
)
def test_a_file_that_is_no_job_file_is_named(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "job.npz"
    path.write_bytes(content)
    with pytest.raises(JobFileError) as caught:
        read_job(path)
    assert str(caught.value).startswith(f"{path}: ") and words in str(caught.value)


def test_a_foreign_npz_a_directory_and_no_file_are_named(tmp_path: Path) -> None:
    np.savez(tmp_path / "weights.npz", kernel=np.ones(3))
    with pytest.raises(JobFileError, match=r"an \.npz archive without job\.json"):
        read_job(tmp_path / "weights.npz")
    with pytest.raises(JobFileError, match="is a directory, not a job file"):
        read_job(tmp_path)
    with pytest.raises(JobFileError, match="no such job file"):
        read_job(tmp_path / "job.npz")


def test_every_field_a_rank_reads_is_checked() -> None:
    """The rank reads its job through job.get/job[...]: each name it uses is in FIELDS."""
    import re

    source = (Path(job_file.__file__).parent / "rank.py").read_text()
    used = set(re.findall(r'job(?:\.get\(|\[)"([a-z_]+)"', source))
    assert used <= set(job_file.FIELDS), used - set(job_file.FIELDS)


def test_the_launcher_reports_a_ranks_one_line_error(tmp_path: Path) -> None:
    log = tmp_path / "rank0.log"
    log.write_text("bench.run.rank: error: job.npz: field 'order' is missing: re-run ...\n")
    assert last_error_line(log) == log.read_text().strip()
