"""Checks for the Residual Networks lesson, one public function per grade cell.

Grade cells call them with the learner's function, e.g.
``check.identity_block_training_false(identity_block)``. The inputs are the lesson's own
test inputs (``CASES``); the expected outputs come from ``autograder/expected``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from autograder.learner.checks import CheckFailed, call_student, check, fail, running_line
from autograder.learner.checks import say as say  # for the lesson's own output: print(check.say(...))
from autograder.learner.checks.compare import expect_close, expect_eager_tensor, expect_shape, layer_table, to_array
from autograder.learner.expected import array, load
from autograder.learner.i18n import current_language, message
from autograder.learner.lesson import Lesson

NAME = "residual_networks"
EXERCISES = ("identity_block", "convolutional_block", "ResNet50", "load_dataset")


def exercise_of(grade_id: str) -> str:
    """The answer cell a grade cell checks (see ``Lesson.exercise_of``)."""
    return LESSON.exercise_of(grade_id)


def seed_input() -> np.ndarray:
    """The lesson's test input: three 4×4×3 examples filled with −1, 1 and 3."""
    return np.concatenate([np.ones((1, 4, 4, 3)) * v for v in (-1, 1, 3)], axis=0).astype(np.float32)


def constant_initializer(seed: int = 0) -> Any:
    from tensorflow.keras.initializers import constant

    return constant(value=1)


def seed_zero_initializer(function: Any) -> Any:
    """:func:`constant_initializer` for the learner's ``function``, failing unless called as ``initializer(seed=0)``.

    The constant weights make the block's numbers easy to follow, but they hide a missing seed,
    which the lesson asks for (with the default random initializer it changes every weight).
    """

    def initializer(*args: Any, **kwargs: Any) -> Any:
        seed = kwargs["seed"] if "seed" in kwargs else (args[0] if args else None)
        if len(args) + len(kwargs) != 1 or isinstance(seed, bool) or seed != 0:
            found = ", ".join([repr(value) for value in args] + [f"{key}={value!r}" for key, value in kwargs.items()])
            where = running_line(function)
            raise CheckFailed(message("initializer_seed", found=found) + ("\n" + where if where else ""))
        return constant_initializer()

    return initializer


# name -> (function name, keyword arguments); the same cases feed the expected-value generator.
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "identity_block_training_false": (
        "identity_block",
        {"f": 2, "filters": [4, 4, 3], "initializer": constant_initializer, "training": False},
    ),
    "identity_block_training_true": (
        "identity_block",
        {"f": 2, "filters": [3, 3, 3], "initializer": constant_initializer, "training": True},
    ),
    "convolutional_block_training_false": ("convolutional_block", {"f": 2, "filters": [2, 4, 6], "training": False}),
    "convolutional_block_training_true": ("convolutional_block", {"f": 2, "filters": [2, 4, 6], "training": True}),
}


def run_case(function: Any, case: str, strict_seed: bool = False) -> Any:
    """Run the learner's (or the reference) function on one of the lesson's cases.

    ``strict_seed``: the case's constant initializer must be called as ``initializer(seed=0)``.
    """
    name, kwargs = CASES[case]
    if strict_seed and kwargs.get("initializer") is constant_initializer:
        kwargs = {**kwargs, "initializer": seed_zero_initializer(function)}
    return call_student(function, name, seed_input(), **kwargs)


def _expected(case: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    stored = load(NAME)["blocks"][case]
    return array(stored["output"]), {key: array(value) for key, value in stored.get("mistakes", {}).items()}


def _block_values(function: Any, case: str, label: str) -> None:
    output = to_array(run_case(function, case, strict_seed=True))
    expected, mistakes = _expected(case)
    expect_close(label, output, expected, mistakes)


# --- identity block ------------------------------------------------------------------------


@check({"en": "identity_block: output shape and final ReLU", "ru": "identity_block: размерность и последняя ReLU"})
def identity_block_shape(identity_block: Any) -> None:
    output = to_array(run_case(identity_block, "identity_block_training_true"))
    expect_shape(output, seed_input().shape)
    if output.min() < 0:
        fail("negative_after_relu", found=float(output.min()))


@check({"en": "identity_block, training=False", "ru": "identity_block, training=False"})
def identity_block_training_false(identity_block: Any) -> None:
    _block_values(identity_block, "identity_block_training_false", "identity_block(training=False)")


@check({"en": "identity_block, training=True", "ru": "identity_block, training=True"})
def identity_block_training_true(identity_block: Any) -> None:
    _block_values(identity_block, "identity_block_training_true", "identity_block(training=True)")


# --- convolutional block -------------------------------------------------------------------


@check({"en": "convolutional_block: type and shape", "ru": "convolutional_block: тип и размерность"})
def convolutional_block_shape(convolutional_block: Any) -> None:
    output = run_case(convolutional_block, "convolutional_block_training_false")
    expect_eager_tensor(output)
    expect_shape(to_array(output), (3, 2, 2, 6))


@check({"en": "convolutional_block, training=False", "ru": "convolutional_block, training=False"})
def convolutional_block_training_false(convolutional_block: Any) -> None:
    _block_values(convolutional_block, "convolutional_block_training_false", "convolutional_block(training=False)")


@check({"en": "convolutional_block, training=True", "ru": "convolutional_block, training=True"})
def convolutional_block_training_true(convolutional_block: Any) -> None:
    _block_values(convolutional_block, "convolutional_block_training_true", "convolutional_block(training=True)")


# --- ResNet-50 -----------------------------------------------------------------------------

# The exercises ResNet50 calls, with their own checks: when a ResNet50 check fails because of one of them,
# the learner is sent to fix that block first.
BLOCK_CHECKS: dict[str, tuple[Any, ...]] = {
    "identity_block": (identity_block_shape, identity_block_training_false, identity_block_training_true),
    "convolutional_block": (convolutional_block_shape, convolutional_block_training_false,
                            convolutional_block_training_true),
}

_models: dict[int, Any] = {}


def table_of_build(ResNet50: Any, classes: int) -> list[dict[str, Any]]:
    """The layer table of the learner's ``ResNet50(input_shape=(64, 64, 3), classes=classes)``.

    A check reads layers, shapes, parameter counts and settings, never a weight: the model is built in a
    ``keras.StatelessScope`` that defers every weight's initialisation (never done here), ~0.35 s instead
    of ~1.5 s on 2 cores, the same table. If the learner's code fails there, it is built the ordinary way,
    so the feedback is what an ordinary build says.
    """
    import keras

    def build() -> list[dict[str, Any]]:
        model = call_student(ResNet50, "ResNet50", input_shape=(64, 64, 3), classes=classes)
        if not hasattr(model, "layers"):
            fail("not_model", name="ResNet50", found=type(model).__name__)
        return layer_table(model)

    try:
        with keras.StatelessScope(initialize_variables=False):
            return build()
    except Exception:  # noqa: BLE001 - whatever went wrong, the ordinary build gives the feedback
        return build()


def _student_table(ResNet50: Any) -> list[dict[str, Any]]:
    """Build the learner's model once per function object and describe its layers."""
    key = id(getattr(ResNet50, "__code__", ResNet50))
    if key not in _models:
        _models.clear()
        _models[key] = table_of_build(ResNet50, classes=6)
    return _models[key]


def _where(index: int, total: int) -> str:
    stage = load(NAME)["resnet50"]["stages"][index][current_language()]
    return message("layer_where", index=index + 1, total=total, stage=stage)


def compare_tables(expected: list[dict[str, Any]], found: list[dict[str, Any]], fields: tuple[str, ...]) -> None:
    """Fail at the first layer whose class (or one of ``fields``) differs from the reference."""
    for index, (want, got) in enumerate(zip(expected, found, strict=False)):
        where = _where(index, len(expected))
        if want["class"] != got["class"]:
            fail("layer_class", where=where, expected=want["class"], found=got["class"])
        for field in fields:
            pairs = want["config"].items() if field == "config" else [(field, want[field])]
            for attr, value in pairs:
                actual = got["config"].get(attr) if field == "config" else got[field]
                if actual != value:
                    fail("layer_attr", where=where, expected_class=want["class"], attr=attr, expected=value,
                         found=actual)
    if len(found) != len(expected):
        fail("layer_count", expected=len(expected), found=len(found))


def _compare_layers(ResNet50: Any, fields: tuple[str, ...]) -> None:
    compare_tables(load(NAME)["resnet50"]["layers"], _student_table(ResNet50), fields)


@check({"en": "ResNet50: layers in order", "ru": "ResNet50: последовательность слоёв"}, uses=BLOCK_CHECKS)
def ResNet50_layers(ResNet50: Any) -> None:
    _compare_layers(ResNet50, ())


@check({"en": "ResNet50: output shapes and parameters", "ru": "ResNet50: размерности выходов и параметры"},
       uses=BLOCK_CHECKS)
def ResNet50_shapes(ResNet50: Any) -> None:
    _compare_layers(ResNet50, ("output_shape", "params"))
    expected_total = load(NAME)["resnet50"]["total_params"]
    found_total = sum(row["params"] for row in _student_table(ResNet50))
    if found_total != expected_total:
        fail("param_total", expected=expected_total, found=found_total)


@check({"en": "ResNet50: layer settings", "ru": "ResNet50: настройки слоёв"}, uses=BLOCK_CHECKS)
def ResNet50_config(ResNet50: Any) -> None:
    _compare_layers(ResNet50, ("config",))


# --- dataset -------------------------------------------------------------------------------


def _load_student_data(load_dataset: Any) -> tuple[np.ndarray, ...]:
    from autograder.learner.datasets import find_data_dir

    data_dir = find_data_dir()
    result = call_student(load_dataset, "load_dataset", data_dir / "train_digits.h5", data_dir / "test_digits.h5")
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        fail("not_four", name="load_dataset", found=type(result).__name__)
    return tuple(np.asarray(part) for part in result)


@check({"en": "load_dataset: images", "ru": "load_dataset: изображения"})
def load_dataset_images(load_dataset: Any) -> None:
    X_train, _, X_test, _ = _load_student_data(load_dataset)
    stored = load(NAME)["dataset"]
    for label, X, want in (("X_train", X_train, stored["X_train"]), ("X_test", X_test, stored["X_test"])):
        if tuple(X.shape) != tuple(want["shape"]):
            fail("array_shape", array=label, expected=tuple(want["shape"]), found=tuple(X.shape))
        if not np.issubdtype(X.dtype, np.floating):
            fail("not_float", array=label, found=X.dtype)
        if X.min() < 0 or X.max() > 1:
            fail("images_not_scaled", array=label, low=float(X.min()), high=float(X.max()))
        means = X.reshape(len(X), -1).mean(axis=1)
        diff = float(np.max(np.abs(means - array(want["image_means"]))))
        if diff > 1e-4:
            fail("images_wrong", array=label, maxdiff=diff)


@check({"en": "load_dataset: one-hot labels", "ru": "load_dataset: метки one-hot"})
def load_dataset_labels(load_dataset: Any) -> None:
    _, Y_train, _, Y_test = _load_student_data(load_dataset)
    stored = load(NAME)["dataset"]
    classes = stored["classes"]
    for label, Y, want in (("Y_train", Y_train, stored["Y_train"]), ("Y_test", Y_test, stored["Y_test"])):
        labels = np.asarray(want["labels"])
        if Y.shape != (len(labels), classes):
            fail("labels_not_one_hot_shape", array=label, found=tuple(Y.shape), classes=classes)
        if not (np.isin(Y, (0, 1)).all() and np.all(Y.sum(axis=1) == 1)):
            fail("labels_not_one_hot", array=label)
        wrong = np.flatnonzero(Y.argmax(axis=1) != labels)
        if len(wrong):
            first = int(wrong[0])
            fail("labels_wrong", array=label, count=len(wrong), total=len(labels), index=first,
                 expected=int(labels[first]), found=int(Y[first].argmax()))


# --- hidden tests (course grading only) ---------------------------------------------------


def _hidden_initializer(seed: int) -> Any:
    """Seeded random weights: the same in the learner's kernel and in the grader."""
    from tensorflow.keras.initializers import RandomNormal

    return lambda seed_argument=0, **_: RandomNormal(stddev=0.5, seed=seed % (2**31))


def _hidden_block_case(seed: int, grade_id: str) -> tuple[np.ndarray, dict[str, Any]]:
    rng = np.random.RandomState(seed % (2**32))
    channels = int(rng.randint(2, 6))
    size = int(rng.choice([4, 6, 8]))
    X = (rng.randn(int(rng.randint(2, 5)), size, size, channels) * 2).astype(np.float32)
    kwargs: dict[str, Any] = {
        "f": int(rng.choice([1, 2, 3])),
        "initializer": _hidden_initializer(seed),
        "training": not grade_id.endswith("training_false"),
    }
    if grade_id.startswith("identity_block"):
        kwargs["filters"] = [int(rng.randint(2, 6)), int(rng.randint(2, 6)), channels]
    else:
        kwargs["filters"] = [int(rng.randint(2, 6)) for _ in range(3)]
        kwargs["s"] = int(rng.choice([1, 2]))
    return X, kwargs


def _write_hidden_dataset(seed: int, folder: Path) -> tuple[Path, Path]:
    """A small SIGNS-layout file pair with random images and labels."""
    import h5py

    rng = np.random.RandomState(seed % (2**32) + 1)
    paths = []
    for split, count in (("train", int(rng.randint(20, 41))), ("test", int(rng.randint(5, 11)))):
        path = folder / f"{split}_hidden.h5"
        with h5py.File(path, "w") as file:
            file[f"{split}_set_x"] = rng.randint(0, 256, size=(count, 64, 64, 3)).astype(np.uint8)
            file[f"{split}_set_y"] = rng.randint(0, 6, size=count).astype(np.int64)
            file["list_classes"] = np.arange(6, dtype=np.int64)
        paths.append(path)
    return paths[0], paths[1]


_hidden_models: dict[tuple[int, int], str] = {}


def hidden_outputs(grade_id: str, function: Any, seed: int) -> dict[str, Any]:
    """What the learner's (or the reference) ``function`` produces on the hidden case of ``grade_id``."""
    import tempfile

    exercise = exercise_of(grade_id)
    if exercise in ("identity_block", "convolutional_block"):
        X, kwargs = _hidden_block_case(seed, grade_id)
        output = call_student(function, exercise, X, **kwargs)
        import tensorflow as tf

        return {"output": to_array(output), "eager": isinstance(output, tf.Tensor) and hasattr(output, "numpy")}
    if exercise == "ResNet50":
        key = (id(getattr(function, "__code__", function)), seed)
        if key not in _hidden_models:  # three grade cells share one (slow) model build
            rng = np.random.RandomState(seed % (2**32) + 2)
            classes = int(rng.choice([3, 4, 5, 7, 8, 9, 10]))
            # The table, not the model: the grader compares it without rebuilding ResNet-50.
            table = table_of_build(function, classes)
            _hidden_models.clear()
            _hidden_models[key] = json.dumps(table)
        return {"table": _hidden_models[key]}
    with tempfile.TemporaryDirectory() as folder:
        result = call_student(function, exercise, *_write_hidden_dataset(seed, Path(folder)))
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        fail("not_four", name="load_dataset", found=type(result).__name__)
    return dict(zip(("X_train", "Y_train", "X_test", "Y_test"), (np.asarray(part) for part in result), strict=True))


def record_hidden(grade_id: str, function: Any) -> None:
    """Called by the hidden part of a grade cell while nbgrader grades; does nothing otherwise."""
    from autograder.learner.checks import hidden

    hidden.record(grade_id, lambda seed: hidden_outputs(grade_id, function, seed))


@functools.lru_cache(maxsize=64)
def _reference_outputs(grade_id: str, reference: Any, exercise: str, seed: int) -> dict[str, Any]:
    """The reference's hidden outputs: one grading run has one seed, so every submission shares them."""
    return hidden_outputs(grade_id, getattr(reference, exercise), seed)


def prepare_hidden(grade_id: str, reference: Any, seed: int) -> None:
    """Compute the reference's hidden outputs for ``grade_id`` ahead of the first verdict (kept for the seed)."""
    exercise = exercise_of(grade_id)
    _reference_outputs(grade_id, reference, exercise, seed)


def verify_hidden(grade_id: str, recorded: dict[str, np.ndarray], reference: Any, seed: int) -> None:
    """Compare what the kernel recorded with the reference, in the grader's process; raise CheckFailed."""
    exercise = exercise_of(grade_id)
    want = _reference_outputs(grade_id, reference, exercise, seed)
    if exercise in ("identity_block", "convolutional_block"):
        output = np.asarray(recorded["output"], dtype=np.float64)
        if grade_id.endswith("_shape"):
            if exercise == "convolutional_block" and not bool(recorded["eager"]):
                fail("not_tensor", found=message("non_eager_value"))
            expect_shape(output, want["output"].shape)
            if exercise == "identity_block" and output.min() < 0:
                fail("negative_after_relu", found=float(output.min()))
        else:
            expect_close(grade_id, output, want["output"])
    elif exercise == "ResNet50":

        fields = {"ResNet50_layers": (), "ResNet50_shapes": ("output_shape", "params"),
                  "ResNet50_config": ("config",)}[grade_id]
        compare_tables(json.loads(str(want["table"])), json.loads(str(recorded["table"])), fields)
    else:
        keys = ("X_train", "X_test") if grade_id == "load_dataset_images" else ("Y_train", "Y_test")
        for key in keys:
            found = np.asarray(recorded[key], dtype=np.float64)
            expect_close(key, found, np.asarray(want[key], dtype=np.float64))


__all__ = [
    "CheckFailed",
    "identity_block_shape",
    "identity_block_training_false",
    "identity_block_training_true",
    "convolutional_block_shape",
    "convolutional_block_training_false",
    "convolutional_block_training_true",
    "ResNet50_layers",
    "ResNet50_shapes",
    "ResNet50_config",
    "load_dataset_images",
    "load_dataset_labels",
]

LESSON = Lesson(NAME, EXERCISES, record_hidden, verify_hidden, prepare_hidden)
