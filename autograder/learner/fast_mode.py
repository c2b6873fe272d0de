"""Fast grading mode: while nbgrader grades (``NBGRADER_EXECUTION`` is set), training is cut short.

Learners see and run the plain ``model.fit(...)`` call. Under nbgrader the same call goes
through Keras' ``fit`` (argument checks, callbacks, history, progress bar) for one small
batch, but that batch is only scored, as ``evaluate`` would, not trained on: the checks never
depend on trained weights, and on 2 cores an eager ResNet-50 training step costs ~2.5 s (its
Adam update alone ~1.9 s) while scoring the batch costs ~0.4 s. ``evaluate`` scores a small
slice. Both run eagerly: tracing ResNet-50's graph costs more than the steps themselves.
A Keras-built model (functional or sequential, not a learner's own ``Model`` subclass, which
the checks call) called directly in training mode on more than a small batch (the lesson's
BatchNorm refresh: 128 images in batches of 32, ~3.5 s on 2 cores) sees the batch's first
sample only: that call only updates the statistics of a model no check looks at after training.
An eager ResNet-50 call costs mostly its per-layer overhead: one image instead of eight saves
~30 % of each of the refresh's four calls.
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any

from autograder.learner.i18n import message

GRADING_ENV = "NBGRADER_EXECUTION"
BATCH = 8  # samples that fit and evaluate see (enough for a validation split)
TRAINING_CALL_SAMPLES = 1  # samples a Keras-built model called in training mode sees


def grading() -> bool:
    return bool(os.environ.get(GRADING_ENV))


def _shorten(x: Any, count: int) -> Any:
    """The first ``count`` samples of an array, or of each array in a tuple/list/dict (validation data too)."""
    if x is None:
        return None
    if isinstance(x, dict):
        return {key: _shorten(value, count) for key, value in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_shorten(value, count) for value in x)
    return x[:count] if hasattr(x, "__getitem__") and hasattr(x, "shape") else x


def _patch(method: Any, epochs: int | None) -> Any:
    signature = inspect.signature(method)

    @functools.wraps(method)
    def shortened(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        arguments = bound.arguments
        for name in ("x", "y", "sample_weight", "validation_data"):
            if name in arguments:
                arguments[name] = _shorten(arguments[name], BATCH)
        arguments["batch_size"] = BATCH
        self.run_eagerly = True
        if epochs is None:
            return method(*bound.args, **bound.kwargs)
        arguments["epochs"] = epochs
        print(message("fast_mode_fit"))
        # Keras' train function calls self.train_step per batch: an instance attribute shadows it
        # for this call only, so the batch is scored (loss and metrics) and the weights stay as they are.
        self.train_step = self.test_step
        try:
            return method(*bound.args, **bound.kwargs)
        finally:
            del self.train_step

    shortened.__fast_mode__ = True  # type: ignore[attr-defined]
    return shortened


def _cap_training_calls(own_call: Any) -> Any:
    """A Keras-built model's ``__call__`` that, in training mode, runs on its first samples only.

    ``own_call`` is ``keras.Model``'s own ``__call__`` if it has one; else the call goes on to ``Layer.__call__``
    as found at call time, so that a check that wraps ``Layer.__call__`` (to see which layers a learner's
    model calls) still sees every call, nested models' included.
    """
    import keras

    @functools.wraps(own_call or keras.layers.Layer.__call__)
    def capped(self: Any, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        size = getattr(inputs, "shape", (None,))
        if (kwargs.get("training") is True and type(self).__module__.startswith("keras.") and len(size)
                and isinstance(size[0], int) and size[0] > TRAINING_CALL_SAMPLES):
            inputs = inputs[:TRAINING_CALL_SAMPLES]
        if own_call is not None:
            return own_call(self, inputs, *args, **kwargs)
        return super(keras.Model, self).__call__(inputs, *args, **kwargs)

    return capped


def activate() -> None:
    """Shorten ``keras.Model.fit``, ``evaluate`` and training-mode calls for the rest of this process."""
    import keras

    if getattr(keras.Model.fit, "__fast_mode__", False):
        return
    keras.Model.fit = _patch(keras.Model.fit, epochs=1)
    keras.Model.evaluate = _patch(keras.Model.evaluate, epochs=None)
    keras.Model.__call__ = _cap_training_calls(vars(keras.Model).get("__call__"))


def activate_if_grading() -> None:
    if grading():
        activate()
