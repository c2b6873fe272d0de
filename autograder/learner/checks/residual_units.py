"""Checks for the Residual Units lesson, one public function per grade cell.

Grade cells call them with the learner's class, e.g. ``check.ResidualBlock_forward_training(ResidualBlock)``.
The checks compare behaviour with the reference model, not only shapes: the learner's model
is built on the lesson's test input, the same deterministic weights that the reference held
(:func:`reference_weights`) are loaded into it, layer by layer, and its output is compared
with the reference output in both training modes. The reference outputs, and the outputs of
known wrong variants of the reference, come from ``autograder/expected/residual_units.json``.
When the learner's layers do not line up with the reference, or the values differ, the
layers themselves are inspected (kinds, counts, kernel sizes, pooling, activation) to name
the problem.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder.learner.checks import CheckFailed, call_student, check, fail, say
from autograder.learner.checks.compare import expect_close, expect_shape, to_array
from autograder.learner.expected import array, load
from autograder.learner.i18n import current_language, message
from autograder.learner.lesson import Lesson

NAME = "residual_units"
EXERCISES = ("ResidualBlock", "ResNet")

# The lesson's test cases; the expected-value generator runs the reference on the same ones.
BLOCK_SHAPE_CASES: list[tuple[int, int, tuple[int, ...]]] = [(4, 3, (2, 6, 6, 4)), (6, 5, (2, 7, 7, 6))]
BLOCK_FORWARD: dict[str, Any] = {"filters": 4, "kernel_size": 3, "input_shape": (2, 5, 5, 4)}
RESNET_SHAPE_CASES: list[tuple[int, tuple[int, ...]]] = [(10, (2, 28, 28, 1)), (7, (3, 12, 12, 1))]
RESNET_FORWARD: dict[str, Any] = {"num_classes": 7, "input_shape": (3, 12, 12, 1)}
MODES: dict[str, bool] = {"inference": False, "training": True}
WEIGHT_SEED = {"block": 11, "resnet": 23}

# Known wrong variants of the reference (see autograder/build/mutations.py), per exercise.
BLOCK_MISTAKES = ("mistake_block_no_skip", "mistake_block_relu_before_add", "mistake_block_no_final_relu",
                  "mistake_block_relu_before_bn")
RESNET_MISTAKES = ("mistake_stem_no_relu", "mistake_no_softmax")

CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding"),
    "Dense": ("units", "activation"),
    "MaxPooling2D": ("pool_size",),
}


def language() -> str:
    """The notebook's language (``"en"`` or ``"ru"``), for labels drawn by the notebook's own code."""
    return current_language()


def block_input(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed input for a residual block: values in [-1, 1)."""
    return np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)


def image_input(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed batch of "images" for ResNet: values in [0, 1), like the scaled digits."""
    return np.random.RandomState(1).uniform(0, 1, shape).astype(np.float32)


# --- the layers a model really uses ---------------------------------------------------------------

# model -> every layer called during its last recorded forward pass, in call order
_CALLS: weakref.WeakKeyDictionary[Any, list[Any]] = weakref.WeakKeyDictionary()


def children(layer: Any) -> list[Any]:
    """The sublayers of a layer, in the order they were assigned in ``__init__``."""
    found = getattr(layer, "layers", None)
    if found is None:
        found = getattr(layer, "_layers", None) or []
    return list(found)


def is_composite(layer: Any) -> bool:
    import keras

    return isinstance(layer, keras.Model) or bool(children(layer))


def _descendants(layer: Any) -> set[int]:
    found: set[int] = set()
    for child in children(layer):
        found.add(id(child))
        found |= _descendants(child)
    return found


def forward(model: Any, name: str, x: np.ndarray, training: bool) -> Any:
    """Call the learner's ``model`` on ``x`` and remember which of its layers ``call`` used, in order.

    Keras builds a layer without weights (an activation, a pooling layer) as soon as it is created, so
    only the calls themselves tell which layers ``call`` really uses, and in which order; they are
    recorded by wrapping ``Layer.__call__`` for the duration of this one call.
    """
    import keras

    calls: list[Any] = []
    original = keras.layers.Layer.__call__

    def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self)
        return original(self, *args, **kwargs)

    keras.layers.Layer.__call__ = recorded
    try:
        return call_student(model, name, x, training=training)
    finally:
        keras.layers.Layer.__call__ = original
        _CALLS[model] = [layer for layer in calls if layer is not model]


def used(layer: Any) -> list[Any] | None:
    """The layers inside ``layer`` that the last recorded forward pass called, in call order, each once."""
    for top, calls in list(_CALLS.items()):
        if top is layer or id(layer) in _descendants(top):
            inside, seen, order = _descendants(layer), set(), []
            for called in calls:
                if id(called) in inside and id(called) not in seen:
                    seen.add(id(called))
                    order.append(called)
            return order
    return None


def leaves(model: Any) -> list[Any]:
    """The plain layers that ``call`` used, in the order it used them, nested models flattened in place."""
    calls = used(model)
    if calls is not None:
        return [layer for layer in calls if not is_composite(layer)]
    found = []  # never recorded: every built layer, in the order of ``__init__``
    for child in children(model):
        if is_composite(child):
            found.extend(leaves(child))
        elif getattr(child, "built", False):
            found.append(child)
    return found


def used_children(model: Any) -> list[Any]:
    """The direct sublayers of ``model`` that its ``call`` used, in call order."""
    calls = used(model)
    mine = children(model)
    if calls is None:
        return [layer for layer in mine if getattr(layer, "built", False)]
    ids = {id(layer) for layer in mine}
    return [layer for layer in calls if id(layer) in ids]


def _plain(value: Any) -> Any:
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def row(layer: Any) -> dict[str, Any]:
    """One layer as data: its class, the shapes of its weights and the settings that matter."""
    kind = type(layer).__name__
    config = layer.get_config()
    return {
        "class": kind,
        "shapes": [[int(d) for d in weight.shape] for weight in layer.weights],
        "config": {key: _plain(config.get(key)) for key in CONFIG_KEYS.get(kind, ())},
    }


def rows(model: Any) -> list[dict[str, Any]]:
    return [row(layer) for layer in leaves(model)]


def _describe(table: list[dict[str, Any]]) -> str:
    parts = [f"{r['class']} {' + '.join(str(tuple(s)) for s in r['shapes'])}" for r in table if r["shapes"]]
    return "; ".join(parts) or "—"


# --- the same weights in both models -------------------------------------------------------------


def reference_weights(kind: str, shapes: list[list[int]], index: int, seed: int) -> list[np.ndarray]:
    """Deterministic weights for the ``index``-th layer with weights of the reference model.

    Convolution and dense kernels follow He's uniform scale, so activations keep their size through
    the network; batch normalization gets non-trivial scale, offset and moving statistics, so that
    inference mode differs clearly from training mode and a missing normalization shows.
    """
    rng = np.random.RandomState(seed * 1000 + index)
    if kind == "BatchNormalization" and len(shapes) == 4:
        bounds = [(0.5, 1.5), (-0.3, 0.3), (-0.3, 0.3), (0.5, 1.5)]  # gamma, beta, moving mean, moving variance
        return [rng.uniform(low, high, shape).astype(np.float32) for (low, high), shape in zip(bounds, shapes,
                                                                                                   strict=True)]
    weights = []
    for shape in shapes:
        if len(shape) > 1:  # kernel
            fan_in = int(np.prod(shape[:-1]))
            limit = np.sqrt(6.0 / fan_in)
            weights.append(rng.uniform(-limit, limit, shape).astype(np.float32))
        else:  # bias
            weights.append(rng.uniform(-0.1, 0.1, shape).astype(np.float32))
    return weights


def align(model: Any, expected: list[dict[str, Any]]) -> list[tuple[Any, int, dict[str, Any]]] | None:
    """Pair each layer with weights of ``model`` with the reference layer of the same kind and position.

    Returns ``(layer, reference index, reference row)`` triples, or None when the layers with weights
    differ in kind, number or weight shapes from the reference (then no weights can be copied).
    """
    mine = [layer for layer in leaves(model) if layer.weights]
    theirs = [(index, r) for index, r in enumerate(r for r in expected if r["shapes"])]
    if sorted(type(layer).__name__ for layer in mine) != sorted(r["class"] for _, r in theirs):
        return None
    pairs = []
    for kind in dict.fromkeys(r["class"] for _, r in theirs):
        layers = [layer for layer in mine if type(layer).__name__ == kind]
        references = [(index, r) for index, r in theirs if r["class"] == kind]
        for layer, (index, r) in zip(layers, references, strict=True):
            if [[int(d) for d in w.shape] for w in layer.weights] != r["shapes"]:
                return None
            pairs.append((layer, index, r))
    return pairs


def load_reference_weights(pairs: list[tuple[Any, int, dict[str, Any]]], seed: int) -> None:
    for layer, index, r in pairs:
        layer.set_weights(reference_weights(r["class"], r["shapes"], index, seed))


def run_with_reference_weights(model: Any, name: str, expected: list[dict[str, Any]], x: np.ndarray,
                               training: bool, seed: int, diagnose: Callable[[Any], None]) -> np.ndarray:
    """Load the reference weights into ``model`` (already built) and run it on ``x``."""
    pairs = align(model, expected)
    if pairs is None:
        diagnose(model)
        fail("weights_mismatch", where=name, expected=_describe(expected), found=_describe(rows(model)))
    load_reference_weights(pairs, seed)
    return to_array(forward(model, name, x, training))


# --- building the learner's model --------------------------------------------------------------------


def make(cls: Any, name: str, *args: Any) -> Any:
    import keras

    model = call_student(cls, name, *args)
    if not isinstance(model, keras.Model):
        fail("not_keras_model", name=name, found=type(model).__name__)
    return model


def run(model: Any, name: str, x: np.ndarray, training: bool, diagnose: Callable[..., None]) -> np.ndarray:
    """Call the learner's model; if that fails, let the layers it reached explain why, if they can
    (a convolution with 'valid' padding, say, makes the addition fail further on)."""
    try:
        return to_array(forward(model, name, x, training))
    except CheckFailed:
        diagnose(model, complete=False)
        raise


# --- what the layers say ----------------------------------------------------------------------------


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _conv_problems(convs: list[Any], where: str, filters: int, kernel_size: int, hint: str) -> None:
    for index, layer in enumerate(convs, start=1):
        config = row(layer)["config"]
        at = message("where_conv", where=where, index=index)
        if _tuple(config["kernel_size"]) != (kernel_size, kernel_size):
            fail("mistake_kernel_size", where=at, expected=(kernel_size, kernel_size),
                 found=_tuple(config["kernel_size"]), hint=hint)
        for attr, want in (("filters", filters), ("padding", "same"), ("strides", (1, 1))):
            if _tuple(config[attr]) != want:
                fail("conv_setting", where=at, attr=attr, expected=repr(want), found=repr(_tuple(config[attr])),
                     hint=hint)


def _of(layers: list[Any], kind: str) -> list[Any]:
    return [layer for layer in layers if type(layer).__name__ == kind]


def block_problems(block: Any, filters: int, kernel_size: int, complete: bool = True) -> None:
    """Fail with the first structural problem of a residual block, if it has one.

    ``complete=False``: the forward pass stopped with an error, so only the layers it reached are
    judged (their settings), not what is missing.
    """
    where = message("where_block", filters=filters, kernel_size=kernel_size)
    called = leaves(block)
    hint = message("hint_block_conv")
    convs = _of(called, "Conv2D")
    _conv_problems(convs, where, filters, kernel_size, hint)
    norms = _of(called, "BatchNormalization")
    if len(convs) > 2 or (complete and len(convs) < 2):
        fail("layer_count_class", where=where, found=len(convs), cls="Conv2D", expected=2, hint=hint)
    if complete and len(norms) < 2:
        fail("mistake_missing_bn", where=where, found=len(norms), expected=2)
    if len(norms) > 2:
        fail("layer_count_class", where=where, found=len(norms), cls="BatchNormalization", expected=2, hint="")


def _pooling(layers: list[Any]) -> list[str]:
    return [type(layer).__name__ for layer in layers if "Pool" in type(layer).__name__]


def resnet_problems(model: Any, num_classes: int, complete: bool = True) -> None:
    """Fail with the first structural problem of the ResNet, if it has one (its blocks included).

    ``complete=False``: the forward pass stopped with an error; only the layers it reached are judged.
    """
    where = message("where_resnet", num_classes=num_classes)
    top = used_children(model)
    plain = [layer for layer in top if not is_composite(layer)]
    hint = message("hint_stem_conv")
    convs = _of(plain, "Conv2D")
    _conv_problems(convs, where, 64, 7, hint)
    if len(convs) > 1 or (complete and not convs):
        fail("layer_count_class", where=where, found=len(convs), cls="Conv2D", expected=1, hint=hint)
    if complete and not _of(plain, "BatchNormalization"):
        fail("mistake_missing_bn", where=where, found=0, expected=1)
    expected_pooling = ["MaxPooling2D", "GlobalAveragePooling2D"]
    pooling = _pooling(plain)
    if (pooling or complete) and (not pooling or pooling[0] != "MaxPooling2D"):
        fail("mistake_wrong_pooling", expected=expected_pooling, found=pooling or "—")
    if pooling:
        pool_size = _tuple(row(_of(plain, "MaxPooling2D")[0])["config"]["pool_size"])
        if pool_size != (3, 3):
            fail("pool_size", expected=(3, 3), found=pool_size)

    blocks = [layer for layer in top if is_composite(layer)]
    for block in blocks:
        try:
            block_problems(block, 64, 3, complete)
        except CheckFailed as failure:
            fail("resnet_block_wrong", detail=str(failure))
    if len(blocks) > 2 or (complete and len(blocks) < 2):
        fail("resnet_block_count", found=len(blocks), expected=2)

    if (complete or len(pooling) > 1) and pooling != expected_pooling:
        fail("mistake_wrong_pooling", expected=expected_pooling, found=pooling)
    head = message("where_resnet_head", num_classes=num_classes)
    dense = _of(plain, "Dense")
    if len(dense) > 1 or (complete and not dense):
        fail("layer_count_class", where=head, found=len(dense), cls="Dense", expected=1, hint="")
    if dense:
        config = row(dense[0])["config"]
        if config["units"] != num_classes:
            fail("dense_units", where=head, expected=num_classes, found=config["units"])
        after = plain[plain.index(dense[0]) + 1 :]
        softmax_after = any(type(layer).__name__ == "Softmax" or layer.get_config().get("activation") == "softmax"
                            for layer in after)
        if config["activation"] != "softmax" and not softmax_after:
            fail("dense_activation", where=head, found=config["activation"])


# --- residual block -------------------------------------------------------------------------------


def _mistakes(stored: dict[str, Any], mode: str) -> dict[str, np.ndarray]:
    return {key: array(value) for key, value in stored["mistakes"].get(mode, {}).items()}


def block_forward(ResidualBlock: Any, mode: str) -> None:
    """The learner's block, holding the reference weights, against the reference output in ``mode``."""
    stored = load(NAME)["block"]["forward"]
    filters, kernel_size = stored["filters"], stored["kernel_size"]
    x = block_input(tuple(stored["input_shape"]))
    name = "ResidualBlock"
    block = make(ResidualBlock, name, filters, kernel_size)

    def diagnose(model: Any, complete: bool = True) -> None:
        block_problems(model, filters, kernel_size, complete)

    run(block, name, x, False, diagnose)  # builds the layers
    output = run_with_reference_weights(block, name, stored["layers"], x, MODES[mode], WEIGHT_SEED["block"],
                                        diagnose)
    expected = array(stored["output"][mode])
    label = f"ResidualBlock({filters}, {kernel_size}), {message('mode_' + mode)}"
    if output.shape == expected.shape and np.allclose(output, expected, rtol=1e-3, atol=1e-4):
        return
    diagnose(block)
    expect_close(label, output, expected, _mistakes(stored, mode))


@check({"en": "ResidualBlock: output shape, layers and parameters",
        "ru": "ResidualBlock: размерность выхода, слои и параметры"})
def ResidualBlock_shape_params(ResidualBlock: Any) -> None:
    for case in load(NAME)["block"]["shape_cases"]:
        filters, kernel_size = case["filters"], case["kernel_size"]
        block = make(ResidualBlock, "ResidualBlock", filters, kernel_size)

        def diagnose(model: Any, complete: bool = True, filters: int = filters, kernel_size: int = kernel_size) -> None:
            block_problems(model, filters, kernel_size, complete)

        output = run(block, "ResidualBlock", block_input(tuple(case["input_shape"])), False, diagnose)
        diagnose(block)
        expect_shape(output, case["output_shape"])
        found = int(block.count_params())
        if found != case["params"]:
            fail("param_total", expected=case["params"], found=found)


@check({"en": "ResidualBlock, training=False (inference mode)",
        "ru": "ResidualBlock, training=False (режим предсказания)"})
def ResidualBlock_forward_inference(ResidualBlock: Any) -> None:
    block_forward(ResidualBlock, "inference")


@check({"en": "ResidualBlock, training=True (training mode)", "ru": "ResidualBlock, training=True (режим обучения)"})
def ResidualBlock_forward_training(ResidualBlock: Any) -> None:
    block_forward(ResidualBlock, "training")


# --- ResNet -----------------------------------------------------------------------------------------


def _build_resnet(ResNet: Any, num_classes: int, input_shape: tuple[int, ...]) -> tuple[Any, np.ndarray]:
    model = make(ResNet, "ResNet", num_classes)
    output = run(model, "ResNet", image_input(input_shape), False,
                 lambda m, complete=True: resnet_problems(m, num_classes, complete))
    return model, output


# The exercise ResNet uses, with its own checks: a ResNet check that fails because of it says to fix it first.
BLOCK_CHECKS: dict[str, tuple[Any, ...]] = {
    "ResidualBlock": (ResidualBlock_shape_params, ResidualBlock_forward_inference, ResidualBlock_forward_training),
}


@check({"en": "ResNet: layers", "ru": "ResNet: слои"}, uses=BLOCK_CHECKS)
def ResNet_layers(ResNet: Any) -> None:
    stored = load(NAME)["resnet"]["forward"]
    model, _ = _build_resnet(ResNet, stored["num_classes"], tuple(stored["input_shape"]))
    resnet_problems(model, stored["num_classes"])


@check({"en": "ResNet: output shape and parameters", "ru": "ResNet: размерность выхода и число параметров"},
       uses=BLOCK_CHECKS)
def ResNet_shape_params(ResNet: Any) -> None:
    for case in load(NAME)["resnet"]["shape_cases"]:
        num_classes = case["num_classes"]
        model, output = _build_resnet(ResNet, num_classes, tuple(case["input_shape"]))
        if output.ndim == 2 and output.shape[1] != num_classes:
            fail("dense_units", where=message("where_resnet_head", num_classes=num_classes), expected=num_classes,
                 found=output.shape[1])
        expect_shape(output, case["output_shape"])
        found = int(model.count_params())
        if found != case["params"]:
            resnet_problems(model, num_classes)
            fail("param_total", expected=case["params"], found=found)


def _block_class_problem(model: Any) -> str | None:
    """If the residual blocks inside the learner's ResNet do not behave like the reference block: why."""
    blocks = [layer for layer in used_children(model) if is_composite(layer)]
    if not blocks:
        return None
    try:
        for mode in MODES:
            block_forward(type(blocks[0]), mode)
    except CheckFailed as failure:
        return str(failure)
    return None


@check({"en": "ResNet: output values with the reference weights, both modes",
        "ru": "ResNet: значения выхода с весами эталонной модели, оба режима"}, uses=BLOCK_CHECKS)
def ResNet_forward(ResNet: Any) -> None:
    stored = load(NAME)["resnet"]["forward"]
    num_classes = stored["num_classes"]
    model, _ = _build_resnet(ResNet, num_classes, tuple(stored["input_shape"]))
    x = image_input(tuple(stored["input_shape"]))

    def diagnose(model: Any) -> None:
        resnet_problems(model, num_classes)
        problem = _block_class_problem(model)
        if problem:
            fail("resnet_block_wrong", detail=problem)

    for mode in MODES:
        output = run_with_reference_weights(model, "ResNet", stored["layers"], x, MODES[mode], WEIGHT_SEED["resnet"],
                                            diagnose)
        expected = array(stored["output"][mode])
        if output.shape == expected.shape and np.allclose(output, expected, rtol=1e-3, atol=1e-4):
            continue
        diagnose(model)
        if output.ndim == 2 and output.shape == expected.shape and not (
                np.all(output >= 0) and np.allclose(output.sum(axis=1), 1, atol=1e-3)):
            mistakes = _mistakes(stored, mode)
            if "mistake_no_softmax" in mistakes and np.allclose(output, mistakes["mistake_no_softmax"], rtol=1e-3,
                                                                atol=1e-4):
                fail("mistake_no_softmax")
            fail("rows_not_probabilities", total=float(output[0].sum()), low=float(output.min()))
        expect_close(f"ResNet({num_classes}), {message('mode_' + mode)}", output, expected, _mistakes(stored, mode))



# --- hidden tests (course grading only) ------------------------------------------------------------
#
# Each grade cell of the course notebook ends with ``check.record_hidden('<grade_id>', <class>)``.
# While nbgrader grades, it builds the learner's class with hyper-parameters drawn from the secret
# seed (never the public ones), loads the same seeded weights as the reference would hold, and saves
# the outputs; the grader recomputes them with the reference class and compares (``verify_hidden``).

# Hyper-parameters the learner never sees in a public check.
HIDDEN_BLOCK_FILTERS = (2, 3, 5, 7, 8)  # not 4 or 6
HIDDEN_KERNEL_SIZES = (1, 3, 5)
HIDDEN_NUM_CLASSES = (3, 4, 5, 6, 8, 9, 11, 12)  # not 7 or 10
HIDDEN_FORWARD = {"ResidualBlock_forward_inference": "inference", "ResidualBlock_forward_training": "training"}


def _hidden_rng(grade_id: str, seed: int) -> np.random.RandomState:
    """The same numbers in the learner's kernel and in the grader (``zlib.crc32``, unlike ``hash``, is stable)."""
    import zlib

    return np.random.RandomState((int(seed) + zlib.crc32(grade_id.encode())) % 2**32)


def block_rows(filters: int, kernel_size: int, channels: int) -> list[dict[str, Any]]:
    """The reference block's layers with weights, in call order, for an input with ``channels`` channels."""
    norm = {"class": "BatchNormalization", "shapes": [[filters]] * 4}
    return [{"class": "Conv2D", "shapes": [[kernel_size, kernel_size, channels, filters], [filters]]}, norm,
            {"class": "Conv2D", "shapes": [[kernel_size, kernel_size, filters, filters], [filters]]}, norm]


def resnet_rows(num_classes: int, channels: int = 1) -> list[dict[str, Any]]:
    """The reference ResNet's layers with weights, in call order (its two blocks flattened in place)."""
    return ([{"class": "Conv2D", "shapes": [[7, 7, channels, 64], [64]]},
             {"class": "BatchNormalization", "shapes": [[64]] * 4}]
            + block_rows(64, 3, 64) * 2
            + [{"class": "Dense", "shapes": [[64, num_classes], [num_classes]]}])


def exercise_of(grade_id: str) -> str:
    """The answer cell a grade cell checks (see ``Lesson.exercise_of``)."""
    return LESSON.exercise_of(grade_id)


def hidden_case(grade_id: str, seed: int) -> dict[str, Any]:
    """The hidden hyper-parameters, input and weight seed of ``grade_id`` for ``seed``."""
    rng = _hidden_rng(grade_id, seed)
    weight_seed = int(rng.randint(100, 4_000_000))  # reference_weights seeds with weight_seed * 1000 + index
    if exercise_of(grade_id) == "ResidualBlock":
        filters = int(rng.choice(HIDDEN_BLOCK_FILTERS))
        kernel_size = int(rng.choice(HIDDEN_KERNEL_SIZES))
        shape = (int(rng.randint(2, 5)), int(rng.randint(4, 10)), int(rng.randint(4, 10)), filters)
        x = rng.uniform(-1.5, 1.5, shape).astype(np.float32)
        return {"args": (filters, kernel_size), "x": x, "rows": block_rows(filters, kernel_size, filters),
                "weight_seed": weight_seed}
    num_classes = int(rng.choice(HIDDEN_NUM_CLASSES))
    shape = (int(rng.randint(2, 4)), int(rng.randint(20, 33)), int(rng.randint(20, 33)), 1)
    x = rng.uniform(0, 1, shape).astype(np.float32)
    return {"args": (num_classes,), "x": x, "rows": resnet_rows(num_classes), "weight_seed": weight_seed}


def _signature(layer: Any) -> list[str]:
    """What the public checks judge of one plain layer, as text (activations and additions are judged by values)."""
    kind = type(layer).__name__
    config = layer.get_config()
    if kind == "Conv2D":
        settings = row(layer)["config"]
        return [f"Conv2D(filters={settings['filters']}, kernel_size={_tuple(settings['kernel_size'])}, "
                f"strides={_tuple(settings['strides'])}, padding={settings['padding']!r})"]
    if kind == "BatchNormalization":
        return [kind]
    if "Pool" in kind:
        pool_size = config.get("pool_size")
        return [kind if pool_size is None else f"{kind}(pool_size={_tuple(_plain(pool_size))})"]
    if kind == "Dense":
        activation = config.get("activation")
        extra = [] if activation == "linear" else ["softmax" if activation == "softmax" else f"activation={activation}"]
        return [f"Dense(units={config.get('units')})", *extra]
    if kind == "Softmax" or config.get("activation") == "softmax":
        return ["softmax"]
    return []


def structure(model: Any, prefix: str = "") -> list[str]:
    """The layers ``call`` used, in order, as text; a nested block's layers are marked with its number."""
    found: list[str] = []
    blocks = 0
    for layer in used_children(model):
        if is_composite(layer):
            blocks += 1
            found.extend(structure(layer, f"{prefix}block {blocks} / "))
        else:
            found.extend(prefix + text for text in _signature(layer))
    return found


def _with_hidden_weights(model: Any, name: str, case: dict[str, Any]) -> None:
    pairs = align(model, case["rows"])
    if pairs is None:
        fail("weights_mismatch", where=name, expected=_describe(case["rows"]), found=_describe(rows(model)))
    load_reference_weights(pairs, case["weight_seed"])


def hidden_outputs(grade_id: str, cls: Any, seed: int) -> dict[str, np.ndarray]:
    """What the learner's (or the reference) class produces on the hidden case of ``grade_id``."""
    name = exercise_of(grade_id)
    case = hidden_case(grade_id, seed)
    model = make(cls, name, *case["args"])
    x = case["x"]
    output = to_array(forward(model, name, x, False))  # builds the layers, records the ones in use
    if grade_id.endswith("shape_params"):
        return {"output_shape": np.array(output.shape, dtype=np.int64),
                "params": np.array(int(model.count_params()), dtype=np.int64)}
    if grade_id == "ResNet_layers":
        return {"layers": np.array(structure(model), dtype=str)}
    modes = [HIDDEN_FORWARD[grade_id]] if grade_id in HIDDEN_FORWARD else list(MODES)
    _with_hidden_weights(model, name, case)
    return {mode: to_array(forward(model, name, x, MODES[mode])) for mode in modes}


def record_hidden(grade_id: str, cls: Any) -> None:
    """Called by the hidden part of a grade cell while nbgrader grades; does nothing otherwise."""
    from autograder.learner.checks import hidden

    hidden.record(grade_id, lambda seed: hidden_outputs(grade_id, cls, seed))


@functools.lru_cache(maxsize=32)
def _reference_outputs(grade_id: str, cls: Any, seed: int) -> dict[str, np.ndarray]:
    """The reference's hidden outputs; the grader verifies every submission with the same seed, so once each."""
    return hidden_outputs(grade_id, cls, seed)


def _recorded(recorded: dict[str, np.ndarray], key: str, kind: type) -> np.ndarray:
    try:
        value = np.asarray(recorded[key])
        return value.astype(np.float64) if kind is float else value.astype(kind)
    except (KeyError, TypeError, ValueError) as error:
        fail("hidden_unusable", name=key, error=f"{type(error).__name__}: {error}")
    raise AssertionError("unreachable")


def prepare_hidden(grade_id: str, reference: Any, seed: int) -> None:
    """Compute the reference's hidden outputs for ``grade_id`` ahead of the first verdict (kept for the seed)."""
    _reference_outputs(grade_id, getattr(reference, exercise_of(grade_id)), seed)


def verify_hidden(grade_id: str, recorded: dict[str, np.ndarray], reference: Any, seed: int) -> None:
    """Compare what the kernel recorded with the reference, in the grader's process; raise CheckFailed."""
    name = exercise_of(grade_id)
    want = _reference_outputs(grade_id, getattr(reference, name), seed)
    if grade_id.endswith("shape_params"):
        shape = tuple(int(d) for d in _recorded(recorded, "output_shape", int).ravel())
        expected_shape = tuple(int(d) for d in want["output_shape"])
        if shape != expected_shape:
            fail("wrong_shape", expected=expected_shape, found=shape)
        params = _recorded(recorded, "params", int)
        if params.size != 1 or int(params.ravel()[0]) != int(want["params"]):
            fail("param_total", expected=int(want["params"]),
                 found=int(params.ravel()[0]) if params.size == 1 else -1)
    elif grade_id == "ResNet_layers":
        found, expected = [str(s) for s in _recorded(recorded, "layers", str).ravel()], [str(s) for s in want["layers"]]
        for index, (good, got) in enumerate(zip(expected, found, strict=False)):
            if good != got:
                fail("layer_class", where=message("layer_where", index=index + 1, total=len(expected), stage=name),
                     expected=good, found=got)
        if len(found) != len(expected):
            fail("layer_count", expected=len(expected), found=len(found))
    else:
        for mode, expected_output in want.items():
            expect_close(f"{name}, {message('mode_' + mode)}", _recorded(recorded, mode, float), expected_output)


__all__ = [
    "CheckFailed",
    "language",
    "say",
    "ResidualBlock_shape_params",
    "ResidualBlock_forward_inference",
    "ResidualBlock_forward_training",
    "ResNet_layers",
    "ResNet_shape_params",
    "ResNet_forward",
]

LESSON = Lesson(NAME, EXERCISES, record_hidden, verify_hidden, prepare_hidden)
