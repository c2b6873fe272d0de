"""Locate and load the lessons' datasets; imported by the student notebooks.

*Residual Networks* trains on the SIGNS hand-sign dataset (``train_signs.h5`` / ``test_signs.h5``)
when those files are available, and otherwise on the bundled, openly licensed substitute made
from the UCI handwritten digits 0-5 (``train_digits.h5`` / ``test_digits.h5``, same HDF5 layout;
see ``data/README.md``).

*Residual Units* trains on MNIST through :func:`load_mnist`: Keras' own copy when it can be had
(already downloaded, or the download server answers within seconds), otherwise — and always in
offline mode (``RESNET_COURSE_OFFLINE=1``, or while nbgrader grades) — the bundled stand-in
``uci_digits_28x28.npz`` in the same layout, announced by one printed line.

Only the standard library is imported at module level (NumPy and TensorFlow when loading MNIST).
"""

from __future__ import annotations

import os
import socket
import threading
import warnings
from pathlib import Path
from typing import Any

__all__ = ["ENV_VAR", "OFFLINE_ENV", "dataset_files", "describe", "find_data_dir", "load_mnist", "mnist_offline_reason",
           "sample_image_path"]

ENV_VAR = "RESNET_COURSE_DATA"
SIGNS_FILES = ("train_signs.h5", "test_signs.h5")
DIGITS_FILES = ("train_digits.h5", "test_digits.h5")
SAMPLE_FILE = "sample_digit.png"

# autograder/learner/datasets.py: the lesson's folder (a course) or the repository is two levels up.
_BUNDLED_DATA_DIR = Path(__file__).resolve().parents[2] / "data"


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
            "rebuild it with python -m autograder.authoring.data."
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
    """Return one short line, in the learner's language, naming the dataset that ``train`` belongs to."""
    from autograder.learner.i18n import message

    name = Path(train).name
    if name in SIGNS_FILES:
        return message("dataset_signs")
    if name in DIGITS_FILES:
        return message("dataset_digits")
    return message("dataset_file", name=name)


# --- MNIST, or its offline stand-in ----------------------------------------------------------------

OFFLINE_ENV = "RESNET_COURSE_OFFLINE"
GRADING_ENV = "NBGRADER_EXECUTION"
MNIST_SUBSTITUTE = "uci_digits_28x28.npz"
MNIST_HOST = ("storage.googleapis.com", 443)  # where tf.keras.datasets.mnist.load_data() downloads from
PROBE_TIMEOUT_S = 3.0
DOWNLOAD_TIMEOUT_S = 30.0


def mnist_offline_reason() -> str | None:
    """The environment variable that puts :func:`load_mnist` in offline mode, or None."""
    if os.environ.get(OFFLINE_ENV, "").strip().lower() not in ("", "0", "false", "no"):
        return OFFLINE_ENV
    if os.environ.get(GRADING_ENV):
        return GRADING_ENV
    return None


def _keras_has_mnist() -> bool:
    """Whether Keras has ``mnist.npz`` already (in ``$KERAS_HOME`` or ``~/.keras``, or ``/tmp/.keras``
    where Keras goes when the first is not writable), so that loading it needs no network."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return any((Path(folder) / "datasets" / "mnist.npz").is_file() for folder in (home, "/tmp/.keras"))


def _reachable(address: tuple[str, int] = MNIST_HOST, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to ``address`` opens within ``timeout`` seconds, name lookup included.

    The lookup has no timeout of its own, so the probe runs in a daemon thread that is abandoned
    if it takes too long.
    """
    answer: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(address, timeout=timeout):
                answer.append(True)
        except Exception:  # noqa: BLE001 - whatever goes wrong, the server is not reachable
            answer.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(answer and answer[0])


def _load_keras_mnist() -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """``tf.keras.datasets.mnist.load_data()``, with every network operation bounded in time."""
    import tensorflow as tf

    saved = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        return tf.keras.datasets.mnist.load_data()
    finally:
        socket.setdefaulttimeout(saved)


def _load_substitute(data_dir: Path | None = None) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    import numpy as np

    candidates = [Path(data_dir)] if data_dir is not None else []
    candidates.append(_BUNDLED_DATA_DIR)
    for folder in candidates:
        path = folder / MNIST_SUBSTITUTE
        if path.is_file():
            with np.load(path, allow_pickle=False) as data:
                return (data["x_train"], data["y_train"]), (data["x_test"], data["y_test"])
    raise FileNotFoundError(f"{MNIST_SUBSTITUTE} is in none of {', '.join(map(str, candidates))}; "
                            "rebuild it with python -m autograder.authoring.data.")


def load_mnist(data_dir: Path | None = None) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    """MNIST as ``(x_train, y_train), (x_test, y_test)``, like ``tf.keras.datasets.mnist.load_data()``.

    Images are ``uint8`` arrays of shape ``(n, 28, 28)`` and labels ``uint8`` arrays of shape ``(n,)``.
    Real MNIST is used when Keras has it already or its download server answers within
    ``PROBE_TIMEOUT_S`` seconds. Otherwise — and always in offline mode, when ``RESNET_COURSE_OFFLINE``
    or ``NBGRADER_EXECUTION`` is set, which never touches the network — the bundled stand-in
    (UCI handwritten digits, see ``data/README.md``) is returned, and one line printed says so.
    """
    from autograder.learner.i18n import message

    variable = mnist_offline_reason()
    if variable is not None:
        reason = message("mnist_reason_offline", variable=variable)
    elif not _keras_has_mnist() and not _reachable():
        reason = message("mnist_reason_unreachable")
    else:
        try:
            (x_train, y_train), (x_test, y_test) = _load_keras_mnist()
        except Exception as error:  # noqa: BLE001 - any failure to download means: use the stand-in
            reason = message("mnist_reason_failed", error=f"{type(error).__name__}: {error}".splitlines()[0])
        else:
            print(message("mnist_loaded", train=len(x_train), test=len(x_test)))
            return (x_train, y_train), (x_test, y_test)
    (x_train, y_train), (x_test, y_test) = _load_substitute(data_dir)
    print(message("mnist_fallback", reason=reason, train=len(x_train), test=len(x_test)))
    return (x_train, y_train), (x_test, y_test)
