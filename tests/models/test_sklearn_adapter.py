"""The scikit-learn reference (``sklearn``) against the float64 NumPy reference, and the one
private attribute it relies on pinned.

Parity: the stepped form (``MLPClassifier.partial_fit``, one call per suite batch) from the
suite's canonical weights against :func:`tests.models.optim_reference.adam` in Keras's form
(sklearn's ``AdamOptimizer``: bias correction folded into the step size, eps on the uncorrected
sqrt(v)) on the float64 gradient of :func:`tests.models.reference.logreg_loss_grads`, the same
batches, for ``STEPS`` steps. Tolerance: weights max-abs ≤ ``WEIGHT_ATOL`` after every step, each
step's loss abs ≤ ``LOSS_ATOL``: the frameworks' one-step tolerances (tests/models/
test_parity.py), kept over 20 steps. sklearn computes in float32 (the suite's data): each step
rounds at float32's 6e-8 relative, and Adam moves a weight by about lr = 1e-2 a step whatever
the gradient's size, so rounding adds about 1e-8 a step; the drift measured over 20 steps is
below 7e-8 on both datasets (``-s`` prints it), 150× inside WEIGHT_ATOL. A formula difference
is far larger: the initialising step kept (Adam at t = 2) moves the first step by more than
1e-3 (asserted, so the tolerance tells them apart).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from bench import data
from bench.catalog import suites, weights
from bench.catalog.frameworks import get_variant
from bench.catalog.schedules import lr_table
from bench.run.adapter import load_adapter
from bench.zoo.specs import Settings
from tests.models.optim_reference import adam
from tests.models.reference import logreg_loss_grads

STEPS = 20
WEIGHT_ATOL = 1e-5
LOSS_ATOL = 1e-5


@pytest.fixture(scope="module")
def adapter():
    a = load_adapter(get_variant("sklearn"))
    a.configure(Settings(threads=1))
    return a


def _suite_batches(dataset: str, recipe, steps: int, seed: int = 0):
    """The first ``steps`` batches of the suite's order, and the model's spec and weights."""
    spec = suites.model_spec("logreg", dataset)
    ds = data.load(dataset, seed=seed)
    order = data.train_order(ds, recipe.batch_size, steps, seed)
    x = data.as_model_input(ds.x_train, spec.input_shape)[order]
    return spec, weights.init_weights(spec, seed), x, ds.y_train[order]


def _numpy_trajectory(w0, x, y, recipe):
    """Weights after each step and each step's loss, float64, Keras's Adam."""
    w = {k: v.astype(np.float64) for k, v in w0.items()}
    out, losses = [], []
    m_state = None
    for t in range(len(x)):
        loss, g = logreg_loss_grads(w, x[t], y[t])
        losses.append(loss)
        # adam() restarts from zero moments: replay every gradient so far on the start weights
        m_state = (m_state or []) + [g]
        w = adam(w0, m_state, [recipe.lr] * len(m_state), recipe.optimizer_args,
                 recipe.weight_decay, recipe.decay_exclusions, keras_form=True)  # fmt: skip
        out.append(w)
    return out, np.array(losses)


@pytest.mark.parametrize(
    "dataset,weight_decay", [("mnist1d", 0.0), ("digits", 0.0), ("mnist1d", 1e-3)]
)
def test_stepped_form_follows_numpy_keras_adam(adapter, dataset, weight_decay) -> None:
    recipe = suites.SUITES["paper"].entry("logreg", dataset).recipe
    if weight_decay:  # sklearn's alpha decays kernels only: the recipe's exclusions
        recipe = replace(recipe, weight_decay=weight_decay, decay_exclusions=True)
    spec, w0, x, y = _suite_batches(dataset, recipe, STEPS)
    model = adapter.build(spec, w0, recipe, lr_table(recipe))
    expected, expected_losses = _numpy_trajectory(w0, x, y, recipe)
    worst = 0.0
    for t in range(STEPS):
        _, losses = adapter.train_round(model, x[t : t + 1], y[t : t + 1])
        assert abs(float(losses[0]) - expected_losses[t]) <= LOSS_ATOL, t
        got = adapter.get_weights(model)
        for k in got:
            worst = max(worst, float(np.max(np.abs(got[k] - expected[t][k]))))
        assert worst <= WEIGHT_ATOL, f"step {t + 1}: {worst:.2e}"
    print(f"{dataset} wd={weight_decay}: worst weight difference over {STEPS} steps {worst:.2e}")


def test_start_from_discards_the_initialising_step_and_restarts_adam(adapter) -> None:
    """Pins the private route of models/sklearn/logreg.py.start_from: after it the estimator
    holds the canonical weights and no ``_optimizer``; the next partial_fit builds a fresh
    AdamOptimizer (t = 1 after it) and takes Keras's first step from those weights. An upgrade
    that renames ``_optimizer`` fails in start_from (AttributeError); one that stops rebuilding
    it when absent fails in partial_fit; one that keeps the initialising step's state fails the
    step comparison."""
    from sklearn.neural_network._stochastic_optimizers import AdamOptimizer

    from models.sklearn import logreg

    recipe = suites.SUITES["paper"].entry("logreg", "mnist1d").recipe
    spec, w0, x, y = _suite_batches("mnist1d", recipe, 1)
    model = adapter.build(spec, w0, recipe, lr_table(recipe))
    est = model.estimator
    assert not hasattr(est, logreg.OPTIMIZER_ATTRIBUTE)
    assert est.coefs_[0].dtype == np.float32 and est.coefs_[0].flags.c_contiguous
    np.testing.assert_array_equal(est.coefs_[0], w0["linear.kernel"])
    np.testing.assert_array_equal(est.intercepts_[0], w0["linear.bias"])
    assert est.out_activation_ == "softmax" and list(est.classes_) == list(range(10))

    adapter.train_round(model, x, y)
    opt = getattr(est, logreg.OPTIMIZER_ATTRIBUTE)
    assert isinstance(opt, AdamOptimizer) and opt.t == 1
    _, g = logreg_loss_grads(w0, x[0], y[0])
    keras_step = adam(w0, [g], [recipe.lr], recipe.optimizer_args, 0.0, False, keras_form=True)
    got = adapter.get_weights(model)["linear.kernel"]
    assert np.max(np.abs(got - keras_step["linear.kernel"])) <= WEIGHT_ATOL
    # the tolerance tells formulas apart: a second step (the initialising one kept) is 1e-3 away
    second = adam(w0, [g, g], [recipe.lr] * 2, recipe.optimizer_args, 0.0, False, keras_form=True)
    assert np.max(np.abs(second["linear.kernel"] - keras_step["linear.kernel"])) > 100 * WEIGHT_ATOL


def test_the_optimum_fits_the_training_loss_best(adapter) -> None:
    """LogisticRegression (C = inf) minimises the very loss the stepped form descends: its mean
    training cross-entropy is below the stepped form's after the quick suite's 300 steps, and
    L-BFGS converged."""
    recipe = suites.SUITES["quick"].entry("logreg", "mnist1d").recipe
    spec, w0, x, y = _suite_batches("mnist1d", recipe, recipe.steps)
    ds = data.load("mnist1d", seed=0)
    x_train = data.as_model_input(ds.x_train, spec.input_shape)
    x_test = data.as_model_input(ds.x_test, spec.input_shape)
    model = adapter.build(spec, w0, recipe, lr_table(recipe))
    adapter.train_round(model, x, y)
    stepped_loss, _ = adapter.evaluate(model, x_train, ds.y_train, 1000)
    optimum = adapter.fit_optimum(x_train, ds.y_train, x_test, ds.y_test)
    from sklearn.linear_model import LogisticRegression  # the same fit, to read its loss

    fitted = LogisticRegression(C=np.inf, max_iter=optimum["max_iter"]).fit(x_train, ds.y_train)
    proba = fitted.predict_proba(x_train)
    optimum_loss = float(-np.mean(np.log(proba[np.arange(len(ds.y_train)), ds.y_train])))
    assert optimum["converged"] and optimum["n_iter"] < optimum["max_iter"]
    assert optimum_loss < stepped_loss, (optimum_loss, stepped_loss)
    assert 0.0 < optimum["test_accuracy"] <= 1.0 and optimum["fit_seconds"] > 0


def test_build_refuses_what_it_cannot_express(adapter) -> None:
    recipe = suites.SUITES["paper"].entry("logreg", "mnist1d").recipe
    spec = suites.model_spec("logreg", "mnist1d")
    w0 = weights.init_weights(spec, 0)
    cosine = replace(recipe, schedule="cosine")
    with pytest.raises(ValueError, match="cosine"):
        adapter.build(spec, w0, cosine, lr_table(cosine))
    with pytest.raises(ValueError, match="logreg only"):
        adapter.build(suites.model_spec("mlp", "mnist1d"), {}, recipe, lr_table(recipe))


def test_configure_reports_the_cpu_and_its_threads_whatever_the_device() -> None:
    """On a --device cuda run the reference still runs on the CPU, and its manifest says so;
    threads are threadpoolctl's, read back; fp32 only."""
    a = load_adapter(get_variant("sklearn"))
    manifest = a.configure(Settings(device="cuda", threads=1))
    assert manifest["device"] == "cpu" and manifest["threads_intra"] == 1
    assert any("no cuda path" in note for note in manifest["notes"])
    with pytest.raises(ValueError, match="fp32 only"):
        a.configure(Settings(precision="bf16"))
