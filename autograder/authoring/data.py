"""Build the course's openly licensed substitutes: for the SIGNS hand-sign dataset, and for MNIST.

The SIGNS files (``train_signs.h5`` / ``test_signs.h5``) cannot be redistributed, so the course
ships a stand-in with exactly the same HDF5 layout, made from the UCI "Optical Recognition of
Handwritten Digits" data (E. Alpaydin, C. Kaynak, 1998, CC BY 4.0) that scikit-learn bundles as
``sklearn.datasets.load_digits`` (no network access needed):

* only the digits 0-5 are kept (six classes, like SIGNS);
* each 8x8 image (values 0-16) is scaled to 0-255, upscaled to 64x64 with Pillow's bilinear
  filter and copied to three channels: bright strokes on a dark background, ``uint8``;
* each class is split 90/10 into train/test with a fixed seed (NumPy's legacy ``RandomState``,
  whose stream NumPy keeps stable across versions), then each split is shuffled;
* ``sample_digit.png`` is one test-split digit upscaled to 256x256 RGB, the "own photo" of the
  lesson's last section.

The offline stand-in for MNIST (``uci_digits_28x28.npz``, lesson ``residual_units``) is made from
the same UCI digits, all ten classes (1,797 images):

* each 8x8 image (values 0-16) is scaled to 0-255, upscaled to 20x20 with Pillow's bilinear filter
  and centred in a 28x28 black frame, as MNIST centres its digits in a 20x20 box: ``uint8``;
* each class is split 6:1 into train/test, MNIST's proportion (60,000 / 10,000), with a fixed seed,
  then each split is shuffled;
* the four arrays are stored as ``x_train``, ``y_train``, ``x_test``, ``y_test`` in Keras'
  ``mnist.load_data()`` layout (images ``(n, 28, 28)`` and labels ``(n,)``, both ``uint8``) in an
  ``.npz`` file written with fixed zip timestamps.

The output is bit-for-bit reproducible: datasets are written with ``track_times=False``, fixed
chunks, gzip level and file-format bounds, the PNG carries no metadata, and the ``.npz`` members
carry a fixed date.

Usage::

    python -m autograder.authoring.data            # rebuild data/
    python -m autograder.authoring.data --check    # exit 1 if the committed files are out of date
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tempfile
import zipfile
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

from autograder.paths import DATA

DEFAULT_OUT = DATA
TRAIN_NAME = "train_digits.h5"
TEST_NAME = "test_digits.h5"
SAMPLE_NAME = "sample_digit.png"
MNIST_NAME = "uci_digits_28x28.npz"
OUTPUT_NAMES = (TRAIN_NAME, TEST_NAME, SAMPLE_NAME, MNIST_NAME)

CLASSES = tuple(range(6))
IMAGE_SIZE = 64
SAMPLE_SIZE = 256
TEST_FRACTION = 0.1
SEED = 20240601
SAMPLE_CLASS = 3  # the sample "own photo" is the first test image of this class

MNIST_CLASSES = tuple(range(10))
MNIST_SIZE = 28
MNIST_DIGIT_BOX = 20  # MNIST fits each digit in a 20x20 box centred in the 28x28 image
MNIST_TEST_FRACTION = 1 / 7  # 10,000 of MNIST's 70,000 images are the test set
MNIST_SEED = 20240823
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip file can hold: no build time in the file

CHUNK_IMAGES = 64
GZIP_LEVEL = 9
LIBVER = ("earliest", "v110")

GENERATED_BY = "python -m autograder.authoring.data"
SOURCE = (
    "UCI Machine Learning Repository: Optical Recognition of Handwritten Digits, "
    "E. Alpaydin and C. Kaynak (1998), https://doi.org/10.24432/C50P49, "
    "as bundled by scikit-learn (sklearn.datasets.load_digits); digits 0-5, 8x8 upscaled to 64x64"
)
LICENCE = "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
DESCRIPTION = "Substitute for the SIGNS hand-sign dataset, same HDF5 layout; see data/README.md"


def _load_digits() -> tuple[np.ndarray, np.ndarray]:
    """Return the 8x8 images (float64, 0-16) and labels of the digits in ``CLASSES``."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.isin(digits.target, CLASSES)
    return digits.images[keep], digits.target[keep].astype(np.int64)


def _to_uint8(image8: np.ndarray) -> np.ndarray:
    """Map an 8x8 image with values 0-16 to 0-255 ``uint8`` (bright strokes on dark)."""
    return np.rint(np.clip(image8, 0, 16) * (255.0 / 16.0)).astype(np.uint8)


def _upscale(image8: np.ndarray, size: int) -> np.ndarray:
    """Upscale an 8x8 image (0-16) to ``size`` x ``size`` x 3 ``uint8`` with Pillow's bilinear filter."""
    grey = Image.fromarray(_to_uint8(image8), mode="L").resize((size, size), Image.Resampling.BILINEAR)
    return np.repeat(np.asarray(grey, dtype=np.uint8)[:, :, None], 3, axis=2)


def split_indices(labels: np.ndarray, test_fraction: float = TEST_FRACTION, seed: int = SEED,
                  classes: tuple[int, ...] = CLASSES):
    """Stratified train/test split of ``range(len(labels))`` with NumPy only.

    Each class contributes ``round(test_fraction * count)`` images to the test split; both splits
    are then shuffled. ``RandomState`` is used because NumPy freezes its output across versions.
    """
    rng = np.random.RandomState(seed)
    train, test = [], []
    for label in classes:
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_test = round(test_fraction * len(members))
        test.append(members[:n_test])
        train.append(members[n_test:])
    train_idx = np.concatenate(train)
    test_idx = np.concatenate(test)
    return train_idx[rng.permutation(len(train_idx))], test_idx[rng.permutation(len(test_idx))]


def _write_h5(path: Path, prefix: str, x: np.ndarray, y: np.ndarray) -> None:
    """Write one split in the SIGNS layout, deterministically."""
    with h5py.File(path, "w", libver=LIBVER, track_order=False) as f:
        common = {"compression": "gzip", "compression_opts": GZIP_LEVEL, "shuffle": True, "track_times": False}
        f.create_dataset(f"{prefix}_set_x", data=x, chunks=(min(CHUNK_IMAGES, len(x)), *x.shape[1:]), **common)
        f.create_dataset(f"{prefix}_set_y", data=y, chunks=(len(y),), **common)
        f.create_dataset("list_classes", data=np.array(CLASSES, dtype=np.int64), track_times=False)
        f.attrs["generated_by"] = GENERATED_BY
        f.attrs["source"] = SOURCE
        f.attrs["licence"] = LICENCE
        f.attrs["description"] = DESCRIPTION


def _to_mnist_frame(image8: np.ndarray) -> np.ndarray:
    """An 8x8 image (0-16) as a 28x28 ``uint8`` MNIST-style image: the digit upscaled into a centred 20x20 box."""
    digit = Image.fromarray(_to_uint8(image8), mode="L").resize((MNIST_DIGIT_BOX, MNIST_DIGIT_BOX),
                                                                 Image.Resampling.BILINEAR)
    frame = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.uint8)
    start = (MNIST_SIZE - MNIST_DIGIT_BOX) // 2
    frame[start : start + MNIST_DIGIT_BOX, start : start + MNIST_DIGIT_BOX] = np.asarray(digit, dtype=np.uint8)
    return frame


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Like ``np.savez_compressed``, but with fixed member dates and order, so two builds are byte-identical."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, values in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(values), allow_pickle=False)
            member = zipfile.ZipInfo(f"{name}.npy", date_time=ZIP_DATE)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            archive.writestr(member, buffer.getvalue(), compresslevel=GZIP_LEVEL)


def build_mnist_substitute(out_dir: Path) -> Path:
    """Write ``uci_digits_28x28.npz``, the offline stand-in for MNIST, into ``out_dir``; return its path."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images8, labels = digits.images, digits.target.astype(np.uint8)
    train_idx, test_idx = split_indices(labels, MNIST_TEST_FRACTION, MNIST_SEED, MNIST_CLASSES)
    arrays = {}
    for split, idx in (("train", train_idx), ("test", test_idx)):
        arrays[f"x_{split}"] = np.stack([_to_mnist_frame(images8[i]) for i in idx])
        arrays[f"y_{split}"] = labels[idx]
    path = Path(out_dir) / MNIST_NAME
    _write_npz(path, {key: arrays[key] for key in ("x_train", "y_train", "x_test", "y_test")})
    return path


def build_dataset(out_dir: Path) -> list[Path]:
    """Write ``train_digits.h5``, ``test_digits.h5``, ``sample_digit.png`` and ``uci_digits_28x28.npz``.

    Returns the written paths, in that order. Two builds produce byte-identical files.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images8, labels = _load_digits()
    train_idx, test_idx = split_indices(labels)

    paths = []
    for name, prefix, idx in ((TRAIN_NAME, "train", train_idx), (TEST_NAME, "test", test_idx)):
        x = np.stack([_upscale(images8[i], IMAGE_SIZE) for i in idx])
        path = out_dir / name
        _write_h5(path, prefix, x, labels[idx])
        paths.append(path)

    sample = test_idx[np.flatnonzero(labels[test_idx] == SAMPLE_CLASS)[0]]
    sample_path = out_dir / SAMPLE_NAME
    Image.fromarray(_upscale(images8[sample], SAMPLE_SIZE), mode="RGB").save(
        sample_path, format="PNG", optimize=False, compress_level=9
    )
    paths.append(sample_path)
    paths.append(build_mnist_substitute(out_dir))
    return paths


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check(out_dir: Path = DEFAULT_OUT) -> list[str]:
    """Rebuild into a temporary folder; return the names of files in ``out_dir`` that are missing or differ."""
    out_dir = Path(out_dir)
    with tempfile.TemporaryDirectory(prefix="resnet-data-") as tmp:
        fresh = build_dataset(Path(tmp))
        return [p.name for p in fresh if not (out_dir / p.name).is_file() or _sha256(out_dir / p.name) != _sha256(p)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.authoring.data",
        description="Build the bundled UCI-digits substitutes for the SIGNS dataset and for MNIST.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})")
    parser.add_argument(
        "--check", action="store_true", help="rebuild into a temporary folder and fail if the files in --out differ"
    )
    args = parser.parse_args(argv)

    if args.check:
        stale = check(args.out)
        if stale:
            print(
                f"{', '.join(stale)} in {args.out} missing or out of date; rebuild with: {GENERATED_BY}",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out}: {', '.join(OUTPUT_NAMES)} are up to date")
        return 0

    for path in build_dataset(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes, sha256 {_sha256(path)[:16]})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
