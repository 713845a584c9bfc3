"""Which cells the scikit-learn reference runs: logreg on MNIST-1D and digits with a recipe its
MLPClassifier can express; everything else skipped aloud, never silently, never a traceback."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench.catalog import suites
from bench.catalog.frameworks import get_variant, is_reference, reference_refusal
from bench.run.plan import PlanError, PlanRequest, plan_cells

SKLEARN = get_variant("sklearn")
PAPER = suites.SUITES["paper"].recipe


def test_sklearn_is_the_one_reference() -> None:
    assert is_reference("sklearn") and SKLEARN.tier == "reference"
    assert not any(is_reference(f) for f in ("torch", "tf", "keras", "nosuch"))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"optimizer": "adamw"}, "optimizer adamw"),
        ({"schedule": "cosine"}, "cosine schedule"),
        ({"weight_decay": 1e-4}, "weight decay on biases"),
        ({"label_smoothing": 0.1}, "label smoothing"),
        ({"clip_grad_norm": 1.0}, "gradient clipping"),
    ],
)
def test_recipes_it_cannot_express_are_refused(change: dict, words: str) -> None:
    why = reference_refusal(SKLEARN, "logreg", "mnist1d", replace(PAPER, **change))
    assert why is not None and words in why


def test_what_it_can_express() -> None:
    assert reference_refusal(SKLEARN, "logreg", "mnist1d", PAPER) is None
    decayed = replace(PAPER, weight_decay=1e-4, decay_exclusions=True)  # kernels only: its alpha
    assert reference_refusal(SKLEARN, "logreg", "digits", decayed) is None
    assert "logreg on mnist1d" in (reference_refusal(SKLEARN, "mlp", "mnist1d", PAPER) or "")
    assert "fp32 only" in (reference_refusal(SKLEARN, "logreg", "mnist1d", PAPER, "bf16") or "")
    assert reference_refusal(get_variant("torch"), "mlp", "mnist1d", PAPER) is None


def test_paper_suite_runs_it_beside_logreg_and_says_what_it_skips() -> None:
    said: list[str] = []
    cells = plan_cells(PlanRequest(suite="paper"), said.append)
    reference = [c for c in cells if c.framework == "sklearn"]
    assert [(c.model, c.dataset) for c in reference] == [("logreg", "mnist1d")]
    assert reference[0].recipe == PAPER
    skipped = [m for m in said if m.startswith("skipping sklearn")]
    assert len(skipped) == 3 and all("reference for logreg" in m for m in skipped), said
    others = {(c.framework, c.model) for c in cells if c.framework != "sklearn"}
    assert {f for f, _ in others} == {"torch", "tf", "keras"}
    assert {m for _, m in others} == {"logreg", "mlp", "cnn", "gru"}


def test_digits_and_nothing_to_run() -> None:
    cells = plan_cells(PlanRequest(frameworks=["sklearn"], models=["logreg"], dataset=["digits"]))
    assert [(c.framework, c.model, c.dataset) for c in cells] == [("sklearn", "logreg", "digits")]
    with pytest.raises(PlanError, match="nothing to run"):
        plan_cells(PlanRequest(frameworks=["sklearn"], models=["mlp"]))
