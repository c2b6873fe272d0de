"""Locate the ResNet lesson's dataset files; imported by the student notebooks.

The lesson trains on the SIGNS hand-sign dataset (``train_signs.h5`` / ``test_signs.h5``) when
those files are available, and otherwise on the bundled, openly licensed substitute made from
the UCI handwritten digits 0-5 (``train_digits.h5`` / ``test_digits.h5``, same HDF5 layout; see
``data/README.md``). Only the standard library is imported here.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

__all__ = ["ENV_VAR", "dataset_files", "describe", "find_data_dir", "sample_image_path"]

ENV_VAR = "RESNET_COURSE_DATA"
SIGNS_FILES = ("train_signs.h5", "test_signs.h5")
DIGITS_FILES = ("train_digits.h5", "test_digits.h5")
SAMPLE_FILE = "sample_digit.png"

_BUNDLED_DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def _has_pair(folder: Path, pair: tuple[str, str]) -> bool:
    return all((folder / name).is_file() for name in pair)


def _qualifies(folder: Path) -> bool:
    return folder.is_dir() and (_has_pair(folder, SIGNS_FILES) or _has_pair(folder, DIGITS_FILES))


def find_data_dir(start: Path | None = None) -> Path:
    """Return the folder holding the dataset files.

    Searched in order: the folder named by ``$RESNET_COURSE_DATA``; ``data/`` in ``start``
    (default: the current directory) and in each of its parents; the course's own ``data/``.
    A folder qualifies if it holds both SIGNS files or both bundled digits files.
    """
    candidates: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        candidates.append(Path(env).expanduser())
    here = Path(start) if start is not None else Path.cwd()
    here = here.resolve()
    candidates.extend(folder / "data" for folder in (here, *here.parents))
    candidates.append(_BUNDLED_DATA_DIR)

    for folder in candidates:
        if _qualifies(folder):
            return folder
    searched = ", ".join(str(c) for c in dict.fromkeys(candidates))
    raise FileNotFoundError(
        f"No folder with {' + '.join(SIGNS_FILES)} or {' + '.join(DIGITS_FILES)} was found; searched: {searched} "
        f"(set {ENV_VAR} to the folder that holds them)."
    )


def dataset_files(data_dir: Path | None = None) -> tuple[Path, Path]:
    """Return the (train, test) HDF5 paths: the original SIGNS files if both are present, else the digits files."""
    folder = Path(data_dir) if data_dir is not None else find_data_dir()
    if _has_pair(folder, SIGNS_FILES):
        return folder / SIGNS_FILES[0], folder / SIGNS_FILES[1]

    signs_present = [name for name in SIGNS_FILES if (folder / name).is_file()]
    signs_missing = [name for name in SIGNS_FILES if name not in signs_present]
    if _has_pair(folder, DIGITS_FILES):
        if signs_present:
            warnings.warn(
                f"{folder} has {signs_present[0]} but not {signs_missing[0]}; using the bundled digits instead.",
                stacklevel=2,
            )
        return folder / DIGITS_FILES[0], folder / DIGITS_FILES[1]

    if signs_present:
        raise FileNotFoundError(
            f"{folder} has {signs_present[0]} but {signs_missing[0]} is missing, and the bundled substitute "
            f"({' + '.join(DIGITS_FILES)}) is not there either: add {signs_missing[0]} next to it."
        )
    digits_present = [name for name in DIGITS_FILES if (folder / name).is_file()]
    if digits_present:
        missing = next(name for name in DIGITS_FILES if name not in digits_present)
        raise FileNotFoundError(
            f"{folder} has {digits_present[0]} but {missing} is missing; "
            "rebuild it with python -m autograder.build.data."
        )
    raise FileNotFoundError(
        f"{folder} holds neither the SIGNS files ({' + '.join(SIGNS_FILES)}) "
        f"nor the bundled digits files ({' + '.join(DIGITS_FILES)})."
    )


def sample_image_path(data_dir: Path | None = None) -> Path:
    """Return the path to ``sample_digit.png``, the sample "own photo" (falls back to the course's ``data/``)."""
    folder = Path(data_dir) if data_dir is not None else find_data_dir()
    for candidate in (folder / SAMPLE_FILE, _BUNDLED_DATA_DIR / SAMPLE_FILE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{SAMPLE_FILE} is neither in {folder} nor in {_BUNDLED_DATA_DIR}.")


def describe(train: Path) -> str:
    """Return one short line naming the dataset that ``train`` belongs to."""
    name = Path(train).name
    if name in SIGNS_FILES:
        return "original SIGNS dataset"
    if name in DIGITS_FILES:
        return "bundled UCI digits 0–5 (substitute for SIGNS)"
    return f"dataset from {name}"
