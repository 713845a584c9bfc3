"""The catalogue of bad input: one row per input, each answered by one line and exit 2.

Every row also checks that no traceback was printed and that nothing on disk changed. The rank
entry point (``python -m bench.run.rank JOB ...``) answers a bad job file the same way, with its
own prefix (``JOB_CATALOGUE``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench import cli
from bench.run import rank
from bench.zoo.specs import SCHEMA_VERSION
from tests.data.datafiles import write_bad_data_dirs, write_bad_job_files


def _tree(root: Path) -> dict[str, tuple[int, float]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime)
        for p in root.rglob("*")
        if p.is_file()
    }


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch directory holding the fixtures the rows point at."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a_file").write_text("not a directory\n")
    (tmp_path / "empty").mkdir()
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "results.jsonl").write_text('{"schema": 1, "run_id": "x"\n{broken\n')
    binary = tmp_path / "binary"
    binary.mkdir()
    (binary / "results.jsonl").write_bytes(b"\xff\xfe\x00garbage\n")
    future = tmp_path / "future"
    future.mkdir()
    record = {"schema": SCHEMA_VERSION + 1, "run_id": "r", "key": "torch/mlp/mnist1d"}
    record.update(framework="torch", model="mlp", dataset="mnist1d", status="ok")
    (future / "results.jsonl").write_text(json.dumps(record) + "\n")
    (future / "env.json").write_text(json.dumps({"run_id": "r"}))
    noplan = tmp_path / "noplan"
    noplan.mkdir()
    (noplan / "results.jsonl").write_text("")
    (noplan / "env.json").write_text("{}")
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "results.jsonl").write_text("")
    (sweep / "env.json").write_text(
        json.dumps({"plan": [], "settings": {}, "sweep": {"kind": "throughput point"}})
    )
    write_bad_data_dirs(tmp_path)  # data/<case>/: tiny CIFAR-10 and MNIST files, each bad once
    write_bad_job_files(tmp_path)  # jobs/<case>: data-parallel job files, each bad once
    return tmp_path


#: 201 sweep points of one framework and model: more than bench sweep takes without --yes.
MANY = ["--threads", "1", "--batch-sizes", ",".join(str(b) for b in range(1, 202))]

# (id, argv, words the one-line message must contain)
CATALOGUE = [
    ("unknown framework", ["run", "--frameworks", "pytorch"], ["unknown framework", "torch, "]),
    (
        "unknown variant",
        ["run", "--frameworks", "torch:jit"],
        ["unknown framework", "torch:compile"],
    ),
    ("unknown model", ["run", "--models", "resnet"], ["unknown model", "logreg"]),
    (
        "reference cannot run the model",
        ["run", "--frameworks", "sklearn", "--models", "mlp"],
        ["nothing to run", "skipped"],
    ),
    ("unknown dataset", ["run", "--dataset", "cifar"], ["unknown dataset", "mnist1d"]),
    ("unknown suite", ["run", "--suite", "huge"], ["unknown suite", "quick"]),
    ("model not on dataset", ["run", "--models", "gru", "--dataset", "digits"], ["no (model"]),
    ("zero steps", ["run", "--steps", "0"], ["--steps", "greater than 0"]),
    ("negative steps", ["run", "--steps", "-5"], ["--steps", "greater than 0"]),
    ("non-numeric steps", ["run", "--steps", "ten"], ["--steps", "not a whole number"]),
    ("zero batch", ["run", "--batch-size", "0"], ["--batch-size", "greater than 0"]),
    ("negative batch", ["run", "--batch-size", "-1"], ["--batch-size", "greater than 0"]),
    ("fractional batch", ["run", "--batch-size", "2.5"], ["--batch-size", "not a whole number"]),
    ("batch over train set", ["run", "--batch-size", "5000"], ["larger than the 4000"]),
    ("negative seed", ["run", "--seed", "-1"], ["--seed", "0 or more"]),
    ("non-numeric seed", ["run", "--seed", "abc"], ["--seed", "not a whole number"]),
    ("zero threads", ["run", "--threads", "0"], ["--threads", "greater than 0"]),
    ("non-numeric threads", ["run", "--threads", "two"], ["--threads", "not a whole number"]),
    ("zero eval-every", ["run", "--eval-every", "0"], ["--eval-every", "greater than 0"]),
    ("negative timeout", ["run", "--cell-timeout", "-5"], ["--cell-timeout", "positive"]),
    ("non-numeric timeout", ["run", "--cell-timeout", "soon"], ["--cell-timeout", "not a number"]),
    ("nan timeout", ["run", "--cell-timeout", "nan"], ["--cell-timeout", "positive"]),
    ("out is a file", ["run", "--out", "a_file"], ["--out", "not a directory"]),
    ("out under a file", ["run", "--out", "a_file/runs"], ["--out", "not a directory"]),
    ("out unwritable", ["run", "--out", "/proc/bench-results"], ["--out", "not writable"]),
    ("unknown device", ["run", "--device", "tpu"], ["--device", "invalid choice"]),
    ("report missing path", ["report", "nowhere"], ["no such run directory"]),
    ("report empty dir", ["report", "empty"], ["not a run directory"]),
    ("report a file", ["report", "a_file"], ["not a directory"]),
    ("report corrupt file", ["report", "corrupt"], ["corrupt"]),
    ("report binary file", ["report", "binary"], ["not a results file"]),
    (
        "report newer schema",
        ["report", "future"],
        [f"version {SCHEMA_VERSION + 1}", f"version {SCHEMA_VERSION}"],
    ),
    ("report no results", ["report", "noplan"], ["no results yet"]),
    ("resume missing path", ["run", "--resume", "nowhere"], ["no such run directory"]),
    ("resume empty dir", ["run", "--resume", "empty"], ["not a run directory"]),
    ("resume corrupt", ["run", "--resume", "corrupt"], ["corrupt"]),
    ("resume newer schema", ["run", "--resume", "future"], [f"version {SCHEMA_VERSION + 1}"]),
    ("resume no plan", ["run", "--resume", "noplan"], ["no run plan"]),
    ("resume a sweep", ["run", "--resume", "sweep"], ["is a sweep", "run the sweep again"]),
    (
        "resume with flags",
        ["run", "--resume", "noplan", "--frameworks", "tf"],
        ["drop --frameworks"],
    ),
    *[
        (name, ["run", "--dataset", dataset, "--data-dir", f"data/{where}"], words)
        for name, dataset, where, words in [
            (
                "cifar truncated",
                "cifar10",
                "cifar_truncated",
                ["data_batch_3.bin", "not a whole number of 3,073-byte records"],
            ),
            (
                "cifar-100 record size",
                "cifar10",
                "cifar100_records",
                ["data_batch_1.bin", "3,074-byte records", "CIFAR-100"],
            ),
            (
                "cifar python version",
                "cifar10",
                "cifar_python",
                ["data_batch_1", "pickle", "never unpickles", "binary version"],
            ),
            (
                "cifar .bin is a pickle",
                "cifar10",
                "cifar_pickle_bin",
                ["data_batch_1.bin", "pickle", "arbitrary code"],
            ),
            ("cifar missing test batch", "cifar10", "cifar_no_test", ["test_batch.bin", "missing"]),
            (
                "cifar missing train batch",
                "cifar10",
                "cifar_no_batch2",
                ["data_batch_2.bin", "missing"],
            ),
            (
                "cifar label out of range",
                "cifar10",
                "cifar_bad_label",
                ["test_batch.bin", "record 1 has label 10"],
            ),
            ("cifar empty batch", "cifar10", "cifar_empty_batch", ["data_batch_4.bin", "empty"]),
            ("cifar files absent", "cifar10", "nothing", ["data_batch_1.bin", "missing"]),
            (
                "mnist wrong magic",
                "mnist",
                "mnist_magic",
                ["train-images-idx3-ubyte", "magic number 0x00000801", "0x00000803"],
            ),
            (
                "mnist truncated",
                "mnist",
                "mnist_truncated",
                ["t10k-images-idx3-ubyte", "truncated"],
            ),
            (
                "mnist count mismatch",
                "mnist",
                "mnist_count",
                ["train-labels-idx1-ubyte", "4 labels for the 5 images"],
            ),
            (
                "mnist label out of range",
                "mnist",
                "mnist_bad_label",
                ["t10k-labels-idx1-ubyte", "is 11"],
            ),
            ("mnist bad gzip", "mnist", "mnist_bad_gzip", ["train-images-idx3-ubyte.gz", "gzip"]),
            ("mnist files absent", "mnist", "nothing", ["train-images-idx3-ubyte", "missing"]),
            ("data-dir missing", "cifar10", "nowhere", ["data/nowhere", "no such directory"]),
        ]
    ],
    (
        "data-dir is a file",
        ["run", "--dataset", "mnist", "--data-dir", "a_file"],
        ["a_file", "not a directory"],
    ),
    (
        "data-dir, no file dataset",
        ["run", "--dataset", "digits", "--data-dir", "data/nothing"],
        ["--data-dir is only read by", "cifar10, mnist"],
    ),
    ("data-dir, suite needs none", ["run", "--data-dir", "data/nothing"], ["only read by"]),
    ("file dataset, no data-dir", ["run", "--dataset", "cifar10"], ["cifar10", "--data-dir DIR"]),
    (
        "resume with data-dir",
        ["run", "--resume", "noplan", "--data-dir", "data"],
        ["drop --data-dir"],
    ),
    ("unknown command", ["train"], ["invalid choice"]),
    ("no command", [], ["required"]),
    (
        "history bad since",
        ["history", "--report", "--since", "last week"],
        ["--since", "not a date"],
    ),
    ("history bad since day", ["history", "--report", "--since", "2026-02-30"], ["not a date"]),
    ("history unknown model", ["history", "--report", "--models", "vgg"], ["unknown model 'vgg'"]),
    (
        "history unknown framework",
        ["history", "--report", "--frameworks", "pytorch"],
        ["--frameworks", "unknown framework 'pytorch'", "torch"],
    ),
    ("history unknown suite", ["history", "--report", "--suite", "huge"], ["unknown suite"]),
    ("history branch, no db", ["history", "--report", "--branch", "main"], ["no history database"]),
    ("history filter, no report", ["history", "--models", "mlp"], ["add --report"]),
    ("gpu-check into a file", ["gpu-check", "a_file", "--dry-run"], ["not an empty folder"]),
    ("gpu-check zero budget", ["gpu-check", "out", "--dry-run", "--budget", "0"], ["--budget"]),
    ("calibrate unknown precision", ["calibrate", "--precision", "fp8"], ["unknown precision"]),
    ("calibrate tf32 on a cpu", ["calibrate", "--precision", "tf32"], ["tf32 needs an NVIDIA"]),
    # bench sweep: the axes, the budget and the sweep's size (bench.run.sweep_plan)
    ("sweep non-numeric batch", ["sweep", "--batch-sizes", "16,abc"], ["--batch-sizes", "'abc'"]),
    ("sweep zero batch", ["sweep", "--batch-sizes", "0,16"], ["--batch-sizes", "greater than 0"]),
    ("sweep repeated batch", ["sweep", "--batch-sizes", "16,32,16"], ["16 given more than once"]),
    ("sweep unsorted batch", ["sweep", "--batch-sizes", "64,16"], ["increasing order (16,64)"]),
    ("sweep zero threads", ["sweep", "--threads", "0"], ["--threads", "greater than 0"]),
    ("sweep threads over cores", ["sweep", "--threads", "1,4096"], ["4096", "usable cores"]),
    ("sweep unsorted lengths", ["sweep", "--seq-lens", "128,64"], ["--seq-lens", "increasing"]),
    (
        "sweep batch over train set",
        ["sweep", "--models", "mlp", "--dataset", "mnist1d", "--batch-sizes", "16,8192"],
        ["--batch-sizes", "8192", "larger than the 4000"],
    ),
    (
        "sweep seq-lens, no sequence model",
        ["sweep", "--models", "mlp", "--dataset", "mnist1d", "--seq-lens", "32,64"],
        ["--seq-lens", "mlp is not a sequence model"],
    ),
    ("sweep budget not a size", ["sweep", "--memory-budget", "lots"], ["not a size"]),
    ("sweep device budget, cpu", ["sweep", "--memory-budget", "device"], ["needs --device cuda"]),
    (
        "sweep budget below baseline",
        ["sweep", "--frameworks", "torch", "--memory-budget", "4MiB"],
        ["--memory-budget 4.0 MiB is below the post-import baseline of torch"],
    ),
    (
        "sweep over 200 points",
        ["sweep", "--frameworks", "torch", "--models", "mlp", "--dataset", "mnist1d", *MANY],
        ["201 points", "--yes"],
    ),
]

if not os.path.exists("/dev/nvidia0"):
    CATALOGUE.append(("cuda without gpu", ["run", "--device", "cuda"], ["no CUDA GPU"]))
    CATALOGUE.append(("gpu-check without gpu", ["gpu-check", "out"], ["no CUDA GPU", "--dry-run"]))


@pytest.mark.parametrize(
    ("argv", "words"), [c[1:] for c in CATALOGUE], ids=[c[0] for c in CATALOGUE]
)
def test_bad_input_is_one_line_and_exit_2(
    workspace: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    before = _tree(workspace)
    code = cli.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("bench: error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in out + err
    assert _tree(workspace) == before
    assert not (workspace / "results").exists()


def test_catalogue_is_long_enough() -> None:
    assert len(CATALOGUE) >= 20


# (id, the rank's argv, words its one-line message must contain): a job file is arrays and JSON
# (bench.run.job_file); each of these is refused before the rank writes anything
JOB_CATALOGUE = [
    (
        "job: old pickle job file",
        ["jobs/job.pkl", "0", "2", "29500", "out"],
        ["jobs/job.pkl", "pickle job file from an older version", "re-run", "make-job"],
    ),
    (
        "job: old pickle under torchrun",
        ["jobs/job.pkl", "out"],
        ["jobs/job.pkl", "pickle job file from an older version"],
    ),
    ("job: text file", ["jobs/text.npz", "out"], ["jobs/text.npz", "not an .npz archive"]),
    (
        "job: foreign npz",
        ["jobs/foreign.npz", "0", "2", "29500", "out"],
        ["jobs/foreign.npz", "without job.json", "not a bench job file"],
    ),
    (
        "job: truncated",
        ["jobs/truncated.npz", "0", "2", "29500", "out"],
        ["jobs/truncated.npz", "damaged or truncated", "make-job"],
    ),
    (
        "job: malformed job.json",
        ["jobs/not_json.npz", "out"],
        ["jobs/not_json.npz", "job.json is not JSON", "make-job"],
    ),
    (
        "job: wrong format version",
        ["jobs/v2.npz", "0", "2", "29500", "out"],
        ["jobs/v2.npz", "format version 2", "reads version 1", "make-job"],
    ),
    ("job: missing field", ["jobs/no_order.npz", "out"], ["field 'order' is missing"]),
    (
        "job: mistyped field",
        ["jobs/text_order.npz", "out"],
        ["field 'order' is a string", "2-D integer array"],
    ),
    ("job: no such file", ["jobs/nowhere.npz", "out"], ["jobs/nowhere.npz", "no such job file"]),
    ("job: a directory", ["jobs", "0", "2", "29500", "out"], ["jobs: is a directory"]),
]


@pytest.mark.parametrize(
    ("argv", "words"), [c[1:] for c in JOB_CATALOGUE], ids=[c[0] for c in JOB_CATALOGUE]
)
def test_a_bad_job_file_is_one_line_and_exit_2(
    workspace: Path, capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]
) -> None:
    before = _tree(workspace)
    code = rank.main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("bench.run.rank: error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in out + err
    assert _tree(workspace) == before
    assert not (workspace / "out").exists()


# (id, the rank's argv with GOOD for a valid job file, environment, words of the one line)
PLACE_CATALOGUE = [
    ("rank: a word for the world size", ["GOOD", "0", "two", "29500", "out"], {}, ["two"]),
    ("rank: a word among the ports", ["GOOD", "0", "2", "29500,x", "out"], {}, ["'x'"]),
    ("rank: no launcher environment", ["GOOD", "out"], {}, ["TF_CONFIG", "RANK/WORLD_SIZE"]),
    ("rank: TF_CONFIG without workers", ["GOOD", "out"], {"TF_CONFIG": '{"cluster": {}}'},
     ["TF_CONFIG has no", "worker"]),
    ("make-job: unknown model", ["make-job", "--framework", "torch", "--model", "nosuch",
     "--dataset", "mnist1d", "--workers", "2", "job.npz"], {}, ["'nosuch'", "choose from"]),
    ("make-job: unknown suite", ["make-job", "--framework", "torch", "--model", "mlp",
     "--dataset", "mnist1d", "--workers", "2", "--suite", "nope", "job.npz"], {},
     ["unknown suite 'nope'"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "env", "words"), [c[1:] for c in PLACE_CATALOGUE], ids=[c[0] for c in PLACE_CATALOGUE]
)
def test_a_rank_that_cannot_tell_its_place_is_one_line_and_exit_2(
    workspace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    words: list[str],
) -> None:
    from bench.run.job_file import write_job
    from tests.data.datafiles import tiny_job

    good = workspace / "good.npz"
    write_job(good, tiny_job())
    for name in ("TF_CONFIG", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = _tree(workspace)
    code = rank.main([str(good) if a == "GOOD" else a for a in argv])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, (out, err)
    assert lines[0].startswith("bench.run.rank: error: ")
    assert all(word in lines[0] for word in words), lines[0]
    assert "Traceback" not in out + err
    assert _tree(workspace) == before


def test_a_framework_that_is_not_installed_is_one_line(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every framework is installed here, so jax is hidden from the install check: asking only
    for a variant whose framework is missing names its install command and exits 2."""
    import importlib.util

    from bench.catalog import frameworks

    real = importlib.util.find_spec
    monkeypatch.setattr(
        frameworks.importlib.util, "find_spec", lambda m: None if m == "jax" else real(m)
    )
    assert cli.main(["run", "--frameworks", "keras:jax"]) == 2
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[-1].startswith("bench: error: ") and "nothing to run" in lines[-1], err
    assert "[keras,jax]" in out + err
    assert "Traceback" not in out + err
    assert not (workspace / "results").exists()
