"""float64 NumPy references for the training recipes (docs/recipes.md writes the same formulas).

Kept apart from reference.py (the models' forward passes) so the recipe tests read on their own:
SGD with momentum in torch's form and in Keras's, coupled L2 with the exclusion rule, and
softmax cross-entropy with torch's label smoothing and its gradient.
"""

from __future__ import annotations

import numpy as np

from bench.zoo.recipes import decays


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


def clip_global_norm(
    g: dict[str, np.ndarray], max_norm: float, keras_form: bool = False
) -> dict[str, np.ndarray]:
    """torch.nn.utils.clip_grad_norm_: g·min(1, max_norm / (‖g‖₂ + 1e-6)) over all tensors;
    ``keras_form``: Keras's/TF's clip_by_global_norm, g·max_norm / max(‖g‖₂, max_norm)."""
    norm = np.sqrt(sum(float((v.astype(np.float64) ** 2).sum()) for v in g.values()))
    scale = max_norm / max(norm, max_norm) if keras_form else min(max_norm / (norm + 1e-6), 1.0)
    return {k: v.astype(np.float64) * scale for k, v in g.items()}


def adam(
    w: dict[str, np.ndarray],
    grads: list[dict[str, np.ndarray]],
    lrs: list[float],
    args: dict[str, float],
    weight_decay: float,
    exclusions: bool,
    decoupled: bool = False,
    max_norm: float = 0.0,
    keras_form: bool = False,
) -> dict[str, np.ndarray]:
    """torch.optim.Adam with coupled L2 (eps added to sqrt(v̂)), or with ``decoupled`` torch's
    AdamW (w *= 1 − lr·wd first, nothing added to g); gradients clipped first when
    ``max_norm`` > 0. ``keras_form``: keras.optimizers.Adam(W)'s arithmetic and clipping, eps
    added to sqrt(v) with the bias correction in the step size:
    w −= lr·sqrt(1 − b2^t)/(1 − b1^t) · m/(sqrt(v) + eps)."""
    w = {k: v.astype(np.float64) for k, v in w.items()}
    m = {k: np.zeros_like(v) for k, v in w.items()}
    v2 = {k: np.zeros_like(v) for k, v in w.items()}
    b1, b2, eps = args["beta1"], args["beta2"], args["eps"]
    for t, (g_step, lr) in enumerate(zip(grads, lrs, strict=True), start=1):
        if max_norm > 0:
            g_step = clip_global_norm(g_step, max_norm, keras_form)
        for k in w:
            g = g_step[k].astype(np.float64)
            if weight_decay and (decays(k) or not exclusions):
                if decoupled:
                    w[k] = w[k] * (1 - lr * weight_decay)
                else:
                    g = g + weight_decay * w[k]
            m[k] = b1 * m[k] + (1 - b1) * g
            v2[k] = b2 * v2[k] + (1 - b2) * g * g
            if keras_form:
                alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
                w[k] = w[k] - alpha * m[k] / (np.sqrt(v2[k]) + eps)
                continue
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
