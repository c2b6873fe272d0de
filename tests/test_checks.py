"""The checks fail wrong implementations with messages that name the fix, in the learner's language."""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest

from autograder.authoring.mutations import variant
from autograder.learner.checks import CheckFailed
from autograder.learner.checks import residual_networks as check
from solutions import residual_networks as reference


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNET_COURSE_LANG", "en")


def edited(function: Callable[..., Any], old: str, new: str) -> Callable[..., Any]:
    """The reference ``function`` with ``old`` replaced by ``new`` in its source."""
    source = textwrap.dedent(inspect.getsource(function))
    assert old in source
    namespace = dict(function.__globals__)
    exec(source.replace(old, new), namespace)  # noqa: S102
    return namespace[function.__name__]


def test_reference_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    for name in check.__all__:
        if name == "CheckFailed":
            continue
        getattr(check, name)(getattr(reference, check.exercise_of(name)))
    assert capsys.readouterr().out.count("✔") == len(check.__all__) - 1


def test_stage3_with_126_filters_is_caught_at_its_first_layer() -> None:
    wrong = edited(reference.ResNet50, "[128, 128, 512]", "[126, 126, 512]")
    check.ResNet50_layers(wrong)  # the layer types are still right: partial credit
    where = r"Layer 39 of 177 \(stage 3, convolutional block\).*filters=128.*126"
    with pytest.raises(CheckFailed, match=where) as info:
        check.ResNet50_config(wrong)
    assert "calls" not in str(info.value)  # its blocks pass their checks: the mistake is ResNet50's own
    with pytest.raises(CheckFailed, match=r"stage 3, convolutional block"):
        check.ResNet50_shapes(wrong)


def test_stage5_with_stride_1_is_caught() -> None:
    wrong = edited(reference.ResNet50, "filters=[512, 512, 2048], s=2", "filters=[512, 512, 2048], s=1")
    with pytest.raises(CheckFailed, match=r"stage 5, convolutional block.*output_shape=\[2, 2, 512\].*\[4, 4, 512\]"):
        check.ResNet50_shapes(wrong)
    with pytest.raises(CheckFailed, match=r"strides=\[2, 2\].*strides=\[1, 1\]"):
        check.ResNet50_config(wrong)


def test_missing_layer_reports_the_first_differing_layer() -> None:
    wrong = edited(reference.ResNet50, "    X = Flatten()(X)\n", "")
    with pytest.raises(CheckFailed, match=r"Layer 176 of 177 \(output layers\): expected a Flatten layer, found Dense"):
        check.ResNet50_layers(wrong)


def test_missing_final_relu_is_named() -> None:
    wrong = variant(reference.identity_block, "mistake_no_final_relu")
    with pytest.raises(CheckFailed, match="final ReLU"):
        check.identity_block_training_false(wrong)
    with pytest.raises(CheckFailed, match="negative values"):
        check.identity_block_shape(wrong)


def test_batchnorm_ignoring_training_flag_is_named() -> None:
    wrong = variant(reference.identity_block, "mistake_training_ignored")
    check.identity_block_training_false(wrong)  # inference mode is what an ignored flag gives
    with pytest.raises(CheckFailed, match=r"training=training"):
        check.identity_block_training_true(wrong)


def test_shortcut_without_batchnorm_is_named() -> None:
    wrong = variant(reference.convolutional_block, "mistake_shortcut_without_bn")
    with pytest.raises(CheckFailed, match="BatchNormalization on the shortcut"):
        check.convolutional_block_training_true(wrong)


def test_unknown_value_error_says_where() -> None:
    wrong = edited(reference.identity_block, 'X = Add()([X, X_shortcut])', 'X = Add()([X, X_shortcut * 2])')
    with pytest.raises(CheckFailed, match=r"values differ.*example \d, row \d, column \d, channel \d: expected"):
        check.identity_block_training_false(wrong)


def test_forgotten_return() -> None:
    wrong = edited(reference.convolutional_block, "    return X\n", "")
    with pytest.raises(CheckFailed, match=r"returned None: did you forget `return X`\?"):
        check.convolutional_block_shape(wrong)


def test_numpy_output_is_not_an_eager_tensor() -> None:
    def numpy_block(X: Any, f: int, filters: list[int], s: int = 2, training: bool = True, **_: Any) -> Any:
        return reference.convolutional_block(X, f, filters, s, training).numpy()

    with pytest.raises(CheckFailed, match="EagerTensor"):
        check.convolutional_block_shape(numpy_block)


def test_messages_follow_the_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNET_COURSE_LANG", "ru")
    wrong = variant(reference.identity_block, "mistake_no_final_relu")
    with pytest.raises(CheckFailed, match="без последней ReLU"):
        check.identity_block_training_false(wrong)


def _loader(scale: bool = True, one_hot: bool = True) -> Callable[..., Any]:
    def load_dataset(train_path: Path, test_path: Path) -> tuple[np.ndarray, ...]:
        X_train, Y_train, X_test, Y_test = reference.load_dataset(train_path, test_path)
        if not scale:
            X_train, X_test = X_train * 255, X_test * 255
        if not one_hot:
            Y_train, Y_test = Y_train.argmax(axis=1), Y_test.argmax(axis=1)
        return X_train, Y_train, X_test, Y_test

    return load_dataset


def test_dataset_mistakes() -> None:
    with pytest.raises(CheckFailed, match=r"X_train: values range from 0 to 255; divide the pixels by 255"):
        check.load_dataset_images(_loader(scale=False))
    with pytest.raises(CheckFailed, match=r"Y_train has shape \(975,\): labels must be one-hot"):
        check.load_dataset_labels(_loader(one_hot=False))
    check.load_dataset_images(_loader(one_hot=False))  # images alone are right: partial credit


def test_shuffled_labels_are_reported_by_position(tmp_path: Path) -> None:
    def shuffled(train_path: Path, test_path: Path) -> tuple[np.ndarray, ...]:
        X_train, Y_train, X_test, Y_test = reference.load_dataset(train_path, test_path)
        return X_train, np.roll(Y_train, 1, axis=0), X_test, Y_test

    with pytest.raises(CheckFailed, match=r"Y_train: \d+ of 975 labels differ from the file"):
        check.load_dataset_labels(shuffled)
    assert h5py  # the loader under test reads HDF5 through h5py


def test_resnet50_table_is_built_without_weights_and_matches_an_ordinary_build() -> None:
    """The checks' ResNet-50 builds defer every weight; a build that fails that way is redone the ordinary way."""
    from keras.src.backend.common.stateless_scope import in_stateless_scope

    from autograder.learner.checks.compare import layer_table

    scopes: list[bool] = []

    def watched(input_shape: tuple[int, ...] = (64, 64, 3), classes: int = 6) -> Any:
        scopes.append(in_stateless_scope())
        return reference.ResNet50(input_shape=input_shape, classes=classes)

    table = check.table_of_build(watched, classes=7)
    assert scopes == [True] and not in_stateless_scope()
    assert table == layer_table(reference.ResNet50(classes=7))
    assert table[-1]["config"]["units"] == 7 and table[-1]["params"] == 2048 * 7 + 7

    def only_ordinary(input_shape: tuple[int, ...] = (64, 64, 3), classes: int = 6) -> Any:
        scopes.append(in_stateless_scope())
        if in_stateless_scope():
            raise RuntimeError("needs real weights")
        return reference.ResNet50(input_shape=input_shape, classes=classes)

    scopes.clear()
    assert check.table_of_build(only_ordinary, classes=7) == table
    assert scopes == [True, False]  # the learner's ordinary build gives the table (or the feedback)


def test_fast_mode_shortens_fit(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import keras

    from autograder.learner import fast_mode

    original = keras.Model.fit, keras.Model.evaluate
    try:
        fast_mode.activate()
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
        model.compile(optimizer="sgd", loss="categorical_crossentropy")
        x, y = np.zeros((1000, 4), "float32"), np.eye(2, dtype="float32")[np.zeros(1000, int)]
        before = [weights.copy() for weights in model.get_weights()]
        history = model.fit(x, y, epochs=10, batch_size=32, validation_split=0.2, verbose=0)
        # One epoch, one scored batch, no training: the weights are untouched and Keras' fit
        # machinery (history, validation) still ran.
        assert len(history.history["loss"]) == 1 and "val_loss" in history.history
        assert history.history["loss"][0] == pytest.approx(np.log(2), rel=1e-5)  # untrained: uniform softmax
        assert model.optimizer.iterations.numpy() == 0
        assert all((a == b).all() for a, b in zip(before, model.get_weights(), strict=True))
        assert "train_step" not in vars(model)  # the shadowing ends with the call
        assert "fast grading mode" in capsys.readouterr().out
        assert len(model.evaluate(x, y, verbose=0, return_dict=True)) == 1
    finally:
        keras.Model.fit, keras.Model.evaluate = original
        if "__call__" in vars(keras.Model):
            del keras.Model.__call__


def test_fast_mode_refreshes_batchnorm_on_a_small_batch() -> None:
    """A Keras-built model in training mode sees its first sample; inference and own subclasses see all."""
    import keras

    from autograder.learner import fast_mode

    original = keras.Model.fit, keras.Model.evaluate
    try:
        fast_mode.activate()
        norm = keras.layers.BatchNormalization(momentum=0.0)
        model = keras.Sequential([keras.Input((1,)), norm])
        x = np.arange(128, dtype="float32").reshape(-1, 1)
        assert model(x[3:], training=True).shape[0] == fast_mode.TRAINING_CALL_SAMPLES == 1  # the refresh's 32: 1
        assert float(norm.moving_mean.numpy()[0]) == pytest.approx(3.0)  # the statistics of that one sample
        assert model(x, training=False).shape[0] == 128 and model(x[:1], training=True).shape[0] == 1

        class Own(keras.Model):  # a learner's model class: the checks call it, nothing is cut
            def call(self, inputs: object) -> object:
                return inputs

        assert Own()(x, training=True).shape[0] == 128
        # A check that wraps Layer.__call__ to see which layers run sees a learner's model nested in a Keras one.
        seen: list[object] = []
        original_call = keras.layers.Layer.__call__

        def recorded(self: object, *args: object, **kwargs: object) -> object:
            seen.append(self)
            return original_call(self, *args, **kwargs)

        own = Own()
        outer = keras.Sequential([keras.Input((1,)), own])
        keras.layers.Layer.__call__ = recorded
        try:
            outer(x, training=True)
        finally:
            keras.layers.Layer.__call__ = original_call
        assert outer in seen and own in seen
    finally:
        keras.Model.fit, keras.Model.evaluate = original
        if "__call__" in vars(keras.Model):
            del keras.Model.__call__


@pytest.mark.parametrize("lesson", ["residual_networks", "residual_units"])
def test_every_grade_cell_names_its_answer_cell(lesson: str) -> None:
    """The grader puts hidden-test verdicts on the answer cell that ``exercise_of`` names."""
    import importlib

    import nbformat
    from conftest import ROOT

    checks = importlib.import_module(f"autograder.learner.checks.{lesson}")
    notebook = nbformat.read(ROOT / "notebooks" / "en" / f"{lesson}.ipynb", as_version=4)
    cells = [cell.metadata.get("nbgrader", {}) for cell in notebook.cells]
    answers = {meta["grade_id"] for meta in cells if meta.get("solution")}
    grades = [meta["grade_id"] for meta in cells if meta.get("grade")]
    assert grades and {checks.exercise_of(grade_id) for grade_id in grades} == answers


# --- feedback that names the exercise to fix first ------------------------------------------------


def answer_stub(lesson: str, grade_id: str) -> str:
    """The untouched answer cell ``grade_id`` of the English student notebook: the learner's starting point."""
    import nbformat
    from conftest import student_notebook

    notebook = nbformat.read(student_notebook(lesson, "en"), as_version=4)
    return next(cell.source for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def defined(namespace: dict[str, Any], source: str) -> dict[str, Any]:
    """Run ``source`` in ``namespace`` as a notebook cell would, its lines readable by the checks."""
    import linecache

    filename = f"<cell {len(linecache.cache)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace


def resnet50_in(namespace: dict[str, Any]) -> Callable[..., Any]:
    """The reference ResNet50, defined in ``namespace`` beside the learner's blocks."""
    return defined(namespace, textwrap.dedent(inspect.getsource(reference.ResNet50)))["ResNet50"]


RESNET50_CHECKS = ("ResNet50_layers", "ResNet50_shapes", "ResNet50_config")


def failures(learner: Any, names: tuple[str, ...]) -> list[str]:
    texts = []
    for name in names:
        with pytest.raises(CheckFailed) as info:
            getattr(check, name)(learner)
        texts.append(str(info.value))
    return texts


def test_resnet50_with_a_stub_left_in_identity_block_names_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = defined(dict(vars(reference)), answer_stub("residual_networks", "identity_block"))
    ResNet50 = resnet50_in(namespace)
    for text in failures(ResNet50, RESNET50_CHECKS):
        assert "`ResNet50` calls `identity_block`, which does not pass its own checks yet: fix `identity_block` first" \
            in text
        assert "identity_block: output shape and final ReLU — " in text and "`...` stub is still in place" in text
        assert "identity_block(" not in text  # not the ResNet50 line the error surfaced in
    monkeypatch.setenv("RESNET_COURSE_LANG", "ru")
    text = failures(ResNet50, ("ResNet50_layers",))[0]
    assert "`ResNet50` вызывает `identity_block`, а `identity_block` пока не проходит свои проверки: сначала " \
           "исправьте `identity_block`" in text and "заглушки `...`" in text


def test_resnet50_with_a_wrong_convolutional_block_names_the_block() -> None:
    namespace = dict(vars(reference))
    namespace["convolutional_block"] = variant(reference.convolutional_block, "mistake_shortcut_without_bn")
    text = failures(resnet50_in(namespace), ("ResNet50_layers",))[0]
    assert "fix `convolutional_block` first" in text and "BatchNormalization on the shortcut" in text


def test_resnet50_with_an_undefined_block_says_which() -> None:
    namespace = {name: value for name, value in vars(reference).items() if name != "identity_block"}
    text = failures(resnet50_in(namespace), ("ResNet50_layers",))[0]
    assert "`ResNet50` calls `identity_block`, which is not defined: run the cell above that defines " \
           "`identity_block` without an error first." in text


@pytest.mark.parametrize("call", ["initializer()", "initializer(seed=1)"])
def test_identity_block_without_seed_zero_is_caught(call: str, monkeypatch: pytest.MonkeyPatch) -> None:
    source = textwrap.dedent(inspect.getsource(reference.identity_block))
    assert "initializer(seed=0)" in source
    namespace = defined(dict(vars(reference)), source.replace("initializer(seed=0)", call, 1))
    wrong = namespace["identity_block"]
    check.identity_block_shape(wrong)  # the shape is right: partial credit, as for the convolutional block
    for text in failures(wrong, ("identity_block_training_false", "identity_block_training_true")):
        assert f"created as `{call}`: pass `kernel_initializer=initializer(seed=0)` to every Conv2D" in text
        assert re.search(rf"Line \d+ of the function: `X = Conv2D\(.*{re.escape(call)}\)\(X\)`", text), text
    monkeypatch.setenv("RESNET_COURSE_LANG", "ru")
    text = failures(wrong, ("identity_block_training_false",))[0]
    assert f"Инициализатор весов создан вызовом `{call}`: передайте `kernel_initializer=initializer(seed=0)`" in text


def test_an_answer_cell_that_failed_to_run_is_named_in_the_kernel() -> None:
    """A grade cell whose answer cell did not run: the NameError says, in the notebook's language, what to do.

    Run in a real kernel, as the learner and nbgrader do: the NameError is raised by Python before
    the check starts, so only the kernel's exception display can explain it.
    """
    import nbformat
    from conftest import ROOT

    from autograder.authoring.execute import execute, grade_results

    def grade_cell(grade_id: str, source: str) -> nbformat.NotebookNode:
        return nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
            "grade": True, "solution": False, "locked": True, "points": 1, "grade_id": grade_id,
            "schema_version": 3}})

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("import os\nfrom autograder.learner.lesson import start_lesson\n"
                                  "check = start_lesson(\"residual_networks\")"),
        nbformat.v4.new_code_cell("def convolutional_block(X, f, filters:\n    return X"),  # a syntax error
        grade_cell("convolutional_block_shape", "check.convolutional_block_shape(convolutional_block)"),
        nbformat.v4.new_code_cell("os.environ['RESNET_COURSE_LANG'] = 'ru'"),
        grade_cell("convolutional_block_training_false",
                   "check.convolutional_block_training_false(convolutional_block)"),
        nbformat.v4.new_code_cell("print(some_other_name)"),
    ]
    done = execute(notebook, ROOT, grading=False, env={"RESNET_COURSE_LANG": "en"})
    results = grade_results(done)
    assert [result.passed for result in results] == [False, False]  # nbgrader still scores them 0
    assert results[0].text == (
        "NameError: `convolutional_block` is not defined: the cell above that defines it has not been run, "
        "or it stopped with an error. Run that cell without an error first, then run this cell again.")
    assert results[1].text.startswith("NameError: Имя `convolutional_block` не определено: ячейка выше, в которой "
                                      "оно определяется, не выполнялась или завершилась с ошибкой.")
    other = done.cells[-1].outputs[0]
    assert other.ename == "NameError" and other.evalue == "name 'some_other_name' is not defined"
    assert len(other.traceback) > 1  # any other NameError keeps IPython's own traceback
