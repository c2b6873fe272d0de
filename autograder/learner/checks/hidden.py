"""Hidden tests: record what the learner's code does on inputs nobody has seen.

At grading time each grade cell of a course notebook carries a hidden part (restored by
nbgrader from its gradebook, stripped from the released notebook) that calls
``record(grade_id, produce)``. ``produce(seed)`` runs the learner's function on inputs made
from a secret seed and returns plain arrays, which are saved to a folder outside the
submission. The grader compares them with the reference *after* the kernel has exited, so
nothing the learner's code patches (numpy, the checks, printing "passed") can change the
verdict. Outside grading (no ``AUTOGRADER_RECORD_DIR``) recording does nothing.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RECORD_ENV = "AUTOGRADER_RECORD_DIR"
SEED_ENV = "AUTOGRADER_HIDDEN_SEED"


def record(grade_id: str, produce: Callable[[int], dict[str, Any]]) -> None:
    folder = os.environ.get(RECORD_ENV)
    if not folder:
        return
    from autograder.learner.checks import quiet_stderr

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with quiet_stderr():
            values = produce(int(os.environ.get(SEED_ENV, "0")))
        np.savez(target / f"{grade_id}.npz", **{key: np.asarray(value) for key, value in values.items()})
    except BaseException as error:  # noqa: BLE001 - anything the learner's code does is a recorded failure
        with contextlib.suppress(OSError):  # no room to say so: the grader finds nothing recorded, the same verdict
            (target / f"{grade_id}.error.txt").write_text(f"{type(error).__name__}: {error}", encoding="utf-8")


MAX_UNPACKED = 256 * 2**20  # bytes of arrays in one recording, whatever its compressed size
# The files record() writes, one per grade cell: the grader reads nothing else from the recordings folder.
RECORDING_NAME = re.compile(r"^[A-Za-z0-9_]{1,80}(\.npz|\.error\.txt)$")


def parse_recording(recordings: dict[str, bytes | str], grade_id: str) -> dict[str, np.ndarray] | str:
    """What the kernel recorded for ``grade_id`` (files read as data): the arrays, or why there are none.

    The kernel wrote these files, so they are untrusted: no pickles, bounded size once unpacked.
    """
    error = recordings.get(f"{grade_id}.error.txt")
    if error is not None:
        return error if isinstance(error, str) else error[:2000].decode("utf-8", "replace")
    data = recordings.get(f"{grade_id}.npz")
    if data is None:
        return "nothing was recorded"
    if isinstance(data, str):
        return data
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED:
            return f"recording larger than {MAX_UNPACKED // 2**20} MiB unpacked"
    with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


def recorded(folder: Path, grade_id: str) -> dict[str, np.ndarray] | str:
    """``parse_recording`` of the files a kernel left in ``folder`` (for tests and local runs)."""
    names = (f"{grade_id}.error.txt", f"{grade_id}.npz")
    files = {name: (folder / name).read_bytes() for name in names if (folder / name).is_file()}
    return parse_recording(files, grade_id)
