"""The course's figures: current, present in both languages, and backed by the committed measurement."""

import json

import pytest

from autograder.authoring import figures
from autograder.learner.i18n import LANGUAGES

MEASUREMENT = figures.IMAGES / figures.JSON_NAME


def _norms(net: str) -> list[float]:
    data = json.loads(MEASUREMENT.read_text(encoding="utf-8"))[net]
    return [data[str(i)] for i in range(1, len(data) + 1)]


def test_figures_and_measurement_are_current(capsys):
    # Redraws all figures from the committed json and re-measures with TensorFlow (about 10 s).
    code = figures.main(["--check"])
    assert code == 0, capsys.readouterr().out


@pytest.mark.parametrize("name", figures.FIGURES)
def test_every_figure_exists_in_both_languages(name):
    for lang in LANGUAGES:
        path = figures.IMAGES / lang / name
        assert path.is_file(), f"{path} is missing: run python -m autograder.authoring.figures"
        assert path.stat().st_size < 150_000, f"{path} is larger than 150 KB"


def test_labels_exist_in_both_languages():
    assert set(figures.LABELS) == set(LANGUAGES)
    assert figures.LABELS["en"].keys() == figures.LABELS["ru"].keys()
    for lang, labels in figures.LABELS.items():
        assert all(text.strip() for text in labels.values()), f"empty label in {lang}"


def test_measurement_header():
    data = json.loads(MEASUREMENT.read_text(encoding="utf-8"))
    assert data["_generated_by"] == figures.GENERATED_BY
    assert len(_norms("plain")) == len(_norms("residual")) == data["_setup"]["depth"] >= 30


def test_plain_network_gradients_vanish_towards_the_input():
    plain = _norms("plain")
    # Measured: about 5e-19 times the last layer's norm. 1e-12 leaves six orders of margin.
    assert plain[0] < 1e-12 * plain[-1]
    # Not just the two ends: the norm shrinks at every step towards the input (measured: 3.5x to 5.9x per layer).
    assert all(earlier < 0.5 * later for earlier, later in zip(plain[:-1], plain[1:], strict=True))


def test_residual_network_gradients_stay_flat():
    residual, plain = _norms("residual"), _norms("plain")
    # Measured: max/min over all layers is 1.3.
    assert max(residual) < 2 * min(residual)
    # At the first layer the residual net's gradient is many orders of magnitude larger than the plain net's.
    assert residual[0] > 1e12 * plain[0]
