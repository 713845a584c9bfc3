"""The scikit-learn reference adapter (``sklearn``): logistic regression stepped with
``MLPClassifier.partial_fit`` on the suite's batches from its weights, and ``LogisticRegression``
fitted to its optimum (:mod:`models.sklearn.logreg` says how and why).

A reference, not a contestant (which cells it runs:
:func:`bench.catalog.frameworks.reference_refusal`): it is timed by the same machinery as the
frameworks, so its figures mean the same thing, but no output ranks it. A step is one
``partial_fit`` call: sklearn's input validation and label binarisation, the forward pass,
backprop and the Adam update, all in NumPy on the CPU (there is no device to synchronise, and no
other optimizer: ``stock_optimizer`` changes nothing). BLAS and OpenMP threads are set with
``threadpoolctl``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import sklearn
import threadpoolctl
from sklearn.neural_network import MLPClassifier

from bench.catalog.frameworks import get_variant, recipe_refusal
from bench.zoo import precision as precisions
from bench.zoo.specs import ModelSpec, Recipe, Settings
from models.sklearn import logreg


@dataclass
class SklearnModel:
    """What :meth:`SklearnAdapter.build` returns: the stepped estimator and its step count."""

    estimator: MLPClassifier
    classes: np.ndarray
    step: int = 0


def _flat(x: np.ndarray) -> np.ndarray:
    """(batch, *input_shape) float32 → (batch, features), as sklearn takes it (no copy)."""
    return np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), -1)


class SklearnAdapter:
    def __init__(self, name: str) -> None:
        self.name = name
        self.limiter: Any = None
        self.loop_pipeline = "partial_fit on NumPy slices of the training arrays"

    def configure(self, settings: Settings) -> dict[str, Any]:
        """Threads through threadpoolctl (BLAS and OpenMP); fp32 only; the CPU whatever the
        run's device (sklearn has no accelerator path), said in the notes."""
        precision = precisions.canonical(settings.precision)
        if precision != "fp32":
            raise ValueError(f"{self.name} runs in fp32 only, not {precision}")
        notes = []
        if settings.device != "cpu":
            notes.append(f"scikit-learn has no {settings.device} path: it ran on the CPU")
        self.limiter = threadpoolctl.threadpool_limits(limits=settings.threads)
        pools = threadpoolctl.threadpool_info()
        return {
            "threads_intra": max((p["num_threads"] for p in pools), default=settings.threads),
            "threads_inter": 1,
            "precision": precision,
            "mixed_precision": "none",
            "memory_format": "contiguous",
            "tf32": False,
            "compile": "none (NumPy)",
            "deterministic": True,  # one thread pool, no atomics: the same steps every run
            "layout": "(batch, features): the input flattened; coefs_ is (in, out), canonical",
            "device": "cpu",
            "versions": {
                "sklearn": sklearn.__version__,
                "numpy": np.__version__,
                "threadpoolctl": threadpoolctl.__version__,
            },
            "thread_pools": [
                {k: p.get(k) for k in ("user_api", "internal_api", "num_threads", "version")}
                for p in pools
            ],
            "notes": notes,
        }

    def build(
        self,
        spec: ModelSpec,
        weights: dict[str, np.ndarray],
        recipe: Recipe,
        lr: np.ndarray,
        stock_optimizer: bool = False,
    ) -> SklearnModel:
        """The stepped form holding ``weights``, its Adam at step 0. Refuses what it cannot
        express (the plan skips those cells first; this is the worker's own guard)."""
        if spec.name != "logreg":
            raise ValueError(f"{self.name} is a reference for logreg only, not {spec.name}")
        refused = recipe_refusal(get_variant(self.name), recipe)
        if refused:
            raise ValueError(refused)
        table = np.asarray(lr, dtype=np.float64).ravel()
        if table.size and not np.allclose(table, recipe.lr, rtol=1e-6):
            raise ValueError(f"{self.name}: MLPClassifier's Adam keeps one rate; the table varies")
        classes = np.arange(spec.num_classes)
        first = np.zeros((recipe.batch_size, int(np.prod(spec.input_shape))), np.float32)
        labels = np.arange(recipe.batch_size) % spec.num_classes
        estimator = logreg.start_from(logreg.stepped(recipe), weights, first, labels, classes)
        return SklearnModel(estimator, classes)

    # -- timed loops -----------------------------------------------------------------------
    def _step(self, model: SklearnModel, x: np.ndarray, y: np.ndarray) -> float:
        """One Adam step; the batch's cross-entropy before it, as the frameworks report it.
        sklearn's ``loss_`` adds its L2 term ``alpha/2·‖W‖²/n`` (read before the step and
        taken off: the recipe's coupled L2 is in the gradient, not the logged loss)."""
        est = model.estimator
        penalty = 0.0
        if est.alpha:
            penalty = 0.5 * est.alpha * float(np.square(est.coefs_[0]).sum()) / len(x)
        est.partial_fit(x, y)
        return float(est.loss_) - penalty

    def train_round(
        self, model: SklearnModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        xs = [_flat(xb) for xb in x]
        times = np.empty(len(xs), dtype=np.float64)
        losses = np.empty(len(xs), dtype=np.float32)
        for i, (xb, yb) in enumerate(zip(xs, y, strict=True)):
            t0 = time.perf_counter()
            losses[i] = self._step(model, xb, yb)
            times[i] = time.perf_counter() - t0
        model.step += len(xs)
        return times, losses

    def train_window(
        self, model: SklearnModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        xs = [_flat(xb) for xb in x]
        losses = np.empty(len(xs), dtype=np.float32)
        t0 = time.perf_counter()
        for i, (xb, yb) in enumerate(zip(xs, y, strict=True)):
            losses[i] = self._step(model, xb, yb)
        seconds = time.perf_counter() - t0
        model.step += len(xs)
        return seconds, losses

    def loop_window(
        self, model: SklearnModel, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """The loop scope: the batches gathered from the arrays inside the clock."""
        losses = np.empty(len(idx), dtype=np.float32)
        t0 = time.perf_counter()
        for i, rows in enumerate(idx):
            losses[i] = self._step(model, _flat(x_train[rows]), y_train[rows])
        seconds = time.perf_counter() - t0
        model.step += len(idx)
        return seconds, losses

    def predict_round(self, model: SklearnModel, x: np.ndarray) -> np.ndarray:
        xs = [_flat(xb) for xb in x]
        times = np.empty(len(xs), dtype=np.float64)
        for i, xb in enumerate(xs):
            t0 = time.perf_counter()
            model.estimator.predict_proba(xb)
            times[i] = time.perf_counter() - t0
        return times

    # -- inspection ------------------------------------------------------------------------
    def evaluate(
        self, model: SklearnModel, x: np.ndarray, y: np.ndarray, batch_size: int
    ) -> tuple[float, float]:
        """(mean cross-entropy, accuracy) from sklearn's own ``predict_proba``."""
        total, correct = 0.0, 0
        for start in range(0, len(x), batch_size):
            xb, yb = _flat(x[start : start + batch_size]), y[start : start + batch_size]
            proba = model.estimator.predict_proba(xb).astype(np.float64)
            total -= float(np.log(np.clip(proba[np.arange(len(yb)), yb], 1e-300, None)).sum())
            correct += int((model.classes[proba.argmax(1)] == yb).sum())
        n = max(len(y), 1)
        return total / n, correct / n

    def logits(self, model: SklearnModel, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x·coefs_ + intercepts_ (sklearn returns probabilities only; these are its weights)."""
        est = model.estimator
        return (_flat(x) @ est.coefs_[0] + est.intercepts_[0]).astype(np.float32)

    def loss_and_gradients(
        self, model: SklearnModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        """Not offered: sklearn computes a gradient only inside a step; its parity is checked
        on the steps themselves (tests/models/test_sklearn_adapter.py)."""
        raise NotImplementedError(f"{self.name} exposes no gradient without a step")

    def get_weights(self, model: SklearnModel) -> dict[str, np.ndarray]:
        est = model.estimator
        return {"linear.kernel": est.coefs_[0].copy(), "linear.bias": est.intercepts_[0].copy()}

    def peak_device_memory(self) -> int | None:
        return None

    def reset_peak_device_memory(self) -> None:
        pass

    # -- the optimum -----------------------------------------------------------------------
    def fit_optimum(
        self, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
    ) -> dict[str, Any]:
        """LogisticRegression at its optimum on the cell's split (:func:`logreg.optimum`)."""
        return logreg.optimum(_flat(x_train), y_train, _flat(x_test), y_test)


def create(name: str, **options: Any) -> SklearnAdapter:
    """The adapter for variant ``name`` (``sklearn``)."""
    if options:
        raise ValueError(f"{name}: unknown options {sorted(options)}")
    return SklearnAdapter(name)
