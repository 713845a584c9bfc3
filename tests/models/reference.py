"""NumPy references in the canonical layout (float64), shared by the adapters' unit tests.

The forward and backward passes are composed from a model's layer table
(:func:`bench.catalog.architectures.layers`): one forward and one backward function per layer kind,
so a new architecture made of existing layer kinds needs no edit here. A framework's output matching
these proves its layout conversion and its arithmetic on its own, before the cross-framework parity
tests compare frameworks with each other. (GRU: forward only; its gradients are checked by central
differences.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.catalog.architectures import layers
from bench.catalog.suites import model_spec
from bench.data import as_model_input, load
from bench.zoo import layers as kinds
from bench.zoo.specs import ModelSpec

Arrays = dict[str, np.ndarray]


def inputs(model: str, dataset: str, n: int) -> tuple[ModelSpec, np.ndarray, np.ndarray]:
    spec = model_spec(model, dataset)
    data = load(dataset)
    return spec, as_model_input(data.x_train[:n], spec.input_shape), data.y_train[:n]


# -- layer kinds: forward (returning what backward needs) and backward -----------------------------
def _windows(shape: tuple[int, ...], kernel: tuple[int, ...], stride: int, out: tuple[int, ...]):
    """(offsets, slices) of every kernel position over a padded channels-last array."""
    for offs in np.ndindex(*kernel):
        ends = zip(offs, out, strict=True)
        yield offs, (slice(None), *(slice(o, o + stride * (n - 1) + 1, stride) for o, n in ends))


def conv(x: np.ndarray, k: np.ndarray, b: np.ndarray | None, stride: int, pad: int) -> np.ndarray:
    """Channels-last 1-D or 2-D conv with symmetric padding: x (N, *S, Cin), k (*K, Cin, Cout)."""
    nd = x.ndim - 2
    xp = np.pad(x, [(0, 0)] + [(pad, pad)] * nd + [(0, 0)])
    out_sz = tuple((xp.shape[1 + d] - k.shape[d]) // stride + 1 for d in range(nd))
    out = np.zeros((x.shape[0], *out_sz, k.shape[-1]))
    for offs, sl in _windows(xp.shape, k.shape[:nd], stride, out_sz):
        out += xp[sl] @ k[offs]
    return out if b is None else out + b


def _conv_backward(layer: kinds.Conv, x: np.ndarray, d: np.ndarray, w: Arrays) -> tuple:
    nd, pad = x.ndim - 2, layer.padding
    k = w[f"{layer.name}.kernel"]
    xp = np.pad(x, [(0, 0)] + [(pad, pad)] * nd + [(0, 0)])
    dxp, dk = np.zeros_like(xp), np.zeros_like(k)
    for offs, sl in _windows(xp.shape, k.shape[:nd], layer.stride, d.shape[1:-1]):
        dk[offs] = xp[sl].reshape(-1, k.shape[-2]).T @ d.reshape(-1, k.shape[-1])
        dxp[sl] += d @ k[offs].T
    grads = {f"{layer.name}.kernel": dk}
    if layer.bias:
        grads[f"{layer.name}.bias"] = d.reshape(-1, d.shape[-1]).sum(0)
    inner = (slice(None), *(slice(pad, pad + n) for n in x.shape[1:-1]))
    return dxp[inner], grads


def gru_direction(x: np.ndarray, w: Arrays, p: str, reverse: bool) -> np.ndarray:
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


class Reference:
    """A float64 model run from its layer table: ``forward`` (train or eval mode), ``backward``,
    and the BatchNorm state a training-mode forward leaves (``state``)."""

    def __init__(self, spec: ModelSpec, weights: Arrays) -> None:
        self.table = layers(spec)
        self.w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
        self.state: Arrays = {k: v.copy() for k, v in self.w.items() if kinds.is_state(k)}
        self.cache: dict[str, Any] = {}
        self.sources: dict[str, tuple[str, ...]] = {}
        previous = kinds.INPUT
        for layer in self.table:
            self.sources[layer.name] = layer.inputs or (previous,)
            previous = layer.name

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        out: dict[str, np.ndarray] = {kinds.INPUT: np.asarray(x, np.float64)}
        self.cache = {}
        for layer in self.table:
            args = [out[s] for s in self.sources[layer.name]]
            out[layer.name] = self._forward(layer, args, training)
        self.outputs = out
        return out[self.table[-1].name]

    def _forward(self, layer: kinds.Layer, args: list[np.ndarray], training: bool) -> np.ndarray:
        x, w, name = args[0], self.w, layer.name
        if isinstance(layer, kinds.Dense):
            y = x.reshape(len(x), -1) @ w[f"{name}.kernel"]
            return y + w[f"{name}.bias"] if layer.bias else y
        if isinstance(layer, kinds.Conv):
            b = w[f"{name}.bias"] if layer.bias else None
            return conv(x, w[f"{name}.kernel"], b, layer.stride, layer.padding)
        if isinstance(layer, kinds.ReLU):
            return np.maximum(x, 0)
        if isinstance(layer, kinds.Add):
            return args[0] + args[1]
        if isinstance(layer, kinds.BatchNorm):
            return self._batchnorm(layer, x, training)
        if isinstance(layer, kinds.GlobalAvgPool):
            return x.mean(axis=tuple(range(1, x.ndim - 1)))
        if isinstance(layer, kinds.ShortcutA):
            s = layer.stride
            sub = x[(slice(None), *[slice(None, None, s)] * (x.ndim - 2))]
            return np.pad(sub, [(0, 0)] * (x.ndim - 1) + [layer.pad])
        if isinstance(layer, kinds.MaxPool):
            p, nd = layer.padding, x.ndim - 2
            xp = np.pad(x, [(0, 0)] + [(p, p)] * nd + [(0, 0)], constant_values=-np.inf)
            win = [xp[sl] for _, sl in _windows(xp.shape, (layer.kernel,) * nd, layer.stride,
                                                 layer.out_spatial)]  # fmt: skip
            stack = np.stack(win)
            self.cache[name] = (xp.shape, np.argmax(stack, axis=0))
            return stack.max(axis=0)
        if isinstance(layer, kinds.GRU):
            fwd = gru_direction(x, w, f"{name}.forward", False)
            if not layer.bidirectional:
                return fwd
            return np.concatenate([fwd, gru_direction(x, w, f"{name}.backward", True)], axis=2)
        raise NotImplementedError(type(layer).__name__)

    def _batchnorm(self, layer: kinds.BatchNorm, x: np.ndarray, training: bool) -> np.ndarray:
        n = layer.name
        gamma, beta = self.w[f"{n}.gamma"], self.w[f"{n}.beta"]
        axes = tuple(range(x.ndim - 1))
        if not training:
            mean, var = self.w[f"{n}.moving_mean"], self.w[f"{n}.moving_variance"]
            return gamma * (x - mean) / np.sqrt(var + kinds.BN_EPSILON) + beta
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        count = x.size // x.shape[-1]
        m = kinds.BN_MOMENTUM
        self.state[f"{n}.moving_mean"] = (1 - m) * self.state[f"{n}.moving_mean"] + m * mean
        unbiased = var * count / (count - 1)
        self.state[f"{n}.moving_variance"] = (1 - m) * self.state[
            f"{n}.moving_variance"
        ] + m * unbiased
        inv = 1 / np.sqrt(var + kinds.BN_EPSILON)
        xhat = (x - mean) * inv
        self.cache[n] = (xhat, inv, axes, count)
        return gamma * xhat + beta

    def backward(self, d_logits: np.ndarray) -> Arrays:
        """Gradients of every trainable weight, given d(loss)/d(logits); after a training-mode
        forward (BatchNorm backward uses the batch statistics)."""
        grads: Arrays = {}
        d_out: dict[str, np.ndarray] = {self.table[-1].name: d_logits}
        for layer in reversed(self.table):
            d = d_out.pop(layer.name, None)
            if d is None:
                continue
            srcs = self.sources[layer.name]
            for src, dx in zip(srcs, self._backward(layer, d, grads), strict=True):
                d_out[src] = d_out[src] + dx if src in d_out else dx
        return grads

    def _backward(self, layer: kinds.Layer, d: np.ndarray, grads: Arrays) -> list[np.ndarray]:
        name, w = layer.name, self.w
        x = self.outputs[self.sources[name][0]]
        if isinstance(layer, kinds.Dense):
            flat = x.reshape(len(x), -1)
            grads[f"{name}.kernel"] = flat.T @ d
            if layer.bias:
                grads[f"{name}.bias"] = d.sum(0)
            return [(d @ w[f"{name}.kernel"].T).reshape(x.shape)]
        if isinstance(layer, kinds.Conv):
            dx, g = _conv_backward(layer, x, d, w)
            grads.update(g)
            return [dx]
        if isinstance(layer, kinds.ReLU):
            return [d * (x > 0)]
        if isinstance(layer, kinds.Add):
            return [d, d]
        if isinstance(layer, kinds.BatchNorm):
            xhat, inv, axes, count = self.cache[name]
            grads[f"{name}.gamma"] = (d * xhat).sum(axes)
            grads[f"{name}.beta"] = d.sum(axes)
            dxhat = d * w[f"{name}.gamma"]
            return [
                inv / count
                * (count * dxhat - dxhat.sum(axes) - xhat * (dxhat * xhat).sum(axes))
            ]  # fmt: skip
        if isinstance(layer, kinds.GlobalAvgPool):
            spatial = x.shape[1:-1]
            shape = (len(x), *[1] * len(spatial), x.shape[-1])
            return [np.broadcast_to(d.reshape(shape), x.shape) / np.prod(spatial)]
        if isinstance(layer, kinds.ShortcutA):
            s, (before, _) = layer.stride, layer.pad
            dx = np.zeros_like(x)
            dx[(slice(None), *[slice(None, None, s)] * (x.ndim - 2))] = d[
                ..., before : before + layer.in_channels
            ]
            return [dx]
        if isinstance(layer, kinds.MaxPool):
            shape, arg = self.cache[name]
            nd, p = x.ndim - 2, layer.padding
            dxp = np.zeros(shape)
            windows = _windows(shape, (layer.kernel,) * nd, layer.stride, layer.out_spatial)
            for i, (_, sl) in enumerate(windows):
                dxp[sl] += d * (arg == i)
            return [dxp[(slice(None), *[slice(p, p + n) for n in x.shape[1:-1]])]]
        raise NotImplementedError(f"no reference backward for {type(layer).__name__}")


def reference_logits(
    spec: ModelSpec, w: Arrays, x: np.ndarray, training: bool = False
) -> np.ndarray:
    return Reference(spec, w).forward(x, training)


def reference_loss_and_gradients(
    spec: ModelSpec, w: Arrays, x: np.ndarray, y: np.ndarray
) -> tuple[float, Arrays, Arrays]:
    """Mean softmax cross-entropy in training mode (over every position for a language model),
    the trainable gradients, and the BatchNorm state after that forward pass."""
    ref = Reference(spec, w)
    logits = ref.forward(x, training=True)
    # A language model's (N, T, V) logits and (N, T) labels: every position is one sample.
    p, y = softmax(logits.reshape(-1, logits.shape[-1])), np.asarray(y).reshape(-1)
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    d = p.copy()
    d[np.arange(len(y)), y] -= 1
    return float(loss), ref.backward((d / len(y)).reshape(logits.shape)), ref.state


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def logreg_loss_grads(w: Arrays, x: np.ndarray, y: np.ndarray) -> tuple[float, Arrays]:
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


# -- LSTM (sequence family): forward and backward through time -----------------------------------
# Hooked into Reference by wrapping its dispatch, so this section stays self-contained.
def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def lstm_direction(x: np.ndarray, w: Arrays, p: str, reverse: bool) -> tuple[np.ndarray, list]:
    """One LSTM direction over x (N, T, F): outputs (N, T, H) at their input positions, and the
    per-step cache (t, x_t, h_prev, c_prev, i, f, g, o, c) backward needs, in processing order."""
    k, u, b = w[f"{p}.kernel"], w[f"{p}.recurrent_kernel"], w[f"{p}.bias"]
    hid = u.shape[0]
    n, steps, _ = x.shape
    h, c = np.zeros((n, hid)), np.zeros((n, hid))
    out = np.zeros((n, steps, hid))
    cache = []
    for t in reversed(range(steps)) if reverse else range(steps):
        z = x[:, t] @ k + h @ u + b
        i, f = _sigmoid(z[:, :hid]), _sigmoid(z[:, hid : 2 * hid])
        g, o = np.tanh(z[:, 2 * hid : 3 * hid]), _sigmoid(z[:, 3 * hid :])
        c_new = f * c + i * g
        cache.append((t, x[:, t], h, c, i, f, g, o, c_new))
        h, c = o * np.tanh(c_new), c_new
        out[:, t] = h
    return out, cache


def lstm_direction_backward(
    d_out: np.ndarray, w: Arrays, p: str, cache: list, x_shape: tuple[int, ...]
) -> tuple[np.ndarray, Arrays]:
    """Backpropagation through time: d(loss)/d(outputs) (N, T, H) → d(loss)/dx and the
    direction's weight gradients."""
    k, u = w[f"{p}.kernel"], w[f"{p}.recurrent_kernel"]
    dk, du, db = np.zeros_like(k), np.zeros_like(u), np.zeros(k.shape[1])
    dx = np.zeros(x_shape)
    dh_rec = np.zeros((x_shape[0], u.shape[0]))
    dc_rec = np.zeros_like(dh_rec)
    for t, xt, h_prev, c_prev, i, f, g, o, c in reversed(cache):
        dh = d_out[:, t] + dh_rec
        tc = np.tanh(c)
        dc = dc_rec + dh * o * (1 - tc**2)
        dz = np.concatenate(
            [dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g**2),
             dh * tc * o * (1 - o)], axis=1,
        )  # fmt: skip
        dk += xt.T @ dz
        du += h_prev.T @ dz
        db += dz.sum(0)
        dx[:, t] = dz @ k.T
        dh_rec, dc_rec = dz @ u.T, dc * f
    return dx, {f"{p}.kernel": dk, f"{p}.recurrent_kernel": du, f"{p}.bias": db}


def _lstm_final_index(layer: kinds.LSTM, direction: int) -> int:
    """The step whose output is a direction's final state: the last forward, the first backward."""
    return 0 if direction == 1 else layer.steps - 1


def _lstm_forward(ref: Reference, layer: kinds.LSTM, x: np.ndarray) -> np.ndarray:
    outs, caches = [], []
    for j, p in enumerate(layer.directions):
        out, cache = lstm_direction(x, ref.w, p, reverse=j == 1)
        outs.append(out if layer.return_sequences else out[:, _lstm_final_index(layer, j)])
        caches.append(cache)
    ref.cache[layer.name] = caches
    return np.concatenate(outs, axis=-1)


def _lstm_backward(
    ref: Reference, layer: kinds.LSTM, x: np.ndarray, d: np.ndarray, grads: Arrays
) -> list[np.ndarray]:
    hid, dx = layer.hidden, np.zeros_like(x)
    for j, p in enumerate(layer.directions):
        part = d[..., j * hid : (j + 1) * hid]
        if not layer.return_sequences:  # only the final state reached the loss
            full = np.zeros((len(x), layer.steps, hid))
            full[:, _lstm_final_index(layer, j)] = part
            part = full
        dxj, g = lstm_direction_backward(part, ref.w, p, ref.cache[layer.name][j], x.shape)
        dx += dxj
        grads.update(g)
    return [dx]


_reference_forward = Reference._forward
_reference_backward = Reference._backward


def _forward_with_lstm(
    self: Reference, layer: kinds.Layer, args: list[np.ndarray], training: bool
) -> np.ndarray:
    if isinstance(layer, kinds.LSTM):
        return _lstm_forward(self, layer, args[0])
    return _reference_forward(self, layer, args, training)


def _backward_with_lstm(
    self: Reference, layer: kinds.Layer, d: np.ndarray, grads: Arrays
) -> list[np.ndarray]:
    if isinstance(layer, kinds.LSTM):
        x = self.outputs[self.sources[layer.name][0]]
        return _lstm_backward(self, layer, x, d, grads)
    return _reference_backward(self, layer, d, grads)


Reference._forward = _forward_with_lstm  # type: ignore[method-assign]
Reference._backward = _backward_with_lstm  # type: ignore[method-assign]


# -- sequence layer kinds (issue 10): embeddings, LayerNorm, GELU, dropout, attention, pooling ----
# Hooked into :class:`Reference` below by wrapping its per-kind dispatch, so this section stays
# self-contained. Every backward here is analytic (float64), checked in test_seq_zoo.py against
# central differences as well as against the frameworks.
def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU, x·Φ(x) = x/2·(1 + erf(x/√2))."""
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def gelu_grad(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * (1.0 + erf(x / np.sqrt(2.0))) + x * np.exp(-0.5 * x * x) / np.sqrt(2 * np.pi)


def attention_mask(layer: kinds.MultiHeadAttention, tokens: np.ndarray | None, t: int):
    """(N or 1, 1, T, T) boolean: True where query i may attend to key j."""
    allowed = np.ones((1, 1, t, t), dtype=bool)
    if layer.causal:
        allowed = allowed & np.tril(np.ones((t, t), dtype=bool))[None, None]
    if layer.padding:
        assert tokens is not None
        keys = np.asarray(tokens).astype(np.int64) != kinds.PAD_ID  # (N, T)
        allowed = allowed & keys[:, None, None, :]
    return allowed


def _heads(a: np.ndarray, heads: int) -> np.ndarray:
    n, t, d = a.shape
    return a.reshape(n, t, heads, d // heads).transpose(0, 2, 1, 3)  # (N, H, T, hd)


def _merge(a: np.ndarray) -> np.ndarray:
    n, h, t, hd = a.shape
    return a.transpose(0, 2, 1, 3).reshape(n, t, h * hd)


def _pool_mask(layer: kinds.SequenceMeanPool, args: list[np.ndarray]) -> np.ndarray:
    x = args[0]
    if not layer.padding:
        return np.ones(x.shape[:2])
    return (np.asarray(args[1]).astype(np.int64) != kinds.PAD_ID).astype(np.float64)


def _sequence_forward(self: Reference, layer: Any, args: list[np.ndarray], training: bool):
    x, w, name = args[0], self.w, layer.name
    if isinstance(layer, kinds.Embedding):
        return w[f"{name}.embeddings"][np.asarray(x).astype(np.int64)]
    if isinstance(layer, kinds.PositionalEmbedding):
        return x + w[f"{name}.embeddings"][: x.shape[1]]
    if isinstance(layer, kinds.TokenDense):
        y = x @ w[f"{name}.kernel"]
        return y + w[f"{name}.bias"] if layer.bias else y
    if isinstance(layer, kinds.LayerNorm):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        inv = 1.0 / np.sqrt(var + kinds.LN_EPSILON)
        xhat = (x - mean) * inv
        self.cache[name] = (xhat, inv)
        return w[f"{name}.gamma"] * xhat + w[f"{name}.beta"]
    if isinstance(layer, kinds.GELU):
        return gelu(x)
    if isinstance(layer, kinds.Dropout):
        if training and layer.rate > 0:
            raise NotImplementedError("the reference has no dropout RNG: test at rate 0")
        return x
    if isinstance(layer, kinds.MultiHeadAttention):
        if training and layer.dropout > 0:
            raise NotImplementedError("the reference has no dropout RNG: test at rate 0")
        p = {
            k: x @ w[f"{name}.{k}.kernel"] + w[f"{name}.{k}.bias"]
            for k in ("query", "key", "value")
        }
        q, k, v = (_heads(p[key], layer.heads) for key in ("query", "key", "value"))
        scale = 1.0 / np.sqrt(layer.head_dim)
        scores = q @ k.transpose(0, 1, 3, 2) * scale
        allowed = attention_mask(layer, args[1] if layer.padding else None, x.shape[1])
        scores = np.where(allowed, scores, -np.inf)
        e = np.exp(scores - scores.max(-1, keepdims=True))
        probs = e / e.sum(-1, keepdims=True)
        o = _merge(probs @ v)
        self.cache[name] = (q, k, v, probs, o, scale)
        return o @ w[f"{name}.output.kernel"] + w[f"{name}.output.bias"]
    if isinstance(layer, kinds.SequenceMeanPool):
        m = _pool_mask(layer, args)
        return (x * m[..., None]).sum(1) / m.sum(1, keepdims=True)
    if isinstance(layer, kinds.TiedHead):
        return x @ w[f"{layer.embedding}.embeddings"].T
    return _base_forward(self, layer, args, training)


def _add(grads: Arrays, key: str, g: np.ndarray) -> None:
    grads[key] = grads[key] + g if key in grads else g


def _sequence_backward(self: Reference, layer: Any, d: np.ndarray, grads: Arrays):
    name, w = layer.name, self.w
    args = [self.outputs[s] for s in self.sources[name]]
    x = args[0]
    if isinstance(layer, kinds.Embedding):
        table = np.zeros_like(w[f"{name}.embeddings"])
        np.add.at(table, np.asarray(x).astype(np.int64), d)
        _add(grads, f"{name}.embeddings", table)
        return [np.zeros(x.shape)]  # token ids have no gradient
    if isinstance(layer, kinds.PositionalEmbedding):
        table = np.zeros_like(w[f"{name}.embeddings"])
        table[: x.shape[1]] = d.sum(0)
        _add(grads, f"{name}.embeddings", table)
        return [d]
    if isinstance(layer, kinds.TokenDense):
        _add(grads, f"{name}.kernel", x.reshape(-1, x.shape[-1]).T @ d.reshape(-1, d.shape[-1]))
        if layer.bias:
            _add(grads, f"{name}.bias", d.reshape(-1, d.shape[-1]).sum(0))
        return [d @ w[f"{name}.kernel"].T]
    if isinstance(layer, kinds.LayerNorm):
        xhat, inv = self.cache[name]
        axes = tuple(range(d.ndim - 1))
        _add(grads, f"{name}.gamma", (d * xhat).sum(axes))
        _add(grads, f"{name}.beta", d.sum(axes))
        g = d * w[f"{name}.gamma"]
        n = x.shape[-1]
        dx = inv / n * (n * g - g.sum(-1, keepdims=True) - xhat * (g * xhat).sum(-1, keepdims=True))
        return [dx]
    if isinstance(layer, kinds.GELU):
        return [d * gelu_grad(x)]
    if isinstance(layer, kinds.Dropout):
        return [d]
    if isinstance(layer, kinds.MultiHeadAttention):
        q, k, v, probs, o, scale = self.cache[name]
        _add(
            grads,
            f"{name}.output.kernel",
            o.reshape(-1, o.shape[-1]).T @ d.reshape(-1, d.shape[-1]),
        )
        _add(grads, f"{name}.output.bias", d.reshape(-1, d.shape[-1]).sum(0))
        do = _heads(d @ w[f"{name}.output.kernel"].T, layer.heads)
        dprobs = do @ v.transpose(0, 1, 3, 2)
        dv = probs.transpose(0, 1, 3, 2) @ do
        ds = probs * (dprobs - (dprobs * probs).sum(-1, keepdims=True))
        dq = ds @ k * scale
        dk = ds.transpose(0, 1, 3, 2) @ q * scale
        flat = x.reshape(-1, x.shape[-1])
        dx = np.zeros_like(x)
        for key, dh in (("query", dq), ("key", dk), ("value", dv)):
            dm = _merge(dh)
            _add(grads, f"{name}.{key}.kernel", flat.T @ dm.reshape(-1, dm.shape[-1]))
            _add(grads, f"{name}.{key}.bias", dm.reshape(-1, dm.shape[-1]).sum(0))
            dx = dx + dm @ w[f"{name}.{key}.kernel"].T
        return [dx, np.zeros(args[1].shape)] if layer.padding else [dx]
    if isinstance(layer, kinds.SequenceMeanPool):
        m = _pool_mask(layer, args)
        dx = d[:, None, :] * (m / m.sum(1, keepdims=True))[..., None]
        return [dx, np.zeros(args[1].shape)] if layer.padding else [dx]
    if isinstance(layer, kinds.TiedHead):
        table = w[f"{layer.embedding}.embeddings"]
        flat_d = d.reshape(-1, d.shape[-1])
        _add(grads, f"{layer.embedding}.embeddings", flat_d.T @ x.reshape(-1, x.shape[-1]))
        return [d @ table]
    return _base_backward(self, layer, d, grads)


_base_forward, _base_backward = Reference._forward, Reference._backward
Reference._forward = _sequence_forward  # type: ignore[method-assign]
Reference._backward = _sequence_backward  # type: ignore[method-assign]
