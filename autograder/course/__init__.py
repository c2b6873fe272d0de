"""The instructor's side: build an nbgrader course from the repository, grade it, report on it."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LANGS = ("en", "ru")


class CourseError(Exception):
    """A problem with the instructor's input; the message is one line for stderr."""


def use_solutions() -> None:
    """Make ``solutions`` importable in this (grader) process only — never in a learner's kernel.

    The package is never installed, so this works from any working folder of a repository
    checkout (``pip install -e .``); elsewhere CourseError says what is missing.
    """
    if not (REPO / "solutions").is_dir():
        raise CourseError(f"the reference solutions are not here ({REPO / 'solutions'} is missing): "
                          "run this from a checkout of the course repository installed with pip install -e .")
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))


def lessons() -> list[str]:
    return sorted(path.stem for path in (REPO / "notebooks" / "src").glob("*.lesson"))
