"""Expected values generated from ``solutions/`` by ``python -m autograder generate expected``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

FOLDER = Path(__file__).resolve().parent


def path_for(lesson: str) -> Path:
    return FOLDER / f"{lesson}.json"


@cache
def load(lesson: str) -> dict[str, Any]:
    """The stored expected values of ``lesson``; lists of numbers stay lists (see :func:`array`)."""
    return json.loads(path_for(lesson).read_text(encoding="utf-8"))


def array(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)
