"""Comparisons that explain themselves: tensors, arrays and Keras layer tables."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from autograder.learner.checks import fail
from autograder.learner.i18n import message

RTOL = 1e-3
ATOL = 1e-4


def to_array(value: Any) -> np.ndarray:
    """A NumPy copy of a tensor or array-like (fails clearly on anything else)."""
    try:
        return np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float64)
    except (TypeError, ValueError):
        fail("not_tensor", found=type(value).__name__)
    raise AssertionError("unreachable")


def expect_eager_tensor(value: Any) -> None:
    """The seed's ``type(A) == EagerTensor`` check, with a message instead of a bare assert."""
    import tensorflow as tf

    if not (isinstance(value, tf.Tensor) and hasattr(value, "numpy")):
        fail("not_tensor", found=type(value).__name__)


def expect_shape(actual: np.ndarray, expected: Sequence[int]) -> None:
    if tuple(actual.shape) != tuple(expected):
        fail("wrong_shape", expected=tuple(expected), found=tuple(actual.shape))


def describe_index(index: tuple[int, ...]) -> str:
    if len(index) == 4:
        return message("where_4d", example=index[0], row=index[1], column=index[2], channel=index[3])
    return message("where_nd", index=index)


def expect_close(
    what: str,
    actual: np.ndarray,
    expected: np.ndarray,
    mistakes: Mapping[str, np.ndarray] | None = None,
) -> None:
    """Values within tolerance; otherwise name a known mistake, or the first differing element."""
    expect_shape(actual, expected.shape)
    if not np.all(np.isfinite(actual)):
        fail("not_finite")
    close = np.isclose(actual, expected, rtol=RTOL, atol=ATOL)
    if close.all():
        return
    for key, variant in (mistakes or {}).items():
        if variant.shape == actual.shape and np.allclose(actual, variant, rtol=RTOL, atol=ATOL):
            fail(key)
    bad = np.argwhere(~close)
    first = tuple(int(i) for i in bad[0])
    fail(
        "values_off",
        what=what,
        count=len(bad),
        total=actual.size,
        maxdiff=float(np.max(np.abs(actual - expected))),
        where=describe_index(first),
        expected=float(expected[first]),
        found=float(actual[first]),
    )


# --- Keras layer tables ---------------------------------------------------------------

# The configuration keys that define the architecture, per layer class.
CONFIG_KEYS: dict[str, tuple[str, ...]] = {
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "kernel_initializer"),
    "BatchNormalization": ("axis",),
    "Activation": ("activation",),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "ZeroPadding2D": ("padding",),
    "Dense": ("units", "activation", "kernel_initializer"),
}


def _plain(value: Any) -> Any:
    """JSON-friendly form of a config value (initializers become their class name)."""
    if isinstance(value, Mapping) and "class_name" in value:
        return value["class_name"]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def layer_table(model: Any) -> list[dict[str, Any]]:
    """One row per layer: class, output shape (no batch axis), parameters and key config."""
    rows = []
    for layer in model.layers:
        kind = type(layer).__name__
        config = layer.get_config()
        shape = getattr(layer.output, "shape", None)
        if kind == "BatchNormalization" and shape is not None and config.get("axis", 0) < 0:
            config["axis"] = config["axis"] + len(shape)  # axis=-1 and axis=3 are the same layer
        rows.append(
            {
                "class": kind,
                "output_shape": [int(d) for d in shape[1:]] if shape is not None else None,
                "params": int(layer.count_params()),
                "config": {key: _plain(config.get(key)) for key in CONFIG_KEYS.get(kind, ())},
            }
        )
    return rows
