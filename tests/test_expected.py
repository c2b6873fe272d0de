"""Expected values are current, agree with the numbers printed in the source lesson, and describe ResNet-50."""

from __future__ import annotations

import numpy as np
import pytest

from autograder.authoring import expected as generator
from autograder.learner.expected import array, load
from autograder.learner.i18n import LANGUAGES

# Printed in seed 000 (the Russian lesson): A3/A4 [:, (0, -1), :, :].mean(axis=3), and A[0].
SEED_IDENTITY_FALSE = [
    [[0, 0, 0, 0], [0, 0, 0, 0]],
    [[192.71234, 192.71234, 192.71234, 96.85617], [96.85617, 96.85617, 96.85617, 48.92808]],
    [[578.1371, 578.1371, 578.1371, 290.5685], [290.5685, 290.5685, 290.5685, 146.78426]],
]
SEED_IDENTITY_TRUE = [
    [[0, 0, 0, 0], [0, 0, 0, 0]],
    [[0.40739, 0.40739, 0.40739, 0.40739], [0.40739, 0.40739, 0.40739, 0.40739]],
    [[4.99991, 4.99991, 4.99991, 3.25948], [3.25948, 3.25948, 3.25948, 2.40739]],
]
SEED_CONV_FALSE_FIRST = [
    [[0, 0.66683817, 0, 0, 0.88853896, 0.5274254], [0, 0.65053666, 0, 0, 0.89592844, 0.49965227]],
    [[0, 0.6312079, 0, 0, 0.8636247, 0.47643146], [0, 0.5688321, 0, 0, 0.85534114, 0.41709304]],
]


def summary(case: str) -> np.ndarray:
    return array(load("residual_networks")["blocks"][case]["output"])[:, (0, -1), :, :].mean(axis=3)


def test_stored_values_match_the_numbers_printed_in_the_lesson() -> None:
    np.testing.assert_allclose(summary("identity_block_training_false"), SEED_IDENTITY_FALSE, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(summary("identity_block_training_true"), SEED_IDENTITY_TRUE, rtol=1e-5, atol=1e-5)
    conv = array(load("residual_networks")["blocks"]["convolutional_block_training_false"]["output"])
    assert conv.shape == (3, 2, 2, 6)
    np.testing.assert_allclose(conv[0], SEED_CONV_FALSE_FIRST, rtol=1e-5, atol=1e-5)


def test_resnet50_reference_structure() -> None:
    resnet = load("residual_networks")["resnet50"]
    layers = resnet["layers"]
    assert len(layers) == 177
    assert resnet["total_params"] == 23_600_006 == sum(layer["params"] for layer in layers)
    convs = [layer for layer in layers if layer["class"] == "Conv2D"]
    assert [c["config"]["filters"] for c in convs if c["output_shape"][:2] == [8, 8]][0] == 128
    assert layers[-1]["output_shape"] == [6] and layers[-1]["config"]["activation"] == "softmax"
    assert layers[-4]["output_shape"] == [2, 2, 2048]  # stage 5 uses s=2 (the English source had s=1)
    assert len(resnet["stages"]) == 177


def test_known_mistakes_are_recorded() -> None:
    blocks = load("residual_networks")["blocks"]
    assert "mistake_no_final_relu" in blocks["identity_block_training_false"]["mistakes"]
    assert "mistake_training_ignored" in blocks["identity_block_training_true"]["mistakes"]
    assert "mistake_shortcut_without_bn" in blocks["convolutional_block_training_true"]["mistakes"]


@pytest.mark.slow
def test_stored_expected_values_are_current() -> None:
    assert generator.stale() == []


def test_generated_files_say_so() -> None:
    from autograder.learner.expected import path_for

    assert load("residual_networks")["_generated_by"] == generator.COMMAND
    assert path_for("residual_networks").exists()
    for lang in LANGUAGES:
        text = (generator.ROOT / "notebooks" / lang / "result.md").read_text(encoding="utf-8")
        assert generator.COMMAND in text.splitlines()[2]
        assert "23,600,006" in text
