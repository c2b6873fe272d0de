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

import os
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
    from autograder.checks import quiet_stderr

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    try:
        with quiet_stderr():
            values = produce(int(os.environ.get(SEED_ENV, "0")))
        np.savez(target / f"{grade_id}.npz", **{key: np.asarray(value) for key, value in values.items()})
    except BaseException as error:  # noqa: BLE001 - anything the learner's code does is a recorded failure
        (target / f"{grade_id}.error.txt").write_text(f"{type(error).__name__}: {error}", encoding="utf-8")


def recorded(folder: Path, grade_id: str) -> dict[str, np.ndarray] | str:
    """What the kernel recorded for ``grade_id``: the arrays, or the reason there are none."""
    error = folder / f"{grade_id}.error.txt"
    if error.exists():
        return error.read_text(encoding="utf-8")
    path = folder / f"{grade_id}.npz"
    if not path.exists():
        return "nothing was recorded"
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}
