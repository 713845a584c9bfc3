"""Logistic regression in scikit-learn, in the reference's two forms.

*Stepped*: ``MLPClassifier(hidden_layer_sizes=())`` is softmax regression (multi-class targets
give a softmax output, its ``log_loss`` is the mean cross-entropy over the batch, and its
gradient is ``(softmax − onehot)ᵀx / n``). One ``partial_fit`` on one batch with
``batch_size`` = the batch and ``shuffle=False`` is one Adam step on that batch, Keras's formula
(``AdamOptimizer``: bias correction folded into the step size, eps on the uncorrected sqrt(v)).
The L2 term ``alpha`` enters as ``(Xᵀδ + alpha·W)/n``: ``alpha = weight_decay·batch`` is the
recipe's coupled L2 on the kernel, and sklearn never decays intercepts (the recipe's exclusions).

*Optimum*: ``LogisticRegression`` (L-BFGS, multinomial) fitted on the whole training set with
``C = inf``: the unregularised loss the recipe's Adam descends, minimised — the linear model's
ceiling on this split.

Starting from the suite's weights needs one private attribute. The first ``partial_fit`` both
initialises (label binarizer, output activation, Glorot-drawn ``coefs_``) and steps, and
sklearn offers no way to hand it weights first. :func:`start_from` therefore lets a
``partial_fit`` initialise everything, assigns the canonical weights to the public fitted
attributes ``coefs_`` / ``intercepts_``, and deletes the private ``_optimizer`` (the
``AdamOptimizer`` that step created): ``_fit_stochastic`` builds a fresh one (t = 0, zero moments)
when the attribute is absent, so the next ``partial_fit`` is step 1 from the canonical weights.
``tests/models/test_sklearn_adapter.py`` pins that behaviour (it fails if an upgrade renames the
attribute or stops rebuilding the optimizer).

Dtype: float32. The harness hands every framework float32 data, and MLPClassifier computes in
its input's dtype (float32 or float64): float32 keeps the reference at the precision of the rows
it sits beside, and its data uncopied.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

from bench.zoo.specs import Recipe

#: The private attribute :func:`start_from` deletes (see the module docstring).
OPTIMIZER_ATTRIBUTE = "_optimizer"
#: The optimum's inverse regularisation strength: none (the recipe's loss has no L2 term).
OPTIMUM_C = np.inf
#: L-BFGS iterations the optimum may take; the record says whether it converged within them.
OPTIMUM_MAX_ITER = 10_000


def stepped(recipe: Recipe) -> MLPClassifier:
    """Softmax regression that takes one Adam step per ``partial_fit`` of one batch."""
    args = recipe.optimizer_args
    return MLPClassifier(
        hidden_layer_sizes=(),
        solver="adam",
        learning_rate_init=float(recipe.lr),
        beta_1=float(args.get("beta1", 0.9)),
        beta_2=float(args.get("beta2", 0.999)),
        epsilon=float(args.get("eps", 1e-8)),
        alpha=float(recipe.weight_decay) * recipe.batch_size,
        batch_size=recipe.batch_size,
        shuffle=False,
        max_iter=1,
    )


def start_from(
    model: MLPClassifier,
    weights: dict[str, np.ndarray],
    x: np.ndarray,
    y: np.ndarray,
    classes: np.ndarray,
) -> MLPClassifier:
    """``model`` set up on the classes and holding ``weights``, its Adam at step 0.

    ``x, y``: any batch of the model's shape (the suite's first): the initialising
    ``partial_fit`` runs on it and its step is discarded."""
    model.partial_fit(x, y, classes=classes)
    model.coefs_ = [np.array(weights["linear.kernel"], dtype=x.dtype, order="C")]
    model.intercepts_ = [np.array(weights["linear.bias"], dtype=x.dtype)]
    delattr(model, OPTIMIZER_ATTRIBUTE)  # AttributeError, loudly, if sklearn renames it
    return model


def optimum(
    x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> dict[str, Any]:
    """LogisticRegression at its optimum on the whole training set: fit seconds, test accuracy
    and mean test cross-entropy, and whether L-BFGS converged within ``OPTIMUM_MAX_ITER``."""
    estimator = LogisticRegression(C=OPTIMUM_C, solver="lbfgs", max_iter=OPTIMUM_MAX_ITER)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        t0 = time.perf_counter()
        estimator.fit(x_train, y_train)
        seconds = time.perf_counter() - t0
    n_iter = int(np.max(estimator.n_iter_))
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    proba = estimator.predict_proba(x_test).astype(np.float64)
    picked = proba[np.arange(len(y_test)), np.searchsorted(estimator.classes_, y_test)]
    return {
        "estimator": "LogisticRegression",
        "solver": "lbfgs",
        "C": "inf" if np.isinf(OPTIMUM_C) else float(OPTIMUM_C),
        "max_iter": OPTIMUM_MAX_ITER,
        "n_iter": n_iter,
        "converged": converged and n_iter < OPTIMUM_MAX_ITER,
        "fit_seconds": seconds,
        "train_samples": len(y_train),
        "train_accuracy": float(estimator.score(x_train, y_train)),
        "test_accuracy": float(np.mean(estimator.predict(x_test) == y_test)),
        "test_loss": float(-np.mean(np.log(np.clip(picked, 1e-300, None)))),
        "test_samples": len(y_test),
    }
