"""Generate the expected values (and ``result.md``) of each lesson from ``solutions/``.

``python -m autograder generate expected`` rewrites ``autograder/expected/<lesson>.json`` and
``notebooks/<lang>/result.md``; ``--check`` recomputes them and reports what is stale.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from autograder import paths
from autograder.authoring.mutations import MUTATIONS, variant
from autograder.learner.expected import path_for
from autograder.learner.i18n import LANGUAGES

ROOT = paths.REPO
COMMAND = "python -m autograder generate expected"
RTOL, ATOL = 1e-4, 1e-5


def _numbers(array: Any) -> Any:
    """Nested lists of floats with 7 significant digits (float32 precision)."""
    return np.vectorize(lambda v: float(f"{v:.7g}"), otypes=[object])(np.asarray(array, dtype=np.float64)).tolist()


def _header(lesson: str) -> dict[str, str]:
    return {
        "_generated_by": COMMAND,
        "_note": f"Do not edit: computed from solutions/{lesson}.py. Regenerate with the command above.",
    }


# --- Residual Networks ---------------------------------------------------------------------

STAGE_BLOCKS = {2: 3, 3: 4, 4: 6, 5: 3}  # ResNet-50: one convolutional block + identity blocks


def _stage_labels(table: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Where each layer of ResNet-50 sits, in words, for failure messages."""
    blocks = [(stage, number) for stage, count in STAGE_BLOCKS.items() for number in range(1, count + 1)]
    labels, block, seen_pool, after_add = [], 0, False, False
    for row in table:
        if not seen_pool:
            label = {"en": "stage 1", "ru": "стадия 1"} if row["class"] not in ("InputLayer", "ZeroPadding2D") else {
                "en": "input", "ru": "вход"}
            seen_pool = row["class"] == "MaxPooling2D"
        elif block < len(blocks):
            stage, number = blocks[block]
            if number == 1:
                label = {"en": f"stage {stage}, convolutional block", "ru": f"стадия {stage}, свёрточный блок"}
            else:
                label = {"en": f"stage {stage}, identity block {number - 1}",
                         "ru": f"стадия {stage}, тождественный блок {number - 1}"}
            if after_add:  # the ReLU after Add closes the block
                block += 1
            after_add = row["class"] == "Add"
        else:
            label = {"en": "output layers", "ru": "выходные слои"}
        labels.append(label)
    return labels


def residual_networks() -> dict[str, Any]:
    import keras

    from autograder.learner.checks.compare import layer_table
    from autograder.learner.checks.residual_networks import CASES, run_case
    from autograder.learner.datasets import find_data_dir
    from solutions import residual_networks as reference

    blocks = {}
    for case, (name, _) in CASES.items():
        function = getattr(reference, name)
        output = run_case(function, case).numpy()
        mistakes = {}
        for mistake in MUTATIONS:
            wrong = variant(function, mistake)
            if wrong is None:
                continue
            try:
                result = np.asarray(run_case(wrong, case))
            except AssertionError:  # the variant cannot even run on this case: nothing to diagnose
                continue
            if result.shape == output.shape and not np.allclose(result, output, rtol=1e-3, atol=1e-4):
                mistakes[mistake] = _numbers(result)
        blocks[case] = {"output": _numbers(output), "mistakes": mistakes}

    keras.backend.clear_session()
    model = reference.ResNet50(input_shape=(64, 64, 3), classes=6)
    table = layer_table(model)

    data_dir = find_data_dir()
    X_train, Y_train, X_test, Y_test = reference.load_dataset(data_dir / "train_digits.h5", data_dir / "test_digits.h5")

    def images(X: np.ndarray) -> dict[str, Any]:
        return {"shape": list(X.shape), "image_means": _numbers(X.reshape(len(X), -1).mean(axis=1))}

    return {
        **_header("residual_networks"),
        "blocks": blocks,
        "resnet50": {
            "total_params": int(model.count_params()),
            "layers": table,
            "stages": _stage_labels(table),
        },
        "dataset": {
            "classes": int(Y_train.shape[1]),
            "X_train": images(X_train),
            "X_test": images(X_test),
            "Y_train": {"labels": Y_train.argmax(axis=1).tolist()},
            "Y_test": {"labels": Y_test.argmax(axis=1).tolist()},
        },
        "_summary": _summary(model),
    }


def _summary(model: Any) -> str:
    """``model.summary()`` as Keras prints it in a wide terminal, whatever this terminal is."""
    buffer = io.StringIO()
    saved = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "160"  # rich and Keras size the table from the terminal width
    try:
        model.summary(print_fn=lambda line, **_: buffer.write(line + "\n"))
    finally:
        if saved is None:
            os.environ.pop("COLUMNS")
        else:
            os.environ["COLUMNS"] = saved
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())


RESULT_MD = {
    "en": (
        "# Expected `model.summary()` of ResNet-50\n\n"
        "<!-- Generated by `{command}` from solutions/residual_networks.py. Do not edit. -->\n\n"
        "Your layer names (`conv2d_17`, …) will differ: Keras numbers layers in the order they are created. "
        "The types, output shapes and parameter counts must match.\n\n"
    ),
    "ru": (
        "# Ожидаемый вывод `model.summary()` для ResNet-50\n\n"
        "<!-- Создано командой `{command}` из solutions/residual_networks.py. Не редактируйте вручную. -->\n\n"
        "Имена слоёв у вас будут другими (`conv2d_17`, …): Keras нумерует слои в порядке их создания. "
        "Типы слоёв, размерности выходов и число параметров должны совпадать.\n\n"
    ),
}


def result_md(summary: str, lang: str) -> str:
    return RESULT_MD[lang].format(command=COMMAND) + "```\n" + summary.rstrip() + "\n```\n"


# --- Residual Units ------------------------------------------------------------------------


def _with_reference_weights(model: Any, x: np.ndarray, training: bool, seed: int) -> np.ndarray:
    """``model`` (the reference or a variant of it) run on ``x`` holding the checks' reference weights."""
    from autograder.learner.checks import residual_units as check

    with warnings.catch_warnings():  # a variant may leave a layer unused, and Keras warns about it
        warnings.simplefilter("ignore")
        check.forward(model, type(model).__name__, x, False)  # builds the model and records the layers it uses
    pairs = check.align(model, check.rows(model))
    assert pairs is not None
    check.load_reference_weights(pairs, seed)
    return np.asarray(check.forward(model, type(model).__name__, x, training))


def _forward(build: Any, variants: dict[str, Any], x: np.ndarray, seed: int, spec: dict[str, Any]) -> dict[str, Any]:
    """Reference outputs in both modes, and the outputs of the known wrong variants that differ from them."""
    from autograder.learner.checks import residual_units as check

    reference = build(None)
    check.forward(reference, type(reference).__name__, x, False)
    result: dict[str, Any] = {**spec, "layers": check.rows(reference), "output": {}, "mistakes": {}}
    for mode, training in check.MODES.items():
        output = _with_reference_weights(build(None), x, training, seed)
        result["output"][mode] = _numbers(output)
        result["mistakes"][mode] = {}
        for mistake, cls in variants.items():
            wrong = _with_reference_weights(build(cls), x, training, seed)
            if wrong.shape == output.shape and not np.allclose(wrong, output, rtol=1e-3, atol=1e-4):
                result["mistakes"][mode][mistake] = _numbers(wrong)
    return result


def residual_units() -> dict[str, Any]:
    import keras

    from autograder.authoring.mutations import class_variant
    from autograder.learner.checks import residual_units as check
    from solutions import residual_units as reference

    keras.backend.clear_session()
    block_cases = []
    for filters, kernel_size, shape in check.BLOCK_SHAPE_CASES:
        block = reference.ResidualBlock(filters, kernel_size)
        output = block(check.block_input(shape), training=False)
        block_cases.append({"filters": filters, "kernel_size": kernel_size, "input_shape": list(shape),
                            "output_shape": list(output.shape), "params": int(block.count_params())})
    spec = check.BLOCK_FORWARD
    block_variants = {key: class_variant(reference.ResidualBlock, key) for key in check.BLOCK_MISTAKES}
    assert all(block_variants.values()), block_variants
    block_forward = _forward(
        lambda cls: (cls or reference.ResidualBlock)(spec["filters"], spec["kernel_size"]),
        block_variants, check.block_input(spec["input_shape"]), check.WEIGHT_SEED["block"],
        {"filters": spec["filters"], "kernel_size": spec["kernel_size"], "input_shape": list(spec["input_shape"])},
    )

    resnet_cases = []
    for num_classes, shape in check.RESNET_SHAPE_CASES:
        model = reference.ResNet(num_classes)
        output = model(check.image_input(shape), training=False)
        resnet_cases.append({"num_classes": num_classes, "input_shape": list(shape),
                             "output_shape": list(output.shape), "params": int(model.count_params())})
    spec = check.RESNET_FORWARD
    resnet_variants = {key: class_variant(reference.ResNet, key) for key in check.RESNET_MISTAKES}
    assert all(resnet_variants.values()), resnet_variants
    resnet_forward = _forward(
        lambda cls: (cls or reference.ResNet)(spec["num_classes"]),
        resnet_variants, check.image_input(spec["input_shape"]), check.WEIGHT_SEED["resnet"],
        {"num_classes": spec["num_classes"], "input_shape": list(spec["input_shape"])},
    )
    return {
        **_header("residual_units"),
        "block": {"shape_cases": block_cases, "forward": block_forward},
        "resnet": {"shape_cases": resnet_cases, "forward": resnet_forward},
    }


LESSONS = {"residual_networks": residual_networks, "residual_units": residual_units}


def _outputs(lesson: str, values: dict[str, Any]) -> dict[Path, str]:
    """Every file this generator writes for ``lesson``, with its content."""
    values = dict(values)
    summary = values.pop("_summary", None)
    files = {path_for(lesson): json.dumps(values, ensure_ascii=False, indent=1) + "\n"}
    if summary is not None:
        for lang in LANGUAGES:
            files[ROOT / "notebooks" / lang / "result.md"] = result_md(summary, lang)
    return files


def write(lessons: list[str] | None = None) -> list[Path]:
    written = []
    for lesson in lessons or list(LESSONS):
        for path, text in _outputs(lesson, LESSONS[lesson]()).items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def _same(stored: Any, fresh: Any, where: str, problems: list[str]) -> None:
    """Compare nested JSON values; numbers within tolerance, everything else exactly."""
    if isinstance(fresh, dict) and isinstance(stored, dict):
        for key in sorted(set(stored) | set(fresh)):
            if key not in stored or key not in fresh:
                problems.append(f"{where}/{key}: only in {'fresh' if key in fresh else 'stored'} values")
            else:
                _same(stored[key], fresh[key], f"{where}/{key}", problems)
    elif isinstance(fresh, list) and isinstance(stored, list) and len(fresh) == len(stored):
        if fresh and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in fresh):
            if not np.allclose(stored, fresh, rtol=RTOL, atol=ATOL):
                problems.append(f"{where}: numbers differ")
            return
        for index, (a, b) in enumerate(zip(stored, fresh, strict=True)):
            _same(a, b, f"{where}[{index}]", problems)
    elif isinstance(fresh, float) and isinstance(stored, (int, float)):
        if not np.isclose(stored, fresh, rtol=RTOL, atol=ATOL):
            problems.append(f"{where}: {stored} != {fresh}")
    elif stored != fresh:
        problems.append(f"{where}: stored {str(stored)[:60]!r}, fresh {str(fresh)[:60]!r}")


def stale(lessons: list[str] | None = None) -> list[str]:
    """What differs between the stored expected files and a fresh computation."""
    problems: list[str] = []
    for lesson in lessons or list(LESSONS):
        fresh = LESSONS[lesson]()
        for path, text in _outputs(lesson, fresh).items():
            name = path.relative_to(ROOT)
            if not path.exists():
                problems.append(f"{name}: missing")
            elif path.suffix == ".json":
                _same(json.loads(path.read_text(encoding="utf-8")), json.loads(text), str(name), problems)
            elif path.read_text(encoding="utf-8") != text:
                problems.append(f"{name}: differs from a fresh `model.summary()`")
    return problems
