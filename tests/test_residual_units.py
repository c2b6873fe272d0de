"""Residual Units lesson: the checks catch real wrong implementations by name, in the learner's language;
the MNIST loader falls back to the bundled stand-in without touching the network, and says so."""

from __future__ import annotations

import hashlib
import inspect
import linecache
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from conftest import ROOT

from autograder.authoring import data as build_data
from autograder.learner import datasets
from autograder.learner.checks import CheckFailed
from autograder.learner.checks import residual_units as check
from autograder.learner.expected import load

sys.path.insert(0, str(ROOT))  # `solutions` is deliberately not installed
from solutions import residual_units as reference  # noqa: E402

BLOCK_CHECKS = ("ResidualBlock_shape_params", "ResidualBlock_forward_inference", "ResidualBlock_forward_training")
RESNET_CHECKS = ("ResNet_layers", "ResNet_shape_params", "ResNet_forward")


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNET_COURSE_LANG", "en")


def edited(cls: type, old: str, new: str, **names: Any) -> type:
    """The reference class with ``old`` replaced by ``new`` in its source (``names`` added to its globals)."""
    source = textwrap.dedent(inspect.getsource(cls))
    assert old in source, old
    source = source.replace(old, new)
    filename = f"<edited {cls.__name__} {len(linecache.cache)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)  # like a notebook cell
    namespace = {**vars(sys.modules[cls.__module__]), **names}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    return namespace[cls.__name__]


def failure(name: str, learner: Any) -> str:
    """The message of check ``name`` on ``learner``; the check must fail."""
    with pytest.raises(CheckFailed) as info:
        getattr(check, name)(learner)
    return str(info.value)


# --- the reference ----------------------------------------------------------------------------


def test_reference_passes_every_check(capsys: pytest.CaptureFixture[str]) -> None:
    for name in BLOCK_CHECKS:
        getattr(check, name)(reference.ResidualBlock)
    for name in RESNET_CHECKS:
        getattr(check, name)(reference.ResNet)
    out = capsys.readouterr().out
    assert out.count("✔") == len(BLOCK_CHECKS) + len(RESNET_CHECKS), out
    assert set(BLOCK_CHECKS + RESNET_CHECKS) <= set(check.__all__)


def test_stored_values_describe_the_seed_architecture() -> None:
    values = load("residual_units")
    assert values["_generated_by"] == "python -m autograder generate expected"
    block = values["block"]
    assert [case["params"] for case in block["shape_cases"]] == [2 * (9 * 16 + 4) + 2 * 16, 2 * (25 * 36 + 6) + 2 * 24]
    assert [r["class"] for r in block["forward"]["layers"]] == [
        "Conv2D", "BatchNormalization", "Activation", "Conv2D", "BatchNormalization", "Add"]  # in call order
    resnet = values["resnet"]
    assert resnet["shape_cases"][0] == {"num_classes": 10, "input_shape": [2, 28, 28, 1], "output_shape": [2, 10],
                                        "params": 152_842}
    stem = resnet["forward"]["layers"][0]
    assert stem["config"] == {"filters": 64, "kernel_size": [7, 7], "strides": [1, 1], "padding": "same"}
    assert resnet["forward"]["layers"][-1]["config"] == {"units": 7, "activation": "softmax"}
    probabilities = np.asarray(resnet["forward"]["output"]["inference"])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert not np.allclose(resnet["forward"]["output"]["inference"], resnet["forward"]["output"]["training"])
    for mode in check.MODES:  # every known mistake changes the output, so each one can be named
        assert sorted(block["forward"]["mistakes"][mode]) == sorted(check.BLOCK_MISTAKES)
        assert sorted(resnet["forward"]["mistakes"][mode]) == sorted(check.RESNET_MISTAKES)


# --- the six named mistakes ---------------------------------------------------------------------

NO_SKIP = ("        x = self.add([x, input_tensor])\n", "")
RELU_BEFORE_ADD = ("        x = self.add([x, input_tensor])\n",
                   "        x = self.act(x)\n        x = self.add([x, input_tensor])\n")


def test_missing_skip_connection_is_named() -> None:
    wrong = edited(reference.ResidualBlock, *NO_SKIP)
    check.ResidualBlock_shape_params(wrong)  # the layers are right: partial credit
    for name in ("ResidualBlock_forward_inference", "ResidualBlock_forward_training"):
        assert "without its skip connection" in failure(name, wrong)
        assert "self.add([x, input_tensor])" in failure(name, wrong)


def test_activation_in_the_wrong_place_is_named() -> None:
    before_add = edited(reference.ResidualBlock, *RELU_BEFORE_ADD)
    for name in ("ResidualBlock_forward_inference", "ResidualBlock_forward_training"):
        assert "ReLU between the second batch normalization and the addition" in failure(name, before_add)

    before_bn = edited(reference.ResidualBlock, "        x = self.bn1(x)\n        x = self.act(x)\n",
                       "        x = self.act(x)\n        x = self.bn1(x)\n")
    assert "ReLU before the first batch normalization" in failure("ResidualBlock_forward_training", before_bn)

    no_final = edited(reference.ResidualBlock, "        x = self.act(x)\n        return x\n", "        return x\n")
    assert "without the ReLU after the addition" in failure("ResidualBlock_forward_inference", no_final)

    stem = edited(reference.ResNet, "        x = self.act(x)\n        x = self.max_pool(x)\n",
                  "        x = self.max_pool(x)\n")
    assert "without the ReLU after its first batch normalization" in failure("ResNet_forward", stem)


def test_missing_batch_normalization_is_named() -> None:
    wrong = edited(reference.ResidualBlock, "        x = self.bn2(x)\n", "")
    for name in BLOCK_CHECKS:
        text = failure(name, wrong)
        assert ("ResidualBlock(4, 3): batch normalization is missing — 1 BatchNormalization layer is used, "
                "expected 2") in text

    stem = edited(reference.ResNet, "        x = self.bn(x)\n", "")
    assert "ResNet(7), first layers: batch normalization is missing" in failure("ResNet_layers", stem)


def test_wrong_pooling_is_named() -> None:
    average = edited(reference.ResNet, "MaxPool2D((3, 3))", "keras.layers.AveragePooling2D((3, 3))", keras=keras)
    check.ResNet_shape_params(average)  # same shapes and parameters: partial credit
    for name in ("ResNet_layers", "ResNet_forward"):
        text = failure(name, average)
        assert "Wrong pooling: the pooling layers in use are ['AveragePooling2D', 'GlobalAveragePooling2D']" in text

    global_max = edited(reference.ResNet, "GlobalAveragePooling2D()", "keras.layers.GlobalMaxPooling2D()", keras=keras)
    assert "'GlobalMaxPooling2D'" in failure("ResNet_layers", global_max)

    small_window = edited(reference.ResNet, "MaxPool2D((3, 3))", "MaxPool2D((2, 2))")
    assert "MaxPool2D has pool_size=(2, 2), expected (3, 3)" in failure("ResNet_layers", small_window)


def test_wrong_kernel_size_is_named() -> None:
    hard_coded = edited(reference.ResidualBlock, "self.conv2 = Conv2D(filters, kernel_size,",
                        "self.conv2 = Conv2D(filters, 3,")
    text = failure("ResidualBlock_shape_params", hard_coded)
    assert "ResidualBlock(6, 5), convolution 2: wrong kernel size — expected kernel_size=(5, 5), found (3, 3)" in text
    assert "Conv2D(filters, kernel_size, padding='same')" in text

    stem = edited(reference.ResNet, "Conv2D(64, 7,", "Conv2D(64, 3,")
    for name in RESNET_CHECKS:
        assert "first layers, convolution 1: wrong kernel size — expected kernel_size=(7, 7), found (3, 3)" in failure(
            name, stem)


def test_missing_softmax_is_named() -> None:
    wrong = edited(reference.ResNet, 'Dense(num_classes, activation="softmax")', "Dense(num_classes)")
    check.ResNet_shape_params(wrong)
    for name in ("ResNet_layers", "ResNet_forward"):
        assert "activation 'linear'. The softmax is missing" in failure(name, wrong)


def test_output_that_is_not_a_distribution_is_named_by_behaviour() -> None:
    class Doubled(reference.ResNet):
        def call(self, inputs: Any) -> Any:
            return super().call(inputs) * 2.0

    assert "row 0 sums to 2" in failure("ResNet_forward", Doubled)


def test_mistakes_in_russian(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNET_COURSE_LANG", "ru")
    assert "без обходного соединения" in failure("ResidualBlock_forward_training",
                                                 edited(reference.ResidualBlock, *NO_SKIP))
    assert "ReLU стоит между второй пакетной нормализацией и сложением" in failure(
        "ResidualBlock_forward_inference", edited(reference.ResidualBlock, *RELU_BEFORE_ADD))
    assert "не хватает пакетной нормализации" in failure(
        "ResidualBlock_shape_params", edited(reference.ResidualBlock, "        x = self.bn1(x)\n", ""))
    assert "неверный размер ядра" in failure("ResNet_layers",
                                             edited(reference.ResNet, "Conv2D(64, 7,", "Conv2D(64, 5,"))
    assert "Неверный пулинг" in failure(
        "ResNet_layers", edited(reference.ResNet, "MaxPool2D((3, 3))", "keras.layers.AveragePooling2D((3, 3))",
                                keras=keras))
    assert "Не хватает softmax" in failure(
        "ResNet_forward", edited(reference.ResNet, 'Dense(num_classes, activation="softmax")', "Dense(num_classes)"))
    assert "ResidualBlock, training=True (режим обучения)\u00a0— " in failure(
        "ResidualBlock_forward_training", edited(reference.ResidualBlock, *NO_SKIP))


# --- other feedback -------------------------------------------------------------------------------


def test_resnet_with_a_wrong_block_points_at_the_block() -> None:
    block = edited(reference.ResidualBlock, *NO_SKIP)
    resnet = edited(reference.ResNet, "x = self.id1a(x)", "x = self.id1a(x)", ResidualBlock=block)
    check.ResNet_layers(resnet)  # the ResNet's own layers are right
    text = failure("ResNet_forward", resnet)
    assert "fix `ResidualBlock` first" in text and "without its skip connection" in text


def test_resnet_with_a_stub_left_in_the_block_names_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from conftest import student_notebook

    notebook = nbformat.read(student_notebook("residual_units", "en"), as_version=4)
    stub = next(cell.source for cell in notebook.cells
                if cell.metadata.get("nbgrader", {}).get("grade_id") == "ResidualBlock")
    namespace = dict(vars(sys.modules[reference.ResNet.__module__]))
    exec(stub, namespace)  # noqa: S102 - the learner's untouched ResidualBlock cell
    resnet = edited(reference.ResNet, "x = self.id1a(x)", "x = self.id1a(x)", ResidualBlock=namespace["ResidualBlock"])
    for name in RESNET_CHECKS:
        text = failure(name, resnet)
        assert "`ResNet` calls `ResidualBlock`, which does not pass its own checks yet: fix `ResidualBlock` first" \
            in text, text
        assert "`ResidualBlock` returned `...`: the stub is not filled in yet" in text
    monkeypatch.setenv("RESNET_COURSE_LANG", "ru")
    assert "сначала исправьте `ResidualBlock`" in failure("ResNet_layers", resnet)


def test_resnet_with_an_undefined_block_says_which() -> None:
    source = textwrap.dedent(inspect.getsource(reference.ResNet))
    namespace = {name: value for name, value in vars(sys.modules[reference.ResNet.__module__]).items()
                 if name != "ResidualBlock"}
    exec(source, namespace)  # noqa: S102 - as if the ResidualBlock cell had stopped with an error
    assert "`ResNet` calls `ResidualBlock`, which is not defined" in failure("ResNet_layers", namespace["ResNet"])


def test_one_block_used_twice_is_caught() -> None:
    wrong = edited(reference.ResNet, "x = self.id1b(x)", "x = self.id1a(x)")
    assert "ResNet uses 1 residual block, expected 2" in failure("ResNet_layers", wrong)


def test_weights_that_do_not_line_up_are_reported() -> None:
    wrong = edited(reference.ResidualBlock, 'self.conv2 = Conv2D(filters, kernel_size, padding="same")',
                   'self.conv2 = Conv2D(filters, kernel_size, padding="same", use_bias=False)')
    text = failure("ResidualBlock_forward_training", wrong)
    assert "do not line up with the reference model" in text
    assert "Conv2D (3, 3, 4, 4) + (4,)" in text and "Conv2D (3, 3, 4, 4);" in text


def test_valid_padding_is_named_although_the_addition_fails() -> None:
    wrong = edited(reference.ResidualBlock, 'self.conv1 = Conv2D(filters, kernel_size, padding="same")',
                   "self.conv1 = Conv2D(filters, kernel_size)")
    assert "convolution 1: expected padding='same', found padding='valid'" in failure("ResidualBlock_shape_params",
                                                                                      wrong)


def test_error_in_call_points_at_the_line_of_the_method() -> None:
    wrong = edited(reference.ResidualBlock, "x = self.bn1(x)", "x = self.bn3(x)")
    text = failure("ResidualBlock_forward_inference", wrong)
    assert "`ResidualBlock` raised AttributeError" in text
    assert "Line 3 of `call`: `x = self.bn3(x)`" in text
    assert "Exception encountered" not in text and "\x1b" not in text


def test_unfilled_call_says_the_stub_is_not_filled() -> None:
    wrong = edited(reference.ResidualBlock, "        return x\n", "        return ...\n")
    assert "returned `...`: the stub is not filled in yet" in failure("ResidualBlock_shape_params", wrong)


def test_not_a_model() -> None:
    def ResidualBlock(filters: int, kernel_size: int) -> str:
        return "block"

    assert "should create a Keras model" in failure("ResidualBlock_shape_params", ResidualBlock)


def test_language_for_the_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    assert check.language() == "en"
    monkeypatch.setenv("RESNET_COURSE_LANG", "ru")
    assert check.language() == "ru"


# --- hidden tests: the learner's class on hyper-parameters and inputs never shown ------------------------

GRADE_IDS = BLOCK_CHECKS + RESNET_CHECKS
FORWARD_IDS = ("ResidualBlock_forward_inference", "ResidualBlock_forward_training", "ResNet_forward")
SEED = 20240611


@pytest.fixture
def grading(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Recording switched on, as nbgrader's kernel has it while the course is graded."""
    from autograder.learner.checks import hidden

    monkeypatch.setenv(hidden.RECORD_ENV, str(tmp_path))
    monkeypatch.setenv(hidden.SEED_ENV, str(SEED))
    return tmp_path


def reference_class(grade_id: str) -> type:
    return reference.ResidualBlock if grade_id.startswith("ResidualBlock") else reference.ResNet


def record(folder: Path, grade_id: str, cls: Any) -> dict[str, np.ndarray] | str:
    from autograder.learner.checks import hidden

    check.record_hidden(grade_id, cls)
    return hidden.recorded(folder, grade_id)


def hidden_failure(folder: Path, grade_id: str, cls: Any) -> str:
    """The grader's verdict on ``cls`` for ``grade_id``: the hidden test must fail."""
    recorded = record(folder, grade_id, cls)
    if isinstance(recorded, str):  # the learner's code failed while recording: the grader zeroes the cell
        return recorded
    with pytest.raises(CheckFailed) as info:
        check.verify_hidden(grade_id, recorded, reference, SEED)
    return str(info.value)


def test_hidden_reference_passes_every_grade_cell(grading: Path) -> None:
    for grade_id in GRADE_IDS:
        recorded = record(grading, grade_id, reference_class(grade_id))
        assert isinstance(recorded, dict), recorded
        check.verify_hidden(grade_id, recorded, reference, SEED)
    assert sorted(path.name for path in grading.iterdir()) == sorted(f"{grade_id}.npz" for grade_id in GRADE_IDS)
    layers = record(grading, "ResNet_layers", reference.ResNet)["layers"]
    assert list(layers[-2:]) == [f"Dense(units={check.hidden_case('ResNet_layers', SEED)['args'][0]})", "softmax"]
    assert sum(text.startswith("block 2 / ") for text in layers) == 4


def test_hidden_recording_is_the_same_in_another_process(grading: Path) -> None:
    """The learner's kernel and the grader draw the same inputs and weights from the seed."""
    from autograder.learner.checks import hidden

    code = ("import sys; sys.path.insert(0, sys.argv[1])\n"
            "from autograder.learner.checks import residual_units as check\n"
            "from solutions import residual_units as reference\n"
            "for grade_id in sys.argv[2:]:\n"
            "    check.record_hidden(grade_id, getattr(reference, grade_id.split('_')[0]))\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home()), "TF_CPP_MIN_LOG_LEVEL": "2",
           hidden.RECORD_ENV: str(grading), hidden.SEED_ENV: str(SEED)}
    run = subprocess.run([sys.executable, "-c", code, str(ROOT), *GRADE_IDS], capture_output=True, text=True,
                         cwd=grading, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    for grade_id in GRADE_IDS:
        recorded = hidden.recorded(grading, grade_id)
        assert isinstance(recorded, dict), recorded
        check.verify_hidden(grade_id, recorded, reference, SEED)
        mine = check.hidden_outputs(grade_id, reference_class(grade_id), SEED)
        for key, value in mine.items():
            if value.dtype.kind == "f":
                np.testing.assert_allclose(recorded[key], value, rtol=1e-5, atol=1e-6)
            else:
                np.testing.assert_array_equal(recorded[key], value)


def test_hidden_cases_are_never_the_public_ones() -> None:
    values = load("residual_units")
    public_blocks = {(c["filters"], c["kernel_size"]) for c in values["block"]["shape_cases"]}
    public_classes = {c["num_classes"] for c in values["resnet"]["shape_cases"]} | {7}
    seen = set()
    for seed in range(40):
        for grade_id in GRADE_IDS:
            case = check.hidden_case(grade_id, seed)
            x = case["x"]
            if grade_id.startswith("ResidualBlock"):
                filters, kernel_size = case["args"]
                assert filters not in (4, 6) and (filters, kernel_size) not in public_blocks
                assert 2 <= filters <= 8 and kernel_size in (1, 3, 5) and x.shape[-1] == filters
            else:
                assert case["args"][0] not in public_classes and 3 <= case["args"][0] <= 12
                assert x.shape[-1] == 1 and all(20 <= d <= 32 for d in x.shape[1:3])
            seen.add((grade_id, case["args"], x.shape))
            np.testing.assert_array_equal(x, check.hidden_case(grade_id, seed)["x"])  # deterministic
    assert len(seen) > 150  # the seed really changes the case


def test_hidden_weight_tables_follow_the_public_ones() -> None:
    """The hidden case loads weights by the same convention as the public checks (same kinds, order, shapes)."""
    stored = load("residual_units")

    def with_weights(table: list[dict[str, Any]]) -> list[tuple[str, list[list[int]]]]:
        return [(r["class"], r["shapes"]) for r in table if r["shapes"]]

    forward = stored["block"]["forward"]
    assert with_weights(forward["layers"]) == with_weights(check.block_rows(forward["filters"], forward["kernel_size"],
                                                                            forward["input_shape"][-1]))
    forward = stored["resnet"]["forward"]
    assert with_weights(forward["layers"]) == with_weights(check.resnet_rows(forward["num_classes"]))


@pytest.mark.parametrize("mistake", check.BLOCK_MISTAKES)
def test_hidden_tests_catch_a_wrong_block(grading: Path, mistake: str) -> None:
    from autograder.authoring.mutations import class_variant

    wrong = class_variant(reference.ResidualBlock, mistake)
    recorded = record(grading, "ResidualBlock_shape_params", wrong)
    check.verify_hidden("ResidualBlock_shape_params", recorded, reference, SEED)  # the layers are right
    for grade_id in ("ResidualBlock_forward_inference", "ResidualBlock_forward_training"):
        assert "values differ from the expected values" in hidden_failure(grading, grade_id, wrong)


def test_hidden_tests_catch_a_wrong_resnet(grading: Path) -> None:
    from autograder.authoring.mutations import class_variant

    no_relu = class_variant(reference.ResNet, "mistake_stem_no_relu")
    for grade_id in ("ResNet_layers", "ResNet_shape_params"):
        check.verify_hidden(grade_id, record(grading, grade_id, no_relu), reference, SEED)
    assert "values differ from the expected values" in hidden_failure(grading, "ResNet_forward", no_relu)

    no_softmax = class_variant(reference.ResNet, "mistake_no_softmax")
    assert "values differ from the expected values" in hidden_failure(grading, "ResNet_forward", no_softmax)
    assert "The model has 13 layers, the reference has 14" in hidden_failure(grading, "ResNet_layers", no_softmax)

    block = edited(reference.ResidualBlock, *NO_SKIP)
    with_wrong_block = edited(reference.ResNet, "x = self.id1a(x)", "x = self.id1a(x)", ResidualBlock=block)
    assert "values differ from the expected values" in hidden_failure(grading, "ResNet_forward", with_wrong_block)

    twice = edited(reference.ResNet, "x = self.id1b(x)", "x = self.id1a(x)")
    assert "Layer 8 of 14 (ResNet): expected a block 2 / Conv2D" in hidden_failure(grading, "ResNet_layers", twice)


def test_hidden_tests_catch_hard_coded_outputs(grading: Path) -> None:
    """A class that returns the public case's expected outputs passes the public checks, not the hidden ones."""
    import tensorflow as tf

    stored = load("residual_units")

    class BlockCheater(reference.ResidualBlock):
        def call(self, input_tensor: Any, training: Any = None) -> Any:
            super().call(input_tensor)  # every layer is used, so the public checks can load their weights
            return tf.constant(stored["block"]["forward"]["output"]["training" if training else "inference"])

    class ResNetCheater(reference.ResNet):
        def call(self, inputs: Any, training: Any = None) -> Any:
            super().call(inputs)
            return tf.constant(stored["resnet"]["forward"]["output"]["training" if training else "inference"])

    check.ResidualBlock_forward_inference(BlockCheater)
    check.ResidualBlock_forward_training(BlockCheater)
    check.ResNet_forward(ResNetCheater)
    for grade_id in ("ResidualBlock_forward_inference", "ResidualBlock_forward_training"):
        assert "Output shape: expected" in hidden_failure(grading, grade_id, BlockCheater)
    assert "Output shape: expected" in hidden_failure(grading, "ResNet_forward", ResNetCheater)

    seven = edited(reference.ResNet, "Dense(num_classes,", "Dense(7,")  # hard-coded for the public case
    check.ResNet_layers(seven)
    assert "expected a Dense(units=" in hidden_failure(grading, "ResNet_layers", seven)
    assert "Output shape: expected" in hidden_failure(grading, "ResNet_shape_params", seven)


def test_hidden_failures_in_russian(grading: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RESNET_COURSE_LANG", "ru")
    wrong = edited(reference.ResidualBlock, *NO_SKIP)
    text = hidden_failure(grading, "ResidualBlock_forward_training", wrong)
    assert "значений отличаются от ожидаемых" in text and "ResidualBlock, training=True" in text


def test_missing_failed_or_unusable_recordings(grading: Path) -> None:
    from autograder.learner.checks import hidden

    assert isinstance(hidden.recorded(grading, "ResNet_forward"), str)  # nothing recorded: the grader zeroes it

    broken = edited(reference.ResidualBlock, "x = self.bn1(x)", "x = self.bn3(x)")
    recorded = record(grading, "ResidualBlock_forward_inference", broken)
    assert isinstance(recorded, str) and "raised AttributeError" in recorded

    with pytest.raises(CheckFailed, match="no usable 'training'"):
        check.verify_hidden("ResidualBlock_forward_training", {"inference": np.zeros(3)}, reference, SEED)
    shape = check.hidden_outputs("ResNet_shape_params", reference.ResNet, SEED)["output_shape"]
    with pytest.raises(CheckFailed, match="no usable 'params'"):
        check.verify_hidden("ResNet_shape_params", {"output_shape": shape, "params": np.array("many")}, reference,
                            SEED)


def test_recording_does_nothing_outside_grading(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from autograder.learner.checks import hidden

    monkeypatch.delenv(hidden.RECORD_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    check.record_hidden("ResNet_forward", reference.ResNet)
    assert not list(tmp_path.iterdir())


# --- MNIST and its offline stand-in ------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network, or to ask Keras for MNIST, fails the test."""
    import tensorflow as tf

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the network was touched")

    monkeypatch.setattr(tf.keras.datasets.mnist, "load_data", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(socket, "getaddrinfo", forbidden)


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither offline switch is set, and Keras has no MNIST cached."""
    monkeypatch.delenv(datasets.OFFLINE_ENV, raising=False)
    monkeypatch.delenv(datasets.GRADING_ENV, raising=False)
    monkeypatch.setattr(datasets, "_keras_has_mnist", lambda: False)


def test_keras_cache_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    found = datasets._keras_has_mnist()
    (tmp_path / "datasets").mkdir()
    (tmp_path / "datasets" / "mnist.npz").write_bytes(b"")
    assert datasets._keras_has_mnist() and (not found or Path("/tmp/.keras/datasets/mnist.npz").is_file())


def _assert_keras_layout(loaded: Any) -> None:
    (x_train, y_train), (x_test, y_test) = loaded
    for x, y in ((x_train, y_train), (x_test, y_test)):
        assert isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
        assert x.dtype == np.uint8 and y.dtype == np.uint8
        assert x.ndim == 3 and x.shape[1:] == (28, 28) and y.shape == (len(x),)
        assert sorted(np.unique(y).tolist()) == list(range(10))
        assert x.min() == 0 and x.max() == 255
    assert len(x_train) + len(x_test) == 1797
    assert abs(len(x_test) / (len(x_train) + len(x_test)) - 1 / 7) < 0.01  # MNIST's 10,000 of 70,000


def test_bundled_stand_in_is_current(tmp_path: Path) -> None:
    fresh = build_data.build_mnist_substitute(tmp_path)
    committed = build_data.DEFAULT_OUT / build_data.MNIST_NAME
    assert committed.is_file(), "run python -m autograder.authoring.data"
    assert hashlib.sha256(fresh.read_bytes()).digest() == hashlib.sha256(committed.read_bytes()).digest()
    assert build_data.MNIST_NAME in build_data.OUTPUT_NAMES  # so `--check` covers it


def test_offline_mode_never_touches_the_network_and_says_so(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], no_network: None) -> None:
    monkeypatch.setenv(datasets.OFFLINE_ENV, "1")
    loaded = datasets.load_mnist()
    _assert_keras_layout(loaded)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("NOT MNIST (offline mode: RESNET_COURSE_OFFLINE is set)")
    assert "UCI handwritten digits" in lines[0] and "1,540 training and 257 test images" in lines[0]


def test_grading_is_offline(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                            no_network: None) -> None:
    monkeypatch.delenv(datasets.OFFLINE_ENV, raising=False)
    monkeypatch.setenv(datasets.GRADING_ENV, "autograde")
    monkeypatch.setenv("RESNET_COURSE_LANG", "ru")
    _assert_keras_layout(datasets.load_mnist())
    out = capsys.readouterr().out
    assert out.startswith("ЭТО НЕ MNIST (офлайн-режим: задана переменная NBGRADER_EXECUTION)")


def test_unreachable_server_falls_back(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                       online: None) -> None:
    import tensorflow as tf

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("no route to host")

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("Keras' download was attempted although the server cannot be reached")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(tf.keras.datasets.mnist, "load_data", forbidden)
    _assert_keras_layout(datasets.load_mnist())
    assert "NOT MNIST (the MNIST download server cannot be reached)" in capsys.readouterr().out


def test_failed_download_falls_back(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                    online: None) -> None:
    import tensorflow as tf

    def timeout(*args: Any, **kwargs: Any) -> Any:
        raise TimeoutError("The read operation timed out")

    monkeypatch.setattr(datasets, "_reachable", lambda *args, **kwargs: True)
    monkeypatch.setattr(tf.keras.datasets.mnist, "load_data", timeout)
    _assert_keras_layout(datasets.load_mnist())
    assert "NOT MNIST (the download failed: TimeoutError: The read operation timed out)" in capsys.readouterr().out


def test_real_mnist_is_used_when_keras_delivers_it(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str], online: None) -> None:
    import tensorflow as tf

    fake = ((np.zeros((6, 28, 28), np.uint8), np.arange(6, dtype=np.uint8)),
            (np.zeros((2, 28, 28), np.uint8), np.arange(2, dtype=np.uint8)))
    monkeypatch.setattr(datasets, "_reachable", lambda *args, **kwargs: True)
    monkeypatch.setattr(tf.keras.datasets.mnist, "load_data", lambda *args, **kwargs: fake)
    (x_train, y_train), (x_test, y_test) = datasets.load_mnist()
    assert x_train is fake[0][0] and y_train is fake[0][1] and x_test is fake[1][0] and y_test is fake[1][1]
    assert capsys.readouterr().out.strip() == "MNIST: 6 training and 2 test images of 28×28 pixels."


def test_probe_is_bounded_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    def hang(*args: Any, **kwargs: Any) -> Any:
        time.sleep(3)
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    start = time.monotonic()
    assert datasets._reachable(timeout=0.2) is False
    assert time.monotonic() - start < 2


def test_loader_runs_without_scikit_learn() -> None:
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "from autograder.learner.datasets import load_mnist\n"
            "(x, y), _ = load_mnist(); print(x.shape, 'sklearn' in sys.modules and sys.modules['sklearn'] is not None)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "RESNET_COURSE_OFFLINE": "1", "HOME": str(Path.home())})
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("(1540, 28, 28) False")


def test_softmax_as_a_separate_layer_is_accepted() -> None:
    class Separate(reference.ResNet):
        def __init__(self, num_classes: int) -> None:
            super().__init__(num_classes)
            self.classifier = keras.layers.Dense(num_classes)
            self.softmax = keras.layers.Activation("softmax")

        def call(self, inputs: Any) -> Any:
            return self.softmax(super().call(inputs))

    for name in RESNET_CHECKS:
        getattr(check, name)(Separate)
