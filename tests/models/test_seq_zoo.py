"""The sequence models' own checks, beyond test_zoo.py's registry-wide parity (issue 10).

At tiny sizes, dropout 0, each framework against the float64 reference of
tests/models/reference.py: masks (a padded batch whose padding changes nothing; a causal model
whose future tokens change nothing), the patch-projection encoder (MNIST-1D as a sequence), one
AdamW step with clipping through the adapters, 20 AdamW steps under warm-up + cosine on fixed
gradients with the models' real canonical names (embeddings, LayerNorm and biases excluded from
decay), dropout in training, and FLOPs per token against torch.utils.flop_counter. The reference's
own backward is checked against central differences first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from bench import zoo
from bench.catalog import architectures, flops
from bench.catalog.frameworks import get_variant
from bench.catalog.schedules import lr_table
from bench.catalog.weights import init_weights
from bench.run.adapter import load_adapter
from bench.zoo.layers import PAD_ID, MultiHeadAttention, TiedHead
from bench.zoo.recipes import decays, sequence
from bench.zoo.specs import ModelSpec, Recipe, Settings
from tests.models import optim_reference as oref
from tests.models.reference import Reference, reference_loss_and_gradients
from tests.models.test_recipes import run_optimizer
from tests.models.test_zoo import FRAMEWORKS, rel_err

LOGIT_RTOL, GRAD_RTOL, STEP_RTOL = 1e-5, 1e-4, 1e-5
BATCH = 4
GPT = zoo.get("gpt").tiny
ENCODER = zoo.get("transformer").tiny  # token ids, padding masked
PATCHES = ModelSpec("transformer", (5, 4), 3, {"layers": 1, "dim": 8, "heads": 2})


@pytest.fixture(params=FRAMEWORKS)
def adapter(request: pytest.FixtureRequest) -> Any:
    """Each framework's adapter, configured once per process (test_zoo.py's cache)."""
    from tests.models import test_zoo

    name = request.param
    if name not in test_zoo._adapters:
        a = load_adapter(get_variant(name))
        a.configure(Settings(threads=2, interop_threads=1))
        test_zoo._adapters[name] = a
    return test_zoo._adapters[name]


def tokens(spec: ModelSpec, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(1, spec.params["vocab_size"], size=(BATCH, *spec.input_shape)).astype(
        np.int32
    )


def perturbed_weights(spec: ModelSpec) -> dict[str, np.ndarray]:
    """Initial weights with the constant ones (biases, LayerNorm) moved off 0 and 1, and the
    query/key kernels scaled up: at init (std 0.02) attention is nearly uniform and the query and
    key gradients ~1e-7, which would leave their layout loosely tested."""
    w = init_weights(spec, seed=2)
    rng = np.random.default_rng(4)
    out = {}
    for k, v in w.items():
        if np.all(v == v.flat[0]):
            v = v + rng.normal(0, 0.1, v.shape)
        elif k.endswith((".query.kernel", ".key.kernel")):
            v = v * 25
        out[k] = v.astype(np.float32)
    return out


def build(adapter: Any, spec: ModelSpec, w: dict[str, np.ndarray], recipe: Recipe | None = None):
    recipe = recipe or Recipe(optimizer="sgd", lr=0.1, batch_size=BATCH, steps=1)
    return adapter.build(spec, w, recipe, lr_table(recipe))


# -- the reference's own backward ------------------------------------------------------------
@pytest.mark.parametrize("spec", [GPT, ENCODER, PATCHES], ids=["gpt", "encoder", "patches"])
def test_reference_gradients_match_central_differences(spec: ModelSpec) -> None:
    w = {k: v.astype(np.float64) for k, v in perturbed_weights(spec).items()}
    rng = np.random.default_rng(8)
    if "vocab_size" in spec.params:
        x = tokens(spec, 1)
        x[0, -3:] = PAD_ID  # padding in play where the model masks it
    else:
        x = rng.normal(size=(BATCH, *spec.input_shape))
    lm = spec.params.get("task") == "lm"
    y = rng.integers(spec.num_classes, size=(BATCH, *spec.input_shape) if lm else BATCH)
    _, grads, _ = reference_loss_and_gradients(spec, w, x, y)
    for name, g in grads.items():
        for index in [np.unravel_index(int(np.argmax(np.abs(g))), g.shape), (0,) * g.ndim]:
            h = 1e-6
            plus, minus = dict(w), dict(w)
            plus[name], minus[name] = w[name].copy(), w[name].copy()
            plus[name][index] += h
            minus[name][index] -= h
            numeric = (
                reference_loss_and_gradients(spec, plus, x, y)[0]
                - reference_loss_and_gradients(spec, minus, x, y)[0]
            ) / (2 * h)
            assert abs(numeric - g[index]) <= 1e-6 + 1e-5 * abs(numeric), (name, index)


# -- masks ---------------------------------------------------------------------------------------
def test_padding_changes_nothing(adapter: Any) -> None:
    """Sample i of a padded batch gets the logits of its unpadded prefix alone (the reference runs
    each prefix at its own length): attention ignores padded keys and the pool padded rows."""
    w = perturbed_weights(ENCODER)
    x = tokens(ENCODER, 3)
    lengths = [8, 5, 3, 1]
    for i, n in enumerate(lengths):
        x[i, n:] = PAD_ID
    got = adapter.logits(build(adapter, ENCODER, w), x)
    ref = Reference(ENCODER, w)
    want = np.concatenate([ref.forward(x[i : i + 1, :n]) for i, n in enumerate(lengths)])
    assert rel_err(got, want) <= LOGIT_RTOL, rel_err(got, want)
    # The same tokens with the mask off attend to the padding: the check can fail.
    unmasked = replace(ENCODER, params={**ENCODER.params, "padding": False})
    assert rel_err(Reference(unmasked, w).forward(x), want) > 1e-3


def test_future_tokens_change_nothing(adapter: Any) -> None:
    """Changing the tokens after position t leaves the causal LM's logits at positions ≤ t as
    they were, in the framework and in the reference."""
    w = perturbed_weights(GPT)
    x = tokens(GPT, 5)
    changed = x.copy()
    t = 3
    changed[:, t + 1 :] = (x[:, t + 1 :] % (GPT.params["vocab_size"] - 1)) + 1
    model = build(adapter, GPT, w)
    before, after = adapter.logits(model, x), adapter.logits(model, changed)
    np.testing.assert_allclose(after[:, : t + 1], before[:, : t + 1], rtol=0, atol=1e-6)
    assert np.abs(after[:, t + 1 :] - before[:, t + 1 :]).max() > 1e-3  # later ones move
    ref = Reference(GPT, w).forward(changed)
    assert rel_err(after, ref) <= LOGIT_RTOL


# -- the patch encoder (MNIST-1D as a sequence of patches) ---------------------------------------
def test_patch_encoder_logits_and_gradients(adapter: Any) -> None:
    w = perturbed_weights(PATCHES)
    rng = np.random.default_rng(6)
    x = rng.normal(size=(BATCH, *PATCHES.input_shape)).astype(np.float32)
    y = rng.integers(PATCHES.num_classes, size=BATCH)
    model = build(adapter, PATCHES, w)
    assert rel_err(adapter.logits(model, x), Reference(PATCHES, w).forward(x)) <= LOGIT_RTOL
    _, want, _ = reference_loss_and_gradients(PATCHES, w, x, y)
    _, got = adapter.loss_and_gradients(model, x, y)
    scale = max(float(np.abs(g).max()) for g in want.values())
    for k, g in want.items():
        if k.endswith(".key.bias"):  # zero in exact arithmetic (softmax is shift-invariant)
            assert float(np.abs(got[k]).max()) <= GRAD_RTOL * scale, k
        else:
            assert rel_err(got[k], g) <= GRAD_RTOL, (k, rel_err(got[k], g))


# -- recipes -------------------------------------------------------------------------------------
def test_one_adamw_step_with_clipping_through_the_adapter(adapter: Any) -> None:
    """A training step of the sequence recipe (AdamW, decoupled decay without embeddings,
    LayerNorm and biases, global-norm clip) on the tiny GPT: the reference gradients through
    the reference optimizer. eps 1e-3 keeps Adam's first step, g/|g|, well-conditioned where a
    gradient is ~0 (the key bias)."""
    recipe = replace(
        sequence(1, BATCH, 0.01, 0, weight_decay=0.5, clip_grad_norm=0.05),
        optimizer_args={"beta1": 0.9, "beta2": 0.999, "eps": 1e-3},
    )
    w = perturbed_weights(GPT)
    x = tokens(GPT, 7)
    y = np.random.default_rng(9).integers(GPT.num_classes, size=x.shape)
    _, g, _ = reference_loss_and_gradients(GPT, w, x, y)
    norm = np.sqrt(sum(float((v**2).sum()) for v in g.values()))
    assert norm > 0.05  # the clip acts
    lr = lr_table(recipe)
    want = oref.adam(w, [g], [float(lr[0])], recipe.optimizer_args, 0.5, True, True, 0.05)
    model = build(adapter, GPT, w, recipe)
    adapter.train_round(model, x[None], y[None])
    got = adapter.get_weights(model)
    for k in want:
        assert rel_err(got[k], want[k]) <= STEP_RTOL, (k, rel_err(got[k], want[k]))
    # The tensors whose gradient is not tiny took steps far above the tolerance's scale.
    large = {k for k, v in g.items() if np.abs(v).max() > 1e-3}
    assert {"wte.embeddings", "final_ln.gamma", "block1_mlp_fc.kernel", "wpe.embeddings"} <= large
    assert min(float(np.abs(want[k] - w[k]).max()) for k in large) > 1e-4
    assert not decays("wte.embeddings") and not decays("block0_ln1.gamma")


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_twenty_adamw_steps_under_warmup_cosine_on_the_models_names(fw: str) -> None:
    """The sequence recipe's optimizer on fixed gradients, 20 steps (5 warm-up, then cosine),
    over the tiny GPT's canonical tensors: embedding tables, LayerNorm and biases not decayed."""
    recipe = sequence(20, BATCH, 0.01, 5, weight_decay=0.5, clip_grad_norm=1.0)
    w = perturbed_weights(GPT)
    rng = np.random.default_rng(10)
    grads = [{k: rng.normal(0, 0.1, v.shape).astype(np.float32) for k, v in w.items()}
             for _ in range(20)]  # fmt: skip
    lr = lr_table(recipe)
    want = oref.adam(w, grads, [float(v) for v in lr], recipe.optimizer_args, 0.5, True, True, 1.0)
    got = run_optimizer(fw, recipe, w, grads, lr)
    for k in want:
        assert np.abs(got[k] - want[k]).max() <= STEP_RTOL, k
    decayed_everywhere = oref.adam(
        w, grads, [float(v) for v in lr], recipe.optimizer_args, 0.5, False, True, 1.0
    )
    assert np.abs(decayed_everywhere["wte.embeddings"] - want["wte.embeddings"]).max() > 1e-4


# -- dropout -------------------------------------------------------------------------------------
def test_dropout_acts_in_training_only(adapter: Any) -> None:
    """At rate 0.5 training-mode logits move (each framework's own RNG); inference-mode logits
    are the reference's (dropout is the identity there)."""
    spec = replace(GPT, params={**GPT.params, "dropout": 0.5})
    w = perturbed_weights(spec)
    x = tokens(spec, 12)
    model = build(adapter, spec, w)
    ref = Reference(spec, w).forward(x)
    assert rel_err(adapter.logits(model, x), ref) <= LOGIT_RTOL
    assert rel_err(adapter.logits(model, x, training=True), ref) > 1e-2


# -- FLOPs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("spec", [GPT, ENCODER, PATCHES], ids=["gpt", "encoder", "patches"])
def test_flops_match_torch_counter(spec: ModelSpec) -> None:
    """torch.utils.flop_counter, under the math SDPA backend (the fused kernels are not counted):
    the forward is the layer table's matmul FLOPs; forward + backward per token is the 6N +
    12·L·d·T rule plus what the rule leaves out (a tied head's 6·d·V) less what N holds but no
    matmul does (biases, LayerNorm: 6 per parameter)."""
    torch = pytest.importorskip("torch")
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    from models.torch.adapter import architecture_builder

    w = init_weights(spec, seed=0)
    module = architecture_builder(spec.name)(spec, w).train()  # train(): no inference fast path
    if "vocab_size" in spec.params:
        x = torch.from_numpy(tokens(spec, 0).astype(np.int64))
    else:
        x = torch.randn(BATCH, *spec.input_shape)
    forward = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), forward, torch.no_grad():
        module(x)
    assert forward.get_total_flops() == BATCH * flops.matmul_flops(spec)

    train = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), train:
        module(x).sum().backward()
    steps = spec.input_shape[0]
    shapes = architectures.weight_shapes(spec)
    size = {n: int(np.prod(shape)) for n, shape in shapes.items()}
    table = architectures.layers(spec)
    # In N but in no matmul: biases and LayerNorm (6 FLOPs per parameter per token by the rule).
    no_matmul = sum(v for n, v in size.items() if n.endswith((".bias", ".gamma", ".beta")))
    # Left out by the rule: a tied LM head's matmul, 6·d·V per token.
    tied_head = sum(6 * la.dim * la.vocab for la in table if isinstance(la, TiedHead))
    # The patch projection's input needs no gradient: its backward is the weight's alone.
    patch_input_grad = 2 * size.get("patch.kernel", 0)
    # The classifier's head runs once per sequence, not once per token.
    head = 6 * size.get("head.kernel", 0)
    per_token = flops.train_flops_per_token(spec) - 6 * no_matmul + tied_head - patch_input_grad
    assert train.get_total_flops() == BATCH * (steps * (per_token - head) + head)
    layers = [la for la in architectures.layers(spec) if isinstance(la, MultiHeadAttention)]
    assert flops.attention_context_flops(spec) == sum(12 * la.dim * steps for la in layers) > 0


# -- language-model evaluation -------------------------------------------------------------------
def test_lm_evaluate_is_per_token(adapter: Any) -> None:
    """``evaluate`` of a language model: (mean cross-entropy over every position in nats per
    token, per-token accuracy), the same across batch sizes (3 rows a batch: a short last one)."""
    from tests.models.reference import softmax

    w = perturbed_weights(GPT)
    x = np.concatenate([tokens(GPT, 13), tokens(GPT, 14)])[:7]
    y = np.random.default_rng(15).integers(GPT.num_classes, size=x.shape)
    logits = Reference(GPT, w).forward(x).reshape(-1, GPT.num_classes)
    p = softmax(logits)
    want_loss = float(-np.log(p[np.arange(y.size), y.ravel()]).mean())
    want_acc = float((logits.argmax(1) == y.ravel()).mean())
    model = build(adapter, GPT, w)
    for batch in (3, 100):
        loss, accuracy = adapter.evaluate(model, x, y, batch)
        assert loss == pytest.approx(want_loss, rel=1e-5)
        assert accuracy == pytest.approx(want_acc, abs=1e-12)


def test_lm_evaluation_batches_are_capped() -> None:
    from bench.catalog.suites import model_spec
    from bench.run.worker import EVAL_LOGITS, eval_batch_size

    gpt2 = model_spec("gpt", "synthetic-tokens-gpt2")
    assert eval_batch_size(1000, gpt2) == max(1, EVAL_LOGITS // (50_257 * 512)) == 1
    assert eval_batch_size(1000, GPT) == 1000  # tiny: within the cap
    assert eval_batch_size(1000, ENCODER) == 1000  # classifiers keep theirs


def test_token_batches_through_every_scope(adapter: Any) -> None:
    """Integer token ids stay integers through the loop scope's input pipeline (DataLoader,
    tf.data, Keras's fit) and the window scope: the same two LM steps, the same losses."""
    w = perturbed_weights(GPT)
    x = np.concatenate([tokens(GPT, 16), tokens(GPT, 17)])
    y = np.random.default_rng(18).integers(GPT.num_classes, size=x.shape).astype(np.int32)
    idx = np.arange(len(x)).reshape(2, BATCH)
    recipe = sequence(2, BATCH, 0.01, 0)
    _, loop_losses = adapter.loop_window(build(adapter, GPT, w, recipe), x, y, idx)
    _, window_losses = adapter.train_window(build(adapter, GPT, w, recipe), x[idx], y[idx])
    np.testing.assert_allclose(loop_losses, window_losses, rtol=1e-5)
    first = reference_loss_and_gradients(GPT, w, x[:BATCH], y[:BATCH])[0]
    assert window_losses[0] == pytest.approx(first, rel=1e-5)
