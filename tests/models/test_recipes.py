"""The training recipes in every framework against float64 NumPy (tests/models/optim_reference.py).

Optimizers are driven on fixed gradients through each framework's ``models/<fw>/optim.make``
(canonical names in, so the bias/BatchNorm exclusion is exercised on names such as
``bn1.gamma``), then the adapters are checked end to end on the logreg model (names passed,
smoothed training loss, unsmoothed evaluation loss, stock optimizer option). Tolerance: the
suite's 1e-5; float32 arithmetic of these sizes is ~1e-7 off float64.
"""

from __future__ import annotations

import importlib
import math
from typing import Any

import numpy as np
import pytest

from bench.catalog.schedules import lr_table
from bench.catalog.weights import init_weights
from bench.zoo.recipes import decays, resnet_cifar, resnet_imagenet
from bench.zoo.specs import ModelSpec, Recipe, Settings
from tests.conftest import installed
from tests.models import optim_reference as ref

LIBRARY = {"torch": ("torch",), "tf": ("tensorflow",), "keras": ("keras", "tensorflow")}
FRAMEWORKS = [
    pytest.param(fw, marks=pytest.mark.skipif(not installed(*mods), reason=f"needs {mods}"))
    for fw, mods in LIBRARY.items()
]
ATOL = 1e-5
SHAPES = {
    "conv1.kernel": (3, 3, 2, 4),
    "bn1.gamma": (4,),
    "bn1.beta": (4,),
    "dense.kernel": (4, 3),
    "dense.bias": (3,),
}


def _weights(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s).astype(np.float32) for k, s in SHAPES.items()}


def _grads(steps: int, seed: int) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [
        {k: rng.normal(scale=0.5, size=s).astype(np.float32) for k, s in SHAPES.items()}
        for _ in range(steps)
    ]


def _keras_ok() -> None:
    import keras

    if keras.backend.backend() != "tensorflow":
        pytest.skip("keras runs on another backend in this process")


def run_optimizer(
    fw: str,
    recipe: Recipe,
    w: dict[str, np.ndarray],
    grads: list[dict[str, np.ndarray]],
    lr: np.ndarray,
    stock: bool = False,
) -> dict[str, np.ndarray]:
    """``len(grads)`` steps of ``optim.make(recipe, ...)`` on the fixed gradients, step k at
    rate ``lr[k]`` (torch: set per step as the adapter does; tf/keras: read from the table)."""
    if fw == "torch":
        import torch

        from models.torch import optim

        params = {k: torch.nn.Parameter(torch.tensor(v)) for k, v in w.items()}
        opt = optim.make(recipe, list(params.items()), float(lr[0]), stock=stock)
        for k, g in enumerate(grads):
            for group in opt.param_groups:
                group["lr"] = float(lr[k])
            for name, p in params.items():
                p.grad = torch.tensor(g[name])
            opt.step()
        return {k: p.detach().numpy().copy() for k, p in params.items()}
    if fw == "tf":
        import tensorflow as tf

        from models.tf import optim

        variables = {k: tf.Variable(v, name=k.replace(".", "_")) for k, v in w.items()}
        opt = optim.make(recipe, list(variables.items()), lr, stock=stock)
        ordered = list(variables.values())
        step = tf.function(lambda gs: opt.apply(gs, ordered))
        for g in grads:
            step([tf.constant(g[k]) for k in variables])
        return {k: v.numpy() for k, v in variables.items()}
    _keras_ok()
    import keras

    from models.keras import optim

    kvars = {k: keras.Variable(v, name=k.replace(".", "_")) for k, v in w.items()}
    opt = optim.make(recipe, list(kvars.items()), lr, stock=stock)
    for g in grads:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g[k]), v) for k, v in kvars.items()])
    return {k: keras.ops.convert_to_numpy(v.value) for k, v in kvars.items()}


def _assert_close(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=ATOL, err_msg=k)


# -- the recipe's vocabulary -----------------------------------------------------------------
def test_decay_exclusion_rule_on_canonical_names() -> None:
    assert decays("conv1.kernel") and decays("dense.kernel") and decays("bn1.moving_mean")
    for name in ("conv1.bias", "bn1.gamma", "bn1.beta", "gru.forward.bias"):
        assert not decays(name), name


def test_published_recipes_are_written_out() -> None:
    cifar = resnet_cifar(64000)
    assert (cifar.weight_decay, cifar.decay_exclusions, cifar.optimizer_args["momentum"]) == (
        1e-4,
        True,
        0.9,
    )
    table = lr_table(cifar)
    assert (table[31999], table[32000], table[48000]) == pytest.approx((0.1, 0.01, 0.001))
    net = resnet_imagenet(1000, batch_size=512, warmup_steps=50)
    assert net.lr == pytest.approx(0.2) and net.label_smoothing == 0.1
    assert lr_table(net)[49] == pytest.approx(0.2) and lr_table(net)[0] == pytest.approx(0.004)
    for r in (cifar, net):
        assert Recipe.from_dict(r.to_dict()) == r


def test_old_records_load_and_new_fields_round_trip() -> None:
    old = {
        "optimizer": "momentum",
        "lr": 0.1,
        "batch_size": 8,
        "steps": 100,
        "schedule": "cosine",
        "weight_decay": 1e-4,
        "optimizer_args": {"momentum": 0.9},
        "schedule_args": {},
        "eval_every": 10,
        "warmup_steps": 2,
    }
    r = Recipe.from_dict(old)
    assert (r.decay_exclusions, r.label_smoothing) == (False, 0.0)
    assert r.optimizer_args == {"momentum": 0.9, "nesterov": False}  # written out
    assert r.schedule_args == {}  # the older schedules' records are unchanged
    new = Recipe(
        optimizer="momentum",
        optimizer_args={"nesterov": True},
        schedule="warmup_step",
        steps=200,
        decay_exclusions=True,
        label_smoothing=0.1,
    )
    assert new.schedule_args == {"warmup_steps": 0, "milestones": [0.5, 0.75], "gamma": 0.1}
    assert Recipe.from_dict(new.to_dict()) == new
    with pytest.raises(ValueError, match="label_smoothing"):
        Recipe(label_smoothing=1.0)


def test_existing_schedules_keep_their_values() -> None:
    const = Recipe(lr=0.3, steps=7)
    step = Recipe(lr=0.3, steps=9, schedule="step", schedule_args={"gamma": 0.5})
    cos = Recipe(lr=0.3, steps=10, schedule="cosine", schedule_args={"min_lr": 0.01})
    np.testing.assert_allclose(lr_table(const), np.float32(0.3))
    np.testing.assert_allclose(lr_table(step), [0.3 * 0.5 ** (k // 3) for k in range(9)])
    want = [0.01 + 0.145 * (1 + math.cos(math.pi * k / 10)) for k in range(10)]
    np.testing.assert_allclose(lr_table(cos), want, rtol=1e-6)


def test_warmup_schedules() -> None:
    base = {"lr": 0.4, "steps": 20}
    cos = lr_table(Recipe(**base, schedule="warmup_cosine", schedule_args={"warmup_steps": 4}))
    np.testing.assert_allclose(cos[:4], [0.1, 0.2, 0.3, 0.4], rtol=1e-6)
    want = [0.2 * (1 + math.cos(math.pi * (k - 4) / 16)) for k in range(4, 20)]
    np.testing.assert_allclose(cos[4:], want, rtol=1e-6, atol=1e-8)
    plain = lr_table(Recipe(**base, schedule="cosine"))
    no_warm = lr_table(Recipe(**base, schedule="warmup_cosine"))
    np.testing.assert_array_equal(no_warm, plain)  # W = 0 is the cosine schedule

    args = {"warmup_steps": 2, "milestones": [0.25, 0.6], "gamma": 0.1}  # steps 5 and 12
    st = lr_table(Recipe(**base, schedule="warmup_step", schedule_args=args))
    want = [0.2, 0.4, 0.4, 0.4, 0.4] + [0.04] * 7 + [0.004] * 8
    np.testing.assert_allclose(st, want, rtol=1e-6)


# -- optimizers on fixed gradients ---------------------------------------------------------------
@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_one_nesterov_step_with_coupled_decay_and_exclusions(fw: str) -> None:
    recipe = Recipe(
        optimizer="momentum",
        optimizer_args={"momentum": 0.9, "nesterov": True},
        weight_decay=0.1,
        decay_exclusions=True,
    )
    w, grads, lr = _weights(0), _grads(1, 1), np.array([0.2], np.float32)
    want = ref.sgd_momentum(w, grads, [0.2], 0.9, True, 0.1, exclusions=True)
    _assert_close(run_optimizer(fw, recipe, w, grads, lr), want)
    # The exclusion is visible at this tolerance: decaying everything moves gamma/beta/bias.
    every = ref.sgd_momentum(w, grads, [0.2], 0.9, True, 0.1, exclusions=False)
    for k in ("bn1.gamma", "bn1.beta", "dense.bias"):
        assert np.abs(every[k] - want[k]).max() > 100 * ATOL, k


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_twenty_steps_under_warmup_cosine(fw: str, optimizer: str) -> None:
    nesterov = {"momentum": {"momentum": 0.9, "nesterov": True}, "adam": {"eps": 1e-3}}
    recipe = Recipe(
        optimizer=optimizer,
        optimizer_args=nesterov[optimizer],
        lr=0.1,
        steps=20,
        schedule="warmup_cosine",
        schedule_args={"warmup_steps": 5, "min_lr": 0.001},
        weight_decay=5e-2,
        decay_exclusions=True,
    )
    lr = lr_table(recipe)
    w, grads = _weights(2), _grads(20, 3)
    lrs = [float(v) for v in lr]
    if optimizer == "momentum":
        want = ref.sgd_momentum(w, grads, lrs, 0.9, True, 5e-2, exclusions=True)
    else:
        want = ref.adam(w, grads, lrs, recipe.optimizer_args, 5e-2, exclusions=True)
    _assert_close(run_optimizer(fw, recipe, w, grads, lr), want)


def test_keras_momentum_formula_parts_from_torch_under_a_schedule() -> None:
    """Why the formula-matched optimizer is needed: with the rate changing, Keras's
    v = mu·v − lr·g gives other weights than torch's v = mu·v + g (no decay, same gradients)."""
    w, grads = _weights(4), _grads(20, 5)
    lrs = [float(v) for v in lr_table(Recipe(lr=0.1, steps=20, schedule="cosine"))]
    torch_form = ref.sgd_momentum(w, grads, lrs, 0.9, True, 0.0, exclusions=False)
    keras_form = ref.keras_sgd_momentum(w, grads, lrs, 0.9, True)
    assert max(np.abs(torch_form[k] - keras_form[k]).max() for k in w) > 1000 * ATOL
    const = [0.1] * 20
    _assert_close(
        ref.keras_sgd_momentum(w, grads, const, 0.9, True),
        ref.sgd_momentum(w, grads, const, 0.9, True, 0.0, exclusions=False),
    )


@pytest.mark.parametrize("fw", [p for p in FRAMEWORKS if p.values[0] != "torch"])
def test_stock_sgd_is_keras_formula_and_departs_under_a_schedule(fw: str) -> None:
    """Stock tf/keras momentum (keras.optimizers.SGD) follows Keras's formula, documented as
    differing from the suite's once the rate changes; both follow the harness's lr table."""
    recipe = Recipe(
        optimizer="momentum",
        optimizer_args={"nesterov": True},
        lr=0.1,
        steps=12,
        schedule="warmup_cosine",
        schedule_args={"warmup_steps": 4},
    )
    lr = lr_table(recipe)
    w, grads = _weights(6), _grads(12, 7)
    got = run_optimizer(fw, recipe, w, grads, lr, stock=True)
    _assert_close(got, ref.keras_sgd_momentum(w, grads, [float(v) for v in lr], 0.9, True))
    formula = run_optimizer(fw, recipe, w, grads, lr, stock=False)
    assert max(np.abs(got[k] - formula[k]).max() for k in w) > 100 * ATOL


def test_torch_stock_is_the_formula_matched_optimizer() -> None:
    pytest.importorskip("torch")
    import torch

    from models.torch import optim

    recipe = Recipe(optimizer="momentum", optimizer_args={"nesterov": True}, weight_decay=0.1)
    p = [
        ("a.kernel", torch.nn.Parameter(torch.ones(2))),
        ("a.bias", torch.nn.Parameter(torch.ones(2))),
    ]
    for stock in (False, True):
        opt = optim.make(recipe, p, 0.1, stock=stock)
        assert type(opt) is torch.optim.SGD and opt.defaults["nesterov"] is True
        assert [g["weight_decay"] for g in opt.param_groups] == [0.1]  # no exclusions asked


# -- AdamW and clipping (issue 10's recipe) ---------------------------------------------
def _adamw(steps: int, clip: float, **extra: Any) -> Recipe:
    return Recipe(
        optimizer="adamw",
        optimizer_args={"eps": 1e-3},  # large: the keras-vs-torch eps placement shows clearly
        lr=0.05,
        steps=steps,
        weight_decay=0.5,
        decay_exclusions=True,
        clip_grad_norm=clip,
        **extra,
    )


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_one_adamw_step_with_clipping_and_exclusions(fw: str) -> None:
    recipe = _adamw(1, clip=1.0)
    w, grads, lr = _weights(10), _grads(1, 11), np.array([0.05], np.float32)
    args = recipe.optimizer_args
    want = ref.adam(w, grads, [0.05], args, 0.5, True, decoupled=True, max_norm=1.0)
    _assert_close(run_optimizer(fw, recipe, w, grads, lr), want)
    every = ref.adam(w, grads, [0.05], args, 0.5, False, decoupled=True, max_norm=1.0)
    assert np.abs(every["bn1.gamma"] - want["bn1.gamma"]).max() > 100 * ATOL  # exclusion seen


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("stock", [False, True])
def test_twenty_adamw_steps_clipped_under_warmup_cosine(fw: str, stock: bool) -> None:
    """Formula-matched AdamW against torch's formula; stock (torch.optim.AdamW;
    keras.optimizers.AdamW, the excluded variables given to exclude_from_weight_decay, Keras's
    global-norm clip) against Keras's formula, which torch's departs from by more than 1e-5
    here (eps placement). Both follow the harness's warm-up + cosine table."""
    recipe = _adamw(20, clip=2.0, schedule="warmup_cosine", schedule_args={"warmup_steps": 5})
    lr = lr_table(recipe)
    w, grads = _weights(12), _grads(20, 13)
    lrs = [float(v) for v in lr]
    args = recipe.optimizer_args

    def reference(keras_form: bool, max_norm: float = 2.0) -> dict[str, np.ndarray]:
        return ref.adam(w, grads, lrs, args, 0.5, True, True, max_norm, keras_form)

    keras_form = stock and fw != "torch"
    want = reference(keras_form)
    _assert_close(run_optimizer(fw, recipe, w, grads, lr, stock=stock), want)
    other = reference(not keras_form)
    assert max(np.abs(other[k] - want[k]).max() for k in w) > 100 * ATOL
    unclipped = reference(keras_form, max_norm=0.0)
    assert max(np.abs(unclipped[k] - want[k]).max() for k in w) > 100 * ATOL


# -- label smoothing -------------------------------------------------------------------------------
def _loss_and_grad(fw: str, logits: np.ndarray, y: np.ndarray, eps: float) -> tuple[Any, Any]:
    if fw == "torch":
        import torch

        from models.torch.losses import cross_entropy

        z = torch.tensor(logits, requires_grad=True)
        loss = cross_entropy(z, torch.tensor(y), eps)
        loss.backward()
        return float(loss), z.grad.numpy()
    import tensorflow as tf

    if fw == "tf":
        from models.tf.losses import cross_entropy as tf_ce

        fn = lambda z: tf_ce(z, tf.constant(y), eps)  # noqa: E731
    else:
        _keras_ok()
        from models.keras import losses

        compiled = losses.for_recipe(eps)  # what model.compile gets
        fn = lambda z: compiled(tf.constant(y), z)  # noqa: E731
        np.testing.assert_allclose(
            float(losses.cross_entropy(tf.constant(logits), tf.constant(y), eps)),
            float(fn(tf.constant(logits))),
            rtol=1e-6,
        )
    z = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = fn(z)
    return float(loss), tape.gradient(loss, z).numpy()


@pytest.mark.parametrize("fw", FRAMEWORKS)
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_label_smoothed_loss_and_gradient(fw: str, eps: float) -> None:
    rng = np.random.default_rng(8)
    logits = rng.normal(scale=3.0, size=(6, 5)).astype(np.float32)
    y = rng.integers(0, 5, size=6)
    loss, grad = _loss_and_grad(fw, logits, y, eps)
    want_loss, want_grad = ref.smoothed_cross_entropy(logits, y, eps)
    assert loss == pytest.approx(want_loss, abs=ATOL)
    np.testing.assert_allclose(grad, want_grad, rtol=0, atol=1e-6)
    if eps:  # the smoothing is visible at this tolerance
        assert abs(ref.smoothed_cross_entropy(logits, y, 0.0)[0] - want_loss) > 100 * ATOL


# -- adapters end to end ---------------------------------------------------------------------------
_adapters: dict[str, Any] = {}


def _adapter(fw: str) -> Any:
    if fw not in _adapters:
        if fw == "keras":
            _keras_ok()
        a = importlib.import_module(f"models.{fw}.adapter").create(fw)
        a.configure(Settings(threads=2, interop_threads=1))
        _adapters[fw] = a
    return _adapters[fw]


def _logreg_case() -> tuple[ModelSpec, dict[str, np.ndarray], np.ndarray, np.ndarray]:
    spec = ModelSpec("logreg", (4,), 3)
    rng = np.random.default_rng(9)
    x = rng.normal(size=(3, 6, 4)).astype(np.float32)
    y = rng.integers(3, size=(3, 6))
    return spec, init_weights(spec, seed=0), x, y


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_adapter_trains_with_the_full_recipe(fw: str) -> None:
    """Nesterov + coupled L2 with exclusions + label smoothing + warm-up, three steps over two
    rounds: the adapter passes canonical names to the optimizer and smooths the training loss;
    evaluation reports the unsmoothed cross-entropy."""
    spec, w, x, y = _logreg_case()
    recipe = Recipe(
        optimizer="momentum",
        optimizer_args={"momentum": 0.9, "nesterov": True},
        lr=0.5,
        steps=3,
        batch_size=6,
        schedule="warmup_cosine",
        schedule_args={"warmup_steps": 2},
        weight_decay=0.2,
        decay_exclusions=True,
        label_smoothing=0.2,
    )
    lr = lr_table(recipe)
    a = _adapter(fw)
    m = a.build(spec, w, recipe, lr)
    loss0, g0 = a.loss_and_gradients(m, x[0], y[0])
    want0, want_g0 = ref.logreg_smoothed_grads(w, x[0], y[0], 0.2)
    assert loss0 == pytest.approx(want0, abs=ATOL)
    _assert_close(g0, want_g0)
    a.train_round(m, x[:1], y[:1])
    a.train_round(m, x[1:], y[1:])

    cur = {k: v.astype(np.float64) for k, v in w.items()}
    grads = []
    for t in range(3):  # the gradients depend on the weights: replay step by step
        grads.append(ref.logreg_smoothed_grads(cur, x[t], y[t], 0.2)[1])
        lrs = [float(v) for v in lr[: t + 1]]
        cur = ref.sgd_momentum(w, grads, lrs, 0.9, True, 0.2, exclusions=True)
    got = a.get_weights(m)
    _assert_close(got, cur)

    xe, ye = x.reshape(-1, 4), y.reshape(-1)
    loss, _ = a.evaluate(m, xe, ye, batch_size=18)
    logits = xe.astype(np.float64) @ got["linear.kernel"] + got["linear.bias"]
    assert loss == pytest.approx(ref.smoothed_cross_entropy(logits, ye, 0.0)[0], abs=ATOL)


@pytest.mark.parametrize("fw", FRAMEWORKS)
def test_stock_optimizer_gives_the_same_sgd_steps(fw: str) -> None:
    """Where the formulas coincide (SGD with Nesterov momentum, constant rate, coupled L2 with
    exclusions), the adapter's stock optimizer takes the formula-matched one's steps."""
    spec, w, x, y = _logreg_case()
    recipe = Recipe(
        optimizer="momentum",
        optimizer_args={"momentum": 0.9, "nesterov": True},
        lr=0.3,
        steps=3,
        batch_size=6,
        weight_decay=0.2,
        decay_exclusions=True,
    )
    lr = lr_table(recipe)
    a = _adapter(fw)
    out = {}
    for stock in (False, True):
        m = a.build(spec, w, recipe, lr, stock_optimizer=stock)
        a.train_round(m, x, y)
        out[stock] = a.get_weights(m)
    _assert_close(out[True], out[False])
    moved = max(np.abs(out[False][k] - w[k]).max() for k in w)
    assert moved > 100 * ATOL
