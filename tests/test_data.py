"""The bundled SIGNS substitute (data/) and the helpers that locate and load it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import h5py
import numpy as np
import pytest

from autograder.authoring import data as build_data
from autograder.learner import datasets

DATA_DIR = build_data.DEFAULT_OUT
TRAIN = DATA_DIR / build_data.TRAIN_NAME
TEST = DATA_DIR / build_data.TEST_NAME
SAMPLE = DATA_DIR / build_data.SAMPLE_NAME


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _n_digits_0_to_5() -> int:
    from sklearn.datasets import load_digits

    return int(np.isin(load_digits().target, range(6)).sum())


def _write_signs(folder: Path, n_train: int = 12, n_test: int = 6, which: tuple[str, ...] = ("train", "test")) -> None:
    """Write small synthetic files in the SIGNS layout (labels cycle through 0-5)."""
    rng = np.random.default_rng(0)
    for prefix, m in (("train", n_train), ("test", n_test)):
        if prefix not in which:
            continue
        with h5py.File(folder / f"{prefix}_signs.h5", "w") as f:
            f[f"{prefix}_set_x"] = rng.integers(0, 256, size=(m, 64, 64, 3), dtype=np.uint8)
            f[f"{prefix}_set_y"] = np.arange(m, dtype=np.int64) % 6
            f["list_classes"] = np.arange(6, dtype=np.int64)


def _touch_digits(folder: Path) -> None:
    for name in datasets.DIGITS_FILES:
        (folder / name).write_bytes(b"")


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fresh")
    written = build_data.build_dataset(out)
    assert [p.name for p in written] == list(build_data.OUTPUT_NAMES)
    return out


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv(datasets.ENV_VAR, raising=False)


# --- committed files are current -------------------------------------------------------------


def test_check_passes_on_committed_files(capsys):
    assert build_data.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.parametrize("name", build_data.OUTPUT_NAMES)
def test_fresh_build_is_byte_identical_to_committed(fresh_build, name):
    assert (DATA_DIR / name).is_file(), f"data/{name} is missing; run python -m autograder.authoring.data"
    assert _sha256(fresh_build / name) == _sha256(DATA_DIR / name)


def test_check_fails_on_a_stale_file(tmp_path, capsys):
    build_data.build_dataset(tmp_path)
    (tmp_path / build_data.TEST_NAME).write_bytes(b"stale")
    assert build_data.main(["--check", "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert build_data.TEST_NAME in err and len(err.strip().splitlines()) == 1


# --- layout ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path, prefix", [(TRAIN, "train"), (TEST, "test")])
def test_layout_matches_signs(path, prefix):
    with h5py.File(path, "r") as f:
        assert set(f.keys()) == {f"{prefix}_set_x", f"{prefix}_set_y", "list_classes"}
        x, y, classes = f[f"{prefix}_set_x"], f[f"{prefix}_set_y"], f["list_classes"][()]
        assert x.dtype == np.uint8 and y.dtype == np.int64 and classes.dtype == np.int64
        assert x.shape[1:] == (64, 64, 3) and y.shape == (x.shape[0],)
        assert classes.tolist() == [0, 1, 2, 3, 4, 5]
        assert sorted(np.unique(y[()]).tolist()) == [0, 1, 2, 3, 4, 5]
        assert x.compression == "gzip" and x.shuffle and x.chunks is not None
        assert f.attrs["generated_by"] == "python -m autograder.authoring.data"
        assert "CC BY 4.0" in f.attrs["licence"] and "10.24432/C50P49" in f.attrs["source"]
        pixels = x[()]
        assert pixels.min() == 0 and pixels.max() == 255
        assert np.array_equal(pixels[..., 0], pixels[..., 2])  # grey replicated to 3 channels


def test_split_sizes_and_totals():
    with h5py.File(TRAIN, "r") as f:
        y_train = f["train_set_y"][()]
    with h5py.File(TEST, "r") as f:
        y_test = f["test_set_y"][()]
    n_train, n_test = len(y_train), len(y_test)
    assert 0.85 <= n_train / (n_train + n_test) <= 0.95
    assert n_train + n_test == _n_digits_0_to_5()
    per_class = np.bincount(y_train, minlength=6) + np.bincount(y_test, minlength=6)
    assert (np.bincount(y_test, minlength=6) == np.rint(0.1 * per_class)).all()  # stratified


def test_total_size_under_5_mb():
    total = sum((DATA_DIR / name).stat().st_size for name in build_data.OUTPUT_NAMES)
    assert total < 5 * 1024 * 1024


def test_sample_is_a_256px_rgb_png_without_metadata():
    from PIL import Image

    with Image.open(SAMPLE) as im:
        assert (im.format, im.mode, im.size) == ("PNG", "RGB", (256, 256))
        assert im.info == {}
        assert np.asarray(im).max() > 200 and np.asarray(im).min() < 30


# --- autograder.learner.datasets ---------------------------------------------------------------------


def test_dataset_files_prefers_signs(tmp_path):
    _write_signs(tmp_path)
    _touch_digits(tmp_path)
    train, test = datasets.dataset_files(tmp_path)
    assert (train, test) == (tmp_path / "train_signs.h5", tmp_path / "test_signs.h5")
    assert datasets.describe(train) == "original SIGNS dataset"


def test_dataset_files_falls_back_to_digits():
    train, test = datasets.dataset_files(DATA_DIR)
    assert (train, test) == (TRAIN, TEST)
    assert "digits" in datasets.describe(train) and "SIGNS" in datasets.describe(train)


def test_dataset_files_warns_on_half_a_signs_pair(tmp_path):
    _write_signs(tmp_path, which=("test",))
    _touch_digits(tmp_path)
    with pytest.warns(UserWarning, match="train_signs.h5"):
        train, _ = datasets.dataset_files(tmp_path)
    assert train.name == "train_digits.h5"


def test_dataset_files_names_the_missing_signs_file(tmp_path):
    _write_signs(tmp_path, which=("train",))
    with pytest.raises(FileNotFoundError, match="test_signs.h5 is missing"):
        datasets.dataset_files(tmp_path)


def test_dataset_files_on_empty_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither the SIGNS files") as info:
        datasets.dataset_files(tmp_path)
    assert str(tmp_path) in str(info.value) and "train_digits.h5" in str(info.value)


def test_find_data_dir_honours_env_var(tmp_path, monkeypatch):
    _write_signs(tmp_path)
    monkeypatch.setenv(datasets.ENV_VAR, str(tmp_path))
    assert datasets.find_data_dir(start=DATA_DIR.parent) == tmp_path
    assert datasets.dataset_files()[0] == tmp_path / "train_signs.h5"


def test_find_data_dir_searches_parents_of_start(tmp_path, no_env):
    (tmp_path / "data").mkdir()
    _write_signs(tmp_path / "data")
    start = tmp_path / "notebooks" / "en"
    start.mkdir(parents=True)
    assert datasets.find_data_dir(start) == tmp_path / "data"


def test_find_data_dir_falls_back_to_bundled_data(tmp_path, no_env):
    assert datasets.find_data_dir(tmp_path) == DATA_DIR


def test_find_data_dir_lists_places_searched(tmp_path, monkeypatch, no_env):
    monkeypatch.setattr(datasets, "_BUNDLED_DATA_DIR", tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError, match="searched") as info:
        datasets.find_data_dir(tmp_path)
    message = str(info.value)
    assert str(tmp_path / "data") in message and str(tmp_path / "nowhere") in message


def test_sample_image_path():
    assert datasets.sample_image_path(DATA_DIR) == SAMPLE


def test_sample_image_path_falls_back_to_bundled(tmp_path):
    assert datasets.sample_image_path(tmp_path) == SAMPLE


# --- reference loader ------------------------------------------------------------------------


def _check_loaded(loaded, train_path: Path, test_path: Path) -> None:
    x_train, y_train, x_test, y_test = loaded
    for x, y, path, prefix in ((x_train, y_train, train_path, "train"), (x_test, y_test, test_path, "test")):
        with h5py.File(path, "r") as f:
            labels = f[f"{prefix}_set_y"][()]
            raw = f[f"{prefix}_set_x"][()]
        assert x.shape == (len(labels), 64, 64, 3) and y.shape == (len(labels), 6)
        assert x.dtype == np.float32 and y.dtype == np.float32
        assert 0.0 <= x.min() and x.max() <= 1.0
        np.testing.assert_allclose(x * 255.0, raw, atol=1e-3)
        np.testing.assert_array_equal(y.sum(axis=1), 1.0)
        np.testing.assert_array_equal(y.argmax(axis=1), labels)


def test_load_dataset_on_bundled_files():
    from solutions.residual_networks import load_dataset

    _check_loaded(load_dataset(TRAIN, TEST), TRAIN, TEST)


def test_load_dataset_on_signs_layout(tmp_path):
    from solutions.residual_networks import load_dataset

    _write_signs(tmp_path, n_train=10, n_test=7)
    train, test = datasets.dataset_files(tmp_path)
    _check_loaded(load_dataset(train, test), train, test)
