"""Checks for the Residual Networks lesson, one public function per grade cell.

Grade cells call them with the learner's function, e.g.
``check.identity_block_training_false(identity_block)``. The inputs are the lesson's own
test inputs (``CASES``); the expected outputs come from ``autograder/expected``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder import fast_mode
from autograder.checks import CheckFailed, call_student, check, fail, install_ipython_display
from autograder.checks.compare import expect_close, expect_eager_tensor, expect_shape, layer_table, to_array
from autograder.expected import array, load

LESSON = "residual_networks"


def seed_input() -> np.ndarray:
    """The lesson's test input: three 4×4×3 examples filled with −1, 1 and 3."""
    return np.concatenate([np.ones((1, 4, 4, 3)) * v for v in (-1, 1, 3)], axis=0).astype(np.float32)


def constant_initializer(seed: int = 0) -> Any:
    from tensorflow.keras.initializers import constant

    return constant(value=1)


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


def run_case(function: Any, case: str) -> Any:
    """Run the learner's (or the reference) function on one of the lesson's cases."""
    name, kwargs = CASES[case]
    return call_student(function, name, seed_input(), **kwargs)


def _expected(case: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    stored = load(LESSON)["blocks"][case]
    return array(stored["output"]), {key: array(value) for key, value in stored.get("mistakes", {}).items()}


def _block_values(function: Any, case: str, label: str) -> None:
    output = to_array(run_case(function, case))
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

_models: dict[int, Any] = {}


def _student_table(ResNet50: Any) -> list[dict[str, Any]]:
    """Build the learner's model once per function object and describe its layers."""
    key = id(getattr(ResNet50, "__code__", ResNet50))
    if key not in _models:
        model = call_student(ResNet50, "ResNet50", input_shape=(64, 64, 3), classes=6)
        if not hasattr(model, "layers"):
            fail("not_model", name="ResNet50", found=type(model).__name__)
        _models.clear()  # keep one model alive at a time: ResNet-50 is ~90 MB of weights
        _models[key] = layer_table(model)
    return _models[key]


def _where(index: int, total: int) -> str:
    from autograder.i18n import current_language, message

    stage = load(LESSON)["resnet50"]["stages"][index][current_language()]
    return message("layer_where", index=index + 1, total=total, stage=stage)


def _compare_layers(ResNet50: Any, fields: tuple[str, ...]) -> None:
    expected = load(LESSON)["resnet50"]["layers"]
    found = _student_table(ResNet50)
    for index, (want, got) in enumerate(zip(expected, found, strict=False)):
        where = _where(index, len(expected))
        if want["class"] != got["class"]:
            fail("layer_class", where=where, expected=want["class"], found=got["class"])
        for field in fields:
            if field == "config":
                for attr, value in want["config"].items():
                    if got["config"].get(attr) != value:
                        fail("layer_attr", where=where, expected_class=want["class"], attr=attr,
                             expected=value, found=got["config"].get(attr))
            elif want[field] != got[field]:
                fail("layer_attr", where=where, expected_class=want["class"], attr=field,
                     expected=want[field], found=got[field])
    if len(found) != len(expected):
        fail("layer_count", expected=len(expected), found=len(found))


@check({"en": "ResNet50: layers in order", "ru": "ResNet50: последовательность слоёв"})
def ResNet50_layers(ResNet50: Any) -> None:
    _compare_layers(ResNet50, ())


@check({"en": "ResNet50: output shapes and parameters", "ru": "ResNet50: размерности выходов и параметры"})
def ResNet50_shapes(ResNet50: Any) -> None:
    _compare_layers(ResNet50, ("output_shape", "params"))
    expected_total = load(LESSON)["resnet50"]["total_params"]
    found_total = sum(row["params"] for row in _student_table(ResNet50))
    if found_total != expected_total:
        fail("param_total", expected=expected_total, found=found_total)


@check({"en": "ResNet50: layer settings", "ru": "ResNet50: настройки слоёв"})
def ResNet50_config(ResNet50: Any) -> None:
    _compare_layers(ResNet50, ("config",))


# --- dataset -------------------------------------------------------------------------------


def _load_student_data(load_dataset: Any) -> tuple[np.ndarray, ...]:
    from autograder.datasets import find_data_dir

    data_dir = find_data_dir()
    result = call_student(load_dataset, "load_dataset", data_dir / "train_digits.h5", data_dir / "test_digits.h5")
    if not isinstance(result, (tuple, list)) or len(result) != 4:
        fail("not_four", name="load_dataset", found=type(result).__name__)
    return tuple(np.asarray(part) for part in result)


@check({"en": "load_dataset: images", "ru": "load_dataset: изображения"})
def load_dataset_images(load_dataset: Any) -> None:
    X_train, _, X_test, _ = _load_student_data(load_dataset)
    stored = load(LESSON)["dataset"]
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
    stored = load(LESSON)["dataset"]
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

install_ipython_display()
fast_mode.activate_if_grading()
