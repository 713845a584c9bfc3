"""The HTML report: built from files alone, every section present, every record string escaped,
no external resource, and nothing missing from a record can break it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from itertools import combinations
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from bench.measure import summaries, timing
from bench.report import build_report
from bench.report.cells import load_run, peak_gflops
from bench.report.svg import style, to_svg
from bench.run.store import RunDir
from bench.zoo.specs import SCHEMA_VERSION
from tests.report.conftest import EXPECTED_FIGURES
from tests.report.fakerun import EVIL, FRAMEWORKS, PAIRS, fake_manifest, write_fake_run

#: Stricter than the project default (which lets UserWarning through): matplotlib warns about
#: degenerate axes with UserWarning, and a report that provokes one has a layout bug.
pytestmark = pytest.mark.filterwarnings("error")

SECTIONS = ("summary", "ratios", "figures", "fairness", "environment")


def build(tmp_path: Path, **kwargs: object) -> str:
    run = write_fake_run(tmp_path / "results", **kwargs)  # type: ignore[arg-type]
    return build_report(run, tmp_path / "report").read_text(encoding="utf-8")


def section(html: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', html, re.S)
    assert match, f"no section {name}"
    return match.group(1)


def without_svg(html: str) -> str:
    return re.sub(r"<svg\b.*?</svg>", "", html, flags=re.S)


# -- structure ---------------------------------------------------------------------------------


def test_build_report_writes_index_html(report: Path) -> None:
    assert report.name == "index.html"
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_every_section_is_present(html: str) -> None:
    for name in SECTIONS:
        assert f'<section id="{name}">' in html
        assert f'href="#{name}"' in html


def test_header_names_run_machine_commit_and_data(html: str) -> None:
    header = html.split('<nav class="toc">')[0]
    for text in (
        "20260101-120000-a1b2c3",
        "nightly",
        "quick",
        "2026-01-01 12:00 UTC",
        "0123456789ab",
        "AMD EPYC 7B13 64-Core Processor",
        "8 physical, 16 logical",
        "Real data",
        "14 ok",
        "1 failed",
    ):
        assert text in header, text


def test_synthetic_cells_are_flagged(tmp_path: Path) -> None:
    html = build(tmp_path, pairs=PAIRS[:1], synthetic=(("tf", "logreg", "mnist1d"),))
    header = html.split('<nav class="toc">')[0]
    assert "Synthetic data:" in header and "tf/logreg/mnist1d" in header
    assert "Real data" not in header


def test_summary_has_a_row_per_cell_and_the_derived_columns(html: str) -> None:
    summary = section(html, "summary")
    assert summary.count('<tr class="cell') == len(FRAMEWORKS) * len(PAIRS)
    assert summary.count('<tr class="group">') == len(PAIRS)
    assert "paper 94%" in summary and "target 80%" in summary  # cnn on MNIST-1D
    assert summary.count('<span class="best">1.00×</span>') == len(PAIRS)  # torch is fastest
    assert "of peak" in summary  # env.json has a calibration
    assert re.search(r"\d+\.\d\d / \d+\.\d\d / \d+\.\d\d", summary)  # p50 / p90 / p99


def test_failed_cell_shows_status_and_error(html: str) -> None:
    summary = section(html, "summary")
    assert '<span class="badge s-failed">failed</span>' in summary
    assert "ResourceExhaustedError: OOM when allocating tensor" in summary


def test_gflops_and_share_of_peak_follow_the_record_and_calibration(fake_run: Path) -> None:
    run = load_run(fake_run)
    record = next(r for r in run.records if r["key"] == "keras/mlp/mnist1d")
    assert peak_gflops(record, run.env) == 398.2  # keras runs on TensorFlow's matmul
    for framework, expected in (("keras:torch", 455.5), ("torch", 455.5), ("keras:jax", 455.5)):
        assert (
            peak_gflops(
                {**record, "framework": framework, "family": framework.split(":")[0]}, run.env
            )
            == expected
        )
    assert peak_gflops(record, {}) is None


def test_without_calibration_no_share_of_peak(tmp_path: Path) -> None:
    html = build(tmp_path, pairs=PAIRS[:1], calibration=False)
    summary = section(html, "summary")
    assert "% of peak</small>" not in summary and "share of peak</small>" not in summary
    assert "no calibration was recorded" in summary


# -- ratios ------------------------------------------------------------------------------------


def test_ratio_for_every_pair_of_finished_frameworks(html: str, fake_run: Path) -> None:
    ratios = section(html, "ratios")
    run = load_run(fake_run)
    expected = sum(
        len(list(combinations([r for r in run.cells(m, d) if r["status"] == "ok"], 2)))
        for m, d in run.pairs()
    )
    assert ratios.count("<tr>") - 1 == expected  # minus the header row
    torch = next(r for r in run.records if r["key"] == "torch/cnn/digits")
    keras = next(r for r in run.records if r["key"] == "keras/cnn/digits")
    result = summaries.speed_ratio(timing.passes(torch), timing.passes(keras))
    assert f"{result['ratio']:.2f}×" in ratios
    assert f"[{result['ci_low']:.2f}× – {result['ci_high']:.2f}×]" in ratios


# -- figures -----------------------------------------------------------------------------------


def test_every_figure_is_inline_svg_with_unique_ids(html: str) -> None:
    assert html.count("<svg ") == EXPECTED_FIGURES
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "duplicate element ids across figures"
    refs = set(re.findall(r'"#([^"]+)"', html)) | set(re.findall(r"url\(#([^)]+)\)", html))
    assert refs <= set(ids), f"dangling references: {sorted(refs - set(ids))[:5]}"


def test_svg_carries_no_label_text() -> None:
    with style():
        fig = Figure()
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, 1], label=EVIL)
        ax.set_title(f"{EVIL} & --")
        ax.set_xticks([0, 1], [EVIL, "x"])
        ax.legend()
    svg = to_svg(fig, "fig-test")
    assert svg.startswith("<svg ")
    assert "script" not in svg and "<!--" not in svg
    with pytest.raises(ValueError):
        to_svg(fig, 'x" onload="alert(1)')


# -- safety ------------------------------------------------------------------------------------


def write_evil_run(root: Path) -> Path:
    """A run whose every free-text field carries markup."""
    run = write_fake_run(
        root, pairs=PAIRS[:2], tag=EVIL, failed={("keras", "mlp", "mnist1d"): f"ValueError: {EVIL}"}
    )
    store = RunDir(run)
    records = store.records()
    store.update_env(hostname=EVIL, cpu_model=EVIL, packages={EVIL: EVIL})
    renamed = []
    for r in records:
        if r["model"] == "logreg":
            r = {**r, "model": EVIL, "key": f"{r['framework']}/{EVIL}/{r['dataset']}"}
            r["manifest"] = {**r["manifest"], "notes": [EVIL], "layout": EVIL}
        if r["framework"] == "tf":
            r = {**r, "framework": EVIL, "key": r["key"].replace("tf/", f"{EVIL}/", 1)}
        renamed.append(r)
    store.results_path.write_text("".join(json.dumps(r) + "\n" for r in renamed))
    return run


def test_every_record_and_env_string_is_escaped(tmp_path: Path) -> None:
    run = write_evil_run(tmp_path / "results")
    html = build_report(run, tmp_path / "report").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "alert(1)</" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for name in SECTIONS:
        assert "&lt;script&gt;" in section(html, name) or name in ("figures",), name
    for svg in re.findall(r"<svg\b.*?</svg>", html, re.S):
        assert "script" not in svg


def test_no_external_resources(html: str) -> None:
    # The only URLs allowed are the SVG namespace declarations, which name, not fetch.
    opening = re.compile(r"<svg\b[^>]*>")
    namespaces = re.compile(r'\sxmlns(?::\w+)?="http://www\.w3\.org/(?:2000/svg|1999/xlink)"')
    stripped = opening.sub(lambda m: namespaces.sub("", m.group(0)), html)
    assert "http://" not in stripped and "https://" not in stripped
    html_only = re.sub(r"<svg\b.*?</svg>", "", html, flags=re.S)
    assert not re.search(r'\b(?:href|src|action)\s*=\s*"(?!#)', html_only), "a non-anchor link"
    lowered = html.lower()
    for banned in ("<script", "<link", "<iframe", "<img", "@import", " src=", "@font-face"):
        assert banned not in lowered, banned
    assert not re.search(r"url\((?!#)", html), "a url() that is not a fragment reference"


# -- robustness --------------------------------------------------------------------------------


def minimal_record(framework: str, model: str, status: str = "ok") -> dict[str, object]:
    return {
        "schema": SCHEMA_VERSION,
        "run_id": "old-run",
        "key": f"{framework}/{model}/mnist1d",
        "framework": framework,
        "model": model,
        "dataset": "mnist1d",
        "status": status,
    }


def test_missing_fields_render_as_dash(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "old-run", {})
    run.append(minimal_record("torch", "mlp"))
    run.append(
        {
            **minimal_record("tf", "mlp"),
            "throughput": None,
            "curve": None,
            "step_latency_ms": {"p50": None},
            "manifest": None,
            "recipe": None,
            "test_accuracy": float("nan"),
        }
    )
    html = build_report(run.path, tmp_path / "report").read_text(encoding="utf-8")
    summary = section(html, "summary")
    assert summary.count('<tr class="cell') == 2
    assert summary.count("—") >= 2 * 9
    assert "— / — / —" in summary
    assert "None" not in without_svg(html) and "nan" not in without_svg(html).lower()
    assert html.count("<svg ") == 2  # bar charts only: no curves recorded


def test_a_run_of_only_failed_cells_still_renders(tmp_path: Path) -> None:
    failed = {(f, m, d): f"RuntimeError: {f} broke" for f in FRAMEWORKS for m, d in PAIRS[:2]}
    html = build(tmp_path, pairs=PAIRS[:2], failed=failed)
    assert html.count('<span class="badge s-failed">failed</span>') == len(failed)
    assert "nothing to compare" in section(html, "ratios")
    assert html.count("<svg ") == 2
    assert "RuntimeError: keras broke" in html


def test_an_empty_run_renders(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "empty", {"run_id": "empty"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pytest's config lets UserWarning through; not here
        html = build_report(run.path, tmp_path / "report").read_text(encoding="utf-8")
    for name in SECTIONS:
        assert f'<section id="{name}">' in html


# -- fairness ----------------------------------------------------------------------------------


def test_fairness_lists_recipe_seed_and_manifests(html: str) -> None:
    fairness = section(html, "fairness")
    for text in (
        "optimizer_args.beta1",
        "optimizer_args.beta2",
        "optimizer_args.eps",
        "adam",
        "batch_size",
        "weight_decay",
        "schedule",
        "seed",
        "threads_intra",
        "tf32",
        "NLC/NHWC (channels-last)",
        "tensorflow 2.18.0",
        "Consistent",
    ):
        assert text in fairness, text
    assert fairness.count('<td class="l fwcell">') == len(FRAMEWORKS)


def test_fairness_flags_frameworks_that_disagree(tmp_path: Path) -> None:
    run = write_fake_run(tmp_path / "results", pairs=PAIRS[:1])
    store = RunDir(run)
    records = store.records()
    for r in records:
        if r["framework"] == "tf":
            r["manifest"] = {**fake_manifest("tf"), "threads_intra": 16, "tf32": True}
    store.results_path.write_text("".join(json.dumps(r) + "\n" for r in records))
    fairness = section(build_report(run, tmp_path / "report").read_text(), "fairness")
    assert "did not run under the same settings" in fairness
    assert "<code>threads_intra</code>: torch 8, tf 16, keras 8" in fairness
    assert "<code>tf32</code>" in fairness and "<code>precision</code>" not in fairness


def test_environment_shows_env_json(html: str) -> None:
    env = section(html, "environment")
    for text in (
        "packages.torch",
        "2.5.1+cpu",
        "3.11.7",
        "Linux 6.8.0",
        "64.0 GiB",
        "git.commit",
        "calibration.matmul_gflops.torch",
        "bench run --frameworks",
    ):
        assert text in env, text


# -- isolation ---------------------------------------------------------------------------------


def test_building_imports_no_framework(fake_run: Path, tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from bench.report import build_report; "
        f"build_report(Path({str(fake_run)!r}), Path({str(tmp_path)!r})); "
        "print(sorted(m for m in ('torch', 'tensorflow', 'keras', 'jax') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert out.stdout.strip() == "[]"
