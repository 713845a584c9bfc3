"""float64 NumPy references for the training recipes (docs/recipes.md writes the same formulas).

Kept apart from reference.py (the models' forward passes) so the recipe tests read on their own:
SGD with momentum in torch's form and in Keras's, coupled L2 with the exclusion rule, and
softmax cross-entropy with torch's label smoothing and its gradient.
"""

from __future__ import annotations

import numpy as np

from bench.recipes import decays


def sgd_momentum(
    w: dict[str, np.ndarray],
    grads: list[dict[str, np.ndarray]],
    lrs: list[float],
    momentum: float,
    nesterov: bool,
    weight_decay: float,
    exclusions: bool,
) -> dict[str, np.ndarray]:
    """torch.optim.SGD (dampening 0): g += wd·w (unless excluded); v = mu·v + g (v₁ = g);
    p -= lr·(g + mu·v) with Nesterov, p -= lr·v without. One step per entry of ``grads``."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    buf = {k: np.zeros_like(v) for k, v in w.items()}
    for g_step, lr in zip(grads, lrs, strict=True):
        for k in w:
            g = g_step[k].astype(np.float64)
            if weight_decay and (decays(k) or not exclusions):
                g = g + weight_decay * w[k]
            buf[k] = momentum * buf[k] + g
            w[k] = w[k] - lr * (g + momentum * buf[k] if nesterov else buf[k])
    return w


def keras_sgd_momentum(
    w: dict[str, np.ndarray],
    grads: list[dict[str, np.ndarray]],
    lrs: list[float],
    momentum: float,
    nesterov: bool,
) -> dict[str, np.ndarray]:
    """keras.optimizers.SGD: v = mu·v − lr·g; p += mu·v − lr·g with Nesterov, p += v without.
    Equal to :func:`sgd_momentum` (no decay) while lr is constant: v_keras = −lr·v_torch."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    vel = {k: np.zeros_like(v) for k, v in w.items()}
    for g_step, lr in zip(grads, lrs, strict=True):
        for k in w:
            g = g_step[k].astype(np.float64)
            vel[k] = momentum * vel[k] - lr * g
            w[k] = w[k] + (momentum * vel[k] - lr * g if nesterov else vel[k])
    return w


def adam(
    w: dict[str, np.ndarray],
    grads: list[dict[str, np.ndarray]],
    lrs: list[float],
    args: dict[str, float],
    weight_decay: float,
    exclusions: bool,
) -> dict[str, np.ndarray]:
    """torch.optim.Adam with coupled L2: eps added to sqrt(v̂)."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    m = {k: np.zeros_like(v) for k, v in w.items()}
    v2 = {k: np.zeros_like(v) for k, v in w.items()}
    b1, b2, eps = args["beta1"], args["beta2"], args["eps"]
    for t, (g_step, lr) in enumerate(zip(grads, lrs, strict=True), start=1):
        for k in w:
            g = g_step[k].astype(np.float64)
            if weight_decay and (decays(k) or not exclusions):
                g = g + weight_decay * w[k]
            m[k] = b1 * m[k] + (1 - b1) * g
            v2[k] = b2 * v2[k] + (1 - b2) * g * g
            m_hat, v_hat = m[k] / (1 - b1**t), v2[k] / (1 - b2**t)
            w[k] = w[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def smoothed_cross_entropy(
    logits: np.ndarray, labels: np.ndarray, eps: float
) -> tuple[float, np.ndarray]:
    """Mean over the batch of −Σ_k q_k log p_k with q = (1 − eps)·onehot(y) + eps/K, and its
    gradient with respect to the logits, (p − q)/N (Σ_k q_k = 1)."""
    z = logits.astype(np.float64)
    n, k = z.shape
    shifted = z - z.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    q = np.full((n, k), eps / k)
    q[np.arange(n), labels] += 1.0 - eps
    loss = float(-(q * log_p).sum(axis=1).mean())
    return loss, (np.exp(log_p) - q) / n


def logreg_smoothed_grads(
    w: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, eps: float
) -> tuple[float, dict[str, np.ndarray]]:
    """Label-smoothed loss of the logreg model and its gradient, canonical names."""
    x = x.reshape(len(x), -1).astype(np.float64)
    logits = x @ w["linear.kernel"].astype(np.float64) + w["linear.bias"]
    loss, d = smoothed_cross_entropy(logits, y, eps)
    return loss, {"linear.kernel": x.T @ d, "linear.bias": d.sum(0)}
