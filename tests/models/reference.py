"""NumPy references in the canonical layout (float64), shared by the adapters' unit tests.

A framework's output matching these proves its layout conversion and its arithmetic on its own,
before the cross-framework parity tests compare frameworks with each other.
"""

from __future__ import annotations

import numpy as np

from bench.catalog import model_spec
from bench.data import as_model_input, load
from bench.specs import ModelSpec


def inputs(model: str, dataset: str, n: int) -> tuple[ModelSpec, np.ndarray, np.ndarray]:
    spec = model_spec(model, dataset)
    data = load(dataset)
    return spec, as_model_input(data.x_train[:n], spec.input_shape), data.y_train[:n]


def conv(x: np.ndarray, k: np.ndarray, b: np.ndarray, stride: int, pad: int) -> np.ndarray:
    """Channels-last 1-D or 2-D conv with symmetric padding: x (N, *S, Cin), k (*K, Cin, Cout)."""
    nd = x.ndim - 2
    x = np.pad(x, [(0, 0)] + [(pad, pad)] * nd + [(0, 0)])
    ksz = k.shape[:nd]
    out_sz = [(x.shape[1 + d] - ksz[d]) // stride + 1 for d in range(nd)]
    out = np.zeros((x.shape[0], *out_sz, k.shape[-1]))
    for offs in np.ndindex(*ksz):
        ends = zip(offs, out_sz, strict=True)
        sl = tuple(slice(o, o + stride * (n - 1) + 1, stride) for o, n in ends)
        out += x[(slice(None), *sl)] @ k[offs]
    return out + b


def gru_direction(x: np.ndarray, w: dict[str, np.ndarray], p: str, reverse: bool) -> np.ndarray:
    k, u, b = w[f"{p}.kernel"], w[f"{p}.recurrent_kernel"], w[f"{p}.bias"]
    hid = u.shape[0]
    n, steps, _ = x.shape
    h = np.zeros((n, hid))
    out = np.zeros((n, steps, hid))
    sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
    for t in reversed(range(steps)) if reverse else range(steps):
        xi = x[:, t] @ k + b[0]
        hh = h @ u + b[1]
        z = sig(xi[:, :hid] + hh[:, :hid])
        r = sig(xi[:, hid : 2 * hid] + hh[:, hid : 2 * hid])
        cand = np.tanh(xi[:, 2 * hid :] + r * hh[:, 2 * hid :])
        h = (1 - z) * cand + z * h
        out[:, t] = h
    return out


def reference_logits(spec: ModelSpec, w: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    w = {k: v.astype(np.float64) for k, v in w.items()}
    x = x.astype(np.float64)
    n = len(x)
    if spec.name == "logreg":
        return x.reshape(n, -1) @ w["linear.kernel"] + w["linear.bias"]
    if spec.name == "mlp":
        relu = lambda a: np.maximum(a, 0)  # noqa: E731
        h = relu(x.reshape(n, -1) @ w["linear1.kernel"] + w["linear1.bias"])
        h = h + relu(h @ w["linear2.kernel"] + w["linear2.bias"])
        return h @ w["linear3.kernel"] + w["linear3.bias"]
    if spec.name == "cnn":
        h = x
        for i, s in enumerate(spec.params["strides"], start=1):
            k, b = w[f"conv{i}.kernel"], w[f"conv{i}.bias"]
            h = np.maximum(conv(h, k, b, s, spec.params["padding"]), 0)
        return h.reshape(n, -1) @ w["linear.kernel"] + w["linear.bias"]
    out = np.concatenate(
        [gru_direction(x, w, "gru.forward", False), gru_direction(x, w, "gru.backward", True)],
        axis=2,
    )
    return out.reshape(n, -1) @ w["linear.kernel"] + w["linear.bias"]


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def logreg_loss_grads(
    w: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean softmax cross-entropy of logreg and its analytic gradient, float64."""
    x = x.reshape(len(x), -1).astype(np.float64)
    p = softmax(x @ w["linear.kernel"].astype(np.float64) + w["linear.bias"])
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    d = p.copy()
    d[np.arange(len(y)), y] -= 1
    d /= len(y)
    return float(loss), {"linear.kernel": x.T @ d, "linear.bias": d.sum(0)}


def numpy_step(opt: str, args: dict, w: np.ndarray, g: np.ndarray, st: dict, t: int, lr: float):
    if opt == "sgd":
        return w - lr * g
    if opt == "momentum":
        st["buf"] = g if t == 1 else args["momentum"] * st["buf"] + g
        return w - lr * st["buf"]
    if opt == "adam":
        b1, b2 = args["beta1"], args["beta2"]
        st["m"] = b1 * st.get("m", 0) + (1 - b1) * g
        st["v"] = b2 * st.get("v", 0) + (1 - b2) * g * g
        mh, vh = st["m"] / (1 - b1**t), st["v"] / (1 - b2**t)
        return w - lr * mh / (np.sqrt(vh) + args["eps"])
    if opt == "adagrad":
        st["s"] = st.get("s", args["initial_accumulator"]) + g * g
        return w - lr * g / (np.sqrt(st["s"]) + args["eps"])
    st["v"] = args["alpha"] * st.get("v", 0) + (1 - args["alpha"]) * g * g
    return w - lr * g / (np.sqrt(st["v"]) + args["eps"])


def mlp_batches(steps: int) -> tuple[ModelSpec, np.ndarray, np.ndarray]:
    """``steps`` batches of 100 MNIST-1D training samples in the suite's batch order (seed 0)."""
    from bench.data import batch_order

    spec = model_spec("mlp", "mnist1d")
    data = load("mnist1d")
    order = batch_order(len(data.y_train), 100, steps, seed=0)
    x = as_model_input(data.x_train[order.ravel()], spec.input_shape).reshape(steps, 100, -1)
    return spec, x, data.y_train[order]
